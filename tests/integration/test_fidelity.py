"""The engine's mechanisms inside a running simulation, each against a hand computation or a rule.

* cached fallback: a failed call is answered from the region's latest success completed by
  then; successes of the other requests form a Poisson process of rate lambda_r P(ok)
  (departures of an M/G/inf queue), so P(no answer younger than w) = exp(-lambda_r P(ok) w);
* arrivals: counts in sub-second windows equal the integral of the rate (Poisson means);
* error latency: every failing call returns after ``error_latency_ms``;
* model switches: a request is answered by the model its replica runs when inference starts;
* HPA per-pod data: a new replica has no sample until the first scrape after it became ready,
  and that first CPU sample is set aside as unready (groupPods, section 2.1 rule 4);
* operator states: FORCED_OPEN rejects every call, DISABLED never trips;
* statistics: each stage's mean wait is over the requests that queued there and were let in.
"""
import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import norm

from simulator.common.queueing import mmc_deadline
from simulator.engine.loop import run_until
from simulator.engine.simulation import Simulation
from simulator.engine.traffic import ArrivalSource
from simulator.report.results import build_result
from simulator.runner import run
from simulator.scenario.config import parse_scenario, with_overrides
from simulator.viz.feature_charts import recovery_sentences
from tests.conftest import only_inference

REGIONS = {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}


def api_only(tiny, **over):
    base = {"duration_s": 1200, "warmup_s": 60, "ingestion.mode": "direct", "feature_store.mode": "off",
            "inference.enabled": False, "traffic.rate_per_s": 80, "traffic.regions": REGIONS}
    base.update(over)
    return with_overrides(tiny, base)


def test_cached_fallback_availability_matches_the_causal_hand_computation(tiny):
    """No breaker, lognormal 60 ms (cv 1.5), timeout 100 ms, cached answers at most 50 ms old, 80/s:
    availability = 1 - P(fail) sum_r share_r exp(-80 share_r P(ok) 0.05) = 0.9345.
    (Updating the cache in arrival order instead gives about 0.857.)"""
    sc = api_only(tiny, **{"external_api.latency_cv": 1.5, "external_api.timeout_ms": 100,
                           "external_api.fallback": "cached", "external_api.cache_max_staleness_s": 0.05})
    sigma2 = math.log1p(1.5**2)
    p_ok = norm.cdf((math.log(0.1) - (math.log(0.06) - sigma2 / 2)) / math.sqrt(sigma2))
    expected = 1 - (1 - p_ok) * sum(share * math.exp(-80 * share * p_ok * 0.05) for share in REGIONS.values())
    r = run(sc, seed=1)
    assert r.summary["availability"] == pytest.approx(expected, abs=0.004)
    cached = r.requests[r.requests.fallback == "cached"]
    assert len(cached) > 1000
    # causal: every cached answer is from the past and no older than allowed
    assert (cached.fallback_staleness_s >= 0).all() and (cached.fallback_staleness_s <= 0.05).all()


def test_every_failing_call_returns_after_the_error_latency(tiny):
    """Base error rate 20 %, error latency 5 ms: each error took 5 ms, not a latency draw; an error
    latency beyond the 1 s timeout is a timeout at 1 s."""
    sc = api_only(tiny, **{"duration_s": 200, "warmup_s": 0, "external_api.error_rate": 0.2,
                           "external_api.error_latency_ms": 5, "external_api.fallback": "default"})
    req = run(sc, seed=2).requests
    errors = req[req.external_api_status == "error"]
    assert 0.17 < len(errors) / len(req) < 0.23
    np.testing.assert_allclose(errors.external_api_service_ms, 5.0)
    slow = run(with_overrides(sc, {"external_api.error_latency_ms": 2000}), seed=2).requests
    assert (slow.external_api_status == "error").sum() == 0
    timeouts = slow[slow.external_api_status == "timeout"]
    np.testing.assert_allclose(timeouts.external_api_service_ms, 1000.0)


def arrivals(traffic, duration_s, seed):
    sc = parse_scenario({"duration_s": duration_s, "traffic": traffic})
    source = ArrivalSource(sc, np.random.default_rng(seed))
    return source.take_until(duration_s)


