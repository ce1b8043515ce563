"""HPA and KPA decision rules against the worked examples of mechanisms.md section 2.

Every expected number is computed by hand in the test's docstring from the documented rule
(and, for the pod grouping, from ``replica_calculator.go``'s ``groupPods`` as section 2.1
rule 4-5 states it).
"""
import pytest
from pydantic import ValidationError

from simulator.mechanisms.autoscaler import (
    POD_FAILED,
    POD_PENDING,
    POD_UNREADY,
    AutoscalerConfig,
    HpaController,
    KpaController,
    Pod,
    cpu_sample_unready,
    legacy_limit_replicas,
    replica_recommendation,
    scale_down_limit,
    scale_up_limit,
    stabilize,
)


def hpa_cfg(**kw) -> AutoscalerConfig:
    return AutoscalerConfig(enabled=True, kind="hpa", **kw)


def pods(n, usage, state="ready"):
    return [Pod(state, usage)] * n


def util(pod_list, current, target, tolerance=0.1):
    """Replicas for a CPU-utilization target (usage and request in the same units)."""
    return replica_recommendation(pod_list, current, target, tolerance, utilization=True).replicas


def per_pod(pod_list, current, target, tolerance=0.1):
    """Replicas for a Pods metric (target = average value per pod)."""
    return replica_recommendation(pod_list, current, target, tolerance, utilization=False).replicas


# ----------------------------------------------------------------------------- HPA rules 2-3
def test_four_pods_at_90_percent_against_60_percent_target_gives_six():
    """2.3: 4 ready pods, target 60 %, observed 90 % -> ratio 1.5 -> ceil(4 x 1.5) = 6."""
    ctl = HpaController(hpa_cfg(metric="utilization", target=0.6))
    desired, detail = ctl.decide(0.0, 4, pods(4, 0.9))
    assert desired == 6
    assert detail["usage_ratio"] == 1.5 and detail["metric_value"] == 0.9
    assert detail["recommendation"] == 6
    assert detail["limit"] == "DesiredWithinRange"


def test_tolerance_band_is_inclusive():
    """2.3 with target 50 %: 54 % (1.08) stays; 55 % (exactly 1.1) stays; 56 % (1.12) -> ceil(11.2) = 12;
    45 % (exactly 0.9) stays; 44 % (0.88) -> ceil(8.8) = 9. Also 77 % / 70 % and 63 % / 70 %,
    which are 1.1 and 0.9 as Kubernetes computes them (1 - tol <= ratio <= 1 + tol)."""
    assert util(pods(10, 0.54), 10, 0.5) == 10
    assert util(pods(10, 0.55), 10, 0.5) == 10
    assert util(pods(10, 0.56), 10, 0.5) == 12
    assert util(pods(10, 0.45), 10, 0.5) == 10
    assert util(pods(10, 0.44), 10, 0.5) == 9
    assert util(pods(10, 0.77), 10, 0.7) == 10
    assert util(pods(10, 0.63), 10, 0.7) == 10


def test_utilization_is_a_whole_percent():
    """GetResourceUtilizationRatio: utilization = floor(100 x usage / request): 55.5 % reads 55 %,
    so against 50 % the ratio is exactly 1.1 and the count stays (1.11 would scale)."""
    rec = replica_recommendation(pods(10, 0.555), 10, 0.5, 0.1, utilization=True)
    assert (rec.replicas, rec.usage_ratio, rec.metric_value) == (10, 1.1, 0.55)


def test_multiplier_is_the_ready_count():
    """Rule 2: 5 replicas, 4 with samples: within tolerance returns the current 5; ratio 2 -> ceil(2 x 4)
    = 8 only counts the 4 (a pending fifth pod is filled with 0 on a scale-up: 80 % / 50 % -> 1.6 x 5 = 8)."""
    assert per_pod(pods(4, 1.05), 5, 1.0) == 5
    assert util(pods(4, 1.0) + [Pod(POD_PENDING)], 5, 0.5) == 8


