"""Autoscaling decisions: Kubernetes HPA (autoscaling/v2 with ``behavior``) and Knative KPA.

Only the decision rules live here (mechanisms.md section 2). The simulation owns time and
measurement: it calls ``HpaController.decide`` every ``sync_period_s`` (or
``KpaController.decide`` every ``kpa_tick_s``) with the metric it measured, applies the
answer, and starts or stops replicas. Nothing here imports SimPy, so every rule can be
checked against the documented worked examples with plain numbers.

HPA order per sync (``horizontal.go`` ``reconcileAutoscaler``):
1. replicas outside [min, max] are moved straight to the bound;
2. raw recommendation ``ceil(ratio x ready)`` with the tolerance band (rules 2-3), or the
   conservative recompute when unready pods exist on a scale-up (rule 5);
3. stabilisation over the recommendation history (rule 8, first bullet);
4. scale-up / scale-down rate limits from the policies, then the [min, max] clamp.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, model_validator

from simulator.common.limits import MAX_REPLICAS
from simulator.common.section import Section

# Float noise guard: 0.77 / 0.7 is 1.1000000000000003 in binary floating point, which would
# flip the documented ``|1 - ratio| <= tolerance`` rule and add a replica to an exact
# product like 3.0000000000000004. Kubernetes works on integer milli-values and does not
# see this; a 1e-9 slack reproduces its arithmetic for the fractions we use.
EPS = 1e-9

SelectPolicy = Literal["Max", "Min", "Disabled"]


class AutoscalerConfig(Section):
    """Autoscaler settings. HPA defaults follow mechanisms.md 2.2, KPA defaults 2.4."""

    enabled: bool = Field(False, description="Run an autoscaler; off keeps the replica count fixed")
    kind: Literal["hpa", "kpa"] = Field(
        "hpa", description="hpa: Kubernetes HorizontalPodAutoscaler; kpa: Knative Pod Autoscaler "
                           "(concurrency-based, can scale to zero)")
    metric: Literal["utilization", "inflight_per_replica", "queue_per_replica"] = Field(
        "utilization", description="HPA per-pod metric: busy fraction of a replica, requests in "
                                   "flight per replica, or queued requests per replica")
    target: float = Field(
        0.8, gt=0, le=10_000, description="HPA target for the metric; for utilization a fraction in (0, 1] "
                               "(Kubernetes' default metric is 80 % CPU)")
    min_replicas: int = Field(1, ge=0, le=MAX_REPLICAS, description="Lower bound on replicas (0 only with kind='kpa')")
    max_replicas: int = Field(10, ge=1, le=MAX_REPLICAS, description="Upper bound on replicas")

    # ---- HPA control loop and tolerance
    sync_period_s: float = Field(
        15.0, ge=1, le=3600, description="HPA control-loop period (kube-controller-manager flag; at least 1 s)")
    tolerance: float = Field(0.1, ge=0, lt=1, description="No scaling while |1 - metric/target| <= tolerance")
    initial_readiness_delay_s: float = Field(
        30.0, ge=0, le=3600, description="After a pod starts, readiness changes within this delay are taken as "
                                "its first readiness (HPA flag); used by the simulation to decide "
                                "which pods count as unready")

    # ---- HPA behavior: stabilisation windows
    scale_down_stabilization_s: float = Field(
        300.0, ge=0, le=3600, description="Scale down only to the highest recommendation of this window")
    scale_up_stabilization_s: float = Field(
        0.0, ge=0, le=3600, description="Scale up only to the lowest recommendation of this window")

    # ---- HPA behavior: rate-limit policies (None switches a policy off)
    scale_up_pods: int | None = Field(
        4, ge=1, le=MAX_REPLICAS, description="Pods policy: add at most this many pods per period")
    scale_up_percent: int | None = Field(
        100, ge=1, le=10_000, description="Percent policy: grow by at most this % of the period-start count per period")
    scale_up_period_s: float = Field(15.0, gt=0, le=1800, description="periodSeconds of the scale-up policies")
    scale_up_select_policy: SelectPolicy = Field(
        "Max", description="Max: the policy allowing the largest change wins; Min: the smallest; "
                           "Disabled: never scale up")
    scale_down_pods: int | None = Field(
        None, ge=1, le=MAX_REPLICAS, description="Pods policy: remove at most this many pods per period (unset by default)")
    scale_down_percent: int | None = Field(
        100, ge=1, le=100, description="Percent policy: shrink by at most this % of the period-start count")
    scale_down_period_s: float = Field(15.0, gt=0, le=1800, description="periodSeconds of the scale-down policies")
    scale_down_select_policy: SelectPolicy = Field(
        "Max", description="Max: the policy allowing the largest change wins; Min: the smallest; "
                           "Disabled: never scale down")

    # ---- KPA
    kpa_tick_s: float = Field(
        2.0, ge=1, le=60, description="KPA decision interval (Knative tickInterval; concurrency is sampled every second)")
    stable_window_s: float = Field(60.0, ge=6, le=3600, description="KPA stable averaging window")
    panic_window_pct: float = Field(
        10.0, ge=1, le=100, description="KPA panic window as a percentage of the stable window (10 % -> 6 s)")
    panic_threshold_pct: float = Field(
        200.0, ge=110, le=1000, description="Panic when panic-window demand / ready pods >= this % of target")
    target_concurrency_per_replica: float = Field(
        70.0, gt=0, le=10_000, description="KPA target in-flight requests per replica (100 x 70 %)")
    max_scale_up_rate: float = Field(
        1000.0, gt=1, le=10_000, description="KPA: at most ceil(rate x ready) pods per decision")
    max_scale_down_rate: float = Field(
        2.0, gt=1, le=1000, description="KPA: at least floor(ready / rate) pods per decision")
    scale_to_zero_grace_s: float = Field(
        30.0, ge=0, le=3600, description="KPA: wait before removing the last pod (time to put the activator in path)")
    scale_to_zero_retention_s: float = Field(
        0.0, ge=0, le=86_400, description="KPA: keep the last pod at least this long after deciding to scale to zero")

    @model_validator(mode="after")
    def _check(self) -> AutoscalerConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= max_replicas ({self.max_replicas})")
        if self.min_replicas == 0 and self.kind != "kpa":
            raise ValueError(
                "min_replicas = 0 needs kind='kpa': a Kubernetes HPA scales to zero only behind the "
                "alpha HPAScaleToZero feature gate with an Object/External metric, which this twin "
                "does not model; Knative's KPA scales to zero by default")
        if self.metric == "utilization" and self.target > 1:
            raise ValueError(f"target {self.target} is a utilization fraction and must be in (0, 1]")
        if self.scale_up_pods is None and self.scale_up_percent is None:
            raise ValueError("at least one scale-up policy (scale_up_pods or scale_up_percent) is needed")
        if self.scale_down_pods is None and self.scale_down_percent is None:
            raise ValueError("at least one scale-down policy (scale_down_pods or scale_down_percent) is needed")
        return self

    @property
    def panic_window_s(self) -> float:
        """KPA panic window length (stable window x percentage)."""
        return self.stable_window_s * self.panic_window_pct / 100.0


# =========================================================================== HPA rules
def _ceil(x: float) -> int:
    return math.ceil(x - EPS)


def within_tolerance(ratio: float, tolerance: float) -> bool:
    """Rule 3: ``|1 - ratio| <= tolerance`` (inclusive) means 'no change'."""
    return abs(1.0 - ratio) <= tolerance + EPS


def usage_ratio_replicas(current_ready: int, metric_value: float, target: float, tolerance: float,
                         current_replicas: int | None = None) -> int:
    """Rules 2-3: ``ceil(metric/target x ready)``, or no change inside the tolerance band.

    ``current_replicas`` is what 'no change' returns (the spec count; defaults to
    ``current_ready``). The multiplier is always the ready count, as in the code.
    """
    ratio = metric_value / target
    if within_tolerance(ratio, tolerance):
        return current_ready if current_replicas is None else current_replicas
    return _ceil(ratio * current_ready)


def conservative_recompute(current_replicas: int, ready_replicas: int, unready_replicas: int,
                           raw_ratio: float, tolerance: float) -> int:
    """Rule 5 for unready pods: on a scale-up they count as 0 % and the ratio is recomputed.

    If the recomputed ratio is within tolerance or points the other way, nothing changes;
    otherwise ``ceil(new_ratio x (ready + unready))``. Without unready pods, or when the raw
    ratio does not ask for more, this is the plain rule 2-3 computation.
    """
    if unready_replicas <= 0 or raw_ratio <= 1.0:
        if within_tolerance(raw_ratio, tolerance):
            return current_replicas
        return _ceil(raw_ratio * ready_replicas)
    counted = ready_replicas + unready_replicas
    new_ratio = raw_ratio * ready_replicas / counted   # unready pods add 0 to the mean
    if within_tolerance(new_ratio, tolerance) or new_ratio < 1.0:
        return current_replicas
    # The resource path also refuses a "scale-up" that would land below the current count.
    return max(_ceil(new_ratio * counted), current_replicas)


def stabilize(history: Iterable[tuple[float, int]], now_s: float, desired: int, current: int,
              up_window_s: float, down_window_s: float) -> int:
    """Rule 8, first bullet: clamp ``current`` into [lowest recent up rec, highest recent down rec].

    ``history`` holds ``(t_s, recommendation)`` of earlier syncs; a record counts when it is
    strictly younger than the window (``t > now - window``), as ``timestamp.After(cutoff)``.
    """
    up_rec = down_rec = desired
    up_cutoff_s, down_cutoff_s = now_s - up_window_s, now_s - down_window_s
    for t_s, rec in history:
        if t_s > up_cutoff_s and rec < up_rec:
            up_rec = rec
        if t_s > down_cutoff_s and rec > down_rec:
            down_rec = rec
    return min(max(current, up_rec), down_rec)


def _changes_in_period(events: Iterable[tuple[float, int]], now_s: float, period_s: float) -> tuple[int, int]:
    """Pods added and removed by scale events strictly younger than ``period_s``."""
    added = removed = 0
    cutoff_s = now_s - period_s
    for t_s, delta in events:
        if t_s > cutoff_s:
            if delta > 0:
                added += delta
            else:
                removed -= delta
    return added, removed


def scale_up_limit(current: int, events: Iterable[tuple[float, int]], now_s: float,
                   cfg: AutoscalerConfig) -> int:
    """Rule 8: highest replica count the scale-up policies allow now.

    ``events`` are ``(t_s, signed change)``. ``periodStart = current - added + removed``
    within the period; Pods proposes ``periodStart + value``, Percent
    ``ceil(periodStart x (1 + value/100))``; selectPolicy Max takes the larger.
    """
    if cfg.scale_up_select_policy == "Disabled":
        return current
    added, removed = _changes_in_period(events, now_s, cfg.scale_up_period_s)
    start = current - added + removed
    proposals = []
    if cfg.scale_up_pods is not None:
        proposals.append(start + cfg.scale_up_pods)
    if cfg.scale_up_percent is not None:
        proposals.append(-(-start * (100 + cfg.scale_up_percent) // 100))   # exact integer ceil
    return max(proposals) if cfg.scale_up_select_policy == "Max" else min(proposals)


def scale_down_limit(current: int, events: Iterable[tuple[float, int]], now_s: float,
                     cfg: AutoscalerConfig) -> int:
    """Rule 8: lowest replica count the scale-down policies allow now.

    Pods proposes ``periodStart - value``, Percent ``floor(periodStart x (1 - value/100))``;
    selectPolicy Max takes the larger change, i.e. the smaller count.
    """
    if cfg.scale_down_select_policy == "Disabled":
        return current
    added, removed = _changes_in_period(events, now_s, cfg.scale_down_period_s)
    start = current - added + removed
    proposals = []
    if cfg.scale_down_pods is not None:
        proposals.append(start - cfg.scale_down_pods)
    if cfg.scale_down_percent is not None:
        proposals.append(start * (100 - cfg.scale_down_percent) // 100)     # exact integer floor
    return min(proposals) if cfg.scale_down_select_policy == "Max" else max(proposals)


def limit_replicas(current: int, desired: int, events: Iterable[tuple[float, int]], now_s: float,
                   cfg: AutoscalerConfig) -> tuple[int, str]:
    """Rule 8 rate limits then the [min, max] clamp, with the condition reason Kubernetes reports."""
    if desired > current:
        up_limit = max(scale_up_limit(current, events, now_s, cfg), current)
        if cfg.max_replicas > up_limit:
            allowed, reason = up_limit, "ScaleUpLimit"
        else:
            allowed, reason = cfg.max_replicas, "TooManyReplicas"
        if desired > allowed:
            return allowed, reason
    elif desired < current:
        down_limit = min(scale_down_limit(current, events, now_s, cfg), current)
        if cfg.min_replicas < down_limit:
            allowed, reason = down_limit, "ScaleDownLimit"
        else:
            allowed, reason = cfg.min_replicas, "TooFewReplicas"
        if desired < allowed:
            return allowed, reason
    return desired, "DesiredWithinRange"


class HpaController:
    """One HPA: keeps the recommendation history and scale events between syncs.

    ``decide`` assumes its answer is applied (like the controller's scale update): a
    change is stored as a scale event for the rate limits of later syncs.
    """

    def __init__(self, cfg: AutoscalerConfig):
        self.cfg = cfg
        self.recommendations: list[tuple[float, int]] = []
        self.scale_events: list[tuple[float, int]] = []
        self._seen_first_sync = False

    def decide(self, now_s: float, current_replicas: int, ready_replicas: int, metric_value: float,
               unready_replicas: int = 0) -> tuple[int, dict]:
        """One sync. ``metric_value`` is the mean of ``cfg.metric`` over ready replicas.

        Returns ``(desired, detail)``; ``detail`` has metric_value, usage_ratio,
        recommendation (before stabilisation), stabilized, desired and limit (the
        condition reason: ScaleUpLimit, ScaleDownLimit, TooManyReplicas, TooFewReplicas,
        DesiredWithinRange, or ScalingDisabled / NoReadyReplicas when nothing is computed).
        """
        cfg = self.cfg
        if not self._seen_first_sync:
            # recordInitialRecommendation: the starting size counts as a recommendation.
            self.recommendations.append((now_s, current_replicas))
            self._seen_first_sync = True
        ratio = rec = stabilized = None
        if current_replicas == 0 and cfg.min_replicas != 0:
            desired, limit = 0, "ScalingDisabled"       # target scaled to 0 by hand: HPA stands aside
        elif current_replicas > cfg.max_replicas:
            desired, limit = cfg.max_replicas, "TooManyReplicas"
        elif current_replicas < cfg.min_replicas:
            desired, limit = cfg.min_replicas, "TooFewReplicas"
        elif ready_replicas <= 0:
            desired, limit = current_replicas, "NoReadyReplicas"   # no metrics: the sync fails
        else:
            ratio = metric_value / cfg.target
            rec = conservative_recompute(current_replicas, ready_replicas, unready_replicas,
                                         ratio, cfg.tolerance)
            stabilized = stabilize(self.recommendations, now_s, rec, current_replicas,
                                   cfg.scale_up_stabilization_s, cfg.scale_down_stabilization_s)
            self._remember(now_s, rec)
            desired, limit = limit_replicas(current_replicas, stabilized, self.scale_events, now_s, cfg)
        if desired != current_replicas:
            self._record_scale(now_s, desired - current_replicas)
        detail = {"metric_value": metric_value, "usage_ratio": ratio, "recommendation": rec,
                  "stabilized": stabilized, "desired": desired, "limit": limit}
        return desired, detail

    def _remember(self, now_s: float, rec: int) -> None:
        keep_s = max(self.cfg.scale_up_stabilization_s, self.cfg.scale_down_stabilization_s)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now_s - keep_s]
        self.recommendations.append((now_s, rec))

    def _record_scale(self, now_s: float, delta: int) -> None:
        keep_s = max(self.cfg.scale_up_period_s, self.cfg.scale_down_period_s)
        self.scale_events = [(t, d) for t, d in self.scale_events if t > now_s - keep_s]
        self.scale_events.append((now_s, delta))


# =========================================================================== KPA
class KpaController:
    """Knative KPA decider plus its scale-to-zero gate (mechanisms.md 2.4).

    Inputs are the averages the simulation measures: ``stable_concurrency_avg`` over the
    last ``stable_window_s`` (0 only when nothing was in flight during the whole window) and
    ``panic_concurrency_avg`` over the last ``panic_window_s``.

    ``initial_ready_pods`` mirrors Knative's start-up rule: an autoscaler that starts with
    more than one ready pod starts in panic mode, so it keeps that scale until it has data.
    """

    def __init__(self, cfg: AutoscalerConfig, initial_ready_pods: int = 0, start_s: float = 0.0):
        self.cfg = cfg
        self.panic_since_s: float | None = start_s if initial_ready_pods > 1 else None  # last over-threshold tick
        self.max_panic_pods = initial_ready_pods
        self._active_since_s: float | None = start_s if initial_ready_pods > 0 else None
        self._zero_wanted_since_s: float | None = None

    @property
    def in_panic(self) -> bool:
        return self.panic_since_s is not None

    def decide(self, now_s: float, ready_pods: int, stable_concurrency_avg: float,
               panic_concurrency_avg: float) -> int:
        """Desired pod count for this tick (Knative ``Scale()`` then the min/max and zero gates)."""
        cfg = self.cfg
        target = cfg.target_concurrency_per_replica
        ready = max(1, ready_pods)
        max_up = math.ceil(cfg.max_scale_up_rate * ready)
        max_down = math.floor(ready / cfg.max_scale_down_rate)
        dspc = math.ceil(stable_concurrency_avg / target)
        dppc = math.ceil(panic_concurrency_avg / target)
        stable_pods = min(max(dspc, max_down), max_up)
        panic_pods = min(max(dppc, max_down), max_up)

        over_threshold = dppc / ready >= cfg.panic_threshold_pct / 100.0
        if over_threshold:
            self.panic_since_s = now_s                        # start, or extend, the panic
        elif self.panic_since_s is not None and self.panic_since_s + cfg.stable_window_s < now_s:
            self.panic_since_s, self.max_panic_pods = None, 0  # the surge is in the stable window now

        desired = stable_pods
        if self.panic_since_s is not None:
            desired = max(desired, panic_pods, self.max_panic_pods)   # never decrease while panicking
            self.max_panic_pods = desired

        desired = min(max(desired, cfg.min_replicas), cfg.max_replicas)
        return self._gate_scale_to_zero(now_s, ready_pods, desired)

    def _gate_scale_to_zero(self, now_s: float, ready_pods: int, desired: int) -> int:
        """Remove the last pod only after a stable window of activity and the grace wait.

        The decider wants 0 only once the stable-window average is 0 (no traffic for the whole
        window). The pod then goes at the first tick at least max(grace, retention) after
        that; the activator switch-over is modelled as taking the full grace period, its
        documented upper bound.
        """
        cfg = self.cfg
        if ready_pods > 0 and self._active_since_s is None:
            self._active_since_s = now_s
        if desired > 0:
            self._zero_wanted_since_s = None
            return desired
        if ready_pods == 0:
            self._active_since_s = None                      # already at zero
            return 0
        if now_s - self._active_since_s < cfg.stable_window_s:
            return 1                                         # not yet active a full stable window
        if self._zero_wanted_since_s is None:
            self._zero_wanted_since_s = now_s                # PA goes inactive; activator enters the path
        if now_s - self._zero_wanted_since_s >= max(cfg.scale_to_zero_grace_s, cfg.scale_to_zero_retention_s):
            self._active_since_s = None
            self._zero_wanted_since_s = None
            return 0
        return ready_pods                                    # inactive: Knative leaves the scale as it is
