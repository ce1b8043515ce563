"""Circuit breaker and retry back-off: pure decision logic, following resilience4j.

The simulator asks ``CircuitBreaker.try_acquire(now_s)`` before sending a request and
reports the outcome with ``on_result(now_s, duration_ms, failed)``. Everything else
(state transitions, sliding windows, half-open probing) happens inside, with time
passed in explicitly so the rules can be tested without SimPy.

Rules implemented (mechanisms.md section 1.1):

* calls are recorded as SUCCESS / ERROR / SLOW_SUCCESS / SLOW_ERROR; slow means
  ``duration > slow_call_duration_threshold_ms`` (strictly greater);
* rates are evaluated after every recorded call, and are -1 (no transition) while the
  window holds fewer calls than its effective minimum;
* CLOSED -> OPEN when ``failure_rate >= threshold`` or ``slow_rate >= threshold``;
* OPEN rejects every call without recording it; calls that were in flight when it opened
  are still recorded into the window OPEN carries over, but cause no transition;
* OPEN -> HALF_OPEN lazily on the first permission request *strictly after* the wait, or
  exactly at the wait through a timer when automatic transition is enabled;
* HALF_OPEN hands out a fixed number of permits and decides on a fresh count-based window;
* an optional maximum wait in HALF_OPEN forces a transition through a timer.

* entering a state starts fresh metrics (OPEN keeps those of the state it came from), so
  the not-permitted count of HALF_OPEN is HALF_OPEN's own; a lifetime total is kept apart;
* the operator states FORCED_OPEN, DISABLED and METRICS_ONLY are entered only through the
  explicit transitions (rule 11), which refuse the pairs resilience4j refuses.

Timers are exposed, not run: the simulation schedules ``next_timer_s()`` and calls
``on_timer(now_s)``; a timer that is no longer due is ignored, so stale ones are harmless.
"""
import math
from typing import Literal, NamedTuple

from pydantic import Field, model_validator

from simulator.common.limits import MAX_COUNT, MAX_LATENCY_MS
from simulator.common.section import Section

CLOSED = "CLOSED"
OPEN = "OPEN"
HALF_OPEN = "HALF_OPEN"
FORCED_OPEN = "FORCED_OPEN"
DISABLED = "DISABLED"
METRICS_ONLY = "METRICS_ONLY"
STATES = (CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY)

# resilience4j ``CircuitBreaker.StateTransition``: every pair it defines (X -> X is internal).
# Missing, so refused: CLOSED -> HALF_OPEN, METRICS_ONLY -> OPEN, METRICS_ONLY -> HALF_OPEN.
ALLOWED_TRANSITIONS = frozenset(
    {(s, s) for s in STATES}
    | {(CLOSED, t) for t in (OPEN, DISABLED, METRICS_ONLY, FORCED_OPEN)}
    | {(HALF_OPEN, t) for t in (CLOSED, OPEN, DISABLED, METRICS_ONLY, FORCED_OPEN)}
    | {(OPEN, t) for t in (CLOSED, HALF_OPEN, DISABLED, METRICS_ONLY, FORCED_OPEN)}
    | {(FORCED_OPEN, t) for t in (CLOSED, OPEN, DISABLED, METRICS_ONLY, HALF_OPEN)}
    | {(DISABLED, t) for t in (CLOSED, OPEN, FORCED_OPEN, HALF_OPEN, METRICS_ONLY)}
    | {(METRICS_ONLY, t) for t in (CLOSED, FORCED_OPEN, DISABLED)}
)

# A simulation that schedules ``env.timeout(due_s - now_s)`` can land a hair before due_s
# because of float rounding; a timer that close is treated as due.
_TIMER_EPS_S = 1e-9


MAX_ACTION_TIME_S = 30 * 24 * 3600.0


class BreakerOperatorAction(Section):
    """A runbook step: at ``at_s`` an operator moves the breaker by hand (resilience4j's
    ``transitionTo...State()`` / ``reset()``), e.g. forcing it open for planned maintenance."""

    name: str = Field("planned maintenance", max_length=200, description="Why (shown on charts and in the event log)")
    at_s: float = Field(0.0, ge=0, le=MAX_ACTION_TIME_S, description="When the operator acts (s after start)")
    action: Literal["forced_open", "disabled", "metrics_only", "closed", "reset"] = Field(
        "forced_open", description="forced_open: reject every call; disabled: permit every call, record nothing; "
                                   "metrics_only: permit and record, never trip; closed / reset: back to normal "
                                   "with empty metrics")


