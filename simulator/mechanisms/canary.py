"""Progressive canary delivery with automatic rollback: pure decision logic, following Flagger.

One ``CanaryAnalysis`` is one Flagger ``Canary`` object: a single analysis loop that the
simulation ticks once per ``interval_s``. ``new_revision`` tells it that the canary
deployment's spec changed (a new model version was released). Each tick follows the order of
Flagger's ``advanceCanary`` (mechanisms.md section 3.1, ``pkg/controller/scheduler.go``):

1. no analysis running (initialized, succeeded or failed) and a new revision waiting: scale
   the canary up and enter Progressing, with **no traffic shift** this tick;
2. the revision changed during the analysis: route all traffic to the primary and reset the
   status (weight 0, failed checks 0); the analysis restarts at the next tick;
3. halt while the canary is unready, unless it has been unready longer than the progress
   deadline (a non-retriable error: roll back);
4. Promoting: route traffic to the primary (in one step, or ``step_weight_promotion_pct``
   per tick) and enter Finalising once the primary has all of it;
5. Finalising: scale the canary to zero, phase Succeeded;
6. rollback check first: ``failed_checks >= threshold`` -> Failed (all traffic to the
   primary, canary scaled to zero);
7. weight 0: run the pre-rollout hooks only (no metric analysis); otherwise analyse success
   rate and p99; a failure (no traffic included) adds one cumulative failed check and holds
   the weight;
8. a passing tick advances the weight (``step_weight_pct``, or the next ``step_weights``
   entry) while it is below the maximum weight, and at or above it copies the canary's spec
   to the primary: phase Promoting, traffic unchanged while the primary rolls out.

The primary's rolling update is taken to finish by the next tick, the earliest at which
Flagger proceeds (it halts while the primary is not ready).
"""
from __future__ import annotations

import math

from pydantic import Field, field_validator

from simulator.common.limits import MAX_DURATION_S, MAX_NAME_CHARS, MAX_REPLICAS
from simulator.common.section import Section

INITIALIZED = "initialized"
PROGRESSING = "progressing"
PROMOTING = "promoting"
FINALISING = "finalising"
SUCCEEDED = "succeeded"
FAILED = "failed"

# What the run's summary calls each phase (the verdict customers saw).
OUTCOME = {INITIALIZED: "none", PROGRESSING: "in_progress", PROMOTING: "in_progress",
           FINALISING: "promoted", SUCCEEDED: "promoted", FAILED: "rolled_back"}

# Flagger raises analysis intervals shorter than this to it.
MIN_INTERVAL_S = 10.0
TOTAL_WEIGHT_PCT = 100


