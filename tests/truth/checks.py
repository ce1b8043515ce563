"""What a rendered headline may say, checked against a run's raw frames.

Every check recomputes its fact from the requests, time series and events frames with code
written here (not the findings module's), then compares what the renderers show: the tiles,
the first paragraph of the story, the diagram's colours and words, and the HTML report's KPI
table. A check returns problem lines; an empty list means every headline told the truth.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from simulator.report.findings import Findings
from simulator.report.narrative import NOTHING_UNUSUAL, narrate
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import clock, clock_auto, money, pct
from simulator.scenario.config import Scenario
from simulator.viz.diagram import THEMES, architecture_dot
from simulator.viz.kpis import overview_tiles
from simulator.viz.report import html_report

FILL = {sev: THEMES["light"][health][0] for sev, health in (("ok", "ok"), ("watch", "warn"), ("breach", "bad"))}
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


# --------------------------------------------------------------------------- raw facts (independent code)
def raw_service_level(sc: Scenario, req: pd.DataFrame) -> tuple[float | None, float | None]:
    """(on-time share, answered share) of the requests that arrived after warm-up and finished."""
    outcome = req["outcome"].astype(str)
    finished = (req["arrival_s"] >= sc.warmup_s) & (outcome != "in_flight")
    if not finished.any():
        return None, None
    answered = finished & outcome.isin(["ok", "degraded"])
    on_time = answered & ((req["end_s"] - req["arrival_s"]) * 1000.0 <= sc.slo_latency_ms)
    return on_time.sum() / finished.sum(), answered.sum() / finished.sum()


def raw_busiest_minute(sc: Scenario, ts: pd.DataFrame, column: str,
                       outside: list[tuple[float, float]] = ()) -> float | None:
    """Highest one-minute mean of a utilization column after warm-up (bins weighted by length),
    leaving out minutes that overlap the ``outside`` windows."""
    part = ts[(ts["t_s"] >= sc.warmup_s) & ts[column].notna()]
    if part.empty:
        return None
    minute = ((part["t_s"] - sc.warmup_s) // 60).astype(int)
    width = part["t_end_s"] - part["t_s"]
    means = (part[column] * width).groupby(minute).sum() / width.groupby(minute).sum()
    start = sc.warmup_s + means.index.to_numpy() * 60.0
    keep = [not any(a < t + 60 and b > t for a, b in outside) for t in start]
    return float(means[keep].max()) if any(keep) else None


def node_fills(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^  (\w+) \[label="[^"]*", shape=\w+, fillcolor="([^"]+)"', dot, flags=re.MULTILINE))


def node_labels(dot: str) -> dict[str, str]:
    return {k: v.replace("\\n", " ") for k, v in re.findall(r'^  (\w+) \[label="([^"]*)"', dot, flags=re.MULTILINE)}


# --------------------------------------------------------------------------- the checks
def check_run(sc: Scenario, result: RunResult, found: Findings, reference: Summary | None = None) -> list[str]:
    """Every headline of one run against its raw frames (see the module docstring)."""
    problems: list[str] = []
    req, ts, ev = result.requests, result.timeseries, result.events
    level = found.first("service_level")
    on_time, answered = raw_service_level(sc, req)
    missed = on_time is None or on_time < sc.service_levels.on_time_target or \
        answered < sc.service_levels.availability_target
    paragraphs = narrate(result, found)
    tiles = overview_tiles(found)
    dot = architecture_dot(sc, found, result.summary, theme="light")
    fills, labels = node_fills(dot), node_labels(dot)

    # service level: finding, first tile, story, diagram
    if level is None:
        return ["no service-level finding"]
    if (level.severity == "breach") != missed:
        problems.append(f"service level {level.severity} but raw on time {on_time}, answered {answered}")
    if on_time is not None and tiles[0].value != pct(on_time):
        problems.append(f"first tile says {tiles[0].value}, raw on-time share is {pct(on_time)}")
    if missed and ("Service level met" in paragraphs[0] or tiles[0].status != "missed"):
        problems.append("the story or the tile says the service level was met while it was missed")
    if level.headline not in paragraphs[0]:
        problems.append("the first paragraph does not tell the service level")
    answer_box = found.for_component("decision")
    if fills.get("decision") != FILL[answer_box.severity] or level.status not in labels.get("decision", ""):
        problems.append(f"answer box {fills.get('decision')} / {labels.get('decision')} for a {answer_box.severity}")
    if NOTHING_UNUSUAL in paragraphs and (missed or len(ev) or found.worst != "ok"):
        problems.append("'nothing unusual' told although an SLO was missed, an event happened or a finding needs "
                        "attention")
    arrivals = (req["arrival_s"] >= sc.warmup_s).sum() / (sc.duration_s - sc.warmup_s)
    answers = req["outcome"].astype(str).isin(["ok", "degraded"])[req["arrival_s"] >= sc.warmup_s].sum() / \
        (sc.duration_s - sc.warmup_s)
    if not np.isclose(level.evidence["arrival_rate_per_s"], arrivals) or \
            not np.isclose(level.evidence["answer_rate_per_s"], answers):
        problems.append("the diagram's arrival or answer rate differs from the requests frame")

    problems += _check_capacity(sc, ts, found, fills)
    problems += _check_topology_boxes(sc, found, fills, labels)
    problems += _check_fairness(sc, result, found, fills, labels)
    problems += _check_release(sc, result, found)
    problems += _check_incidents(sc, result, found)
    problems += _check_money(sc, result, found, reference)
    problems += _check_words(sc, paragraphs, tiles, dot)
    html = html_report("t", tiles=tiles, paragraphs=paragraphs)
    for t in tiles:
        shown = html.replace("&#x27;", "'").replace("&amp;", "&")
        if f"<b>{t.value}</b>" not in shown or (t.status and t.status not in shown):
            problems.append(f"report KPI table lacks the tile {t.label}: {t.value} ({t.status})")
    return problems


def _pools(sc: Scenario) -> list[tuple[str, str, str]]:
    """(finding key, utilization column, diagram component) of everything with a capacity: the chain's
    model servers and database, or every pool of a topology, from the engine's column layout."""
    if sc.topology is None:
        return [("capacity.inference", "utilization_inference", "inference"),
                ("capacity.feature_store", "utilization_feature_store", "feature_db")]
    from simulator.engine.dataplane import component_columns
    from simulator.report.components import utilization_column

    spec = component_columns(sc)
    return [(f"capacity.{cid}", column, cid) for cid in spec["components"]
            if (column := utilization_column(spec, cid)) is not None]