class BreakerConfig(Section):
    """resilience4j CircuitBreakerConfig, names in snake_case, defaults from its builder."""

    enabled: bool = Field(False, description="Put a circuit breaker in front of the external API call.")
    sliding_window_type: Literal["count_based", "time_based"] = Field(
        "count_based", description="Window over the last N calls, or over the last N seconds."
    )
    sliding_window_size: int = Field(
        100, ge=1, le=MAX_COUNT, description="N: calls (count_based) or one-second buckets (time_based)."
    )
    minimum_number_of_calls: int = Field(
        100, ge=1, le=MAX_COUNT, description="Calls the window must hold before rates are evaluated."
    )
    failure_rate_threshold_pct: float = Field(
        50.0, gt=0, le=100, description="Open when the failure rate is at least this percentage."
    )
    slow_call_rate_threshold_pct: float = Field(
        100.0, gt=0, le=100, description="Open when the slow-call rate is at least this percentage."
    )
    slow_call_duration_threshold_ms: float = Field(
        60_000.0, gt=0, le=3_600_000, description="A call is slow when it takes strictly longer than this."
    )
    wait_duration_in_open_state_ms: float = Field(
        60_000.0, ge=1, le=86_400_000, description="Time OPEN waits before allowing half-open probes (first attempt)."
    )
    wait_multiplier: float = Field(
        1.0, ge=1, le=100, description="Exponential back-off of the OPEN wait per attempt; 1.0 keeps it fixed."
    )
    permitted_number_of_calls_in_half_open_state: int = Field(
        10, ge=1, le=MAX_COUNT, description="Probe calls allowed in HALF_OPEN; also the size of its window."
    )
    automatic_transition_from_open_to_half_open_enabled: bool = Field(
        False, description="Move to HALF_OPEN by timer at the end of the wait instead of on the next call."
    )
    max_wait_duration_in_half_open_state_ms: float = Field(
        0.0, ge=0, le=86_400_000, description="Force a transition after this long in HALF_OPEN; below 1 ms disables it."
    )
    transition_to_state_after_wait_duration: Literal["open", "closed"] = Field(
        "open", description="State forced when the maximum wait in HALF_OPEN expires."
    )
    operator_actions: tuple[BreakerOperatorAction, ...] = Field(
        (), max_length=1000, description="Runbook steps: an operator forces, disables or resets the breaker at set times."
    )

    @model_validator(mode="after")
    def _actions_need_a_breaker(self) -> "BreakerConfig":
        if self.operator_actions and not self.enabled:
            raise ValueError("operator_actions: the breaker must be enabled for an operator to act on it")
        return self


class _CountWindow:
    """Outcomes of the last N calls in a circular buffer, with running totals."""

    __slots__ = ("_codes", "_next", "_size", "failed", "slow", "total")

    def __init__(self, size: int):
        self._codes = bytearray(size)  # bit 0 = failed, bit 1 = slow
        self._size = size
        self._next = 0
        self.total = 0
        self.failed = 0
        self.slow = 0

    def advance(self, now_s: float) -> None:
        """A count window does not age."""

    def record(self, now_s: float, failed: bool, slow: bool) -> None:
        if not self._size:  # the size-0 metrics of FORCED_OPEN and DISABLED hold nothing
            return
        i = self._next
        if self.total == self._size:
            old = self._codes[i]
            self.failed -= old & 1
            self.slow -= old >> 1
        else:
            self.total += 1
        self._codes[i] = failed | (slow << 1)
        self.failed += failed
        self.slow += slow
        self._next = i + 1 if i + 1 < self._size else 0


