"""The finding itself (a verdict with its evidence), the ordered collection of them, the
thresholds every verdict uses, and the frame helpers the topic modules share.

Topic modules (:mod:`~simulator.report.findings_capacity`, ``findings_story``, ``findings_money``,
``findings_architecture``) build on this module; :mod:`simulator.report.findings` assembles them.
The JSON form (:meth:`Finding.to_dict`, :meth:`Findings.to_list`) is stable: other features store it
with a saved run and render it into briefs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from simulator.report.stages import request_latency_ms
from simulator.scenario.config import Scenario

Severity = Literal["ok", "watch", "breach"]
SEVERITY_ORDER = {"ok": 0, "watch": 1, "breach": 2}
UTIL_WATCH, UTIL_BREACH = 0.80, 0.95
SUSTAIN_S = 60.0               # utilization is judged over one-minute windows
SLO_WINDOW_S = 300.0           # the on-time share is also judged per five minutes
MIN_WINDOW_REQUESTS = 20       # ... in windows with at least this many finished requests
SIZING_UTILIZATION, SIZING_LATE_FRACTION = 0.80, 0.01
# the time series' breaker level (simulator.report.results.BREAKER_LEVEL) -> (severity, words); an operator
# holding the switch open or switching it off is deliberate but worth watching; open is customers affected
BREAKER_STATES = {3: ("watch", "held open by an operator"), 2: ("breach", "open: calls stopped"),
                  1: ("watch", "half-open: testing"), 0: ("ok", "closed: normal"),
                  -1: ("ok", "recording only"), -2: ("watch", "switched off by an operator")}


@dataclass(frozen=True)
class Finding:
    """One verdict with its evidence.

    ``title`` and ``value`` are the short forms a tile shows ("Service level", "98.2 % on time"),
    ``status`` the word next to the colour ("missed"), ``headline`` the full sentence.
    ``component`` names the diagram box it colours (``inference``, ``feature_db``, ``external_api``,
    ``breaker``, ``canary``, ``decision``, ``fairness``, ``customers``, ``ingestion``).
    """

    topic: str
    severity: Severity
    headline: str
    title: str
    value: str
    status: str
    evidence: dict[str, float | int | str | None] = field(default_factory=dict)
    at_s: float | None = None
    component: str | None = None
    key: str = ""

    def to_dict(self) -> dict:
        """The stable JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Findings:
    """The findings of one run, most important first (service level, then by severity and time)."""

    items: tuple[Finding, ...]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def of(self, topic: str) -> list[Finding]:
        return [f for f in self.items if f.topic == topic]

    def first(self, topic: str) -> Finding | None:
        found = self.of(topic)
        return found[0] if found else None

    def get(self, key: str) -> Finding | None:
        return next((f for f in self.items if f.key == key), None)

    def for_component(self, component: str) -> Finding | None:
        """The most severe finding about one diagram box (None if nothing was found about it)."""
        mine = self.all_for(component)
        return mine[0] if mine else None

    def all_for(self, component: str) -> list[Finding]:
        """Every finding about one diagram box, most severe first (in order of importance on a tie)."""
        mine = [f for f in self.items if f.component == component]
        return sorted(mine, key=lambda f: -SEVERITY_ORDER[f.severity])

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.items), key=SEVERITY_ORDER.get, default="ok")

    def notable(self) -> list[Finding]:
        """Findings at watch or breach."""
        return [f for f in self.items if f.severity != "ok"]

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self.items]


def ordered(items: list[Finding]) -> Findings:
    def rank(f: Finding):
        return (f.topic != "service_level", -SEVERITY_ORDER[f.severity], math.inf if f.at_s is None else f.at_s)
    return Findings(tuple(sorted(items, key=rank)))


