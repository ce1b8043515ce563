"""Plain-language story of a run, told from its findings and events.

Written for people who do not read charts: clock times instead of seconds ("At 14:20 the
weather-service outage began. 1 second later the safety switch tripped ..."), the scenario's
own words instead of component names. The verdicts come from :mod:`simulator.report.findings`;
this module only chooses the order and joins sentences, it never judges a number itself.

Paragraphs: (1) what arrived and the verdict (the service level and every breach), (2) what
happened when (events), (3) what to watch, (4) money. "Nothing unusual happened" is said only
when there were no events and every finding is ok.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from simulator.report.event_words import describe_event
from simulator.report.findings import Findings
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import clock, clock_span, count, day_of, day_words, human_duration, money, pct, short_ms
from simulator.scenario.config import Scenario

NEAR_S = 300.0          # events closer than this to the previous one are told relative to it
ALWAYS_GROUPED = {"canary_weight", "canary_check_failed", "breaker_half_opened"}
MINOR = {"canary_succeeded"}    # told in the event table, not in the story
SCALING = ("scale_decision", "replica_started", "replica_ready", "replica_stopped")  # told as one sentence
MAX_SINGLE = 3          # more events of one kind than this are summarised after the first
NOTHING_UNUSUAL = "Nothing unusual happened during the run: no surges, faults or automatic actions."


@dataclass
class _Item:
    t_s: float
    text: str            # subject + verb phrase, no leading time, no full stop
    span: str = ""       # 'between 14:20 and 14:40' for a summarised group of events
    whole: bool = False  # a finished sentence (an incident's headline), told as it is


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- paragraphs
def arrivals_sentence(scenario: Scenario, summary: Summary) -> str:
    """'Between 14:05 and 15:00 (55 minutes ...), 263,740 card payments arrived, about 80 a second.'"""
    sc, v = scenario, scenario.vocabulary
    measured_s = max(sc.duration_s - sc.warmup_s, 1e-9)
    warm = (f"; the first {human_duration(sc.warmup_s)} only warm the system up and are not counted"
            if sc.warmup_s > 0 else "")
    arrived = summary.requests.arrived
    per_s = arrived / measured_s
    rate = f"about {per_s:,.0f} a second" if per_s >= 2 else f"about {per_s * 60:,.0f} a minute"
    return (f"{_cap(clock_span(sc, sc.warmup_s, sc.duration_s))} ({human_duration(measured_s)} of simulated "
            f"time{warm}), {count(arrived, v.request, v.requests)} arrived, {rate}.")


def verdict_paragraph(scenario: Scenario, summary: Summary, found: Findings) -> str:
    """Arrivals, the service level and every breach: the paragraph an executive reads first."""
    parts = [arrivals_sentence(scenario, summary)]
    parts += [f.headline for f in found if f.topic == "service_level"]
    parts += [f.headline for f in found if f.severity == "breach" and f.topic != "service_level"]
    return " ".join(parts)


def watch_paragraph(found: Findings) -> str:
    """Findings to keep an eye on (severity watch), except money, which has its own paragraph."""
    told = ("service_level", "cost", "drift", "traffic", "scaling", "incident")  # the events paragraph tells these
    return " ".join(f.headline for f in found if f.severity == "watch" and f.topic not in told)


def money_paragraph(found: Findings) -> str:
    return " ".join(f.headline for f in found if f.topic in ("cost", "value"))


# --------------------------------------------------------------------------- events
def _scaling(events: pd.DataFrame) -> str:
    """All scaling events in one phrase: decisions, servers started and stopped, the final count."""
    kinds = events["kind"].value_counts()
    decisions = int(kinds.get("scale_decision", 0))
    ends = events.loc[events["kind"] == "scale_decision", "detail"].astype(str).str.extract(r"to (\d+)")[0].dropna()
    parts = []
    if decisions:
        parts.append(f"the autoscaler changed the number of model servers {count(decisions, 'time')}")
    started, stopped = int(kinds.get("replica_started", 0)), int(kinds.get("replica_stopped", 0))
    if started:
        parts.append(f"started {count(started, 'server')}")
    if stopped:
        parts.append(f"stopped {count(stopped, 'idle one')}")
    if not parts:
        return f"{count(int(kinds.get('replica_ready', 0)), 'model server')} came online"
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return text + (f", ending at {count(int(ends.iloc[-1]), 'model server')}" if len(ends) else "")


def _grouped(scenario: Scenario, kind: str, group: pd.DataFrame) -> str:
    """The phrase for several events of one kind (their time span is added by the caller)."""
    n, v = len(group), scenario.vocabulary
    details = group["detail"].astype(str)
    if kind == "canary_weight":
        top = details.str.extract(r"weight_pct (\d+)")[0].dropna().astype(int)
        up_to = f" up to {top.max()} %" if len(top) else ""
        return f"the new version's share of {v.requests} grew step by step{up_to}"
    if kind == "canary_check_failed":
        return f"{count(n, 'automatic check')} of the new version failed"
    if kind == "breaker_half_opened":
        return f"the safety switch tested the service {count(n, 'time')}"
    if kind == "breaker_opened":
        return f"the safety switch tripped {count(n, 'more time')}"
    if kind == "fault_started":
        return f"{count(n, 'more fault')} began"
    if kind == "spike_started":
        return f"{count(n, 'more traffic surge')} began"
    if kind == "replica_crashed":
        return f"model servers crashed {count(n, 'more time')}"
    return f"{describe_event(scenario, kind, str(group['component'].iloc[0]), '')} ({count(n, 'time')})"


INCIDENT_KINDS = ("fault_started", "fault_ended", "breaker_opened", "breaker_half_opened", "breaker_closed",
                  "replica_crashed")  # told by the incident findings when there are any


def event_items(scenario: Scenario, events: pd.DataFrame | None, found: Findings | None = None) -> list[_Item]:
    """One item per told event, grouping frequent kinds, in time order; with ``found``, each incident
    is told by its finding (fault, reaction, recovery and who was hurt) instead of its raw events."""
    incidents = found.of("incident") if found is not None else []
    told = [_Item(f.at_s or 0.0, f.headline, whole=True) for f in incidents]
    if events is None or len(events) == 0:
        return told
    ev = events.sort_values("t_s", kind="stable").reset_index(drop=True)
    if incidents:
        ev = ev[~ev["kind"].isin(INCIDENT_KINDS)]
    ev = ev[~ev["kind"].isin(MINOR)]
    ev["detail"] = ev["detail"].fillna("").astype(str)
    items: list[_Item] = list(told)
    scaling = ev[ev["kind"].isin(SCALING)]
    if len(scaling):
        t0, t1 = float(scaling["t_s"].iloc[0]), float(scaling["t_s"].iloc[-1])
        items.append(_Item(t0, _scaling(scaling), clock_span(scenario, t0, t1)))
        ev = ev[~ev["kind"].isin(SCALING)]
    for kind, group in ev.groupby("kind", sort=False):
        group = group.sort_values("t_s")
        if kind in ALWAYS_GROUPED:
            t0, t1 = float(group["t_s"].iloc[0]), float(group["t_s"].iloc[-1])
            items.append(_Item(t0, _grouped(scenario, kind, group), clock_span(scenario, t0, t1)))
            continue
        singles = group if len(group) <= MAX_SINGLE else group.iloc[:1]
        for e in singles.itertuples():
            items.append(_Item(float(e.t_s), describe_event(scenario, str(kind), str(e.component), e.detail)))
        if len(group) > MAX_SINGLE:
            rest = group.iloc[1:]
            t0, t1 = float(rest["t_s"].iloc[0]), float(rest["t_s"].iloc[-1])
            items.append(_Item(t0, _grouped(scenario, kind, rest), clock_span(scenario, t0, t1)))
    items.sort(key=lambda it: it.t_s)
    return items


def events_paragraph(scenario: Scenario, events: pd.DataFrame | None, max_items: int = 10,
                     found: Findings | None = None) -> str:
    """'At 14:20 X. 1 second later Y. At 14:40 Z.' The day is named only when it changes."""
    items = event_items(scenario, events, found)
    if not items:
        return ""
    sentences, prev, day = [], None, day_of(scenario, scenario.warmup_s)
    for it in items[:max_items]:
        gap = None if prev is None else it.t_s - prev
        today = day_of(scenario, it.t_s)
        new_day = f" {day_words(today)}" if today != day else ""
        day = today
        if it.whole:
            sentences.append(it.text)
            prev = it.t_s
            continue
        if it.span:
            sentences.append(_cap(f"{it.span}{'' if it.span.endswith(day_words(today)) else new_day}, {it.text}."))
            continue
        if gap is not None and gap < 1:
            lead = "at the same moment"
        elif gap is not None and gap < NEAR_S and not new_day:
            lead = f"{human_duration(gap)} later"
        else:
            lead = f"at {clock(scenario, it.t_s, day=False)}{new_day}"
        sentences.append(_cap(f"{lead}, {it.text}."))
        prev = it.t_s
    if len(items) > max_items:
        sentences.append(f"{len(items) - max_items} more things happened after that; the charts on the "
                         f"Throughput & latency page mark every one.")
    return " ".join(sentences)


# --------------------------------------------------------------------------- public
def narrate(result: RunResult, found: Findings) -> list[str]:
    """The run's story as paragraphs (see the module docstring)."""
    sc, s = result.scenario, result.summary
    happened = events_paragraph(sc, result.events, found=found)
    if not happened and found.worst == "ok":
        happened = NOTHING_UNUSUAL
    paragraphs = [verdict_paragraph(sc, s, found), happened, watch_paragraph(found), money_paragraph(found)]
    return [p for p in paragraphs if p]