class _TimeWindow:
    """N one-second buckets keyed by epoch second; evicted buckets are subtracted."""

    __slots__ = ("_faileds", "_head_s", "_size", "_slows", "_totals", "failed", "slow", "total")

    def __init__(self, size_s: int):
        self._size = size_s
        self._totals = [0] * size_s
        self._faileds = [0] * size_s
        self._slows = [0] * size_s
        self._head_s: int | None = None  # newest epoch second covered
        self.total = 0
        self.failed = 0
        self.slow = 0

    def advance(self, now_s: float) -> None:
        """Slide so the window covers the N seconds ending with the second of ``now_s``."""
        sec = math.floor(now_s)
        head = self._head_s
        if head is None:
            self._head_s = sec
            return
        if sec <= head:  # same second (or a late report): nothing to evict
            return
        size = self._size
        for s in range(head + 1, min(sec, head + size) + 1):
            i = s % size
            self.total -= self._totals[i]
            self.failed -= self._faileds[i]
            self.slow -= self._slows[i]
            self._totals[i] = self._faileds[i] = self._slows[i] = 0
        self._head_s = sec

    def record(self, now_s: float, failed: bool, slow: bool) -> None:
        self.advance(now_s)
        i = self._head_s % self._size
        self._totals[i] += 1
        self._faileds[i] += failed
        self._slows[i] += slow
        self.total += 1
        self.failed += failed
        self.slow += slow


class _Metrics:
    """One state's metrics, as resilience4j's ``CircuitBreakerMetrics``: a window and the
    number of calls this state did not permit. A new state starts fresh ones (OPEN carries
    over those of the state it came from)."""

    __slots__ = ("min_calls", "not_permitted", "window")

    def __init__(self, window, min_calls: int):
        self.window = window
        self.min_calls = min_calls
        self.not_permitted = 0


class BreakerSnapshot(NamedTuple):
    """What the current state's metrics hold at a given time (resilience4j ``getMetrics()``)."""

    state: str
    calls: int
    failed_calls: int
    slow_calls: int
    not_permitted_calls: int
    failure_rate_pct: float  # -1.0 below the minimum number of calls
    slow_call_rate_pct: float


class IllegalStateTransition(ValueError):
    """A transition resilience4j does not allow (``IllegalStateTransitionException``)."""


