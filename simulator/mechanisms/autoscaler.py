"""Autoscaling decisions: Kubernetes HPA (autoscaling/v2) and Knative KPA.

Only the decision rules live here (mechanisms.md section 2). The simulation owns time and
measurement: it calls ``HpaController.decide`` every ``sync_period_s`` with the pods it
sees (state, request, latest metric sample or none), or ``KpaController.decide`` every
``kpa_tick_s``, applies the answer, and starts or stops replicas. Nothing here imports
SimPy, so every rule can be checked against the documented worked examples with plain numbers.

HPA order per sync (``horizontal.go`` ``reconcileAutoscaler``):
1. replicas outside [min, max] are moved straight to the bound;
2. the replica calculator groups the pods (``replica_calculator.go`` ``groupPods``): failed
   or terminating pods are ignored, pending pods are unready, pods without a sample are
   missing, and for a CPU Utilization target a running pod that is not ready (or whose
   sample predates its readiness) is unready; a Pods metric ignores readiness;
3. raw recommendation ``ceil(ratio x ready)`` with the tolerance band (rules 2-3); with
   missing or unready pods the conservative recompute (rule 5): missing pods count as 100 %
   of their request on a scale-down and 0 % on a scale-up, unready pods 0 % on a scale-up;
   a recompute inside the tolerance, reversing the direction, or whose replica count moves
   the other way, keeps the current count;
4. stabilisation and rate limits from ``behavior`` (rule 8), or, with no ``behavior``, the
   legacy path (rule 7): the highest recommendation of the downscale window and a scale-up
   cap of max(2 x current, 4) per sync; then the [min, max] clamp.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from simulator.common.limits import MAX_REPLICAS
from simulator.common.section import Section

# Pod states as the replica calculator sees them.
POD_READY, POD_UNREADY, POD_PENDING, POD_FAILED = "ready", "unready", "pending", "failed"
# Legacy path (no behavior): scale up at most to max(2 x current, 4) per sync.
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2, 4

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
    cpu_initialization_period_s: float = Field(
        300.0, ge=0, le=3600, description="HPA flag: during this time after a pod starts, a utilization "
                                          "sample taken less than one metric window after the pod became "
                                          "ready is set aside as unready")
    metric_resolution_s: float = Field(
        15.0, ge=10, le=600, description="How often per-pod metrics are scraped; a sample averages the "
                                         "window since the previous scrape (metrics-server "
                                         "--metric-resolution: at least 10 s, 15 s in its manifests). A new "
                                         "replica has no sample until its first scrape")
    behavior_set: bool = Field(
        True, description="spec.behavior is set, so the stabilisation windows and policies below apply; "
                          "false takes Kubernetes' legacy path: scale down to the highest recommendation "
                          "of scale_down_stabilization_s (the controller flag), scale up at most to "
                          "max(2 x current, 4) per sync")

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
        70.0, ge=0.01, le=10_000,
        description="KPA target in-flight requests per replica (100 x 70 %); Knative's smallest target is 0.01")
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
class Pod(NamedTuple):
    """One pod as the HPA's replica calculator sees it.

    ``state``: ready, unready (running but not Ready, or a CPU sample taken too soon after
    readiness; see ``cpu_sample_unready``), pending, or failed (also for terminating pods,
    which are ignored). ``usage``: the latest metric sample, None when there is none (a
    *missing* pod). ``request``: the resource request, used by a Utilization target.
    """

    state: str = POD_READY
    usage: float | None = None
    request: float = 1.0


class Recommendation(NamedTuple):
    """The replica calculator's answer and the raw numbers Kubernetes reports in the status."""

    replicas: int
    usage_ratio: float | None   # raw: before missing or unready pods are filled in
    metric_value: float | None  # raw utilization (fraction) or raw average per pod
    reason: str                 # scale, within_tolerance, direction_reversed, no_metrics