@pytest.mark.parametrize("window, expected_per_rate", [((4.0, 4.35), 0.35), ((4.35, 4.65), 0.3 * 20),
                                                       ((4.65, 5.0), 0.35), ((4.0, 5.0), 0.7 + 6.0)])
def test_arrivals_in_sub_second_windows_around_a_vertical_spike(window, expected_per_rate):
    """A spike x20 from 4.35 s for 0.3 s with no ramp, base 2000/s: the mean count in each window is
    2000 x (integral of the multiplier), over 40 seeds (5 standard errors allowed)."""
    traffic = {"rate_per_s": 2000, "spikes": [{"start_s": 4.35, "ramp_s": 0, "duration_s": 0.3, "multiplier": 20}]}
    counts = [int(((t >= window[0]) & (t < window[1])).sum()) for t in (arrivals(traffic, 6.0, s) for s in range(40))]
    mean = 2000 * expected_per_rate
    assert np.mean(counts) == pytest.approx(mean, abs=5 * math.sqrt(mean / 40))


def test_arrivals_follow_a_vertical_step_in_the_profile():
    """profile 1 until 10.5 s then 3: 0.5 s windows either side of the step hold 500 and 1500 per 1000/s."""
    traffic = {"rate_per_s": 1000, "profile_points": [[0, 1], [10.5, 1], [10.5, 3], [20, 3]]}
    runs = [arrivals(traffic, 20.0, s) for s in range(40)]
    before = np.mean([((t >= 10.0) & (t < 10.5)).sum() for t in runs])
    after = np.mean([((t >= 10.5) & (t < 11.0)).sum() for t in runs])
    assert before == pytest.approx(500, abs=5 * math.sqrt(500 / 40))
    assert after == pytest.approx(1500, abs=5 * math.sqrt(1500 / 40))


def test_a_model_switch_reaches_exactly_the_requests_that_start_inference_after_it(tiny):
    """A model that rejects everyone goes live at 60 s (direct deploy). Every request whose inference
    started after 60 s is rejected, including those already generated or in flight; the ones
    that started before keep the old model's answers (which approve many)."""
    sc = with_overrides(tiny, {"duration_s": 120, "warmup_s": 0})
    sim = Simulation(sc, 3)

    def deploy():
        yield sim.env.timeout(60.0)
        old = sim.decisions.primary
        sim.deploy_new_version(dataclasses.replace(old, weights=np.zeros_like(old.weights), bias=-50.0), "v2",
                               via_canary=False)

    sim.env.process(deploy())
    req = build_result(sc, 3, sim.run(), 0.0).requests
    answered = req[req.outcome == "ok"]
    after = answered[answered.inference_start_s > 60.0]
    before = answered[answered.inference_start_s < 60.0]
    assert len(after) > 1000 and (after.decision == "reject").all()
    assert (before.decision == "approve").mean() > 0.3
    in_flight = after[after.arrival_s < 60.0]
    assert len(in_flight) >= 1  # arrived before the switch, answered by the new model


def hpa(tiny, metric="utilization"):
    return with_overrides(tiny, {
        "duration_s": 900, "warmup_s": 0, "traffic.rate_per_s": 40,
        "traffic.profile_points": [[0, 1], [300, 1], [300, 4], [900, 4]],
        "inference.replicas": 2, "inference.service_ms": 30, "autoscaler.enabled": True,
        "autoscaler.metric": metric, "autoscaler.target": 0.6 if metric == "utilization" else 1.0,
        "autoscaler.min_replicas": 2, "autoscaler.max_replicas": 20, "cold_start.node_provisioning_s": 0.0})


def pod_of(sim, unit, now):
    return sim.elastic.pods(now)[unit]