def _check_capacity(sc: Scenario, ts: pd.DataFrame, found: Findings, fills: dict) -> list[str]:
    out = []
    for key, column, component in _pools(sc):
        f = found.get(key)
        peak = raw_busiest_minute(sc, ts, column) if column in ts else None
        if peak is None:
            if f is not None:
                out.append(f"capacity finding {key} without any utilization")
            continue
        expected = "breach" if peak >= 0.95 else "watch" if peak >= 0.80 else "ok"
        if f is None or f.severity != expected:
            out.append(f"{key}: busiest minute {peak:.3f} should be {expected}, finding says "
                       f"{None if f is None else f.severity}")
        elif f.value != f"{100 * peak:.0f} % busy":
            out.append(f"{key}: tile value {f.value} against a busiest minute of {100 * peak:.0f} %")
        worst = found.for_component(component)
        if worst is not None and component in fills and fills.get(component) != FILL[worst.severity]:
            out.append(f"{component} box coloured {fills.get(component)} for a {worst.severity}")
    return out


def _check_topology_boxes(sc: Scenario, found: Findings, fills: dict, labels: dict) -> list[str]:
    """A topology's diagram: one box per component, under its business label, coloured by its most severe
    finding (neutral without one)."""
    if sc.topology is None:
        return []
    from simulator.scenario.graph import label_of

    out = []
    neutral = THEMES["light"]["none"][0]
    for comp in sc.topology.components:
        worst = found.for_component(comp.id)
        expected = FILL[worst.severity] if worst is not None else neutral
        if fills.get(comp.id) != expected:
            out.append(f"{comp.id} box coloured {fills.get(comp.id)}, its findings say {expected}")
        label = label_of(sc, comp)
        if not labels.get(comp.id, "").lower().startswith(label.lower()):
            out.append(f"{comp.id} box is not labelled {label!r}: {labels.get(comp.id)!r}")
    return out


def _check_fairness(sc: Scenario, result: RunResult, found: Findings, fills: dict, labels: dict) -> list[str]:
    out = []
    frame = (result.extra or {}).get("fairness")
    f = found.get("fairness")
    if not sc.fairness.enabled or frame is None or len(frame) == 0:
        return out
    flagged = bool(frame["flagged"].astype(bool).any())
    shown = f is not None and f.severity == "breach"
    if flagged != shown:
        out.append(f"fairness: {int(frame['flagged'].sum())} flagged windows but the finding is "
                   f"{None if f is None else f.severity}")
    box = labels.get("fairness", "")
    if flagged != ("gap flagged" in box) or (flagged and fills.get("fairness") != FILL["breach"]):
        out.append(f"fairness box says {labels.get('fairness')} with {int(frame['flagged'].sum())} flagged windows")
    first = result.events.loc[result.events["kind"] == "fairness_flagged", "t_s"]
    if flagged and len(first) and f is not None and f"the first at {clock(sc, float(first.iloc[0]))}" not in f.headline:
        out.append("fairness: the first flag time is not the event's")
    return out