class CanaryConfig(Section):
    """Flagger canary analysis settings plus the behaviour of the canary version.

    Two defaults differ from Flagger's unset values on purpose: ``max_weight_pct`` is 50
    (Flagger: 100 when unset; its examples and this project's issue use 50, so half the
    traffic at most is exposed before promotion), and ``threshold`` is 5 (Flagger: 1 when
    unset; its documented examples use 5, which tolerates a few noisy intervals).
    """

    enabled: bool = Field(False, description="Roll out a new model version as a canary.")
    start_s: float = Field(
        0.0, ge=0, le=MAX_DURATION_S,
        description="When the new version is released; the analysis loop's first tick runs here.")
    interval_s: float = Field(
        60.0, gt=0, le=86_400, description="Analysis interval; values below 10 s are raised to 10 s, as Flagger does."
    )
    step_weight_pct: int = Field(5, gt=0, le=100, description="Traffic weight added per passing check.")
    step_weights: tuple[int, ...] = Field(
        (), max_length=100, description="Flagger stepWeights: the weights to take in turn, e.g. [1, 2, 10, 80]; "
                                        "replaces step_weight_pct and max_weight_pct (the maximum is the last "
                                        "entry, capped at 100). Empty: the linear step.")
    step_weight_promotion_pct: int | None = Field(
        None, ge=1, le=100, description="Traffic moved back to the primary per interval while promoting "
                                        "(unset: all of it in one step, as Flagger).")
    max_weight_pct: int = Field(
        50, gt=0, le=100, description="Weight at which a passing check promotes (Flagger default 100)."
    )
    threshold: int = Field(5, ge=1, le=1000, description="Failed checks that trigger a rollback (Flagger default 1).")
    min_success_rate_pct: float = Field(
        99.0, ge=0, le=100, description="A check fails when the canary's success rate is below this."
    )
    max_p99_latency_ms: float = Field(
        500.0, gt=0, le=3_600_000, description="A check fails when the canary's p99 latency is above this."
    )
    progress_deadline_s: float = Field(
        600.0, gt=0, le=86_400, description="Roll back when the canary stays unready for longer than this."
    )
    version: str = Field("v2", min_length=1, max_length=MAX_NAME_CHARS, description="Model version label of the canary.")
    replicas: int = Field(
        1, ge=1, le=MAX_REPLICAS, description="Replicas of the canary deployment while it is analysed.")
    latency_factor: float = Field(1.0, gt=0, le=100, description="Canary service time relative to the primary.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Probability that a canary request fails.")
    accuracy_delta: float = Field(
        0.0, ge=-1, le=1, description="Change of the canary model's accuracy versus the primary."
    )

    @field_validator("interval_s")
    @classmethod
    def _raise_short_interval(cls, interval_s: float) -> float:
        return max(interval_s, MIN_INTERVAL_S)

    @field_validator("step_weights")
    @classmethod
    def _check_step_weights(cls, weights: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= w <= 1000 for w in weights):
            raise ValueError("every entry must be between 1 and 1000 (entries above 100 are capped at 100)")
        if any(b <= a for a, b in zip(weights, weights[1:])):
            raise ValueError("entries must increase, e.g. [1, 2, 10, 80]")
        return weights

    @property
    def max_weight(self) -> int:
        """Flagger's maxWeight: the last stepWeights entry (capped at 100), else max_weight_pct."""
        if self.step_weights:
            return min(TOTAL_WEIGHT_PCT, self.step_weights[-1])
        return self.max_weight_pct


def next_step_weight(cfg: CanaryConfig, weight_pct: int) -> int:
    """Flagger's ``nextStepWeight``: how much weight the next passing tick adds.

    Linear: ``step_weight_pct``. With ``step_weights``: the first entry from 0, the gap to
    the next entry from an entry, never more than what is left up to 100 (and 1 at 100, so
    that the next passing tick promotes).
    """
    if not cfg.step_weights:
        return cfg.step_weight_pct
    max_step = TOTAL_WEIGHT_PCT - weight_pct
    if max_step == 0:
        return 1
    if weight_pct == 0:
        return min(max_step, cfg.step_weights[0])
    for current, following in zip(cfg.step_weights, cfg.step_weights[1:]):
        if current == weight_pct:
            return min(max_step, following - weight_pct)
    return max_step


def weight_steps(cfg: CanaryConfig) -> list[int]:
    """The canary weights of a fully passing analysis, in order, up to the promoting weight."""
    weights, weight = [], 0
    while weight < cfg.max_weight:
        weight = min(TOTAL_WEIGHT_PCT, weight + next_step_weight(cfg, weight))
        weights.append(weight)
    return weights