@pytest.mark.parametrize("metric, first_sample_state", [("utilization", "unready"), ("inflight_per_replica", "ready")])
def test_a_new_replica_has_no_sample_until_its_first_scrape(tiny, metric, first_sample_state):
    """Scrapes every 15 s. A replica that became ready at t_r is a missing pod until the first scrape
    after t_r; that CPU sample ends less than a 15 s window after readiness, so groupPods sets it
    aside as unready (a Pods metric ignores readiness); the next scrape's sample counts."""
    probe = Simulation(hpa(tiny, metric), 4)
    probe.start()
    run_until(probe.env, 400.0)
    ready_at = {int(d.split()[1]): t for t, kind, _, d in probe.events if kind == "replica_ready"}
    unit, t_r = min(ready_at.items(), key=lambda kv: kv[1])
    scrape = 15.0 * math.ceil(t_r / 15.0)
    assert t_r < scrape < t_r + 15  # a cold start of 29.68 s never ends on a scrape

    sim = Simulation(hpa(tiny, metric), 4)
    sim.start()
    run_until(sim.env, t_r + 1e-6)
    assert sim.pool.state[unit] == 1 and pod_of(sim, unit, t_r) == ("ready", None, 1.0)
    run_until(sim.env, scrape + 1e-6)
    assert pod_of(sim, unit, scrape).state == first_sample_state and pod_of(sim, unit, scrape).usage is not None
    run_until(sim.env, scrape + 15 + 1e-6)
    assert pod_of(sim, unit, scrape + 15).state == "ready"


def operator(tiny, actions, **over):
    base = {"duration_s": 200, "warmup_s": 0, "external_api.fallback": "cached",
            "external_api.breaker": {"enabled": True, "sliding_window_size": 20, "minimum_number_of_calls": 10,
                                     "operator_actions": actions}}
    base.update(over)
    return with_overrides(tiny, base)


def test_an_operator_holds_the_breaker_open_for_planned_maintenance(tiny):
    """Forced open at 40 s, closed at 80 s: every call in between is rejected and answered from the
    cache; the state is visible as 'held open' (level 3) and both moves are events."""
    r = run(operator(tiny, [{"name": "maintenance", "at_s": 40, "action": "forced_open"},
                            {"name": "maintenance over", "at_s": 80, "action": "closed"}]), seed=5)
    req = r.requests
    start = req.external_api_start_s
    inside = (start > 40) & (start < 80)
    assert (req.loc[inside, "external_api_status"] == "rejected_by_breaker").all()
    assert (req.loc[inside, "fallback"] == "cached").all()
    assert (req.loc[~inside & start.notna() & ((start < 39.9) | (start > 80.1)), "external_api_status"] == "ok").all()
    assert r.summary["breaker"]["rejected_calls"] == int(inside.sum())
    ev = r.events
    forced = ev[ev.kind == "breaker_forced_open"]
    assert list(forced.t_s) == [40] and "operator" in forced.detail.iloc[0]
    assert list(ev[ev.kind == "breaker_closed"].t_s) == [80]
    ts = r.timeseries
    assert (ts.loc[(ts.t_s >= 40) & (ts.t_end_s <= 80), "breaker_state"] == 3).all()


def test_a_disabled_breaker_never_trips_during_an_outage(tiny):
    """DISABLED: permits every call and records nothing, so an outage of failing calls opens nothing."""
    sc = operator(tiny, [{"name": "switch off", "at_s": 10, "action": "disabled"}],
                  **{"faults.external_api": [{"name": "o", "kind": "outage_errors", "start_s": 50, "duration_s": 60}]})
    r = run(sc, seed=6)
    assert r.summary["events"].get("breaker_opened", 0) == 0
    assert list(r.events[r.events.kind == "breaker_disabled"].t_s) == [10]
    during = r.requests[(r.requests.external_api_start_s > 50) & (r.requests.external_api_start_s < 110)]
    assert (during.external_api_status == "error").all()


# ---- statistics that mean what their names say ----------------------------------------------