# --------------------------------------------------------------------------- compare
def field_words(scenario: Scenario) -> dict[str, tuple[str, str]]:
    """Plain words and unit for the fields people change most, in the scenario's vocabulary."""
    v = scenario.vocabulary
    return {
        "traffic.rate_per_s": ("traffic", f" {v.requests}/s"),
        "inference.replicas": ("model servers", ""),
        "inference.concurrency": ("requests per model server", ""),
        "inference.service_ms": (f"{v.model} time per request", " ms"),
        "inference.precision": (f"{v.model} precision", ""),
        "inference.queue_limit": (f"{v.model} waiting-line limit", ""),
        "ingestion.mode": (f"how {v.requests} come in", ""),
        "ingestion.stream.partitions": ("stream partitions", ""),
        "ingestion.stream.consumers": ("stream consumers", ""),
        "feature_store.mode": ("feature lookup", ""),
        "feature_store.db_connections": ("database connections", ""),
        "external_api.timeout_ms": (f"{scenario.external_api.name} timeout", " ms"),
        "external_api.fallback": (f"fallback when the {scenario.external_api.name} fails", ""),
        "autoscaler.min_replicas": ("fewest model servers kept running", ""),
        "autoscaler.max_replicas": ("most model servers allowed", ""),
        "slo_latency_ms": ("promised time", " ms"),
        "duration_s": ("simulated time", " s"),
        "start_time_of_day_h": ("clock time at the start", " h"),
    }