class CanaryAnalysis:
    """Flagger's per-interval canary controller for one Canary object, without SimPy.

    ``weight_pct`` is the canary's traffic weight (the primary has the rest). Which version
    the primary runs changes when the promotion's traffic shift starts (event
    ``canary_promoted``); the simulation reads the events a tick returns and acts on them.
    """

    def __init__(self, cfg: CanaryConfig):
        self.cfg = cfg
        self._phase = INITIALIZED
        self._weight_pct = 0
        self._failed_checks = 0
        self._pending_revision = False   # a revision waits for the next analysis
        self._revision_changed = False   # the revision changed during the running analysis
        self._promoted_at_s: float | None = None
        self._decided_at_s: float | None = None
        self._started_at_s: float | None = None
        self.analyses = 0                # analyses started (a restart does not count)

    # ---- inputs -------------------------------------------------------------------------
    def new_revision(self) -> None:
        """The canary deployment's spec changed (a new version was released)."""
        if self._phase == PROGRESSING:
            self._revision_changed = True
        else:
            self._pending_revision = True

    def tick(
        self,
        now_s: float,
        n_requests: int,
        n_success: int,
        p99_latency_ms: float,
        unready_since_s: float | None = None,
    ) -> list[tuple[str, dict]]:
        """Run one analysis interval; return the ``(kind, detail)`` events it produced.

        ``n_requests``, ``n_success`` and ``p99_latency_ms`` describe the canary's traffic
        over the last interval. ``unready_since_s`` is when the canary became unready
        (None while it is ready).
        """
        cfg = self.cfg
        phase = self._phase
        if phase in (INITIALIZED, SUCCEEDED, FAILED):
            if not self._pending_revision:
                return []
            self._start(now_s)
            return [("canary_started", {"version": cfg.version})]
        if self._revision_changed:
            self._revision_changed = False
            self._weight_pct = 0
            self._failed_checks = 0
            return [("canary_restarted", {"reason": "new revision detected, all traffic back on the primary"})]

        deadline_exceeded = False
        if unready_since_s is not None:
            # Flagger: retriable = !(since + deadline).Before(now); retriable errors only halt.
            if unready_since_s + cfg.progress_deadline_s >= now_s:
                return []
            deadline_exceeded = True

        if phase == PROMOTING and not deadline_exceeded:
            return self._shift_to_primary(now_s)
        if phase == FINALISING and not deadline_exceeded:
            self._finish(now_s, SUCCEEDED)
            return [("canary_succeeded", {"version": cfg.version})]

        if deadline_exceeded or self._failed_checks >= cfg.threshold:
            reason = "progress deadline exceeded" if deadline_exceeded else "failed checks reached threshold"
            event = ("canary_rolled_back", {"failed_checks": self._failed_checks,
                                            "weight_pct": self._weight_pct, "reason": reason})
            self._decided_at_s = now_s
            self._weight_pct = 0
            self._finish(now_s, FAILED)
            return [event]

        if self._weight_pct > 0:  # weight 0 runs the pre-rollout hooks only, no metric analysis
            reason = _check_failure(cfg, n_requests, n_success, p99_latency_ms)
            if reason is not None:
                self._failed_checks += 1
                return [("canary_check_failed", {"failed_checks": self._failed_checks, "threshold": cfg.threshold,
                                                 "weight_pct": self._weight_pct, "reason": reason})]

        if self._weight_pct < cfg.max_weight:
            previous = self._weight_pct
            self._weight_pct = min(TOTAL_WEIGHT_PCT, previous + next_step_weight(cfg, previous))
            return [("canary_weight", {"weight_pct": self._weight_pct, "previous_weight_pct": previous})]
        self._phase = PROMOTING
        return [("canary_promoting", {"weight_pct": self._weight_pct, "version": cfg.version})]

    # ---- read-only views ------------------------------------------------------------------
    @property
    def weight_pct(self) -> int:
        """The canary deployment's traffic weight (the primary serves the rest)."""
        return self._weight_pct

    @property
    def phase(self) -> str:
        """initialized, progressing, promoting, finalising, succeeded or failed."""
        return self._phase

    @property
    def outcome(self) -> str:
        """none, in_progress, promoted (the primary runs the new version) or rolled_back."""
        return OUTCOME[self._phase]

    @property
    def failed_checks(self) -> int:
        return self._failed_checks

    @property
    def started_at_s(self) -> float | None:
        """Start of the latest analysis (the tick that scaled the canary up)."""
        return self._started_at_s

    @property
    def decided_at_s(self) -> float | None:
        """When customers' traffic went to the verdict: the primary's switch to the new
        version (promotion) or the rollback; None while undecided."""
        return self._decided_at_s

    @property
    def new_version_share_pct(self) -> int:
        """Share of traffic served by the version under analysis right now."""
        if self._phase in (FINALISING, SUCCEEDED):
            return TOTAL_WEIGHT_PCT
        if self._phase == PROMOTING and self._promoted_at_s is not None:
            return TOTAL_WEIGHT_PCT  # the primary already runs it
        return self._weight_pct

    # ---- transitions ------------------------------------------------------------------------
    def _start(self, now_s: float) -> None:
        self._pending_revision = False
        self._phase = PROGRESSING
        self._weight_pct = 0
        self._failed_checks = 0
        self._promoted_at_s = self._decided_at_s = None
        self._started_at_s = now_s
        self.analyses += 1

    def _shift_to_primary(self, now_s: float) -> list[tuple[str, dict]]:
        events = []
        if self._promoted_at_s is None:
            self._promoted_at_s = self._decided_at_s = now_s
            events.append(("canary_promoted", {"version": self.cfg.version}))
        step = self.cfg.step_weight_promotion_pct
        previous = self._weight_pct
        self._weight_pct = 0 if step is None else max(0, previous - step)
        if step is not None and self._weight_pct != previous:
            events.append(("canary_weight", {"weight_pct": self._weight_pct, "previous_weight_pct": previous}))
        if self._weight_pct == 0:
            self._phase = FINALISING
        return events

    def _finish(self, now_s: float, phase: str) -> None:
        self._phase = phase
        self._weight_pct = 0


