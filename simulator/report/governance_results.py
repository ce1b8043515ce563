"""Result tables and summary sections for fairness, review, explanations, drift and the audit log."""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.common.numbers import finite_or_none
from simulator.report.components import final_decision
from simulator.scenario.config import Scenario


def fairness_frame(gov) -> pd.DataFrame:
    """One row per fairness window: ratio, its interval, status, and per-group rates and counts."""
    rows = []
    for w in (gov.windows if gov is not None else []):
        row = {"t_s": w["t_s"], "ratio": w["ratio"], "ratio_lo": w["ratio_ci"][0], "ratio_hi": w["ratio_ci"][1],
               "status": w["status"], "flagged": w["flagged"], "event": w["event"] or "",
               "worst_group": w["worst_group"] or "", "comparison_group": w["comparison_group"] or ""}
        for g, r in w["rates"].items():
            row[f"rate_{g}"] = r
            row[f"count_{g}"] = w["counts"][g]
        rows.append(row)
    return pd.DataFrame(rows)


def review_frame(gov) -> pd.DataFrame:
    if gov is None or not gov.case_rid:
        return pd.DataFrame(columns=["case", "request_id", "enter_s", "start_s", "end_s", "wait_min", "verdict"])
    enter = np.array(gov.case_enter)
    start = np.array(gov.case_start)
    end = np.array(gov.case_end)
    outcome = np.array(gov.case_outcome)
    return pd.DataFrame({"case": np.arange(len(enter)), "request_id": gov.case_rid, "enter_s": enter,
                         "start_s": start, "end_s": end, "wait_min": (start - enter) / 60.0,
                         "verdict": np.where(outcome == 1, "approved", np.where(outcome == 0, "rejected", "pending"))})


def extra_frames(sc: Scenario, trace, cols: dict) -> dict[str, pd.DataFrame]:
    gov = trace.gov
    dec = trace.decisions
    audit = list(trace.audit) + (list(gov.audit) if gov is not None else [])
    if gov is None and sc.inference.enabled:
        audit.insert(0, (0.0, "deploy", "automation", f"model {sc.model.version} ({sc.inference.precision}) serving"))
    out = {
        "fairness": fairness_frame(gov),
        "reviews": review_frame(gov),
        "audit": pd.DataFrame(sorted(audit), columns=["t_s", "action", "role", "detail"]),
    }
    if dec is not None:
        from simulator.engine.decisions import explanation_frame

        out["explanations"] = explanation_frame(dec.explained, dec.primary.feature_names)
    if gov is not None:
        out["psi"] = pd.DataFrame(gov.psi_series, columns=["t_s", "psi", "feature", "rows"])
        out["reviewers"] = pd.DataFrame(gov.headcount, columns=["t_s", "reviewers"])
    return out


def decision_tallies(sc: Scenario, cols: dict, after: np.ndarray) -> dict:
    """The per-request sums the decision statistics need (additive over blocks of requests)."""
    answered = after & (cols["outcome"] <= 1) & (cols["label"] >= 0)
    decision = final_decision(cols)[answered]
    region = cols["region"][answered]
    groups = len(sc.traffic.regions)
    return {"answered": int(answered.sum()), "correct": int((decision == cols["label"][answered]).sum()),
            "by_group": np.bincount(region, minlength=groups)[:groups].astype(np.int64),
            "decision_sum_by_group": np.bincount(region, weights=decision, minlength=groups)[:groups]}


