"""Each event of a run in plain words of the scenario's domain, for stories and event tables.

The engine records events with terse technical details ("weight_pct 25, previous_weight_pct 0",
"CLOSED -> OPEN"); people read "the new version's share rose from 0 % to 25 % of loan
applications". The raw detail stays in the events frame (and the "as configured" view for
architects); everything shown to executives goes through :func:`describe_event`.
"""
from __future__ import annotations

import re

import pandas as pd

from simulator.report.words import clock, count, human_duration, stage_name, stage_title
from simulator.scenario.config import Scenario

FEATURE_WORDS = {
    "income_k_usd": "income", "debt_ratio": "debt ratio", "credit_history_years": "length of credit history",
    "amount_usd": "amount", "txn_velocity_per_day": "transactions per day", "account_age_days": "account age",
    "delinquencies_count": "missed repayments",
}
FAULT_KIND_WORDS = {
    "outage errors": "calls fail at once", "outage timeouts": "calls hang until they time out",
    "latency spike": "calls are much slower", "error rate": "some calls fail",
    "lock contention": "queries hold their connections far longer", "outage": "queries fail",
    "crash": "servers crash", "memory pressure": "servers slow down",
}
# kind -> short title for tables and chart markers
EVENT_TITLES = {
    "spike_started": "surge begins", "spike_ended": "surge ends", "fault_started": "fault begins",
    "fault_ended": "fault ends", "breaker_opened": "safety switch trips", "breaker_half_opened": "safety switch tests",
    "breaker_closed": "safety switch closes", "scale_decision": "autoscaler decision",
    "replica_started": "server starting", "replica_ready": "server ready", "replica_stopped": "server stopped",
    "replica_crashed": "servers crash", "canary_started": "new version released",
    "canary_weight": "new version's share changes", "canary_check_failed": "release check fails",
    "canary_promoting": "new version passed its checks", "canary_promoted": "new version promoted",
    "canary_succeeded": "release finished", "canary_restarted": "release restarted",
    "canary_rolled_back": "release rolled back", "breaker_forced_open": "safety switch held open",
    "breaker_disabled": "safety switch switched off", "breaker_metrics_only": "safety switch only records",
    "fairness_flagged": "fairness flag raised", "fairness_cleared": "fairness flag cleared",
    "batch_job_started": "batch job starts", "batch_job_finished": "batch job ends",
    "drift_detected": "drift detected", "retraining_started": "retraining starts",
    "retraining_finished": "retrained model ready", "model_deployed": "new model deployed",
}


def _fields(detail: str) -> dict[str, str]:
    """'weight_pct 25, previous_weight_pct 0' -> {'weight_pct': '25', 'previous_weight_pct': '0'}."""
    out = {}
    for part in str(detail).split(", "):
        key, _, value = part.partition(" ")
        if key and value:
            out[key] = value
    return out


def _number(text: str) -> float | None:
    m = re.search(r"-?\d+(?:\.\d+)?", str(text))
    return float(m.group(0)) if m else None


def event_title(kind: str) -> str:
    """A short title for an event kind ('safety switch trips')."""
    return EVENT_TITLES.get(kind, kind.replace("_", " "))


def place(scenario: Scenario, component: str) -> str:
    """Where an event happened, capitalised: 'Weather service', 'Credit model'."""
    if component in ("canary",):
        return "New model version"
    return stage_title(scenario, component)


