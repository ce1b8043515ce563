"""Breaker, fallbacks, canary and faults inside a running simulation, against the documented rules."""
import json
import re

import numpy as np
import pytest

from simulator.engine.simulation import Release, Simulation
from simulator.mechanisms.canary import predicted_promotion_s, predicted_rollback_s
from simulator.report.results import build_result
from simulator.report.tracing import to_otlp_json, validate_otlp
from simulator.runner import run
from simulator.scenario.config import with_overrides

OUTAGE_START, OUTAGE_S = 200.0, 300.0


def outage(tiny, **breaker):
    cfg = {"enabled": True, "sliding_window_type": "count_based", "sliding_window_size": 50,
           "minimum_number_of_calls": 20, "failure_rate_threshold_pct": 50,
           "wait_duration_in_open_state_ms": 30_000, "permitted_number_of_calls_in_half_open_state": 10}
    cfg.update(breaker)
    return with_overrides(tiny, {
        "duration_s": 700, "warmup_s": 0, "external_api.fallback": "cached", "external_api.breaker": cfg,
        "faults.external_api": [{"name": "outage", "kind": "outage_errors", "start_s": OUTAGE_START,
                                 "duration_s": OUTAGE_S}]})


def test_breaker_opens_after_the_predicted_number_of_failed_calls(tiny):
    """Window 50 full of successes, threshold 50 %: the 25th failure (25/50 >= 50 %) opens it."""
    r = run(outage(tiny), seed=1)
    req = r.requests
    ev = r.events
    opened = ev[ev.kind == "breaker_opened"].t_s.to_numpy()
    assert len(opened) >= 1
    failed_calls = req[(req.external_api_start_s >= OUTAGE_START) & (req.external_api_status == "error")]
    ends = np.sort((failed_calls.external_api_start_s + failed_calls.external_api_service_ms / 1000).to_numpy())
    assert opened[0] == pytest.approx(ends[24], abs=1e-9)


def test_breaker_probes_after_the_wait_and_closes_after_the_outage(tiny):
    """Lazy OPEN->HALF_OPEN on the first call strictly after the wait; CLOSED once the API is back."""
    ev = run(outage(tiny), seed=2).events
    opened = ev[ev.kind == "breaker_opened"].t_s.to_numpy()
    half = ev[ev.kind == "breaker_half_opened"].t_s.to_numpy()
    closed = ev[ev.kind == "breaker_closed"].t_s.to_numpy()
    # every half-open follows an open by strictly more than the 30 s wait, and soon after (next call)
    gaps = half - opened[: len(half)]
    assert (gaps > 30.0).all() and (gaps < 30.5).all()
    assert len(closed) == 1
    end = OUTAGE_START + OUTAGE_S
    assert end <= closed[0] <= end + 30.5 + 2.0  # the next probe window after the outage closes it


def test_fallback_answers_are_degraded_not_failed(tiny):
    """During the outage customers get cached answers: degraded, and not failed."""
    r = run(outage(tiny), seed=3)
    s = r.summary
    assert s["requests"]["failed"] == 0
    assert s["requests"]["degraded"] == s["fallbacks"]["cached"] > 0.9 * 40 * OUTAGE_S
    during = r.requests[(r.requests.arrival_s > OUTAGE_START + 5) & (r.requests.arrival_s < OUTAGE_START + OUTAGE_S)]
    assert (during.outcome == "degraded").mean() > 0.99
    assert s["breaker"]["rejected_calls"] > 0 and s["breaker"]["opened"] >= 1


def test_without_fallback_the_outage_fails_requests(tiny):
    """fallback none: a failed call fails the request (what the protection is worth)."""
    sc = with_overrides(outage(tiny), {"external_api.fallback": "none"})
    s = run(sc, seed=3).summary
    assert s["requests"]["failed"] > 0.9 * 40 * OUTAGE_S
    assert s["requests"]["degraded"] == 0