# ----------------------------------------------------------------------------- HPA rules 4-5
def test_unready_pods_count_as_zero_on_scale_up():
    """Rule 5 with pending pods, by hand (target 60 %, or 50 % for the first):

    - 4 at 100 % + 1 pending, raw 2.0: 400/500 = 80 % -> 1.6 -> ceil(1.6 x 5) = 8.
    - 4 at 90 % + 2 pending, raw 1.5: 360/600 = 60 % -> 1.0 -> within tolerance -> stay 6.
    - 2 at 90 % + 6 pending, raw 1.5: 180/800 = 22 % -> 0.37 < 1 reverses direction -> stay 8.
    - 4 at 30 % + 2 pending, raw 0.5 (scale-down): unready pods are not used -> ceil(0.5 x 4) = 2.
    """
    assert util(pods(4, 1.0) + pods(1, None, POD_PENDING), 5, 0.5) == 8
    assert util(pods(4, 0.9) + pods(2, None, POD_PENDING), 6, 0.6) == 6
    rec = replica_recommendation(pods(2, 0.9) + pods(6, None, POD_PENDING), 8, 0.6, 0.1, utilization=True)
    assert (rec.replicas, rec.reason) == (8, "direction_reversed")
    assert util(pods(4, 0.3) + pods(2, None, POD_PENDING), 6, 0.6) == 2


def test_missing_pods_count_as_their_full_request_on_scale_down():
    """Rule 5: 5 pods at 10 % and 1 without a sample, target 50 %: raw 0.2 would give ceil(0.2 x 5) = 1;
    the missing pod at 100 %: (5 x 10 + 100) / 6 = 25 % -> 0.5 -> ceil(0.5 x 6) = 3."""
    assert util(pods(5, 0.1) + [Pod(usage=None)], 6, 0.5) == 3


def test_missing_pods_count_as_zero_on_scale_up():
    """Rule 5: 4 at 80 % and 4 without samples, 8 replicas, target 50 %: raw 1.6 alone would give
    ceil(1.6 x 4) = 7, fewer than 8; with the missing pods at 0 %: 320/800 = 40 % -> 0.8 reverses the
    direction -> keep 8. With 2 missing of 6: 320/600 = 53 % -> 1.06 within tolerance -> keep 6."""
    rec = replica_recommendation(pods(4, 0.8) + pods(4, None), 8, 0.5, 0.1, utilization=True)
    assert (rec.replicas, rec.reason, rec.usage_ratio) == (8, "direction_reversed", 1.6)
    rec = replica_recommendation(pods(4, 0.8) + pods(2, None), 6, 0.5, 0.1, utilization=True)
    assert (rec.replicas, rec.reason) == (6, "within_tolerance")


def test_a_scale_down_that_would_add_replicas_keeps_the_count():
    """Rule 5 (replica count check): 3 replicas, 1 pod at 40 % and 4 new pods without samples, target 100 %:
    raw 0.4; filled (40 + 4 x 100) / 5 = 88 % -> 0.88 (below the band, same direction) ->
    ceil(0.88 x 5) = 5 > 3: a 'scale-down' that adds pods -> keep 3."""
    rec = replica_recommendation([Pod(usage=0.4)] + pods(4, None), 3, 1.0, 0.1, utilization=True)
    assert (rec.replicas, rec.reason) == (3, "direction_reversed")


def test_missing_pods_on_a_pods_metric_use_the_target():
    """Rule 5 (custom per-pod metrics): a missing pod counts as the target value on a scale-down:
    4 pods at 0.2 and 2 missing, target 1.0: (0.8 + 2) / 6 = 0.466 -> ceil(0.466 x 6) = 3 (raw alone: 1)."""
    assert per_pod(pods(4, 0.2) + pods(2, None), 6, 1.0) == 3


def test_readiness_matters_for_the_cpu_metric_only():
    """2.1 rule 5: the unready recompute applies to the CPU resource metric; a Pods metric ignores
    readiness. 4 ready + 2 running-but-unready pods, all sampled at 1.5x the target:
    CPU (target 60 %, samples 90 %): unready set aside, raw 1.5, filled 60 % -> 1.0 -> stay 6;
    Pods metric (target 1.0, samples 1.5): all 6 count -> ceil(1.5 x 6) = 9."""
    assert util(pods(4, 0.9) + pods(2, 0.9, POD_UNREADY), 6, 0.6) == 6
    assert per_pod(pods(4, 1.5) + pods(2, 1.5, POD_UNREADY), 6, 1.0) == 9


