"""Progressive canary delivery with automatic rollback: pure decision logic, following Flagger.

The simulation calls ``CanaryAnalysis.tick`` once per ``interval_s``, from ``start_s`` on,
with the canary's own traffic over the last interval. Each tick follows Flagger's
``advanceCanary`` order (mechanisms.md section 3.1):

1. halt while the canary is not ready, unless it has been unready longer than the
   progress deadline (Flagger's non-retriable ``isDeploymentReady`` error);
2. rollback check first: ``failed_checks >= threshold`` or the deadline exceeded;
3. first tick (weight 0): step the weight without any analysis;
4. later ticks: analyse success rate and p99; a failure (no traffic included) adds one
   cumulative failed check and holds the weight;
5. a passing check advances the weight while it is below ``max_weight_pct`` (so the last
   step can overshoot; it is clamped at 100) and promotes once it is at or above it.

Promotion is modelled as instantaneous at that tick; Flagger's Promoting/Finalising phases
(copying the spec to the primary and waiting for its rollout) are not simulated.
"""
import math

from pydantic import Field, field_validator

from simulator.common.limits import MAX_DURATION_S, MAX_NAME_CHARS, MAX_REPLICAS
from simulator.common.section import Section

INITIALIZING = "initializing"
PROGRESSING = "progressing"
PROMOTED = "promoted"
ROLLED_BACK = "rolled_back"

# Flagger raises analysis intervals shorter than this to it.
MIN_INTERVAL_S = 10.0


class CanaryConfig(Section):
    """Flagger canary analysis settings plus the behaviour of the canary version.

    Two defaults differ from Flagger's unset values on purpose: ``max_weight_pct`` is 50
    (Flagger: 100 when unset; its examples and this project's issue use 50, so half the
    traffic at most is exposed before promotion), and ``threshold`` is 5 (Flagger: 1 when
    unset; its documented examples use 5, which tolerates a few noisy intervals).
    """

    enabled: bool = Field(False, description="Roll out a new model version as a canary.")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Deploy time of the canary; the first tick runs here.")
    interval_s: float = Field(
        60.0, gt=0, le=86_400, description="Analysis interval; values below 10 s are raised to 10 s, as Flagger does."
    )
    step_weight_pct: int = Field(5, gt=0, le=100, description="Traffic weight added per passing check.")
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


class CanaryAnalysis:
    """Flagger's per-interval canary controller, without SimPy.

    ``weight_pct`` is Flagger's canary traffic weight; it returns to 0 once the analysis
    is decided because Flagger then routes all traffic to the primary. Which version that
    primary runs is in ``new_version_share_pct`` (100 after promotion, 0 after rollback).
    """

    def __init__(self, cfg: CanaryConfig):
        self.cfg = cfg
        self._weight_pct = 0
        self._phase = INITIALIZING
        self._failed_checks = 0
        self._decided_at_s: float | None = None

    @property
    def weight_pct(self) -> int:
        return self._weight_pct

    @property
    def phase(self) -> str:
        """'initializing', 'progressing', 'promoted' or 'rolled_back'."""
        return self._phase

    @property
    def failed_checks(self) -> int:
        return self._failed_checks

    @property
    def decided_at_s(self) -> float | None:
        """Time of promotion or rollback; None while undecided."""
        return self._decided_at_s

    @property
    def new_version_share_pct(self) -> int:
        """Share of traffic served by the canary's version right now."""
        if self._phase == PROMOTED:
            return 100
        return self._weight_pct

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
        if self._phase in (PROMOTED, ROLLED_BACK) or now_s < cfg.start_s:
            return []
        events: list[tuple[str, dict]] = []
        if self._phase == INITIALIZING:
            self._phase = PROGRESSING
            events.append(("canary_started", {"version": cfg.version}))

        deadline_exceeded = False
        if unready_since_s is not None:
            # Flagger: retriable = !(since + deadline).Before(now); retriable errors only halt.
            if unready_since_s + cfg.progress_deadline_s >= now_s:
                return events
            deadline_exceeded = True

        if deadline_exceeded or self._failed_checks >= cfg.threshold:
            reason = "progress deadline exceeded" if deadline_exceeded else "failed checks reached threshold"
            events.append(("canary_rolled_back", {
                "failed_checks": self._failed_checks,
                "weight_pct": self._weight_pct,
                "reason": reason,
            }))
            self._decide(now_s, ROLLED_BACK)
            return events

        if self._weight_pct == 0:  # first tick: pre-rollout only, no metric analysis
            events.append(self._advance())
            return events

        reason = _check_failure(cfg, n_requests, n_success, p99_latency_ms)
        if reason is not None:
            self._failed_checks += 1
            events.append(("canary_check_failed", {
                "failed_checks": self._failed_checks,
                "threshold": cfg.threshold,
                "weight_pct": self._weight_pct,
                "reason": reason,
            }))
            return events

        if self._weight_pct < cfg.max_weight_pct:
            events.append(self._advance())
        else:
            events.append(("canary_promoted", {"weight_pct": self._weight_pct, "version": cfg.version}))
            self._decide(now_s, PROMOTED)
        return events

    def _advance(self) -> tuple[str, dict]:
        previous = self._weight_pct
        self._weight_pct = min(previous + self.cfg.step_weight_pct, 100)
        return "canary_weight", {"weight_pct": self._weight_pct, "previous_weight_pct": previous}

    def _decide(self, now_s: float, phase: str) -> None:
        self._phase = phase
        self._decided_at_s = now_s
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


def _ticks_to_max_weight(cfg: CanaryConfig) -> int:
    return math.ceil(cfg.max_weight_pct / cfg.step_weight_pct)


def predicted_promotion_s(cfg: CanaryConfig) -> float:
    """Earliest promotion time: ``start + interval * ceil(max_weight / step_weight)``.

    Flagger documents the minimum time to promote as ``interval * (maxWeight / stepWeight)``;
    the ceiling accounts for an overshooting last step (first tick at ``start_s``).
    """
    return cfg.start_s + cfg.interval_s * _ticks_to_max_weight(cfg)


def predicted_rollback_s(cfg: CanaryConfig, first_failing_tick: int) -> float | None:
    """Rollback time when every check fails from tick ``first_failing_tick`` on (tick 0 at start_s).

    Flagger documents the time to roll back as ``interval * threshold``: failed checks reach
    the threshold at tick ``k + threshold - 1`` and the rollback happens on the next tick.
    Returns None when the canary would already be promoted before the first failing tick.
    """
    if first_failing_tick < 1:
        raise ValueError("tick 0 runs no analysis, so the first failing tick is at least 1")
    if first_failing_tick > _ticks_to_max_weight(cfg):
        return None
    return cfg.start_s + cfg.interval_s * (first_failing_tick + cfg.threshold)
