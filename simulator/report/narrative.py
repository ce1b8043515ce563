"""Plain-language story of a run: summary + events + scenario -> paragraphs.

Written for people who do not read charts: clock times instead of seconds ("At 14:05 the
weather service went down. 9 seconds later the safety switch tripped ..."), business words
instead of component names, and judgements ("comfortable headroom", "close to its limit")
from fixed thresholds stated here. Keys and event kinds that other features add are used
when present and skipped when absent.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from simulator.report.words import busiest_stage, clock, human_duration, money, pct, short_ms, stage_name
from simulator.scenario.config import Scenario

# judgement thresholds (fractions)
ON_TIME_GOOD, ON_TIME_FAIR = 0.99, 0.95
UTIL_COMFORT, UTIL_BUSY = 0.70, 0.85
NEAR_S = 300.0          # events closer than this to the previous one are told relative to it
ALWAYS_GROUPED = {"scale_decision", "replica_ready", "replica_started", "replica_stopped", "canary_weight",
                  "canary_check_failed", "breaker_half_opened"}
MAX_SINGLE = 3          # more events of one kind than this are summarised after the first

REASON_WORDS = {
    "rejected": "the fraud model's waiting line was full",
    "timeout": "the fraud model could not answer before the deadline",
    "api_error": "the {api} did not answer in time",
    "api_timeout": "the {api} did not answer in time",
    "model_error": "the model returned errors",
    "crashed": "a model server crashed while working on them",
}
REPEAT_WORDS = {
    "breaker_opened": "the safety switch tripped {n} more times",
    "fault_started": "{n} more faults began",
    "spike_started": "{n} more traffic surges began",
    "replica_crashed": "model servers crashed {n} more times",
}


@dataclass
class _Item:
    t_s: float
    text: str            # subject + verb phrase, no leading time, no full stop
    span: str = ""       # 'between 14:20 and 14:40' for a summarised group of events


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", str(text))]


# --------------------------------------------------------------------------- outcome
def outcome_paragraph(scenario: Scenario, summary: dict) -> str:
    """Who arrived, how many got an answer and how fast."""
    sc = scenario
    req = summary.get("requests") or {}
    arrived = req.get("arrived") or 0
    measured_s = max(sc.duration_s - sc.warmup_s, 1e-9)
    start, end = clock(sc, sc.warmup_s), clock(sc, sc.duration_s)
    warm = (f"; the first {human_duration(sc.warmup_s)} only warm the system up and are not counted"
            if sc.warmup_s > 0 else "")
    parts = [f"Between {start} and {end} ({human_duration(measured_s)} of simulated time{warm}), "
             f"{arrived:,} card payments arrived, about {arrived / measured_s:,.0f} a second."]
    on_time = summary.get("on_time_fraction")
    avail = summary.get("availability")
    p99 = (summary.get("latency_ms") or {}).get("p99")
    if on_time is not None:
        verdict = ("the service kept its promise" if on_time >= ON_TIME_GOOD else
                   "a noticeable minority was late" if on_time >= ON_TIME_FAIR else
                   "many customers were kept waiting too long")
        parts.append(f"{pct(on_time)} of customers got their fraud decision on time (within "
                     f"{short_ms(sc.slo_latency_ms)}) and {pct(avail)} got an answer at all: {verdict}.")
    if p99 is not None:
        parts.append(f"The slowest 1 % of customers waited longer than {short_ms(p99)} (the p99 latency).")
    if sc.ingestion.mode == "batch":
        p50 = (summary.get("latency_ms") or {}).get("p50")
        if p50 is not None:
            parts.append(f"Because payments wait for a scheduled batch job, a typical decision came "
                         f"{short_ms(p50)} after the payment: far too late to stop a fraudulent card.")
    degraded, failed = req.get("degraded") or 0, req.get("failed") or 0
    if degraded and arrived:
        parts.append(f"{pct(degraded / arrived)} of customers ({degraded:,}) got a fallback answer while a "
                     f"dependency was failing: slightly less accurate, but no error.")
    if failed and arrived:
        reasons = summary.get("failures_by_reason") or {}
        why = ""
        if reasons:
            top = max(reasons, key=reasons.get)
            why = (", mostly because " + REASON_WORDS[top].format(api=sc.external_api.name) if top in REASON_WORDS
                   else f" (mostly: {top.replace('_', ' ')})")
        parts.append(f"{failed:,} requests ({pct(failed / arrived)}) failed{why}.")
    return " ".join(parts)


def capacity_paragraph(scenario: Scenario, summary: dict) -> str:
    """Which part was busiest and whether it had headroom."""
    busiest = busiest_stage(scenario, summary)
    if busiest is None:
        return ""
    stage, util = busiest
    name = stage_name(scenario, stage)
    if util < UTIL_COMFORT:
        judgement = "so there was comfortable headroom"
    elif util < UTIL_BUSY:
        judgement = "busy but coping; a traffic surge would start to hurt"
    else:
        judgement = "close to its limit: this is where the waiting lines formed"
    stats = (summary.get("stages") or {}).get("feature_store" if stage == "feature_db" else stage) or {}
    wait = stats.get("wait_ms_mean")
    wait_txt = f" Requests waited {short_ms(wait)} on average before it could take them." if wait and wait >= 1 else ""
    if wait and wait >= 100 and util < UTIL_COMFORT:
        wait_txt += (" That wait did not come from steady load but from moments without enough ready servers "
                     "(for example while new ones were starting or after a crash).")
    return f"The busiest part was {name}, at {100 * util:.0f} % of its capacity, {judgement}.{wait_txt}"


def extras_paragraph(scenario: Scenario, summary: dict) -> str:
    """Cost, canary and fairness results, when the summary has them."""
    parts = []
    cost = summary.get("cost_usd")
    if isinstance(cost, dict):
        per_1k, monthly = cost.get("per_1k_requests"), cost.get("monthly_projection")
        if per_1k is not None and isinstance(per_1k, (int, float)) and math.isfinite(per_1k):
            txt = f"Running the service this way costs about {money(per_1k)} per 1,000 decisions"
            if isinstance(monthly, (int, float)) and math.isfinite(monthly):
                txt += f", or {money(monthly)} a month at this load"
            parts.append(txt + ".")
    canary = summary.get("canary")
    if isinstance(canary, dict) and canary.get("outcome") not in (None, "none"):
        n = canary.get("requests_on_canary")
        seen = f" Only {n:,} customers were served by the new version." if isinstance(n, int) else ""
        outcome = str(canary["outcome"]).replace("_", " ")
        parts.append(f"The new model version's release ended as: {outcome}.{seen}")
    fair = summary.get("fairness")
    if isinstance(fair, dict) and fair and fair.get("enabled") is not False:
        flagged = fair.get("flagged")
        if flagged is None:
            flagged = bool(fair.get("flags") or fair.get("flag_count") or fair.get("windows_flagged"))
        parts.append("The fairness monitor flagged a gap in approval rates between customer groups; a human "
                     "should review it." if flagged else
                     "The fairness monitor found no worrying gap in approval rates between customer groups.")
    return " ".join(parts)


# --------------------------------------------------------------------------- events
def _fault_phrase(comp: str, detail: str) -> str:
    d = detail.lower()
    if "outage" in d or "down" in d:
        return f"{comp} went down"
    if "crash" in d:
        return f"{comp} lost a server (crash)"
    if "memory" in d:
        return f"{comp} came under memory pressure and slowed down"
    if "lock" in d or "contention" in d:
        return f"{comp} slowed down (lock contention)"
    if "latency" in d or "slow" in d:
        return f"{comp} became slow"
    if "error" in d:
        return f"{comp} started returning errors"
    return f"{comp} had a fault ({detail})" if detail else f"{comp} had a fault"


def _window_answered(ts: pd.DataFrame | None, start_s: float, end_s: float | None) -> float | None:
    """Share of requests finishing in [start, end] that got an answer, from the time series."""
    if ts is None or end_s is None or "completions" not in ts or "failures" not in ts:
        return None
    sel = ts[(ts["t_end_s"] > start_s) & (ts["t_s"] < end_s)]
    done, failed = float(sel["completions"].sum()), float(sel["failures"].sum())
    return done / (done + failed) if done + failed > 0 else None


def _single(kind: str, comp: str, detail: str, t_s: float, end_s: float | None,
            ts: pd.DataFrame | None) -> str:
    """The phrase for one event; ``end_s`` is when a fault ended (None if it did not)."""
    if kind == "fault_started":
        text = _fault_phrase(comp, detail)
        if end_s is not None:
            text += f" for {human_duration(end_s - t_s)}"
        share = _window_answered(ts, t_s, end_s)
        if share is not None:
            text += f"; during that time {pct(share)} of customers still got an answer"
        return text
    phrases = {
        "fault_ended": f"{comp} was healthy again",
        "breaker_opened": f"the safety switch (circuit breaker) tripped and stopped calling {comp}",
        "breaker_closed": f"the safety switch closed again and {comp} was back in normal use",
        "breaker_half_opened": "the safety switch let a few test calls through",
        "canary_started": "a new model version started taking a small share of traffic"
                          + (f" ({detail})" if detail else ""),
        "canary_promoted": "the new model version passed every check and took over all traffic",
        "canary_rolled_back": "the automatic checks rolled the new model version back"
                              + (f" ({detail.split('reason', 1)[1].strip(' :=')})" if "reason" in detail else ""),
        "replica_crashed": f"model servers crashed ({detail})" if detail else "a model server crashed",
        "spike_started": f"a traffic surge began ({detail})" if detail else "a traffic surge began",
        "spike_ended": f"the surge ({detail}) was over" if detail else "the surge was over",
        "fairness_flagged": "the fairness monitor flagged that one customer group was approved much less often "
                            "than another" + (f" ({detail})" if detail else ""),
        "fairness_cleared": "the approval gap closed and the fairness flag was cleared",
        "batch_job_started": f"the batch job started scoring {detail} at once" if detail else "the batch job started",
        "batch_job_finished": "the batch job finished",
        "scale_decision": f"the autoscaler changed the number of model servers ({detail})",
        "replica_ready": "a new model server came online",
    }
    if kind in phrases:
        return phrases[kind]
    return f"{kind.replace('_', ' ')} ({comp}{': ' + detail if detail else ''})"


def _span(scenario: Scenario, group: pd.DataFrame) -> str:
    first, last = clock(scenario, group["t_s"].iloc[0]), clock(scenario, group["t_s"].iloc[-1])
    return f"between {first} and {last}" if first != last else f"at {first}"


def _grouped(kind: str, group: pd.DataFrame) -> str:
    """The phrase for several events of one kind (their time span is added by the caller)."""
    n = len(group)
    if kind == "scale_decision":
        nums = [x for d in group["detail"] for x in _numbers(d)[:2]]
        end = f", ending at {nums[-1]:g} server{'s' if nums[-1] != 1 else ''}" if nums else ""
        return f"the autoscaler changed the number of model servers {n} time{'s' if n != 1 else ''}{end}"
    if kind == "replica_ready":
        return f"{n} new model server{'s' if n != 1 else ''} came online"
    if kind == "replica_started":
        return f"{n} model server{'s' if n != 1 else ''} {'were' if n != 1 else 'was'} started"
    if kind == "replica_stopped":
        return f"{n} idle model server{'s' if n != 1 else ''} {'were' if n != 1 else 'was'} stopped to save money"
    if kind == "canary_weight":
        top = max((x for d in group["detail"] for x in _numbers(d)[:1]), default=None)
        return "the new version's share of traffic grew step by step" + (f" up to {top:g} %" if top else "")
    if kind == "canary_check_failed":
        return f"{n} automatic check{'s' if n != 1 else ''} of the new version failed"
    if kind == "breaker_half_opened":
        return f"the safety switch tested the service {n} time{'s' if n != 1 else ''}"
    if kind in REPEAT_WORDS:
        return REPEAT_WORDS[kind].format(n=n)
    return f"{kind.replace('_', ' ')} happened {n} more time{'s' if n != 1 else ''}"


def event_items(scenario: Scenario, events: pd.DataFrame | None, ts: pd.DataFrame | None = None) -> list[_Item]:
    """One item per told event, grouping frequent kinds, in time order."""
    if events is None or len(events) == 0:
        return []
    ev = events.sort_values("t_s", kind="stable").reset_index(drop=True)
    ev["detail"] = ev["detail"].fillna("").astype(str)
    items: list[_Item] = []
    for kind, group in ev.groupby("kind", sort=False):
        group = group.sort_values("t_s")
        if kind in ALWAYS_GROUPED:
            items.append(_Item(float(group["t_s"].iloc[0]), _grouped(kind, group), _span(scenario, group)))
            continue
        singles = group if len(group) <= MAX_SINGLE else group.iloc[:1]
        for idx, e in singles.iterrows():
            end_s = None
            if kind == "fault_started":
                ends = ev.iloc[idx + 1:]
                ends = ends[(ends["kind"] == "fault_ended") & (ends["component"] == e["component"])]
                end_s = float(ends["t_s"].iloc[0]) if len(ends) else None
            text = _single(kind, stage_name(scenario, str(e["component"])), e["detail"], float(e["t_s"]), end_s, ts)
            items.append(_Item(float(e["t_s"]), text))
        if len(group) > MAX_SINGLE:
            rest = group.iloc[1:]
            items.append(_Item(float(rest["t_s"].iloc[0]), _grouped(kind, rest), _span(scenario, rest)))
    items.sort(key=lambda it: it.t_s)
    return items


def events_paragraph(scenario: Scenario, events: pd.DataFrame | None, ts: pd.DataFrame | None = None,
                     max_items: int = 10) -> str:
    """'At 14:05 X. 9 seconds later Y. At 14:40 Z.' for the run's events."""
    items = event_items(scenario, events, ts)
    if not items:
        return ""
    told = items[:max_items]
    sentences, prev = [], None
    for it in told:
        gap = None if prev is None else it.t_s - prev
        if it.span:
            sentences.append(_cap(f"{it.span}, {it.text}."))
            continue
        if gap is not None and gap < 1:
            lead = "At the same moment"
        elif gap is not None and gap < NEAR_S:
            lead = f"{human_duration(gap)} later"
        else:
            lead = f"At {clock(scenario, it.t_s)}"
        sentences.append(_cap(f"{lead} {it.text}."))
        prev = it.t_s
    if len(items) > max_items:
        sentences.append(f"{len(items) - max_items} more things happened after that; the charts on the "
                         f"Throughput & latency page mark every one.")
    return " ".join(sentences)