IGNORED_FIELDS = {"name", "description", "seed"}


def _flatten(data, prefix: str = "") -> dict[str, object]:
    out = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    out[prefix[:-1]] = data
    return out


def changed_fields(a: Scenario, b: Scenario) -> list[tuple[str, object, object]]:
    """(dotted path, value in a, value in b) for every setting that differs."""
    fa, fb = _flatten(a.model_dump(mode="json")), _flatten(b.model_dump(mode="json"))
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb))
            if k not in IGNORED_FIELDS and not k.startswith(("vocabulary.", "period.")) and fa.get(k) != fb.get(k)]


def _value(v: object, unit: str) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, (int, float)):
        return f"{v:,}{unit}"
    if isinstance(v, (list, tuple, dict)):
        return "none" if not v else count(len(v), "entry", "entries")
    return "none" if v is None else str(v)


UNIT_WORDS = (("_ms", " ms"), ("_s", " s"), ("_pct", " %"), ("_h", " h"), ("_gib", " GiB"), ("_per_s", "/s"))


def field_label(path: str) -> tuple[str, str]:
    """(words, unit) for a setting from its schema description: 'inference.replicas' -> 'replicas serving the
    model'; an entry of a mapping adds its key in brackets."""
    model, info, key = Scenario, None, ""
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            key = part
            break
        info = fields[part]
        model = info.annotation
    name = path.split(".")[-1]
    text = (info.description if info is not None and info.description else name.replace("_", " "))
    text = text.split(" (")[0].split(";")[0].split(":")[0].removesuffix(" as")
    if text[1:2].islower():
        text = text[:1].lower() + text[1:]
    unit = next((u for suffix, u in UNIT_WORDS if name.endswith(suffix)), "")
    return (f"{text} ({key})" if key else text), unit


def change_lines(a: Scenario, b: Scenario) -> list[str]:
    """'model servers 4 → 6' per changed setting, in plain words (the schema's descriptions where there is
    no shorter word); the dotted paths are for an 'as configured' view only."""
    words = field_words(a)
    out = []
    for path, va, vb in changed_fields(a, b):
        if path in ("topology.edges", "topology.components") and a.topology is not None and b.topology is not None:
            out += edge_change_lines(a, b) if path == "topology.edges" else component_change_lines(a, b)
            continue
        label, unit = words.get(path) or field_label(path)
        out.append(f"{label}: {_value(va, unit)} → {_value(vb, unit)}")
    return out