def test_failed_pods_are_ignored_and_no_samples_means_no_decision():
    """Failed or terminating pods do not count anywhere; without any sample the sync fails."""
    assert util(pods(4, 0.9) + pods(3, 0.0, POD_FAILED), 4, 0.6) == 6
    rec = replica_recommendation(pods(3, None, POD_PENDING), 3, 0.6, 0.1, utilization=True)
    assert (rec.replicas, rec.reason) == (3, "no_metrics")
    desired, detail = HpaController(hpa_cfg()).decide(0.0, 3, pods(3, None, POD_PENDING))
    assert (desired, detail["limit"]) == (3, "NoMetrics")


def test_cpu_sample_unready_follows_group_pods():
    """groupPods' CPU rule, with a 300 s initialisation period, 30 s readiness delay and 15 s window:
    - started 0, ready at 100, sample ending 110 (< 100 + 15) at t 120 -> unready; ending 115 -> counted;
    - not ready within the period -> unready;
    - after the period (t 400): unready only if never ready: ready state last changed at 20
      (< 0 + 30) -> unready; changed at 200 (was ready, now not) -> counted."""
    args = dict(window_s=15.0, cpu_initialization_period_s=300.0, initial_readiness_delay_s=30.0)
    assert cpu_sample_unready(120.0, 0.0, True, 100.0, 110.0, **args)
    assert not cpu_sample_unready(120.0, 0.0, True, 100.0, 115.0, **args)
    assert cpu_sample_unready(120.0, 0.0, False, 100.0, 115.0, **args)
    assert cpu_sample_unready(400.0, 0.0, False, 20.0, 400.0, **args)
    assert not cpu_sample_unready(400.0, 0.0, False, 200.0, 400.0, **args)
    assert not cpu_sample_unready(400.0, 0.0, True, 20.0, 400.0, **args)


# ----------------------------------------------------------------------------- HPA rule 8
def test_stabilize_clamps_current_between_window_extremes():
    """Rule 8: current clamped into [min(up-window recs, desired), max(down-window recs, desired)].

    - history (0 s: 10), (100 s: 6), now 200, desired 3, current 8, up window 0, down 300:
      up = 3, down = max(10, 6, 3) = 10 -> clamp(8, 3, 10) = 8 (scale-down held).
    - history (190 s: 4), now 200, desired 9, current 5, up window 60, down 0:
      up = min(4, 9) = 4, down = 9 -> clamp(5, 4, 9) = 5 (scale-up held).
    - a record exactly one window old is outside it (t > now - window is strict):
      history (0 s: 10), now 300, down 300 -> down = 3 -> 3.
    """
    assert stabilize([(0.0, 10), (100.0, 6)], 200.0, 3, 8, 0.0, 300.0) == 8
    assert stabilize([(190.0, 4)], 200.0, 9, 5, 60.0, 0.0) == 5
    assert stabilize([(0.0, 10)], 300.0, 3, 10, 0.0, 300.0) == 3


def test_default_behavior_limits_one_to_ten_to_five_per_period():
    """2.3: defaults (Pods 4 / 15 s, Percent 100 / 15 s, Max): 1 -> 10 is limited to max(1+4, ceil(1x2)) = 5.

    At t = 14 s the +4 event is still inside the 15 s period: periodStart = 5 - 4 = 1 -> limit 5.
    At t = 15 s it is not (strictly younger only): periodStart = 5 -> max(9, 10) = 10.
    """
    cfg = hpa_cfg(metric="inflight_per_replica", target=1.0, max_replicas=20)
    assert scale_up_limit(1, [], 0.0, cfg) == 5
    ctl = HpaController(cfg)
    desired, detail = ctl.decide(0.0, 1, pods(1, 10.0))
    assert (desired, detail["limit"]) == (5, "ScaleUpLimit")
    desired, detail = ctl.decide(14.0, 5, pods(5, 2.0))          # still wants 10
    assert (desired, detail["limit"]) == (5, "ScaleUpLimit")
    desired, detail = ctl.decide(15.0, 5, pods(5, 2.0))
    assert (desired, detail["limit"]) == (10, "DesiredWithinRange")


def test_scale_up_limit_counts_removed_pods_in_the_period():
    """Rule 8 (newer code): periodStart = current - added + removed.

    5 replicas after removing 3 in the last 15 s: periodStart = 8 -> max(8 + 4, ceil(8 x 2)) = 16.
    """
    assert scale_up_limit(5, [(10.0, -3)], 20.0, hpa_cfg()) == 16


