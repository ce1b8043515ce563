"""Findings about what happened during a run: incidents, releases and model versions, fairness,
human review, drift and retraining, traffic surges and scaling.

Every time comes from the events (or from the recovery records built from them), never from the
configuration: a release configured for 08:00 that started at 11:30 is told at 11:30.

Severities: an incident is a breach when, between its start and the return to normal, more
customers got an error or a late answer than the on-time target allows, otherwise a watch. A
release rolled back or still being checked is a watch, a promoted one ok. A flagged fairness
gap is a breach; a worst window below the four-fifths line without a flag (not significant) a
watch. Human review whose slowest 5 % waited longer than the target is a breach. Drift is a
watch; surges and scaling are ok (they explain other findings).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.report.event_words import describe_event
from simulator.report.finding import Finding, Severity, label_in, surge_windows
from simulator.report.recovery import REACTIONS
from simulator.report.results import RunResult
from simulator.report.stages import request_latency_ms
from simulator.report.words import (
    clock,
    clock_auto,
    clock_span,
    count,
    duration_words,
    human_duration,
    short_ms,
    stage_name,
)
from simulator.scenario.config import Scenario

FAULT_COMPONENT = {"feature_store": "feature_db", "database": "feature_db"}


def story_findings(sc: Scenario, result: RunResult) -> list[Finding]:
    return [*incidents(sc, result), *release(sc, result), *fairness(sc, result), *review(sc, result),
            *drift(sc, result), *surges(sc, result), *scaling(sc, result)]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def customers_in(sc: Scenario, req: pd.DataFrame, t0: float, t1: float) -> dict[str, int]:
    """Requests arriving in [t0, t1) after warm-up: how many, failed, answered late, answered by a fallback."""
    arrival = req["arrival_s"].to_numpy()
    inside = (arrival >= max(t0, sc.warmup_s)) & (arrival < t1)
    outcome = req["outcome"]
    latency = request_latency_ms(req)[inside]
    ok, degraded = label_in(outcome, ("ok",))[inside], label_in(outcome, ("degraded",))[inside]
    answered = ok | degraded
    return {"arrived": int(inside.sum()), "failed": int(label_in(outcome, ("failed",))[inside].sum()),
            "late": int((answered & (latency > sc.slo_latency_ms)).sum()),
            "fallback": int(degraded.sum()), "finished": int((~label_in(outcome, ("in_flight",))[inside]).sum())}


# --------------------------------------------------------------------------- incidents
def _people(n: int, v) -> str:
    """'no customer', '1 customer', '2,924 customers'."""
    return f"no {v.customer}" if n == 0 else count(n, v.customer, v.customers)


def incidents(sc: Scenario, result: RunResult) -> list[Finding]:
    v, out = sc.vocabulary, []
    ev = result.events
    for i, rec in enumerate(result.summary.recovery):
        component = FAULT_COMPONENT.get(rec.target, rec.target)
        end_of_impact = rec.recovered_s if rec.recovered_s is not None else sc.duration_s
        hit = customers_in(sc, result.requests, rec.started_s, end_of_impact)
        bad = hit["failed"] + hit["late"]
        allowed = (1 - sc.service_levels.on_time_target) * max(hit["finished"], 1)
        severity: Severity = "breach" if bad > allowed else "watch"
        lasted = (f" and lasted {duration_words(rec.ended_s - rec.started_s)}" if rec.ended_s is not None
                  else " and was still going on when the run ended")
        parts = [f"“{_cap(rec.fault)}” hit {stage_name(sc, component)} at {clock_auto(sc, rec.started_s)}{lasted}."]
        if rec.prepared_s is not None:
            answered = (f"{v.customers} were answered from fallback answers" if sc.external_api.fallback != "none"
                        else f"every {v.request} that needed it failed")
            parts.append(f"An operator had held the safety switch open since {clock_auto(sc, rec.prepared_s)}, "
                         f"before the fault began, so no calls went to {stage_name(sc, component)} and {answered}.")
        elif rec.detected_s is None:
            parts.append("Nothing reacted to it automatically.")
        else:
            reaction = ev[(ev["t_s"] == rec.detected_s) & ev["kind"].isin(REACTIONS.get(rec.target, ()))]
            how = (describe_event(sc, str(reaction["kind"].iloc[0]), str(reaction["component"].iloc[0]),
                                  reaction["detail"].iloc[0]) if len(reaction) else "the system reacted")
            delay = rec.detected_s - rec.started_s
            parts.append(_cap(f"{'at once' if delay < 0.5 else duration_words(delay) + ' later'}, {how}."))
        if rec.mitigated_s is not None:
            parts.append(f"{_cap(v.customers)} were served normally again from {clock_auto(sc, rec.mitigated_s)}")
        else:
            parts.append(f"{_cap(v.customers)} were not served normally again before the run ended")
        if rec.recovered_s is not None:
            parts[-1] += f"; everything was back to normal at {clock_auto(sc, rec.recovered_s)}."
        else:
            parts[-1] += "." if rec.mitigated_s is None else "; service was not fully normal by the end of the run."
        parts.append(f"Until then {_people(hit['failed'], v)} got an error, {hit['late']:,} a late answer and "
                     f"{hit['fallback']:,} a fallback answer.")
        evidence = {"started_s": rec.started_s, "prepared_s": rec.prepared_s, "detected_s": rec.detected_s,
                    "mitigated_s": rec.mitigated_s,
                    "ended_s": rec.ended_s, "recovered_s": rec.recovered_s,
                    **{f"customers_{k}": n for k, n in hit.items()}}
        out.append(Finding("incident", severity, " ".join(parts), _cap(rec.fault), f"{bad:,} hurt",
                           "customers hurt" if severity == "breach" else "contained", evidence, rec.started_s,
                           component, f"incident.{i}"))
    return out


# --------------------------------------------------------------------------- releases
def release(sc: Scenario, result: RunResult) -> list[Finding]:
    """The canary release with its real times, its outcome, and who decided how many requests."""
    s, v, ev = result.summary, sc.vocabulary, result.events
    c = s.canary
    out = []
    req = result.requests
    answered = (req["arrival_s"].to_numpy() >= sc.warmup_s) & label_in(req["outcome"], ("ok", "degraded"))
    versions = req["model_version"]
    labels = [str(x) for x in versions.cat.categories]
    # answered requests per version, counted on the category codes (-1, no version, is dropped)
    counts = np.bincount(versions.cat.codes.to_numpy()[answered].astype(np.int64) + 1, minlength=len(labels) + 1)
    by_version = dict(zip(labels, counts[1:].tolist()))
    old, new = labels[1], labels[2]
    if c.outcome != "none" and c.started_at_s is not None:
        weights = ev.loc[ev["kind"] == "canary_weight", "detail"].astype(str)
        shares = [int(p.split("weight_pct ", 1)[1].split(",")[0]) for p in weights if p.startswith("weight_pct ")]
        first, top = (shares[0], max(shares)) if shares else (None, None)
        text = f"Model {new} was released at {clock(sc, c.started_at_s)}"
        text += f" to {first} % of {v.requests}" if first is not None else ""
        text += f" (up to {top} %)" if top is not None and top != first else ""
        during = c.requests_on_canary
        after = int(by_version.get(new, 0)) - during if c.outcome == "promoted" else 0
        if c.outcome == "promoted":
            text += (f"; every check passed and it took over all {v.requests} at {clock(sc, c.decided_at_s)}. "
                     f"It decided {during:,} {v.requests} during the release and {max(after, 0):,} after it; "
                     f"{old} decided {int(by_version.get(old, 0)):,}.")
            severity: Severity = "watch" if c.bad_responses_on_canary else "ok"
            status, value = "checks passed", "promoted"
        elif c.outcome == "rolled_back":
            failed = int((ev["kind"] == "canary_check_failed").sum())
            text += (f"; {count(failed, 'automatic check')} failed and it was rolled back at "
                     f"{clock(sc, c.decided_at_s)}. {during:,} {v.customers} were served by it, "
                     f"{c.bad_responses_on_canary:,} of them got an error or a slow answer.")
            severity, status, value = "watch", "caught by its checks", "rolled back"
        else:
            text += (f"; it was still being checked when the run ended. {during:,} {v.customers} were served by it so "
                     f"far, {c.bad_responses_on_canary:,} of them got an error or a slow answer.")
            severity, status, value = "watch", "in progress", "being checked"
        out.append(Finding("release", severity, text, f"New model {new}", value, status,
                           {"started_s": c.started_at_s, "decided_s": c.decided_at_s, "on_canary": during,
                            "bad_on_canary": c.bad_responses_on_canary, "after_release": max(after, 0),
                            f"decided_by_{old}": int(by_version.get(old, 0)),
                            f"decided_by_{new}": int(by_version.get(new, 0)), "outcome": c.outcome},
                           c.started_at_s, "canary", "release"))
    deployed = ev[ev["kind"] == "model_deployed"]
    if len(deployed):
        t = float(deployed["t_s"].iloc[0])
        out.append(Finding("release", "ok", f"Model {new} was deployed to every server at {clock(sc, t)} and decided "
                           f"{int(by_version.get(new, 0)):,} {v.requests} after that; {old} decided "
                           f"{int(by_version.get(old, 0)):,} before.", f"New model {new}", f"{new} deployed",
                           "deployed", {f"decided_by_{old}": int(by_version.get(old, 0)),
                                        f"decided_by_{new}": int(by_version.get(new, 0))}, t, "inference",
                           "release.deployed"))
    return out


# --------------------------------------------------------------------------- fairness and review
def fairness(sc: Scenario, result: RunResult) -> list[Finding]:
    s, v = result.summary, sc.vocabulary
    f = s.fairness
    if f is None:
        return []
    cfg = sc.fairness
    if not f.enabled:
        req = result.requests
        answered = (req["arrival_s"] >= sc.warmup_s) & req["outcome"].isin(["ok", "degraded"])
        per_group = req.loc[answered, "region"].value_counts()
        if f.di_overall is None or per_group.min() < cfg.min_samples_per_group:
            return []  # too few decisions per region to say anything (the monitor's own guard)
        below = f.di_overall < cfg.threshold
        return [Finding("fairness", "watch" if below else "ok",
                        f"No monitor watches fairness here; over the whole run the least favoured region's "
                        f"{v.customers} were {v.approved} {f.di_overall:.2f} times as often as the most favoured "
                        f"region's ({'below' if below else 'above'} the four-fifths line of {cfg.threshold:g}).",
                        "Fairness: approval ratio", f"{f.di_overall:.2f}",
                        "below the line" if below else "not monitored",
                        {"di_overall": f.di_overall, "threshold": cfg.threshold}, None, "decision", "fairness")]
    frame = (result.extra or {}).get("fairness")
    worst = frame.loc[frame["ratio"].idxmin()] if frame is not None and len(frame) and frame["ratio"].notna().any() \
        else None
    ev = result.events
    flags = ev[ev["kind"] == "fairness_flagged"]
    clears = ev[ev["kind"] == "fairness_cleared"]
    window = human_duration(cfg.window_s).replace("30 minutes", "half-hour").replace("1.0 hours", "one-hour")
    evidence = {"flagged_windows": f.flagged_windows, "windows": f.windows, "min_ratio": f.min_di,
                "first_flag_s": float(flags["t_s"].iloc[0]) if len(flags) else None,
                "cleared_s": float(clears["t_s"].iloc[0]) if len(clears) else None, "threshold": cfg.threshold}
    gap = ""
    if worst is not None:
        evidence.update(ratio_lo=float(worst["ratio_lo"]), ratio_hi=float(worst["ratio_hi"]),
                        worst_group=str(worst["worst_group"]), comparison_group=str(worst["comparison_group"]))
        gap = (f"{v.customers} in the {worst['worst_group']} were {v.approved} {worst['ratio']:.2f} times as often as "
               f"in the {worst['comparison_group']} (95 % interval {worst['ratio_lo']:.2f} to {worst['ratio_hi']:.2f})")
    if f.flagged_windows > 0:
        text = (f"Fairness gap flagged: {gap}, below the four-fifths line; {f.flagged_windows} of {f.windows} "
                f"{window} windows were flagged" if gap else
                f"Fairness gap flagged in {f.flagged_windows} of {f.windows} {window} windows")
        if evidence["first_flag_s"] is not None:
            text += f", the first at {clock(sc, evidence['first_flag_s'])}"
        text += (f"; the flag was cleared at {clock(sc, evidence['cleared_s'])}." if evidence["cleared_s"] is not None
                 else "; the flag was still up when the run ended.")
        return [Finding("fairness", "breach", text, "Fairness: worst approval ratio",
                        f"{f.min_di:.2f}" if f.min_di is not None else "-", "gap flagged", evidence,
                        evidence["first_flag_s"], "fairness", "fairness")]
    if f.min_di is not None and f.min_di < cfg.threshold:
        text = (f"No fairness flag was raised, but in the worst {window} window {gap}: below the four-fifths line, "
                f"yet not clearly enough to be sure it is more than chance.")
        return [Finding("fairness", "watch", text, "Fairness: worst approval ratio", f"{f.min_di:.2f}",
                        "no flag, watch", evidence, None, "fairness", "fairness")]
    text = (f"No fairness gap: in every {window} window the least favoured region's {v.customers} were {v.approved} "
            f"at least {cfg.threshold:g} times as often as the most favoured region's"
            + (f" (worst {f.min_di:.2f})." if f.min_di is not None else "."))
    return [Finding("fairness", "ok", text, "Fairness: worst approval ratio",
                    f"{f.min_di:.2f}" if f.min_di is not None else "-", "no gap", evidence, None, "fairness",
                    "fairness")]


def review(sc: Scenario, result: RunResult) -> list[Finding]:
    r, v = result.summary.review, sc.vocabulary
    if r is None or r.cases == 0:
        return []
    late = r.wait_p95_min is not None and r.wait_p95_min > r.sla_min
    text = (f"{count(r.cases, v.decision, v.decision + 's')} went to human review; at most {r.backlog_max:,} waited at "
            f"once and the slowest 5 % waited {short_ms((r.wait_p95_min or 0) * 60_000)} for a reviewer, against a "
            f"target of {short_ms(r.sla_min * 60_000)}.")
    if r.reviewers_needed is not None:
        on_duty = f"; at most {r.reviewers_on_duty_max} were on duty" if r.reviewers_on_duty_max is not None else ""
        text += f" About {r.reviewers_needed} reviewers are needed for that target (an Erlang-C estimate){on_duty}."
    return [Finding("review", "breach" if late else "ok", text,
                    "Reviewers needed" if r.reviewers_needed is not None else "Cases for human review",
                    (f"{r.reviewers_needed}" + (f" ({r.reviewers_on_duty_max} on duty)" if r.reviewers_on_duty_max
                                                is not None else "")) if r.reviewers_needed is not None
                    else f"{r.cases:,}",
                    "understaffed" if late else "keeping up",
                    {"cases": r.cases, "backlog_max": r.backlog_max, "wait_p95_min": r.wait_p95_min,
                     "sla_min": r.sla_min, "reviewers_needed": r.reviewers_needed,
                     "reviewers_on_duty_max": r.reviewers_on_duty_max}, None, "fairness", "review")]


# --------------------------------------------------------------------------- drift, surges, scaling
def drift(sc: Scenario, result: RunResult) -> list[Finding]:
    d, v = result.summary.drift, sc.vocabulary
    if d is None or d.detected_at_s is None:
        return []
    ev = result.events
    seen = ev[ev["kind"] == "drift_detected"]
    what = describe_event(sc, "drift_detected", "model", seen["detail"].iloc[0]) if len(seen) else \
        f"the drift detector saw the incoming {v.requests} change"
    text = f"At {clock(sc, d.detected_at_s)} {what} and retraining started"
    ready = ev[ev["kind"] == "retraining_finished"]
    if d.retrained_at_s is not None:
        version = str(ready["detail"].iloc[0]).split(" ", 1)[0] if len(ready) else "the new version"
        text += f"; the retrained {v.model} {version} was ready at {clock(sc, d.retrained_at_s)}."
    else:
        text += "; it was not finished when the run ended."
    return [Finding("drift", "watch", text, "Data drift noticed at", clock(sc, d.detected_at_s), "retrained"
                    if d.retrained_at_s is not None else "retraining", {"detected_s": d.detected_at_s,
                                                                         "retrained_s": d.retrained_at_s},
                    d.detected_at_s, "inference", "drift")]


def surges(sc: Scenario, result: RunResult) -> list[Finding]:
    v, out = sc.vocabulary, []
    ts = result.timeseries
    for i, (t0, t1, name) in enumerate(surge_windows(result.events, sc.duration_s)):
        inside = ts[(ts["t_s"] >= t0) & (ts["t_s"] < t1)]
        peak = float(inside["arrival_rate_per_s"].max()) if len(inside) else None
        text = (f"The {name} began at {clock(sc, t0)} and lasted {human_duration(t1 - t0)}"
                + (f", with up to {peak:,.0f} {v.requests} a second." if peak is not None else "."))
        out.append(Finding("traffic", "ok", text, f"{_cap(name)}: peak per s",
                           f"{peak:,.0f}" if peak is not None else "-",
                           "surge", {"start_s": t0, "end_s": t1, "peak_rate_per_s": peak}, t0, "customers",
                           f"traffic.{i}"))
    return out


def scaling(sc: Scenario, result: RunResult) -> list[Finding]:
    s, ev = result.summary, result.events
    decisions = ev[ev["kind"] == "scale_decision"]
    if not sc.autoscaler.enabled or s.replicas is None or len(decisions) == 0:
        return []
    starts = ev.loc[ev["kind"] == "replica_started", "detail"].astype(str).str.extract(r"ready in (\d+) s")[0]
    starts = starts.dropna().astype(float)
    text = (f"The autoscaler made {count(len(decisions), 'decision')} "
            f"{clock_span(sc, float(decisions['t_s'].min()), float(decisions['t_s'].max()))}, running between "
            f"{s.replicas.min} and {s.replicas.max} model servers")
    if len(starts):
        lo, hi = float(starts.min()), float(starts.max())
        text += (f"; a new server needed {lo:.0f} s to start" if hi - lo < 1 else
                 f"; a new server needed {lo:.0f} to {hi:.0f} s to start")
    return [Finding("scaling", "ok", text + ".", "Model servers", f"{s.replicas.min} to {s.replicas.max}", "autoscaled",
                    {"decisions": len(decisions), "min": s.replicas.min, "max": s.replicas.max,
                     "start_s_max": float(np.max(starts)) if len(starts) else None},
                    float(decisions["t_s"].min()), None, "scaling")]