def within_tolerance(ratio: float, tolerance: float) -> bool:
    """Rule 3, as ``Tolerances.isWithin``: ``1 - tol <= ratio <= 1 + tol`` means 'no change'."""
    return 1.0 - tolerance <= ratio <= 1.0 + tolerance


def _milli(value: float) -> int:
    """Kubernetes carries metric values as integer milli-units."""
    return int(round(value * 1000))


def cpu_sample_unready(now_s: float, started_s: float, ready: bool, ready_since_s: float, sample_end_s: float,
                       window_s: float, cpu_initialization_period_s: float, initial_readiness_delay_s: float) -> bool:
    """``groupPods``' CPU rule: is a running pod with a sample set aside as unready?

    Within the CPU initialisation period after the pod started, it is unready when it is not
    Ready or its sample ended less than one metric window after it became Ready; later only
    when it is not Ready and has never been Ready (its readiness last changed within the
    initial readiness delay of its start).
    """
    if started_s + cpu_initialization_period_s > now_s:
        return not ready or sample_end_s < ready_since_s + window_s
    return not ready and started_s + initial_readiness_delay_s > ready_since_s


def replica_recommendation(pods: Sequence[Pod], current_replicas: int, target: float, tolerance: float,
                           utilization: bool) -> Recommendation:
    """``GetResourceReplicas`` (``utilization``: target is a fraction of the request) or
    ``calcPlainMetricReplicas`` (a Pods metric: target is the average value per pod).

    A Utilization ratio is the whole-percent utilization ``floor(100 x sum usage / sum
    request)`` over the target in whole percent, as Kubernetes computes it; a Pods metric's
    ratio is the milli-unit average over the target.
    """
    metrics: dict[int, int] = {}
    requests = [_milli(p.request) for p in pods]
    unready: list[int] = []
    missing: list[int] = []
    for i, pod in enumerate(pods):
        if pod.state == POD_FAILED:
            continue
        if pod.state == POD_PENDING:
            unready.append(i)
        elif pod.usage is None:
            missing.append(i)
        elif utilization and pod.state == POD_UNREADY:   # readiness matters for the resource metric only
            unready.append(i)
        else:
            metrics[i] = _milli(pod.usage)
    if not metrics:
        return Recommendation(current_replicas, None, None, "no_metrics")
    target_pct = max(1, int(round(target * 100)))
    target_milli = max(1, _milli(target))

    def ratio_of(values: dict[int, int]) -> tuple[float, float]:
        if utilization:
            pct = sum(values.values()) * 100 // max(1, sum(requests[i] for i in values))
            return pct / target_pct, pct / 100.0
        average = sum(values.values()) // len(values)
        return average / target_milli, average / 1000.0

    ratio, value = ratio_of(metrics)
    ready_count = len(metrics)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if within_tolerance(ratio, tolerance):
            return Recommendation(current_replicas, ratio, value, "within_tolerance")
        return Recommendation(math.ceil(ratio * ready_count), ratio, value, "scale")
    if ratio < 1.0:    # scale-down: a missing pod uses all of its request (or the target, if higher)
        for i in missing:
            metrics[i] = requests[i] * max(100, target_pct) // 100 if utilization else target_milli
    elif ratio > 1.0:  # scale-up: a missing pod uses nothing
        for i in missing:
            metrics[i] = 0
    if scale_up_with_unready:
        for i in unready:
            metrics[i] = 0
    new_ratio, _ = ratio_of(metrics)
    if within_tolerance(new_ratio, tolerance):
        return Recommendation(current_replicas, ratio, value, "within_tolerance")
    if (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return Recommendation(current_replicas, ratio, value, "direction_reversed")
    replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and replicas > current_replicas) or (new_ratio > 1.0 and replicas < current_replicas):
        return Recommendation(current_replicas, ratio, value, "direction_reversed")
    return Recommendation(replicas, ratio, value, "scale")


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