def test_scale_down_from_ten_to_three_waits_for_the_300_s_window():
    """2.3: replicas stay at the highest recommendation of the last 300 s.

    t = 0: 10 replicas at target -> recommendation 10. From t = 15 s every sync recommends
    ceil(0.3 x 10) = 3. The t = 0 records leave the window at t = 300 s (strictly younger
    only), so the count stays 10 through t = 285 s and drops to 3 at t = 300 s; the default
    scale-down policy (100 % per 15 s) does not limit it.
    """
    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0))
    assert ctl.decide(0.0, 10, pods(10, 1.0))[0] == 10
    for t_s in range(15, 300, 15):
        desired, detail = ctl.decide(float(t_s), 10, pods(10, 0.3))
        assert detail["recommendation"] == 3
        assert desired == 10, f"held at t={t_s}"
    desired, detail = ctl.decide(300.0, 10, pods(10, 0.3))
    assert desired == 3
    assert detail["limit"] == "DesiredWithinRange"


def test_doc_example_scale_down_pods_4_and_percent_10_per_60_s():
    """2.3 doc example, by hand: Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max, from 80.

    At each step periodStart = current + removed in the last 60 s. Pods proposes
    periodStart - 4, Percent floor(periodStart x 0.9); Max picks the smaller count:
      t=0   80 -> min(76, 72)         = 72   (removes 8 = 10 %)
      t=15..45 periodStart 72+8 = 80 -> limit 72, no change
      t=60  72 -> min(68, floor 64.8) = 64   ("7.2 -> 8")
      t=120 64 -> min(60, 57)         = 57
      t=180 57 -> min(53, 51)         = 51
      t=240 51 -> min(47, 45)         = 45
      t=300 45 -> min(41, 40)         = 40
      t=360 40 -> min(36, 36)         = 36   (below 40: 4 pods per step)
      t=420 36 -> min(32, 32)         = 32
      t=480 32 -> min(28, 28)         = 28
      t=540 28 -> min(24, 25)         = 24
      t=600 24 -> min(20, 21)         = 20
    """
    cfg = hpa_cfg(metric="inflight_per_replica", target=1.0, max_replicas=100,
                  scale_down_stabilization_s=0, scale_down_pods=4, scale_down_percent=10,
                  scale_down_period_s=60)
    assert scale_down_limit(80, [], 0.0, cfg) == 72
    assert scale_down_limit(72, [(0.0, -8)], 15.0, cfg) == 72
    assert scale_down_limit(72, [(0.0, -8)], 60.0, cfg) == 64

    ctl = HpaController(cfg)
    current, changes = 80, []
    for t_s in range(0, 601, 15):
        desired, detail = ctl.decide(float(t_s), current, pods(current, 0.01))   # recommends 1
        if desired != current:
            assert detail["limit"] == "ScaleDownLimit"
            changes.append((t_s, desired))
        current = desired
    assert changes == [(0, 72), (60, 64), (120, 57), (180, 51), (240, 45), (300, 40),
                       (360, 36), (420, 32), (480, 28), (540, 24), (600, 20)]


def test_min_and_max_clamps():
    """Clamp to [min, max] with the Kubernetes reason.

    - 4 replicas at ratio 3 -> 12; scale-up limit 8 is above max 5 -> 5, TooManyReplicas.
    - min 3, 4 replicas at ratio 0.25 -> ceil(1.0) = 1; down limit 0 is below min -> 3, TooFewReplicas.
    - 12 replicas with max 10 -> straight to 10; 1 replica with min 2 -> straight to 2.
    """
    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0, max_replicas=5))
    assert ctl.decide(0.0, 4, pods(4, 3.0))[0] == 5
    assert ctl.decide(15.0, 4, pods(4, 3.0))[1]["limit"] == "TooManyReplicas"

    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0, min_replicas=3,
                                scale_down_stabilization_s=0))
    desired, detail = ctl.decide(0.0, 4, pods(4, 0.25))
    assert (desired, detail["limit"]) == (3, "TooFewReplicas")

    ctl = HpaController(hpa_cfg(max_replicas=10))
    assert ctl.decide(0.0, 12, pods(12, 0.5))[0] == 10
    ctl = HpaController(hpa_cfg(min_replicas=2))
    assert ctl.decide(0.0, 1, pods(1, 0.5))[0] == 2