def test_retries_amplify_calls(tiny):
    """With 3 attempts and every call failing, calls made / calls needed approaches 3."""
    sc = with_overrides(tiny, {"duration_s": 100, "warmup_s": 0, "external_api.retry.enabled": True,
                               "external_api.retry.max_attempts": 3, "external_api.error_rate": 1.0})
    s = run(sc, seed=4).summary
    assert s["retries"]["amplification"] == pytest.approx(3.0, abs=0.01)


def canary(tiny, **cfg):
    base = {"enabled": True, "start_s": 100, "interval_s": 60, "step_weight_pct": 10, "max_weight_pct": 50,
            "threshold": 3, "min_success_rate_pct": 99, "max_p99_latency_ms": 500, "replicas": 1}
    base.update(cfg)
    return with_overrides(tiny, {"duration_s": 900, "warmup_s": 0, "canary": base})


def test_good_canary_is_promoted_at_the_predicted_time(tiny):
    """Flagger (3.1, corrected example): t1 = 100 s scales the canary up, t2 makes the first step,
    +10 per passing tick to 50 at 400 s, Promoting at 460, the primary takes over at 520
    (= 100 + 60 x (2 + 50/10)) and the canary is scaled down at 580."""
    r = run(canary(tiny), seed=5)
    ev = r.events
    assert list(ev[ev.kind == "canary_started"].t_s) == [100]
    assert list(ev[ev.kind == "canary_weight"].t_s) == [160, 220, 280, 340, 400]
    assert list(ev[ev.kind == "canary_promoting"].t_s) == [460]
    assert list(ev[ev.kind == "canary_promoted"].t_s) == [520] == [predicted_promotion_s(canary(tiny).canary)]
    assert list(ev[ev.kind == "canary_succeeded"].t_s) == [580]
    s = r.summary["canary"]
    assert s["outcome"] == "promoted" and s["decided_at_s"] == 520 and s["requests_on_canary"] > 0
    req = r.requests
    # while promoting, the canary still serves its 50 % (its replica is up until 580)
    promoting = req[(req.inference_start_s >= 465) & (req.inference_start_s < 515)]
    assert 0.4 < (promoting.model_version == "v2").mean() < 0.6
    ts = r.timeseries
    assert ts.loc[(ts.t_s >= 530) & (ts.t_end_s <= 575), "canary_replicas"].min() == 1
    assert ts.loc[ts.t_s >= 590, "canary_replicas"].max() == 0


def test_bad_canary_is_rolled_back_when_failed_checks_reach_the_threshold(tiny):
    """5 % errors: tick 160 steps without analysis; failed checks 1..3 at 220, 280, 340; rollback at
    400 = 100 + 60 x (2 + 3), the rollback check coming first in a tick."""
    cfg = canary(tiny, error_rate=0.05, latency_factor=2.0)
    r = run(cfg, seed=6)
    ev = r.events
    assert list(ev[ev.kind == "canary_check_failed"].t_s) == [220, 280, 340]
    assert list(ev[ev.kind == "canary_rolled_back"].t_s) == [400] == [predicted_rollback_s(cfg.canary, 2)]
    s = r.summary["canary"]
    assert s["outcome"] == "rolled_back" and s["decided_at_s"] == 400
    # the blast radius: only requests routed while the weight was 10 %
    assert 0 < s["bad_responses_on_canary"] <= s["requests_on_canary"] < 0.2 * 40 * 240
    assert (r.requests[r.requests.arrival_s > 405].model_version != "v2").all()


def test_no_canary_traffic_counts_as_a_failed_check(tiny):
    """A healthy canary that receives no requests is still rolled back (no values found)."""
    sc = with_overrides(canary(tiny), {"traffic.rate_per_s": 0.0001})
    ev = run(sc, seed=7).events
    assert list(ev[ev.kind == "canary_check_failed"].t_s) == [220, 280, 340]
    assert list(ev[ev.kind == "canary_rolled_back"].t_s) == [400]