def test_inference_wait_counts_only_requests_that_entered_service():
    """M/M/4 at rho 1.2, no queue limit, deadline 30 ms (M/M/4+D): the mean wait of requests that
    entered service and the share that timed out in the queue match the closed form
    (simulator.common.queueing.mmc_deadline, checked against numerical integration in
    tests/theory); the queue timeouts are counted apart and each waited exactly 30 ms."""
    sc = only_inference(service_ms=20, service_dist="exponential", timeout_ms=30, queue_limit=None)
    sc = with_overrides(sc, {"traffic.rate_per_s": 240, "duration_s": 1500, "warmup_s": 100})
    r = run(sc, seed=8)
    inf = r.summary["stages"]["inference"]
    exact = mmc_deadline(240, 0.02, 4, 0.03)
    finished = r.summary["requests"]["arrived"] - r.summary["requests"]["in_flight"]
    assert inf["wait_ms_mean"] == pytest.approx(1000 * exact.served_mean_wait_s, rel=0.03)
    assert inf["timed_out_in_queue"] / finished == pytest.approx(exact.timeout_in_queue, rel=0.04)
    assert inf["timed_out_in_queue_wait_ms_mean"] == pytest.approx(30.0)
    # the same numbers by hand from the request table
    req = r.requests[r.requests.arrival_s >= 100]
    in_queue = (req.reason == "timeout") & (req.inference_service_ms == 0)
    entered = req.inference_start_s.notna() & (req.reason != "rejected") & ~in_queue
    assert inf["timed_out_in_queue"] == int(in_queue.sum())
    assert inf["wait_ms_mean"] == pytest.approx(req.loc[entered, "inference_wait_ms"].mean())


def test_feature_store_wait_is_the_database_queue_wait_of_misses(tiny):
    """Hits never queue for a database connection, so the mean wait is over the misses that got one."""
    sc = with_overrides(tiny, {"feature_store.hit_ratio": 0.5, "feature_store.db_connections": 2,
                               "feature_store.db_query_ms": 40})
    r = run(sc, seed=9)
    req = r.requests[r.requests.arrival_s >= sc.warmup_s]
    misses = req[(req.feature_store_hit == 0) & (req.feature_store_service_ms > 0)]
    wait = r.summary["stages"]["feature_store"]["wait_ms_mean"]
    assert wait == pytest.approx(misses.feature_store_wait_ms.mean())
    assert wait > 2 * req.feature_store_wait_ms.mean() > 0   # averaging over hits (wait 0) would halve it


def test_stream_partitions_are_uniform_and_partition_p_belongs_to_consumer_p_mod_c(tiny):
    """12 partitions, 5 consumers: consumers 0 and 1 own 3 partitions (0, 5, 10 and 1, 6, 11), the
    others 2, so they get 3/12 and 2/12 of the messages; at 200 messages/s of 2 ms the busiest
    consumer is 200 x 3/12 x 2 ms = 10 % busy while the average over 5 consumers is 8 %."""
    sc = with_overrides(tiny, {"duration_s": 600, "warmup_s": 0, "traffic.rate_per_s": 200,
                               "ingestion.stream": {"partitions": 12, "consumers": 5, "process_ms": 2.0,
                                                    "process_dist": "exponential"}})
    sim = Simulation(sc, 10)
    trace = sim.run()
    consumer = np.asarray(trace.columns["ing_consumer"])
    shares = np.bincount(consumer, minlength=5) / len(consumer)
    np.testing.assert_allclose(shares, [3 / 12, 3 / 12, 2 / 12, 2 / 12, 2 / 12], atol=0.01)
    ing = build_result(sc, 10, trace, 0.0).summary["stages"]["ingestion"]
    assert ing["busiest_consumer_utilization"] == pytest.approx(200 * 3 / 12 * 0.002, rel=0.04)
    assert ing["utilization"] == pytest.approx(200 * 0.002 / 5, rel=0.04)


def test_a_fault_met_by_a_breaker_held_open_in_advance_reads_as_prepared(tiny):
    """Forced open at 40 s, outage 50-70 s, closed at 80 s: the recovery record says prepared at 40,
    nothing had to react, customers were served from the fault's first time slice, and the
    page's sentence says so instead of 'nothing reacted'."""
    sc = operator(tiny, [{"name": "maintenance", "at_s": 40, "action": "forced_open"},
                         {"name": "maintenance over", "at_s": 80, "action": "closed"}],
                  **{"faults.external_api": [{"name": "maintenance", "kind": "outage_errors", "start_s": 50,
                                              "duration_s": 20}]})
    r = run(sc, seed=7)
    rec = r.summary["recovery"][0]
    assert (rec["prepared_s"], rec["detected_s"], rec["mitigated_s"]) == (40.0, None, 50.0)
    words = recovery_sentences(sc, rec, 10.0)
    assert "An operator had held the safety switch open since" in words and "Nothing in the system" not in words
    assert (r.requests.external_api_status != "error").all()   # no call reached the failing service