# ----------------------------------------------------------------------------- HPA rule 7 (legacy)
def test_legacy_path_caps_a_scale_up_at_max_of_twice_current_and_four():
    """2.3: with no behavior, 1 replica wanting 10 is capped at max(2 x 1, 4) = 4 (with behavior: 5);
    from 4 the cap is 8; with max 6 below the cap the reason is TooManyReplicas; a wish below
    min gives min first (convertDesiredReplicasWithRules checks it before the cap)."""
    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0, max_replicas=20, behavior_set=False))
    desired, detail = ctl.decide(0.0, 1, pods(1, 10.0))
    assert (desired, detail["limit"]) == (4, "ScaleUpLimit")
    assert ctl.decide(15.0, 4, pods(4, 10.0))[0] == 8
    assert legacy_limit_replicas(4, 10, hpa_cfg(max_replicas=6, behavior_set=False)) == (6, "TooManyReplicas")
    assert legacy_limit_replicas(6, 1, hpa_cfg(min_replicas=6, behavior_set=False)) == (6, "TooFewReplicas")


def test_legacy_path_scales_down_to_the_highest_recommendation_of_the_window_at_once():
    """Rule 7: the maximum recommendation of the last 300 s, a record exactly 300 s old included
    (!Before(cutoff)); no rate limit, so 10 -> 3 in one step once the window has passed."""
    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0, behavior_set=False))
    assert ctl.decide(0.0, 10, pods(10, 1.0))[0] == 10
    for t_s in range(15, 301, 15):
        assert ctl.decide(float(t_s), 10, pods(10, 0.3))[0] == 10, f"held at t={t_s}"
    desired, detail = ctl.decide(315.0, 10, pods(10, 0.3))
    assert (desired, detail["limit"]) == (3, "DesiredWithinRange")


def test_config_validation():
    """min <= max; min 0 only with kind 'kpa'; utilization target <= 1; unknown keys fail."""
    with pytest.raises(ValidationError, match="min_replicas"):
        AutoscalerConfig(min_replicas=5, max_replicas=4)
    with pytest.raises(ValidationError, match="kpa"):
        AutoscalerConfig(kind="hpa", min_replicas=0)
    assert AutoscalerConfig(kind="kpa", min_replicas=0).min_replicas == 0
    with pytest.raises(ValidationError):
        AutoscalerConfig(metric="utilization", target=70)
    assert AutoscalerConfig(metric="queue_per_replica", target=5).target == 5
    with pytest.raises(ValidationError):
        AutoscalerConfig(panic_threshold_pct=100)
    with pytest.raises(ValidationError):
        AutoscalerConfig(tolerence=0.1)
    assert AutoscalerConfig().panic_window_s == pytest.approx(6.0)


# ----------------------------------------------------------------------------- KPA
def kpa_cfg(**kw) -> AutoscalerConfig:
    kw.setdefault("max_replicas", 100)
    return AutoscalerConfig(enabled=True, kind="kpa", **kw)


def test_kpa_worked_example_panics_to_five():
    """2.4: 2 ready pods, target 70, stable 150, panic 300.

    dspc = ceil(150/70) = 3, dppc = ceil(300/70) = 5; 5/2 = 2.5 >= 2.0 -> panic; desired 5.
    """
    ctl = KpaController(kpa_cfg())
    assert ctl.decide(0.0, 2, 150.0, 300.0) == 5
    assert ctl.in_panic


def test_kpa_panic_ratchet_holds_a_stable_window_after_the_last_over_threshold_tick():
    """After the t=0 panic, 5 ready pods see stable 150 and panic 150.

    dppc = 3, 3/5 = 0.6 < 2 -> not over, but panic lasts until panicTime + 60 s < now:
    desired stays 5 through t = 60 s and, at t = 62 s, drops to the stable
    ceil(150/70) = 3 (scale-down clamp floor(5/2) = 2 does not bind).
    """
    ctl = KpaController(kpa_cfg())
    assert ctl.decide(0.0, 2, 150.0, 300.0) == 5
    for t_s in range(2, 61, 2):
        assert ctl.decide(float(t_s), 5, 150.0, 150.0) == 5, f"ratchet at t={t_s}"
    assert ctl.in_panic
    assert ctl.decide(62.0, 5, 150.0, 150.0) == 3
    assert not ctl.in_panic