class CircuitBreaker:
    """resilience4j's state machine with injected time.

    Automatic states: CLOSED, OPEN, HALF_OPEN. Operator states, entered only through the
    explicit ``transition_to_*`` methods: DISABLED (every call permitted, nothing recorded),
    FORCED_OPEN (every call rejected) and METRICS_ONLY (every call permitted and recorded,
    never a transition). ``transitions`` collects ``(t_s, from_state, to_state,
    failure_rate_pct, slow_rate_pct)`` where the rates are those of the window being left
    (-1.0 below its minimum). ``not_permitted_calls`` counts rejections over the breaker's
    lifetime; ``snapshot(now_s)`` reads the current state's own counts.
    """

    def __init__(self, cfg: BreakerConfig):
        self.cfg = cfg
        self._failure_threshold_pct = cfg.failure_rate_threshold_pct
        self._slow_threshold_pct = cfg.slow_call_rate_threshold_pct
        self._slow_ms = cfg.slow_call_duration_threshold_ms
        self._automatic = cfg.automatic_transition_from_open_to_half_open_enabled
        # resilience4j schedules the half-open timer only for waits of at least 1 ms.
        max_wait_ms = cfg.max_wait_duration_in_half_open_state_ms
        self._max_half_open_s = max_wait_ms / 1000.0 if max_wait_ms >= 1.0 else math.inf
        self.attempts = 0
        self.not_permitted_calls = 0
        self.transitions: list[tuple[float, str, str, float, float]] = []
        self._state = CLOSED
        self._retry_after_s = math.inf
        self._half_open_deadline_s = math.inf
        self._permits = 0
        self._metrics = self._closed_metrics()

    # ---- per-request path -------------------------------------------------------------

    def try_acquire(self, now_s: float) -> bool:
        """Ask permission for one call; a rejection is counted and never recorded."""
        state = self._state
        if state is CLOSED or state is DISABLED or state is METRICS_ONLY:
            return True
        if state is OPEN:
            if now_s > self._retry_after_s:  # strictly after, as Instant.isAfter
                self._transition(now_s, HALF_OPEN)
            else:
                self._reject()
                return False
        elif state is FORCED_OPEN:
            self._reject()
            return False
        if self._permits > 0:
            self._permits -= 1
            return True
        self._reject()
        return False

    def on_result(self, now_s: float, duration_ms: float, failed: bool) -> None:
        """Record a completed call and evaluate the thresholds (CLOSED and HALF_OPEN only)."""
        state = self._state
        if state is DISABLED or state is FORCED_OPEN:
            return
        metrics = self._metrics
        window = metrics.window
        window.record(now_s, failed, duration_ms > self._slow_ms)
        if state is OPEN or state is METRICS_ONLY:
            return
        total = window.total
        if total < metrics.min_calls:  # rates are -1: no decision yet
            return
        failure_pct = window.failed * 100.0 / total
        slow_pct = window.slow * 100.0 / total
        if failure_pct >= self._failure_threshold_pct or slow_pct >= self._slow_threshold_pct:
            self._transition(now_s, OPEN)
        elif state is HALF_OPEN:
            self._transition(now_s, CLOSED)

    def release_permission(self) -> None:
        """Give a HALF_OPEN permit back, as resilience4j does for an ignored exception."""
        if self._state is HALF_OPEN:
            self._permits += 1

    def _reject(self) -> None:
        self._metrics.not_permitted += 1
        self.not_permitted_calls += 1

    # ---- timers -----------------------------------------------------------------------

    def next_timer_s(self) -> float | None:
        """Absolute time of the pending timer transition, or None when there is none."""
        if self._state is OPEN and self._automatic:
            return self._retry_after_s
        if self._state is HALF_OPEN and self._half_open_deadline_s != math.inf:
            return self._half_open_deadline_s
        return None

    def on_timer(self, now_s: float) -> None:
        """Fire the pending timer if it is due; stale or early timers do nothing."""
        due_s = self.next_timer_s()
        if due_s is None or now_s < due_s - _TIMER_EPS_S:
            return
        if self._state is OPEN:
            self._transition(now_s, HALF_OPEN)
        elif self.cfg.transition_to_state_after_wait_duration == "open":
            self._transition(now_s, OPEN)
        else:
            self._transition(now_s, CLOSED)

    # ---- explicit transitions (resilience4j's public API) -----------------------------

    def transition_to_closed(self, now_s: float) -> None:
        self._transition(now_s, CLOSED)

    def transition_to_open(self, now_s: float) -> None:
        self._transition(now_s, OPEN)

    def transition_to_half_open(self, now_s: float) -> None:
        self._transition(now_s, HALF_OPEN)

    def transition_to_forced_open(self, now_s: float) -> None:
        """Reject every call until an operator moves the breaker on (no automatic transition)."""
        self._transition(now_s, FORCED_OPEN)

    def transition_to_disabled(self, now_s: float) -> None:
        """Permit every call and record nothing (the breaker is switched off)."""
        self._transition(now_s, DISABLED)

    def transition_to_metrics_only(self, now_s: float) -> None:
        """Permit and record every call, never change state."""
        self._transition(now_s, METRICS_ONLY)

    def reset(self, now_s: float) -> None:
        """Back to CLOSED with empty metrics from any state (resilience4j ``reset()``)."""
        if self._state is not CLOSED:
            self._transition(now_s, CLOSED)
        else:
            self._metrics = self._closed_metrics()

    # ---- read-only views --------------------------------------------------------------

    @property
    def state(self) -> str:
        """CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED or METRICS_ONLY."""
        return self._state

    @property
    def retry_after_s(self) -> float | None:
        """End of the current OPEN wait (calls strictly after it may probe), else None."""
        return self._retry_after_s if self._state is OPEN else None

    def snapshot(self, now_s: float) -> BreakerSnapshot:
        """The current state's counts and rates at ``now_s`` (a time window slides to it first)."""
        metrics = self._metrics
        window = metrics.window
        window.advance(now_s)
        failure_pct, slow_pct = self._rates(now_s)
        return BreakerSnapshot(self._state, window.total, window.failed, window.slow, metrics.not_permitted,
                               failure_pct, slow_pct)

    # ---- transitions ------------------------------------------------------------------

    def _closed_metrics(self) -> _Metrics:
        cfg = self.cfg
        if cfg.sliding_window_type == "count_based":
            size = cfg.sliding_window_size
            return _Metrics(_CountWindow(size), min(cfg.minimum_number_of_calls, size))
        return _Metrics(_TimeWindow(cfg.sliding_window_size), cfg.minimum_number_of_calls)

    def _rates(self, now_s: float) -> tuple[float, float]:
        metrics = self._metrics
        window = metrics.window
        window.advance(now_s)
        total = window.total
        if total == 0 or total < metrics.min_calls:
            return -1.0, -1.0
        return window.failed * 100.0 / total, window.slow * 100.0 / total

    def _transition(self, now_s: float, to_state: str) -> None:
        """Enter ``to_state`` with resilience4j's attempts, metrics and timers for it."""
        from_state = self._state
        if (from_state, to_state) not in ALLOWED_TRANSITIONS:
            raise IllegalStateTransition(f"circuit breaker: no transition from {from_state} to {to_state}")
        if from_state != to_state:  # X -> X is internal: new metrics, no event
            self.transitions.append((now_s, from_state, to_state, *self._rates(now_s)))
        self._state = to_state
        self._retry_after_s = self._half_open_deadline_s = math.inf
        self._permits = 0
        if to_state is OPEN:
            # the metrics are carried over so in-flight calls are still recorded while OPEN
            self.attempts += 1
            try:
                factor = self.cfg.wait_multiplier ** (self.attempts - 1)
            except OverflowError:
                factor = math.inf
            self._retry_after_s = now_s + self.cfg.wait_duration_in_open_state_ms * factor / 1000.0
        elif to_state is HALF_OPEN:
            permitted = self.cfg.permitted_number_of_calls_in_half_open_state
            self._metrics = _Metrics(_CountWindow(permitted), min(self.cfg.minimum_number_of_calls, permitted))
            self._permits = permitted
            self._half_open_deadline_s = now_s + self._max_half_open_s
        elif to_state is FORCED_OPEN:
            self.attempts += 1
            self._metrics = _Metrics(_CountWindow(0), 1)
        elif to_state is DISABLED:
            self.attempts = 0
            self._metrics = _Metrics(_CountWindow(0), 1)
        else:  # CLOSED, METRICS_ONLY; resilience4j's ClosedState reports attempts() == 0
            self.attempts = 0
            self._metrics = self._closed_metrics()