def _component_name(sc: Scenario, cid: str) -> str:
    comp = next((c for c in sc.topology.components if c.id == cid), None)
    if comp is None:
        return cid
    if comp.label:
        return comp.label
    return comp.dependency.name if comp.kind == "dependency" and comp.dependency is not None else cid


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def edge_words(sc: Scenario, edge) -> str:
    """One edge of a topology in plain words: 'calls A, B and C at once and goes on after the first 2'."""
    name = lambda cid: _component_name(sc, cid)  # noqa: E731
    if edge.parallel:
        wait = (f"all {len(edge.parallel)}" if edge.join == "all" else f"the first {edge.k} of {len(edge.parallel)}")
        return (f"calls {_listing([name(c) for c in edge.parallel])} at once and goes on to {name(edge.to)} "
                f"after {wait} answered")
    if edge.route:
        parts = []
        for branch in edge.route:
            if branch.share is not None:
                parts.append(f"{100 * branch.share:g} % to {name(branch.to)}")
            elif branch.when is not None and branch.when.confidence_below is not None:
                parts.append(f"to {name(branch.to)} when less than {100 * branch.when.confidence_below:g} % sure")
            else:
                parts.append(f"to {name(branch.to)} on a condition")
        return "sends " + _listing(parts)
    if edge.fallback:
        return f"falls back to {name(edge.fallback)} when it fails"
    return f"goes on to {name(edge.to)}"


def component_change_lines(a: Scenario, b: Scenario) -> list[str]:
    """Parts of the architecture removed, added or set up differently in b, by their business names."""
    ca, cb = ({c.id: c for c in sc.topology.components} for sc in (a, b))
    lines = [f"without {_component_name(a, cid)}" for cid in ca if cid not in cb]
    lines += [f"with {_component_name(b, cid)} added" for cid in cb if cid not in ca]
    lines += [f"{_component_name(b, cid)} set up differently" for cid in ca if cid in cb and ca[cid] != cb[cid]]
    return lines


def edge_change_lines(a: Scenario, b: Scenario) -> list[str]:
    """How requests move differently in b: '<component>: <a's way> → <b's way>' per changed edge."""
    def ways(sc: Scenario) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for edge in sc.topology.edges:
            out.setdefault(edge.source, []).append(edge_words(sc, edge))
        return out

    wa, wb = ways(a), ways(b)
    kept = {c.id for c in a.topology.components} & {c.id for c in b.topology.components}
    lines = []
    for source in [s for s in dict.fromkeys([*wa, *wb]) if s in kept]:  # a part added or removed is said once
        before, after = "; ".join(wa.get(source, [])) or "nothing", "; ".join(wb.get(source, [])) or "nothing"
        if before != after:
            lines.append(f"{_component_name(a if source in wa else b, source)}: {before} → {after}")
    return lines


def compare_paragraph(a: Scenario, sum_a: Summary, b: Scenario, sum_b: Summary, cmp: dict,
                      label_a: str = "A", label_b: str = "B") -> str:
    """What differs between the two set-ups and what it did, per decision (``cmp`` from
    :func:`simulator.report.compare.compare_runs`: its verdict and warnings)."""
    lines = change_lines(a, b)
    if not lines:
        what = f"{_cap(label_b)} uses exactly the same settings as {label_a}."
    else:
        more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
        what = (f"{_cap(label_b)} differs from {label_a} in {count(len(lines), 'setting')}: "
                f"{'; '.join(lines[:5])}{more}.")
    v = a.vocabulary
    effects = []
    ot_a, ot_b = sum_a.on_time_fraction, sum_b.on_time_fraction
    if ot_a is not None and ot_b is not None:
        effects.append(f"the share of {v.customers} answered on time stayed at {pct(ot_b)}" if abs(ot_b - ot_a) < 0.0005
                       else f"{v.customers} answered on time went from {pct(ot_a)} to {pct(ot_b)}")
    p_a, p_b = sum_a.latency_ms.p99, sum_b.latency_ms.p99
    if p_a is not None and p_b is not None:
        effects.append(f"the slowest 1 % waited {short_ms(p_b)} instead of {short_ms(p_a)}")
    av_a, av_b = sum_a.availability, sum_b.availability
    if av_a is not None and av_b is not None and abs(av_b - av_a) >= 0.0005:
        effects.append(f"availability moved from {pct(av_a)} to {pct(av_b)}")
    c_a, c_b = cmp.get("cost_per_1k_a"), cmp.get("cost_per_1k_b")
    if c_a is not None and c_b is not None:
        effects.append(f"the cost per 1,000 {v.decision}s stayed at {money(c_b)}" if money(c_a) == money(c_b) else
                       f"the cost per 1,000 {v.decision}s went from {money(c_a)} to {money(c_b)}")
    text = what
    if effects:
        text += (f" With the same random seed, {', '.join(effects[:-1])}{' and ' if len(effects) > 1 else ''}"
                 f"{effects[-1]}.")
    if cmp.get("verdict"):
        text += " " + cmp["verdict"]
    for warning in cmp.get("warnings", []):
        text += " " + warning
    return text