# --------------------------------------------------------------------------- public
def narrate(scenario: Scenario, summary: dict, events: pd.DataFrame | None = None,
            timeseries: pd.DataFrame | None = None) -> list[str]:
    """The run's story as paragraphs: outcome, what happened when, capacity, then cost/fairness."""
    paragraphs = [outcome_paragraph(scenario, summary), events_paragraph(scenario, events, timeseries),
                  capacity_paragraph(scenario, summary), extras_paragraph(scenario, summary)]
    if not (events is not None and len(events)):
        paragraphs[1] = "Nothing unusual happened during the run: no surges, faults or automatic actions."
    return [p for p in paragraphs if p]


# --------------------------------------------------------------------------- compare
FIELD_WORDS = {
    "traffic.rate_per_s": ("traffic", " payments/s"),
    "inference.replicas": ("model servers", ""),
    "inference.concurrency": ("requests per model server", ""),
    "inference.service_ms": ("model time per request", " ms"),
    "inference.queue_limit": ("model waiting-line limit", ""),
    "ingestion.mode": ("how payments come in", ""),
    "ingestion.stream.partitions": ("stream partitions", ""),
    "ingestion.stream.consumers": ("stream consumers", ""),
    "feature_store.mode": ("feature lookup", ""),
    "feature_store.db_connections": ("database connections", ""),
    "external_api.timeout_ms": ("weather-service timeout", " ms"),
    "external_api.fallback": ("fallback when the weather service fails", ""),
    "slo_latency_ms": ("promised time", " ms"),
    "duration_s": ("simulated time", " s"),
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
            if k not in IGNORED_FIELDS and fa.get(k) != fb.get(k)]