def test_a_second_release_restarts_the_one_analysis(tiny):
    """A version released during the analysis (at 250 s) restarts it at the next tick (280):
    no second loop, so the steps keep one per interval and promotion comes at
    280 + 60 x (1 + 5 + 1) = 700."""
    sc = with_overrides(canary(tiny), {"duration_s": 900})
    sim = Simulation(sc, 11)

    def second_release():
        yield sim.env.timeout(250.0)
        sim.release(Release("v3", 1.0, 0.0, None))

    sim.env.process(second_release())
    ev = build_result(sc, 11, sim.run(), 0.0).events
    assert list(ev[ev.kind == "canary_started"].t_s) == [100]
    assert list(ev[ev.kind == "canary_restarted"].t_s) == [280]
    assert list(ev[ev.kind == "canary_weight"].t_s) == [160, 220, 340, 400, 460, 520, 580]
    assert list(ev[ev.kind == "canary_promoted"].t_s) == [700]
    assert "v3" in ev[ev.kind == "canary_promoted"].detail.iloc[0]


def test_faults_start_and_end_at_their_scheduled_times(tiny):
    """fault_started/fault_ended at the scheduled instants, and the API fails only inside the window."""
    sc = with_overrides(tiny, {"duration_s": 400, "warmup_s": 0, "external_api.fallback": "default",
                               "faults.external_api": [{"name": "w", "kind": "outage_timeouts",
                                                        "start_s": 100, "duration_s": 50}],
                               "faults.feature_db": [{"name": "d", "kind": "lock_contention",
                                                      "start_s": 200, "duration_s": 60, "factor": 5}]})
    r = run(sc, seed=8)
    ev = r.events
    assert list(ev[ev.kind == "fault_started"].t_s) == [100, 200]
    assert list(ev[ev.kind == "fault_ended"].t_s) == [150, 260]
    req = r.requests
    start = req.external_api_start_s
    inside = (start >= 100) & (start < 150)
    assert (req.loc[inside, "external_api_status"] == "timeout").all()
    assert (req.loc[~inside & start.notna(), "external_api_status"] == "ok").all()


def test_replica_crash_fails_in_flight_requests_and_replacements_arrive(tiny):
    """Crashing 2 of 4 replicas loses their in-flight requests; capacity returns after restart_s."""
    sc = with_overrides(tiny, {"duration_s": 300, "warmup_s": 0, "traffic.rate_per_s": 110, "faults.inference": [
        {"name": "c", "kind": "crash", "start_s": 100, "replicas": 2, "restart_s": 50}]})
    r = run(sc, seed=9)
    req = r.requests
    crashed = req[req.reason == "replica_crash"]
    assert 0 < len(crashed) <= 2
    assert (crashed.end_s == 100).all()
    ts = r.timeseries
    assert ts.loc[ts.t_s == 120, "replicas"].iloc[0] == 2
    assert ts.loc[ts.t_s == 160, "replicas"].iloc[0] == 4


def test_otlp_export_follows_the_format_rules_and_spans_nest(tiny):
    """Hex ids of the right length, integer kinds, nanosecond strings, children inside parents."""
    sc = with_overrides(tiny, {"tracing.sample_rate": 0.05})
    r = run(sc, seed=10)
    doc = json.loads(json.dumps(to_otlp_json(r.spans, "svc", 1_700_000_000, 10)))
    assert validate_otlp(doc) == []
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) > 100
    by_id = {}
    for sp in spans:
        assert re.fullmatch(r"[0-9a-f]{32}", sp["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", sp["spanId"])
        assert isinstance(sp["kind"], int) and sp["kind"] in (1, 2, 3)
        assert isinstance(sp["startTimeUnixNano"], str) and sp["startTimeUnixNano"].isdigit()
        assert int(sp["endTimeUnixNano"]) >= int(sp["startTimeUnixNano"])
        by_id[(sp["traceId"], sp["spanId"])] = sp
    children = 0
    for sp in spans:
        parent = sp.get("parentSpanId")
        if parent:
            p = by_id[(sp["traceId"], parent)]
            assert int(p["startTimeUnixNano"]) <= int(sp["startTimeUnixNano"])
            assert int(sp["endTimeUnixNano"]) <= int(p["endTimeUnixNano"])
            children += 1
    assert children > 0
    names = {sp["name"] for sp in spans}
    assert {"request", "inference.queue", "inference.service", "external_api.call"} <= names