class RetryConfig(Section):
    """Client retries with capped exponential back-off and jitter."""

    enabled: bool = Field(False, description="Retry failed or rejected calls.")
    max_attempts: int = Field(
        3, ge=1, le=20, description="Total attempts including the first call (1 = no retry), as resilience4j."
    )
    initial_backoff_ms: float = Field(100.0, ge=0, le=MAX_LATENCY_MS, description="Back-off ceiling before the first retry.")
    multiplier: float = Field(2.0, ge=1, le=100, description="Growth of the back-off ceiling per retry.")
    max_backoff_ms: float = Field(10_000.0, ge=0, le=3_600_000, description="Cap on the back-off ceiling.")
    jitter: Literal["full", "equal", "none"] = Field(
        "full", description="full: U[0, c); equal: c/2 + U[0, c/2); none: c, for ceiling c."
    )

    @model_validator(mode="after")
    def _cap_covers_initial(self) -> "RetryConfig":
        if self.max_backoff_ms < self.initial_backoff_ms:
            raise ValueError("max_backoff_ms must be >= initial_backoff_ms")
        return self


def backoff_ms(attempt: int, cfg: RetryConfig, u: float) -> float:
    """Wait before retry number ``attempt`` (1 = first retry), given a uniform draw ``u``.

    The ceiling is ``min(max_backoff, initial * multiplier**(attempt-1))``; jitter spreads
    the wait below it so synchronised clients do not retry in lock-step. The draw is passed
    in so the caller's named RNG stream stays the only source of randomness.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u must be in [0, 1), got {u}")
    try:
        growth = cfg.multiplier ** (attempt - 1)
    except OverflowError:  # astronomically many retries: the cap applies
        growth = math.inf
    ceiling_ms = min(cfg.max_backoff_ms, cfg.initial_backoff_ms * growth) if cfg.initial_backoff_ms else 0.0
    if cfg.jitter == "full":
        return u * ceiling_ms
    if cfg.jitter == "equal":
        return ceiling_ms / 2.0 + u * ceiling_ms / 2.0
    return ceiling_ms