def test_kpa_over_threshold_tick_extends_panic():
    """A second over-threshold tick at t = 10 s (5 pods, panic 700 -> dppc 10, 10/5 = 2 >= 2)
    raises the ratchet to 10 and moves the exit to after t = 70 s."""
    ctl = KpaController(kpa_cfg())
    ctl.decide(0.0, 2, 150.0, 300.0)
    assert ctl.decide(10.0, 5, 150.0, 700.0) == 10
    assert ctl.decide(70.0, 10, 150.0, 150.0) == 10
    assert ctl.decide(72.0, 10, 150.0, 150.0) == 5   # stable 3, but floor(10/2) = 5


def test_kpa_rate_clamps_and_single_pod_steps():
    """Desired is clamped to [floor(ready / down_rate), ceil(up_rate x ready)].

    - 10 ready, stable 70 -> dspc 1, clamp floor(10/2) = 5 -> 5.
    - up_rate 1.5, 2 ready, stable 700 -> dspc 10, clamp ceil(3.0) = 3 -> 3.
    - rates 1.01: 3 ready -> floor(2.97) = 2 and ceil(3.03) = 4, so +-1 still moves.
    """
    assert KpaController(kpa_cfg()).decide(0.0, 10, 70.0, 70.0) == 5
    assert KpaController(kpa_cfg(max_scale_up_rate=1.5)).decide(0.0, 2, 700.0, 0.0) == 3
    slow = kpa_cfg(max_scale_up_rate=1.01, max_scale_down_rate=1.01)
    assert KpaController(slow).decide(0.0, 3, 0.0, 0.0) == 2
    assert KpaController(slow).decide(0.0, 3, 1000.0, 0.0) == 4


def test_kpa_respects_min_and_max():
    """The worked example's 5 is capped by max_replicas 4; min 2 keeps 2 at zero traffic."""
    assert KpaController(kpa_cfg(max_replicas=4)).decide(0.0, 2, 150.0, 300.0) == 4
    assert KpaController(kpa_cfg(min_replicas=2)).decide(0.0, 2, 0.0, 0.0) == 2


def test_kpa_scales_to_zero_after_a_quiet_stable_window_and_the_grace_period():
    """One pod; the last request ends at t = 10 s; ticks every 2 s.

    The stable average over (t-60, t] is 0 from t = 70 s, so the decider wants 0 from then;
    the last pod goes once the grace period (30 s) has passed: first 0 at t = 100 s.
    """
    ctl = KpaController(kpa_cfg(min_replicas=0), initial_ready_pods=1)
    first_zero = None
    for t_s in range(0, 131, 2):
        stable = 10.0 if t_s < 70 else 0.0
        panic = 10.0 if t_s < 16 else 0.0
        desired = ctl.decide(float(t_s), 1, stable, panic)
        if desired == 0:
            first_zero = t_s
            break
        assert desired == 1
    assert first_zero == 100


def test_kpa_scale_to_zero_waits_for_retention_and_a_full_active_window():
    """Retention 45 s > grace 30 s: zero wanted from t = 70 s -> first tick >= 115 s is 116 s.

    With no traffic at all from t = 0, the pod must still have been active for a stable
    window: zero wanted from t = 60 s -> gone at t = 90 s.
    """
    ctl = KpaController(kpa_cfg(min_replicas=0, scale_to_zero_retention_s=45), initial_ready_pods=1)
    zeros = [t for t in range(0, 131, 2)
             if ctl.decide(float(t), 1, 10.0 if t < 70 else 0.0, 0.0) == 0]
    assert zeros[0] == 116

    ctl = KpaController(kpa_cfg(min_replicas=0), initial_ready_pods=1)
    zeros = [t for t in range(0, 131, 2) if ctl.decide(float(t), 1, 0.0, 0.0) == 0]
    assert zeros[0] == 90


def test_kpa_scales_from_zero_on_any_traffic():
    """At zero pods, ready counts as 1; any demand in the stable window gives dspc >= 1."""
    ctl = KpaController(kpa_cfg(min_replicas=0))
    assert ctl.decide(0.0, 0, 0.0, 0.0) == 0
    assert ctl.decide(2.0, 0, 0.5, 5.0) == 1
