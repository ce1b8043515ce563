"""HPA and KPA decision rules against the worked examples of mechanisms.md section 2.

Every expected number is computed by hand in the test's docstring from the documented rule.
"""
import pytest
from pydantic import ValidationError

from simulator.mechanisms.autoscaler import (
    AutoscalerConfig,
    HpaController,
    KpaController,
    conservative_recompute,
    scale_down_limit,
    scale_up_limit,
    stabilize,
    usage_ratio_replicas,
)


def hpa_cfg(**kw) -> AutoscalerConfig:
    return AutoscalerConfig(enabled=True, kind="hpa", **kw)


# ----------------------------------------------------------------------------- HPA rules 2-3
def test_four_pods_at_90_percent_against_60_percent_target_gives_six():
    """2.3: 4 ready pods, target 60 %, observed 90 % -> ratio 1.5 -> ceil(4 x 1.5) = 6."""
    assert usage_ratio_replicas(4, 0.9, 0.6, 0.1) == 6
    ctl = HpaController(hpa_cfg(metric="utilization", target=0.6))
    desired, detail = ctl.decide(0.0, current_replicas=4, ready_replicas=4, metric_value=0.9)
    assert desired == 6
    assert detail["usage_ratio"] == pytest.approx(1.5)
    assert detail["recommendation"] == 6
    assert detail["limit"] == "DesiredWithinRange"


def test_tolerance_band_is_inclusive():
    """2.3: ratio 1.08 stays; exactly 1.1 stays (<=); 1.11 scales to ceil(10 x 1.11) = 12.

    Also the lower edge: exactly 0.9 stays, 0.89 scales to ceil(10 x 0.89) = 9. The
    exact-edge ratios are given as 0.77/0.7 and 0.63/0.7, which are not exact in binary
    floating point and must still follow the documented rule.
    """
    assert usage_ratio_replicas(10, 1.08, 1.0, 0.1) == 10
    assert usage_ratio_replicas(10, 0.77, 0.7, 0.1) == 10
    assert usage_ratio_replicas(10, 1.1, 1.0, 0.1) == 10
    assert usage_ratio_replicas(10, 1.11, 1.0, 0.1) == 12
    assert usage_ratio_replicas(10, 0.63, 0.7, 0.1) == 10
    assert usage_ratio_replicas(10, 0.89, 1.0, 0.1) == 9


def test_tolerance_returns_spec_count_but_multiplies_ready_count():
    """Rule 2: the multiplier is the ready count; 'no change' returns current replicas.

    5 replicas, 4 ready, ratio 1.05 -> within tolerance -> 5. Ratio 2 -> ceil(2 x 4) = 8.
    """
    assert usage_ratio_replicas(4, 1.05, 1.0, 0.1, current_replicas=5) == 5
    assert usage_ratio_replicas(4, 2.0, 1.0, 0.1, current_replicas=5) == 8


# ----------------------------------------------------------------------------- HPA rule 5
def test_unready_pods_count_as_zero_on_scale_up():
    """Rule 5, by hand.

    - 4 ready + 1 unready, raw ratio 2.0: new ratio 2 x 4/5 = 1.6 -> ceil(1.6 x 5) = 8.
    - 4 ready + 2 unready, raw ratio 1.5: new ratio 1.5 x 4/6 = 1.0 -> within tolerance -> stay 6.
    - 2 ready + 6 unready, raw ratio 1.5: new ratio 0.375 < 1 reverses direction -> stay 8.
    - raw ratio 0.5 (scale-down): unready pods are not used -> ceil(0.5 x 4) = 2.
    """
    assert conservative_recompute(5, 4, 1, 2.0, 0.1) == 8
    assert conservative_recompute(6, 4, 2, 1.5, 0.1) == 6
    assert conservative_recompute(8, 2, 6, 1.5, 0.1) == 8
    assert conservative_recompute(6, 4, 2, 0.5, 0.1) == 2


def test_controller_uses_conservative_recompute_with_unready_pods():
    """6 replicas, 4 ready at 90 % against 60 % and 2 unready: new ratio 1.0 -> no scale-up."""
    ctl = HpaController(hpa_cfg(metric="utilization", target=0.6))
    desired, detail = ctl.decide(0.0, 6, 4, 0.9, unready_replicas=2)
    assert desired == 6
    assert detail["usage_ratio"] == pytest.approx(1.5), "detail reports the raw ratio"


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
    desired, detail = ctl.decide(0.0, 1, 1, 10.0)
    assert (desired, detail["limit"]) == (5, "ScaleUpLimit")
    desired, detail = ctl.decide(14.0, 5, 5, 2.0)          # still wants 10
    assert (desired, detail["limit"]) == (5, "ScaleUpLimit")
    desired, detail = ctl.decide(15.0, 5, 5, 2.0)
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
    assert ctl.decide(0.0, 10, 10, 1.0)[0] == 10
    for t_s in range(15, 300, 15):
        desired, detail = ctl.decide(float(t_s), 10, 10, 0.3)
        assert detail["recommendation"] == 3
        assert desired == 10, f"held at t={t_s}"
    desired, detail = ctl.decide(300.0, 10, 10, 0.3)
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
        desired, detail = ctl.decide(float(t_s), current, current, 0.01)   # recommends 1
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
    assert ctl.decide(0.0, 4, 4, 3.0)[0] == 5
    assert ctl.decide(15.0, 4, 4, 3.0)[1]["limit"] == "TooManyReplicas"

    ctl = HpaController(hpa_cfg(metric="inflight_per_replica", target=1.0, min_replicas=3,
                                scale_down_stabilization_s=0))
    desired, detail = ctl.decide(0.0, 4, 4, 0.25)
    assert (desired, detail["limit"]) == (3, "TooFewReplicas")

    ctl = HpaController(hpa_cfg(max_replicas=10))
    assert ctl.decide(0.0, 12, 12, 0.5)[0] == 10
    ctl = HpaController(hpa_cfg(min_replicas=2))
    assert ctl.decide(0.0, 1, 1, 0.5)[0] == 2


def test_no_ready_replicas_means_no_decision():
    """Without metrics from any ready pod the sync fails and the count stays."""
    ctl = HpaController(hpa_cfg())
    desired, detail = ctl.decide(0.0, 3, 0, 0.0, unready_replicas=3)
    assert desired == 3
    assert detail["limit"] == "NoReadyReplicas"


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