# --------------------------------------------------------------------------- frame helpers
def minute_means(ts: pd.DataFrame, column: str, start_s: float, width_s: float = SUSTAIN_S) -> pd.DataFrame:
    """Mean of a time-series column per ``width_s`` window from ``start_s`` (bins weighted by their
    length, empty bins ignored): ``t_s, value``. Bins wider than the window are their own window."""
    if column not in ts or len(ts) == 0:
        return pd.DataFrame({"t_s": [], "value": []})
    part = ts[ts["t_s"] >= start_s - 1e-9]
    value = part[column].to_numpy(dtype=float)
    weight = (part["t_end_s"] - part["t_s"]).to_numpy(dtype=float)
    ok = ~np.isnan(value)
    if not ok.any():
        return pd.DataFrame({"t_s": [], "value": []})
    window = np.floor((part["t_s"].to_numpy(dtype=float) - start_s) / width_s + 1e-9).astype(int)
    frame = pd.DataFrame({"w": window[ok], "vw": value[ok] * weight[ok], "wt": weight[ok]})
    grouped = frame.groupby("w")[["vw", "wt"]].sum()
    return pd.DataFrame({"t_s": start_s + grouped.index.to_numpy() * width_s,
                         "value": (grouped["vw"] / grouped["wt"]).to_numpy()})


def fault_windows(events: pd.DataFrame, end_s: float) -> list[tuple[float, float, str, str]]:
    """``(start_s, end_s, component, name)`` of every injected fault, from the events."""
    out = []
    if events is None or len(events) == 0:
        return out
    starts = events[events["kind"] == "fault_started"]
    ends = events[events["kind"] == "fault_ended"]
    for e in starts.itertuples():
        name = str(e.detail).rsplit(" (", 1)[0]
        later = ends[(ends["component"] == e.component) & (ends["detail"] == name) & (ends["t_s"] >= e.t_s)]
        out.append((float(e.t_s), float(later["t_s"].iloc[0]) if len(later) else end_s, str(e.component), name))
    return out


def surge_windows(events: pd.DataFrame, end_s: float) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, name)`` of every traffic surge, from the events."""
    out = []
    if events is None or len(events) == 0:
        return out
    ends = events[events["kind"] == "spike_ended"]
    for e in events[events["kind"] == "spike_started"].itertuples():
        name = str(e.detail).split(":", 1)[0]
        later = ends[(ends["detail"] == name) & (ends["t_s"] >= e.t_s)]
        out.append((float(e.t_s), float(later["t_s"].iloc[0]) if len(later) else end_s, name))
    return out


def overlapping(t0: float, t1: float, windows) -> list:
    return [w for w in windows if w[0] < t1 and w[1] > t0]


def label_in(column: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """Which rows hold one of ``labels``: by the category codes when the column is categorical (a
    requests frame's outcome is), without turning every row into a string first."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        wanted = [i for i, c in enumerate(column.cat.categories) if str(c) in labels]
        return np.isin(column.cat.codes.to_numpy(), wanted)
    return np.isin(column.astype(str).to_numpy(), list(labels))


def on_time_mask(sc: Scenario, req: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(finished, on_time) masks over the requests frame, for arrivals after warm-up."""
    after = req["arrival_s"].to_numpy() >= sc.warmup_s
    outcome = req["outcome"]
    finished = after & ~label_in(outcome, ("in_flight",))
    answered = label_in(outcome, ("ok", "degraded"))
    on_time = finished & answered & (request_latency_ms(req) <= sc.slo_latency_ms)
    return finished, on_time


def worst_on_time_window(sc: Scenario, req: pd.DataFrame) -> tuple[float, float, float] | None:
    """``(start_s, end_s, on_time_share)`` of the 5-minute window (by arrival) with the lowest
    on-time share, among windows with at least MIN_WINDOW_REQUESTS finished requests (None without
    per-request rows, as for a run opened from the history)."""
    if "arrival_s" not in req or len(req) == 0:
        return None
    finished, on_time = on_time_mask(sc, req)
    if not finished.any():
        return None
    arrival = req["arrival_s"].to_numpy()[finished]
    w = np.floor((arrival - sc.warmup_s) / SLO_WINDOW_S).astype(int)
    n = np.bincount(w)
    good = np.bincount(w, weights=on_time[finished].astype(float), minlength=len(n))
    valid = n >= MIN_WINDOW_REQUESTS
    if not valid.any():
        return None
    share = np.where(valid, good / np.maximum(n, 1), np.inf)
    i = int(np.argmin(share))
    t0 = sc.warmup_s + i * SLO_WINDOW_S
    return t0, min(t0 + SLO_WINDOW_S, sc.duration_s), float(share[i])