def legacy_stabilize(history: Iterable[tuple[float, int]], now_s: float, desired: int, window_s: float) -> int:
    """Rule 7 (no behavior): the highest recommendation not older than the window, this one
    included; a record exactly one window old still counts (``!timestamp.Before(cutoff)``)."""
    cutoff_s = now_s - window_s
    return max([desired] + [rec for t_s, rec in history if t_s >= cutoff_s])


def legacy_limit_replicas(current: int, desired: int, cfg: AutoscalerConfig) -> tuple[int, str]:
    """Rule 7, ``convertDesiredReplicasWithRules``: min first, then max(2 x current, 4) or max."""
    scale_up_limit_ = max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM)
    if cfg.max_replicas > scale_up_limit_:
        allowed, reason = scale_up_limit_, "ScaleUpLimit"
    else:
        allowed, reason = cfg.max_replicas, "TooManyReplicas"
    if desired < cfg.min_replicas:
        return cfg.min_replicas, "TooFewReplicas"
    if desired > allowed:
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

    def decide(self, now_s: float, current_replicas: int, pods: Sequence[Pod]) -> tuple[int, dict]:
        """One sync over ``pods`` (``cfg.metric`` per pod; utilization is a resource metric).

        Returns ``(desired, detail)``; ``detail`` has metric_value and usage_ratio (raw),
        recommendation (before stabilisation), reason (of the replica calculator),
        stabilized, desired and limit (the condition reason: ScaleUpLimit, ScaleDownLimit,
        TooManyReplicas, TooFewReplicas, DesiredWithinRange, or ScalingDisabled /
        NoMetrics when nothing is computed).
        """
        cfg = self.cfg
        if not self._seen_first_sync:
            # recordInitialRecommendation: the starting size counts as a recommendation.
            self.recommendations.append((now_s, current_replicas))
            self._seen_first_sync = True
        calc = Recommendation(None, None, None, "")
        stabilized = None
        if current_replicas == 0 and cfg.min_replicas != 0:
            desired, limit = 0, "ScalingDisabled"       # target scaled to 0 by hand: HPA stands aside
        elif current_replicas > cfg.max_replicas:
            desired, limit = cfg.max_replicas, "TooManyReplicas"
        elif current_replicas < cfg.min_replicas:
            desired, limit = cfg.min_replicas, "TooFewReplicas"
        else:
            calc = replica_recommendation(pods, current_replicas, cfg.target, cfg.tolerance,
                                          utilization=cfg.metric == "utilization")
            if calc.reason == "no_metrics":
                desired, limit = current_replicas, "NoMetrics"   # the sync fails: no change
            elif cfg.behavior_set:
                stabilized = stabilize(self.recommendations, now_s, calc.replicas, current_replicas,
                                       cfg.scale_up_stabilization_s, cfg.scale_down_stabilization_s)
                self._remember(now_s, calc.replicas)
                desired, limit = limit_replicas(current_replicas, stabilized, self.scale_events, now_s, cfg)
            else:
                stabilized = legacy_stabilize(self.recommendations, now_s, calc.replicas,
                                              cfg.scale_down_stabilization_s)
                self._remember(now_s, calc.replicas)
                desired, limit = legacy_limit_replicas(current_replicas, stabilized, cfg)
        if desired != current_replicas:
            self._record_scale(now_s, desired - current_replicas)
        detail = {"metric_value": calc.metric_value, "usage_ratio": calc.usage_ratio,
                  "recommendation": calc.replicas, "reason": calc.reason, "stabilized": stabilized,
                  "desired": desired, "limit": limit}
        return desired, detail

    def _remember(self, now_s: float, rec: int) -> None:
        keep_s = max(self.cfg.scale_up_stabilization_s, self.cfg.scale_down_stabilization_s)
        self.recommendations = [(t, r) for t, r in self.recommendations if t >= now_s - keep_s]
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