def decision_stats(sc: Scenario, tallies: dict, trace) -> dict:
    """Summary sections: model.accuracy_online, fairness, review, explanations, drift
    (``tallies``: :func:`decision_tallies`)."""
    out: dict = {}
    online = tallies["correct"] / tallies["answered"] if tallies["answered"] else None
    groups = list(sc.traffic.regions)
    count, total = tallies["by_group"], tallies["decision_sum_by_group"]
    rates = {g: finite_or_none(total[i] / count[i]) if count[i] else None for i, g in enumerate(groups)}
    valid = [r for r in rates.values() if r is not None]
    di_overall = (min(valid) / max(valid)) if valid and max(valid) > 0 else None
    out["accuracy_online"] = finite_or_none(online)
    out["approval_rate_by_group"] = rates
    gov = trace.gov
    fair = sc.fairness
    windows = gov.windows if gov is not None else []
    ratios = [w["ratio"] for w in windows if w["ratio"] == w["ratio"]]
    flags = [w for w in windows if w["event"] == "fairness_flagged"]
    out["fairness"] = {
        "enabled": fair.enabled,
        "min_di": finite_or_none(min(ratios)) if ratios else finite_or_none(di_overall),
        "di_overall": finite_or_none(di_overall),
        "di_by_group": {g: (finite_or_none(r / max(valid)) if r is not None and valid and max(valid) > 0 else None)
                        for g, r in rates.items()},
        "flagged_windows": int(sum(1 for w in windows if w["flagged"])),
        "windows": len(windows),
        "first_flag_s": finite_or_none(flags[0]["t_s"]) if flags else None,
        "status": ("flagged" if gov is not None and gov.flag_group >= 0 else "ok") if fair.enabled else "not monitored",
    }
    if gov is not None and gov.case_rid:
        enter = np.array(gov.case_enter)
        start = np.array(gov.case_start)
        waits_min = (np.where(np.isnan(start), sc.duration_s, start) - enter) / 60.0
        backlog_max = _backlog_max(enter, start)
        picked = ~np.isnan(start)
        busy = float((np.minimum(np.nan_to_num(np.array(gov.case_end), nan=sc.duration_s), sc.duration_s)
                      - start)[picked].sum())
        staffed = sum((min(t1, sc.duration_s) - t0) * h for (t0, h), (t1, _) in
                      zip(gov.headcount, gov.headcount[1:] + [(sc.duration_s, 0)]))
        out["review"] = {"cases": len(gov.case_rid), "done": int(np.sum(~np.isnan(np.array(gov.case_end)))),
                         "backlog_max": int(backlog_max), "wait_p95_min": finite_or_none(np.percentile(waits_min, 95)),
                         "wait_mean_min": finite_or_none(waits_min.mean()),
                         "cost_usd": round(len(gov.case_rid) * sc.cost.review_usd_per_case, 2),
                         "reviewer_utilization": finite_or_none(busy / staffed) if staffed > 0 else None,
                         "reviewers_needed": gov.staffing_hint(),
                         "case_rate_per_h_flagged": finite_or_none(len(gov.case_rid) / gov.flagged_seconds() * 3600)
                         if gov.flagged_seconds() > 0 else None,
                         "reviewers_on_duty_max": max((h for _, h in gov.headcount), default=0),
                         "sla_min": fair.review_sla_s / 60.0}
    else:
        out["review"] = {"cases": 0, "done": 0, "backlog_max": 0, "wait_p95_min": None, "wait_mean_min": None,
                         "cost_usd": 0.0, "reviewer_utilization": None, "reviewers_needed": None,
                         "sla_min": fair.review_sla_s / 60.0}
    dec = trace.decisions
    count = dec.explain_count if dec is not None else 0
    out["explanations"] = {"mode": sc.explanations.mode, "method": sc.explanations.method, "count": int(count),
                           "overhead_ms_mean": finite_or_none(dec.explain_cost_s * 1000.0) if count else 0.0,
                           "overhead_s_total": finite_or_none(dec.explain_overhead_s) if dec is not None else 0.0}
    out["drift"] = {"detected_at_s": finite_or_none(gov.drift_detected_s) if gov is not None else None,
                    "retrained_at_s": finite_or_none(gov.retrained_s) if gov is not None else None,
                    "retraining_cost_usd": gov.retrain_cost if gov is not None else 0.0}
    return out


def _backlog_max(enter: np.ndarray, start: np.ndarray) -> int:
    """Most cases waiting at once (+1 at entry, -1 when a reviewer picks it up)."""
    t = np.concatenate([enter, start[~np.isnan(start)]])
    d = np.concatenate([np.ones(len(enter)), -np.ones(int((~np.isnan(start)).sum()))])
    order = np.lexsort((d, t))  # at equal times, pick-ups (-1) first
    return int(np.max(np.cumsum(d[order]))) if len(t) else 0