def _value(v: object, unit: str) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, (int, float)):
        return f"{v:,}{unit}"
    return "none" if v is None else str(v)


def compare_paragraph(a: Scenario, sum_a: dict, b: Scenario, sum_b: dict,
                      label_a: str = "A", label_b: str = "B") -> str:
    """One paragraph: what differs between the two set-ups and what that did to the KPIs."""
    changes = changed_fields(a, b)
    if not changes:
        what = f"{_cap(label_b)} uses exactly the same settings as {label_a}."
    else:
        shown = []
        for path, va, vb in changes[:5]:
            words, unit = FIELD_WORDS.get(path, (path.replace("_", " ").replace(".", " > "), ""))
            shown.append(f"{words} {_value(va, unit)} → {_value(vb, unit)}")
        more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        what = f"{_cap(label_b)} differs from {label_a} in {len(changes)} setting{'s' if len(changes) != 1 else ''}: " \
               f"{'; '.join(shown)}{more}."
    effects = []
    ot_a, ot_b = sum_a.get("on_time_fraction"), sum_b.get("on_time_fraction")
    if ot_a is not None and ot_b is not None:
        if abs(ot_b - ot_a) < 0.0005:
            effects.append(f"the share of customers answered on time stayed at {pct(ot_b)}")
        else:
            effects.append(f"customers answered on time went from {pct(ot_a)} to {pct(ot_b)}")
    p_a, p_b = (sum_a.get("latency_ms") or {}).get("p99"), (sum_b.get("latency_ms") or {}).get("p99")
    if p_a is not None and p_b is not None:
        effects.append(f"the slowest 1 % waited {short_ms(p_b)} instead of {short_ms(p_a)}")
    av_a, av_b = sum_a.get("availability"), sum_b.get("availability")
    if av_a is not None and av_b is not None and abs(av_b - av_a) >= 0.0005:
        effects.append(f"availability moved from {pct(av_a)} to {pct(av_b)}")
    c_a, c_b = (sum_a.get("cost_usd") or {}), (sum_b.get("cost_usd") or {})
    if isinstance(c_a, dict) and isinstance(c_b, dict) and c_a.get("monthly_projection") is not None \
            and c_b.get("monthly_projection") is not None:
        before, after = money(c_a["monthly_projection"]), money(c_b["monthly_projection"])
        effects.append(f"the monthly cost stayed at {after}" if before == after else
                       f"the monthly cost went from {before} to {after}")
    if not effects:
        return what
    verdict = ""
    if ot_a is not None and ot_b is not None:
        verdict = (f" Overall, {label_b} serves customers better." if ot_b - ot_a > 0.001 else
                   f" Overall, {label_b} serves customers worse." if ot_a - ot_b > 0.001 else
                   " For customers, the difference is negligible.")
    return f"{what} With the same random seed, {', '.join(effects[:-1])}" \
           f"{' and ' if len(effects) > 1 else ''}{effects[-1]}.{verdict}"