def _check_release(sc: Scenario, result: RunResult, found: Findings) -> list[str]:
    out = []
    ev = result.events
    started = ev.loc[ev["kind"] == "canary_started", "t_s"]
    f = found.get("release")
    if not len(started):
        return out
    if f is None:
        return ["a canary started but no release finding"]
    t0 = float(started.iloc[0])
    if f.at_s != t0 or f"released at {clock(sc, t0)}" not in f.headline:
        out.append(f"release told at {f.at_s} / '{f.headline[:60]}' but the event is at {t0}")
    decided = ev.loc[ev["kind"].isin(["canary_promoted", "canary_rolled_back"]), "t_s"]
    if len(decided) and clock(sc, float(decided.iloc[0])) not in f.headline:
        out.append("the release's decision time is not the event's")
    after = result.requests["arrival_s"] >= sc.warmup_s
    answered = result.requests["outcome"].astype(str).isin(["ok", "degraded"]) & after
    told = sum(v for k, v in f.evidence.items() if k.startswith("decided_by_"))
    if told != int(answered.sum()):
        out.append(f"versions decided {told} requests in the release finding, {int(answered.sum())} were answered")
    return out


def _check_incidents(sc: Scenario, result: RunResult, found: Findings) -> list[str]:
    out = []
    ev, req = result.events, result.requests
    starts = ev[ev["kind"] == "fault_started"]
    incidents = found.of("incident")
    if len(starts) != len(incidents):
        return [f"{len(starts)} faults started but {len(incidents)} incident findings"]
    for (_, e), f in zip(starts.iterrows(), incidents):
        if f.at_s != float(e["t_s"]) or f"at {clock_auto(sc, float(e['t_s']))}" not in f.headline:
            out.append(f"incident told at {f.at_s}, the fault started at {e['t_s']}")
        t1 = f.evidence["recovered_s"] if f.evidence["recovered_s"] is not None else sc.duration_s
        inside = (req["arrival_s"] >= max(float(e["t_s"]), sc.warmup_s)) & (req["arrival_s"] < t1)
        failed = int((inside & (req["outcome"].astype(str) == "failed")).sum())
        if f.evidence["customers_failed"] != failed:
            out.append(f"incident counts {f.evidence['customers_failed']} errors, the frame {failed}")
    return out


def _check_money(sc: Scenario, result: RunResult, found: Findings, reference: Summary | None) -> list[str]:
    out = []
    cost = found.get("cost")
    if cost is None:
        return out
    monthly = cost.evidence["monthly_usd"] is not None or "a month if" in cost.headline
    if monthly != (sc.period.kind == "typical"):
        out.append(f"a monthly figure for a {sc.period.kind} period: {cost.headline}")
    if sc.period.kind == "one_off" and reference is not None:
        f = found.get("incident_cost")
        extra = result.summary.cost_usd.total - reference.cost_usd.total
        if f is None or not np.isclose(f.evidence["extra_spend_usd"], extra):
            out.append("the incident's extra spend is not cost with minus cost without")
    value = found.get("value")
    ratio = value.evidence.get("ratio") if value is not None else None
    if ratio is not None and not 0.01 <= ratio <= 1000:
        out.append(f"value per dollar shown at {ratio}")
    measured_h = (sc.duration_s - sc.warmup_s) / 3600
    running = f"against {money(result.summary.cost_usd.total / measured_h)} an hour of running cost"
    if value is not None and running not in value.headline:
        out.append(f"the value finding's running cost per hour is not the run's total cost per hour: {value.headline}")
    return out


def _check_words(sc: Scenario, paragraphs: list[str], tiles, dot: str) -> list[str]:
    """The scenario's own words, and no raw field names in what executives read."""
    out = []
    text = " ".join(paragraphs + [t.label + " " + t.value + " " + t.status for t in tiles])
    names = [sc.name, sc.description, sc.external_api.name, *(s.name for s in sc.traffic.spikes),
             *(f.name for group in (sc.faults.external_api, sc.faults.feature_db, sc.faults.inference) for f in group)]
    allowed = set(SNAKE.findall(" ".join(names)))   # the user's own names may have underscores
    raw = [w for w in SNAKE.findall(text) if w not in allowed]
    if raw:
        out.append(f"raw field names in the story or tiles: {sorted(set(raw))}")
    if sc.vocabulary.request != "card payment":
        shown = (text + dot).lower()
        for word in ("payment", "fraud"):
            if word in shown:
                out.append(f"'{word}' shown in a scenario about {sc.vocabulary.requests}")
    return out