def _check_failure(cfg: CanaryConfig, n_requests: int, n_success: int, p99_latency_ms: float) -> str | None:
    """Flagger's built-in metrics; returns why the check failed, or None when it passed."""
    if n_requests <= 0:
        return "no values found (no canary traffic)"
    success_rate_pct = 100.0 * n_success / n_requests
    if success_rate_pct < cfg.min_success_rate_pct:
        return f"request-success-rate {success_rate_pct:.2f}% < {cfg.min_success_rate_pct:g}%"
    if not p99_latency_ms <= cfg.max_p99_latency_ms:  # NaN (no latency values) fails too
        return f"request-duration p99 {p99_latency_ms:.1f} ms > {cfg.max_p99_latency_ms:g} ms"
    return None


def promotion_ticks(cfg: CanaryConfig) -> int:
    """Ticks after the first one (which only scales the canary up) until the primary runs the
    new version: one pre-rollout step, the remaining weight steps, the Promoting tick, then
    the traffic shift (section 3.1: ``interval x (2 + ceil(maxWeight / stepWeight))``)."""
    return len(weight_steps(cfg)) + 2


def predicted_promotion_s(cfg: CanaryConfig) -> float:
    """Earliest time the primary serves the new version, for a release at ``start_s``."""
    return cfg.start_s + cfg.interval_s * promotion_ticks(cfg)


def predicted_rollback_s(cfg: CanaryConfig, first_failing_tick: int) -> float | None:
    """Rollback time when every check fails from tick ``first_failing_tick`` on (tick 0 at start_s).

    Tick 0 only scales the canary up and tick 1 runs no analysis, so the first check is at
    tick 2. Failed checks reach the threshold at tick ``k + threshold - 1`` and the rollback
    happens on the next tick (Flagger: time to roll back = ``interval x threshold``). Returns
    None when the analysis would already have passed before the first failing tick.
    """
    if first_failing_tick < 2:
        raise ValueError("ticks 0 and 1 run no metric analysis, so the first failing tick is at least 2")
    if first_failing_tick > len(weight_steps(cfg)) + 1:
        return None
    return cfg.start_s + cfg.interval_s * (first_failing_tick + cfg.threshold)


def interval_ceil(t_s: float, start_s: float, interval_s: float) -> float:
    """The first tick of a loop ticking at ``start_s + k interval_s`` at or after ``t_s``."""
    if t_s <= start_s:
        return start_s
    return start_s + math.ceil((t_s - start_s) / interval_s - 1e-9) * interval_s