def describe_event(scenario: Scenario, kind: str, component: str, detail: str) -> str:
    """One event as a sentence fragment without its time ('the safety switch tripped ...')."""
    v = scenario.vocabulary
    detail = "" if detail is None or (isinstance(detail, float) and detail != detail) else str(detail)
    f = _fields(detail)
    where = stage_name(scenario, component)
    if kind == "fault_started":
        name, _, how = detail.rpartition(" (")
        how = how.rstrip(")")
        words = FAULT_KIND_WORDS.get(how, how)
        name = name or detail
        return f"“{name[:1].upper() + name[1:]}” began" + (f" ({where}: {words})" if words else f" ({where})")
    if kind == "fault_ended":
        return f"“{detail[:1].upper() + detail[1:]}” ended" if detail else f"the fault at {where} ended"
    operator = re.search(r"\(by an operator: (.+)\)", detail)
    by = f" (an operator's runbook step: {operator[1]})" if operator else ""
    if kind == "breaker_forced_open":
        return f"the safety switch was held open by hand, so no calls went to {where}{by}"
    if kind == "breaker_disabled":
        return f"the safety switch was switched off: every call goes to {where} unguarded{by}"
    if kind == "breaker_metrics_only":
        return f"the safety switch was set to record only: calls go to {where} unguarded{by}"
    if kind == "breaker_opened":
        return f"the safety switch tripped and stopped calling {where}{by}"
    if kind == "breaker_half_opened":
        return f"the safety switch let a few test calls through to {where}"
    if kind == "breaker_closed":
        return f"the safety switch closed again: {where} is used normally{by}"
    if kind == "canary_started":
        version = f.get("version", "")
        return f"the new model version {version} started answering a small share of {v.requests}".replace("  ", " ")
    if kind == "canary_weight":
        new, old = f.get("weight_pct"), f.get("previous_weight_pct")
        if new is not None and old is not None:
            return f"the new version's share of {v.requests} rose from {old} % to {new} %"
        return f"the new version's share of {v.requests} changed"
    if kind == "canary_check_failed":
        n, limit = f.get("failed_checks"), f.get("threshold")
        reason = detail.split("reason ", 1)[1] if "reason " in detail else ""
        why = ""
        m = re.match(r"request-success-rate ([\d.]+)% < ([\d.]+)%", reason)
        if m:
            why = f": only {m[1]} % of its answers succeeded (at least {m[2]} % required)"
        m = re.match(r"request-duration p99 ([\d.]+) ms > ([\d.]+) ms", reason)
        if m:
            why = f": its slowest 1 % took {float(m[1]):,.0f} ms (limit {float(m[2]):,.0f} ms)"
        if "no canary traffic" in reason:
            why = ": it got no traffic to judge"
        tally = f" ({n} of {limit} allowed failures)" if n and limit else ""
        return f"an automatic check of the new version failed{why}{tally}"
    if kind == "canary_promoting":
        version = f.get("version", "")
        return f"the new model version {version} passed every check; the main servers started switching to it" \
            .replace("  ", " ")
    if kind == "canary_promoted":
        version = f.get("version", "")
        return f"the new model version {version} took over all {v.requests}".replace("  ", " ")
    if kind == "canary_succeeded":
        return "the release was finished and the separate canary server was stopped"
    if kind == "canary_restarted":
        return f"the release started over (a newer version arrived); all {v.requests} went back to the main servers"
    if kind == "canary_rolled_back":
        n = f.get("failed_checks")
        return "the new model version was rolled back automatically" + (f" after {n} failed checks" if n else "")
    if kind == "replica_crashed":
        m = re.match(r"(\d+) replica\(s\) crashed, (\d+) request\(s\) in flight lost", detail)
        if m:
            return (f"{count(int(m[1]), 'model server')} crashed; {count(int(m[2]), v.request, v.requests)} being "
                    f"scored {'was' if int(m[2]) == 1 else 'were'} lost")
        return "model servers crashed"
    if kind == "replica_ready":
        m = re.match(r"(\d+) replacement", detail)
        return (f"{count(int(m[1]), 'replacement model server')} became ready" if m else
                "a new model server became ready")
    if kind == "replica_started":
        m = re.search(r"ready in (\d+) s", detail)
        node = " (on a new machine)" if "new node" in detail else ""
        return "a new model server started" + (f"; ready in {m[1]} s{node}" if m else node)
    if kind == "replica_stopped":
        return "an idle model server was stopped to save money"
    if kind == "scale_decision":
        m = re.match(r"(up|down) from (\d+) to (\d+)", detail)
        if m:
            verb = "add" if m[1] == "up" else "remove"
            return f"the autoscaler decided to {verb} model servers: {m[2]} → {m[3]}"
        return "the autoscaler changed the number of model servers"
    if kind == "spike_started":
        name, _, rest = detail.partition(": up to ")
        factor = _number(rest)
        return f"the {name} began" + (f": up to {factor:g} times the normal rate of {v.requests}" if factor else "")
    if kind == "spike_ended":
        return f"the {detail} was over" if detail else "the surge was over"
    if kind == "fairness_flagged":
        m = re.match(r"(\w+): approval ratio ([\d.]+) vs (\w+) \(95 % CI ([\d.]+)-([\d.]+)\)", detail)
        if m:
            return (f"the fairness monitor raised a flag: {v.customers} in the {m[1]} were {v.approved} "
                    f"{float(m[2]):.2f} times as often as in the {m[3]} (95 % interval {m[4]} to {m[5]}), below "
                    f"the four-fifths line")
        return "the fairness monitor raised a flag"
    if kind == "fairness_cleared":
        ratio = _number(detail)
        return "the approval gap closed" + (f" (ratio {ratio:.2f})" if ratio is not None else "") + \
            " and the fairness flag was cleared"
    if kind == "drift_detected":
        m = re.match(r"PSI ([\d.]+) on (.+)", detail)
        if m:
            feature = FEATURE_WORDS.get(m[2].replace(" ", "_"), m[2])
            return (f"the drift detector saw the incoming {v.requests} change (population stability index "
                    f"{float(m[1]):.2f} on {feature})")
        return "the drift detector saw the incoming data change"
    if kind == "retraining_started":
        seconds = _number(detail)
        return f"retraining of the {v.model} started" + (f" (about {human_duration(seconds)})" if seconds else "")
    if kind == "retraining_finished":
        version = detail.split(" ", 1)[0] if detail else ""
        return f"the retrained {v.model} {version} was ready".replace("  ", " ")
    if kind == "model_deployed":
        version = detail.split(" ", 1)[0] if detail else ""
        return f"model version {version} was deployed to every server".replace("  ", " ")
    if kind == "batch_job_started":
        n = _number(detail)
        return "the batch job started" + (f" with {count(n, v.request, v.requests)} to score" if n is not None else "")
    if kind == "batch_job_finished":
        n = _number(detail)
        return "the batch job finished" + (f" ({count(n, v.request, v.requests)} scored)" if n is not None else "")
    return f"{event_title(kind)} at {where}"


def event_rows(scenario: Scenario, events: pd.DataFrame) -> pd.DataFrame:
    """The run's events for people: clock time, what happened (in words), where."""
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=["time", "what happened", "where"])
    ev = events.sort_values("t_s", kind="stable")
    return pd.DataFrame({
        "time": [clock(scenario, t) for t in ev["t_s"]],
        "what happened": [describe_event(scenario, str(k), str(c), d)[:1].upper()
                          + describe_event(scenario, str(k), str(c), d)[1:]
                          for k, c, d in zip(ev["kind"], ev["component"], ev["detail"])],
        "where": [place(scenario, str(c)) for c in ev["component"]],
    })
