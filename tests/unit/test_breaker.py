"""Circuit breaker and retry back-off against resilience4j's documented rules.

Expected values come from mechanisms.md section 1 (rules 1.1, defaults 1.2, worked
examples 1.3) and from hand computation, never from running the code.
"""
import pytest
from pydantic import ValidationError

from simulator.mechanisms.breaker import (
    CLOSED,
    DISABLED,
    FORCED_OPEN,
    HALF_OPEN,
    METRICS_ONLY,
    OPEN,
    BreakerConfig,
    CircuitBreaker,
    IllegalStateTransition,
    RetryConfig,
    backoff_ms,
)

FAST_MS = 10.0


def snap(breaker, now_s=0.0):
    """The current state's counts and rates, read at ``now_s`` (count windows do not age)."""
    return breaker.snapshot(now_s)


def feed(breaker, now_s, outcomes, duration_ms=FAST_MS):
    """Record one call per outcome ('F' failed, 'S' succeeded) at ``now_s``."""
    for outcome in outcomes:
        breaker.on_result(now_s, duration_ms, outcome == "F")


def small(**overrides):
    """Window of 10 calls, minimum 10, wait 60 s: the sizes used by the worked examples."""
    base = dict(sliding_window_size=10, minimum_number_of_calls=10)
    base.update(overrides)
    return BreakerConfig(**base)


def open_at(cfg, now_s):
    """A breaker driven OPEN at ``now_s`` by a full window of failures."""
    breaker = CircuitBreaker(cfg)
    feed(breaker, now_s, "F" * cfg.sliding_window_size)
    assert breaker.state == OPEN
    return breaker


def half_open_at(cfg, opened_s=0.0):
    """A breaker that opened at ``opened_s`` and moved to HALF_OPEN just after the wait."""
    breaker = open_at(cfg, opened_s)
    probe_s = opened_s + cfg.wait_duration_in_open_state_ms / 1000.0 + 0.001
    assert breaker.try_acquire(probe_s)
    assert breaker.state == HALF_OPEN
    return breaker, probe_s


# ---- configuration (1.2 defaults, rule 13 validation) ------------------------------


def test_defaults_match_resilience4j():
    """Defaults are those of the resilience4j table in section 1.2."""
    cfg = BreakerConfig()
    assert cfg.enabled is False
    assert cfg.failure_rate_threshold_pct == 50
    assert cfg.slow_call_rate_threshold_pct == 100
    assert cfg.slow_call_duration_threshold_ms == 60_000
    assert cfg.sliding_window_type == "count_based"
    assert cfg.sliding_window_size == 100
    assert cfg.minimum_number_of_calls == 100
    assert cfg.wait_duration_in_open_state_ms == 60_000
    assert cfg.wait_multiplier == 1.0
    assert cfg.permitted_number_of_calls_in_half_open_state == 10
    assert cfg.automatic_transition_from_open_to_half_open_enabled is False
    assert cfg.max_wait_duration_in_half_open_state_ms == 0
    assert cfg.transition_to_state_after_wait_duration == "open"


@pytest.mark.parametrize(
    "field, value",
    [
        ("failure_rate_threshold_pct", 0),
        ("failure_rate_threshold_pct", 100.01),
        ("slow_call_rate_threshold_pct", 0),
        ("slow_call_rate_threshold_pct", 101),
        ("sliding_window_size", 0),
        ("minimum_number_of_calls", 0),
        ("permitted_number_of_calls_in_half_open_state", 0),
        ("wait_duration_in_open_state_ms", 0.5),
        ("transition_to_state_after_wait_duration", "half_open"),
        ("sliding_window_type", "sliding"),
        ("failure_rate_treshold_pct", 50),
    ],
)
def test_invalid_values_are_rejected(field, value):
    """Rule 13: thresholds in (0, 100], sizes >= 1, wait >= 1 ms; unknown keys fail too."""
    with pytest.raises(ValidationError):
        BreakerConfig(**{field: value})


def test_threshold_of_exactly_100_is_valid():
    """Rule 13: the upper bound 100 % is inclusive."""
    cfg = BreakerConfig(failure_rate_threshold_pct=100, slow_call_rate_threshold_pct=100)
    assert cfg.failure_rate_threshold_pct == 100


# ---- CLOSED: recording and evaluation (rules 1, 3, 4, 5) ---------------------------


def test_fifty_failures_in_hundred_opens_on_the_hundredth_call():
    """1.3: defaults, 100 calls with 50 failures -> 50 % >= 50 -> OPEN on the 100th call."""
    breaker = CircuitBreaker(BreakerConfig())
    feed(breaker, 0.0, "F" * 50 + "S" * 49)
    assert breaker.state == CLOSED, "99 calls are below the minimum of 100"
    feed(breaker, 0.0, "S")
    assert breaker.state == OPEN
    assert breaker.transitions == [(0.0, CLOSED, OPEN, 50.0, 0.0)]


def test_forty_nine_failures_in_hundred_stay_closed():
    """1.3: 49 % < 50 % keeps the breaker CLOSED."""
    breaker = CircuitBreaker(BreakerConfig())
    feed(breaker, 0.0, "F" * 49 + "S" * 51)
    assert breaker.state == CLOSED
    assert snap(breaker).failure_rate_pct == 49.0


def test_below_minimum_never_opens_even_if_all_failed():
    """Rule 4 / 1.3: 99 failed calls are below the minimum of 100; rates read -1."""
    breaker = CircuitBreaker(BreakerConfig())
    feed(breaker, 0.0, "F" * 99)
    assert breaker.state == CLOSED
    assert snap(breaker).failure_rate_pct == -1.0
    assert snap(breaker).slow_call_rate_pct == -1.0


def test_minimum_five_of_window_ten_opens_on_fifth_call():
    """1.3: size 10, min 5: three failures out of the first five (60 %) open on the 5th call."""
    breaker = CircuitBreaker(BreakerConfig(sliding_window_size=10, minimum_number_of_calls=5))
    feed(breaker, 0.0, "FFFS")
    assert breaker.state == CLOSED, "75 % failed, but 4 calls are below the minimum of 5"
    feed(breaker, 0.0, "S")
    assert breaker.state == OPEN
    assert breaker.transitions[-1][3] == 60.0


def test_count_window_effective_minimum_is_window_size():
    """Rule 4: COUNT_BASED minimum is min(minimum_number_of_calls, size) = min(100, 10) = 10."""
    breaker = CircuitBreaker(BreakerConfig(sliding_window_size=10))
    feed(breaker, 0.0, "F" * 5 + "S" * 4)
    assert breaker.state == CLOSED
    feed(breaker, 0.0, "S")
    assert breaker.state == OPEN, "5 of 10 failed = 50 % once the 10-call minimum is reached"


def test_count_window_keeps_only_last_n_calls():
    """Rule 12: a circular buffer; the oldest outcome drops out when a new one arrives."""
    breaker = CircuitBreaker(BreakerConfig(sliding_window_size=4, minimum_number_of_calls=4))
    feed(breaker, 0.0, "FSSS")  # 25 %
    assert snap(breaker).failure_rate_pct == 25.0
    feed(breaker, 0.0, "S")  # the F is evicted: SSSS
    assert snap(breaker).failure_rate_pct == 0.0
    assert snap(breaker).calls == 4


def test_time_window_uses_minimum_as_configured():
    """Rule 4: TIME_BASED uses minimum_number_of_calls as is, even above the window size."""
    cfg = BreakerConfig(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=20)
    breaker = CircuitBreaker(cfg)
    feed(breaker, 0.5, "F" * 19)
    assert breaker.state == CLOSED, "19 calls < 20, not min(20, 10)"
    feed(breaker, 0.5, "F")
    assert breaker.state == OPEN


def test_failure_threshold_compares_with_greater_or_equal():
    """Rule 5: a rate exactly at the threshold opens (>=)."""
    breaker = CircuitBreaker(BreakerConfig(sliding_window_size=4, minimum_number_of_calls=4,
                                           failure_rate_threshold_pct=25))
    feed(breaker, 0.0, "SSSF")
    assert breaker.state == OPEN


def test_slow_means_strictly_longer_than_threshold():
    """Rule 1: duration == threshold is not slow; duration > threshold is slow."""
    cfg = BreakerConfig(sliding_window_size=1, minimum_number_of_calls=1,
                        failure_rate_threshold_pct=100, slow_call_duration_threshold_ms=100)
    at_threshold = CircuitBreaker(cfg)
    at_threshold.on_result(0.0, 100.0, False)
    assert at_threshold.state == CLOSED
    assert snap(at_threshold).slow_call_rate_pct == 0.0
    above = CircuitBreaker(cfg)
    above.on_result(0.0, 100.001, False)
    assert above.state == OPEN, "one slow call = 100 % >= default slow threshold of 100 %"


def test_slow_calls_open_with_zero_failures():
    """1.3: 2 s threshold, 50 % slow rate, window 10: six 2.5 s and four fast successes -> OPEN at 60 %."""
    breaker = CircuitBreaker(small(slow_call_duration_threshold_ms=2_000, slow_call_rate_threshold_pct=50))
    feed(breaker, 0.0, "SSSS", duration_ms=100.0)
    feed(breaker, 0.0, "SSSSS", duration_ms=2_500.0)
    assert breaker.state == CLOSED
    feed(breaker, 0.0, "S", duration_ms=2_500.0)
    assert breaker.state == OPEN
    assert breaker.transitions[-1] == (0.0, CLOSED, OPEN, 0.0, 60.0)


def test_slow_errors_count_as_failed_and_slow():
    """Rule 1: a SLOW_ERROR adds to both the failure and the slow-call count."""
    breaker = CircuitBreaker(BreakerConfig(sliding_window_size=4, minimum_number_of_calls=4,
                                           slow_call_duration_threshold_ms=100, failure_rate_threshold_pct=100))
    breaker.on_result(0.0, 500.0, True)  # SLOW_ERROR
    feed(breaker, 0.0, "SSS")
    assert snap(breaker).failure_rate_pct == 25.0
    assert snap(breaker).slow_call_rate_pct == 25.0


# ---- OPEN (rules 6, 7) -------------------------------------------------------------


def test_open_rejects_and_counts_without_recording():
    """Rule 6: OPEN rejects every call, counts it, and never records it in the window."""
    breaker = open_at(small(), 0.0)
    calls_before = snap(breaker).calls
    rate_before = snap(breaker).failure_rate_pct
    for i in range(25):
        assert not breaker.try_acquire(1.0 + i)
    assert breaker.not_permitted_calls == 25
    assert snap(breaker).calls == calls_before
    assert snap(breaker).failure_rate_pct == rate_before


def test_in_flight_results_are_recorded_while_open_without_transition():
    """Rule 6: results of calls in flight when it opened go into OPEN's metrics, no transition."""
    breaker = CircuitBreaker(small())
    feed(breaker, 0.0, "FFFFFSSSSS")
    assert breaker.state == OPEN
    feed(breaker, 1.0, "SSSSS")  # evicts the five failures of the circular window
    assert breaker.state == OPEN
    assert snap(breaker).failure_rate_pct == 0.0
    assert len(breaker.transitions) == 1


def test_lazy_transition_strictly_after_wait():
    """1.3: OPEN at 0 with 60 s wait: a call at 60.000 is rejected; the first after it probes."""
    breaker = open_at(small(), 0.0)
    assert not breaker.try_acquire(60.0)
    assert breaker.state == OPEN
    assert breaker.try_acquire(60.001)
    assert breaker.state == HALF_OPEN
    assert breaker.transitions[-1][:3] == (60.001, OPEN, HALF_OPEN)
    # That call took permit 1 of 10: nine more are granted, the 11th is rejected.
    assert all(breaker.try_acquire(60.002) for _ in range(9))
    assert not breaker.try_acquire(60.003)


def test_lazy_mode_has_no_timer_and_stays_open_without_calls():
    """Rule 7: without automatic transition nothing fires; OPEN lasts until a call arrives."""
    breaker = open_at(small(), 0.0)
    assert breaker.next_timer_s() is None
    breaker.on_timer(10_000.0)
    assert breaker.state == OPEN


def test_automatic_transition_fires_exactly_at_wait():
    """Rule 7: with automatic transition a timer moves OPEN -> HALF_OPEN at opened + wait."""
    breaker = open_at(small(automatic_transition_from_open_to_half_open_enabled=True), 5.0)
    assert breaker.next_timer_s() == 65.0
    breaker.on_timer(30.0)  # not due yet: ignored
    assert breaker.state == OPEN
    breaker.on_timer(65.0)
    assert breaker.state == HALF_OPEN
    assert breaker.transitions[-1][:3] == (65.0, OPEN, HALF_OPEN)


def test_stale_timer_is_ignored():
    """A timer scheduled for OPEN does nothing once the breaker has moved on lazily."""
    breaker = open_at(small(automatic_transition_from_open_to_half_open_enabled=True), 0.0)
    assert breaker.try_acquire(60.5)
    n_transitions = len(breaker.transitions)
    breaker.on_timer(60.0)
    assert breaker.state == HALF_OPEN
    assert len(breaker.transitions) == n_transitions


# ---- HALF_OPEN (rules 8, 9, 10) ----------------------------------------------------


def test_half_open_eleventh_concurrent_call_rejected():
    """Rule 8 / 1.3: 10 permits; the 11th concurrent call is rejected and counted."""
    breaker, probe_s = half_open_at(small())
    assert all(breaker.try_acquire(probe_s) for _ in range(9))
    rejected_before = breaker.not_permitted_calls
    assert not breaker.try_acquire(probe_s)
    assert breaker.not_permitted_calls == rejected_before + 1


def test_half_open_five_failures_of_ten_reopen_with_next_wait():
    """1.3: 10 half-open results with 5 failures (50 %) -> OPEN, attempts 2, wait f(2)."""
    breaker, probe_s = half_open_at(small(wait_multiplier=2.0))
    feed(breaker, 61.0, "FFFFFSSSS")
    assert breaker.state == HALF_OPEN, "9 results are below the half-open minimum of 10"
    feed(breaker, 61.0, "S")
    assert breaker.state == OPEN
    assert breaker.attempts == 2
    # f(2) = 60 s * 2**(2-1) = 120 s after reopening at 61 s.
    assert breaker.retry_after_s == pytest.approx(181.0)
    assert not breaker.try_acquire(181.0)
    assert breaker.try_acquire(181.001)


def test_half_open_four_failures_of_ten_close():
    """1.3: 4 failures of 10 (40 % < 50 %) -> CLOSED with a new, empty window."""
    breaker, _ = half_open_at(small())
    feed(breaker, 61.0, "FFFFSSSSSS")
    assert breaker.state == CLOSED
    assert snap(breaker).calls == 0
    assert breaker.attempts == 0
    assert breaker.transitions[-1] == (61.0, HALF_OPEN, CLOSED, 40.0, 0.0)


def test_half_open_decides_after_effective_minimum():
    """Rule 9: minimum 5 with 10 permits -> the decision is taken after 5 half-open results."""
    cfg = BreakerConfig(sliding_window_size=10, minimum_number_of_calls=5)
    breaker = open_at(cfg, 0.0)
    assert breaker.try_acquire(60.5)
    feed(breaker, 61.0, "FSSS")
    assert breaker.state == HALF_OPEN
    feed(breaker, 61.0, "S")  # 1 of 5 failed = 20 %
    assert breaker.state == CLOSED


def test_half_open_window_is_count_based_even_for_time_windows():
    """Rule 9: HALF_OPEN uses a fresh count window of size permitted, whatever the closed type."""
    cfg = BreakerConfig(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=5,
                        permitted_number_of_calls_in_half_open_state=3)
    breaker = CircuitBreaker(cfg)
    feed(breaker, 0.0, "FFFFF")
    assert breaker.state == OPEN
    assert breaker.try_acquire(60.5)
    assert snap(breaker).calls == 0
    feed(breaker, 61.0, "SS")
    assert breaker.state == HALF_OPEN, "min(5, 3) = 3 results needed"
    feed(breaker, 61.0, "F")  # 1 of 3 = 33.3 % < 50 %
    assert breaker.state == CLOSED


def test_exponential_wait_grows_per_reopen():
    """Rule 7: wait = 1 s * 2**(attempts-1): 1 s, then 2 s, then 4 s on successive re-opens."""
    cfg = small(wait_duration_in_open_state_ms=1_000, wait_multiplier=2.0,
                permitted_number_of_calls_in_half_open_state=1, minimum_number_of_calls=1)
    breaker = CircuitBreaker(cfg)
    feed(breaker, 0.0, "F")
    assert breaker.retry_after_s == 1.0
    assert breaker.try_acquire(1.5)
    feed(breaker, 1.5, "F")
    assert breaker.attempts == 2
    assert breaker.retry_after_s == 3.5
    assert breaker.try_acquire(3.6)
    feed(breaker, 3.6, "F")
    assert breaker.attempts == 3
    assert breaker.retry_after_s == pytest.approx(7.6)


def test_closing_resets_attempts_so_next_open_waits_the_base_time():
    """resilience4j's CLOSED state has attempts 0, so the next OPEN uses f(1) again."""
    cfg = small(wait_multiplier=2.0)
    breaker, _ = half_open_at(cfg)
    feed(breaker, 61.0, "S" * 10)
    assert breaker.state == CLOSED
    feed(breaker, 100.0, "F" * 10)
    assert breaker.attempts == 1
    assert breaker.retry_after_s == 160.0


def test_max_wait_in_half_open_forces_open():
    """Rule 10: 5 s maximum in HALF_OPEN -> a timer forces OPEN (default target), attempts + 1."""
    breaker, probe_s = half_open_at(small(max_wait_duration_in_half_open_state_ms=5_000))
    assert breaker.next_timer_s() == pytest.approx(probe_s + 5.0)
    breaker.on_timer(probe_s + 4.0)
    assert breaker.state == HALF_OPEN
    breaker.on_timer(probe_s + 5.0)
    assert breaker.state == OPEN
    assert breaker.attempts == 2


def test_max_wait_in_half_open_can_force_closed():
    """Rule 10: transition_to_state_after_wait_duration = closed closes instead."""
    cfg = small(max_wait_duration_in_half_open_state_ms=5_000, transition_to_state_after_wait_duration="closed")
    breaker, probe_s = half_open_at(cfg)
    breaker.on_timer(probe_s + 5.0)
    assert breaker.state == CLOSED
    assert breaker.attempts == 0


def test_zero_max_wait_keeps_half_open_until_enough_results():
    """Rule 10: 0 disables the half-open timer; the breaker waits for results."""
    breaker, _ = half_open_at(small())
    assert breaker.next_timer_s() is None
    breaker.on_timer(1e9)
    assert breaker.state == HALF_OPEN


def test_released_permit_can_be_used_again():
    """Rules 2, 8: an ignored exception gives its half-open permit back."""
    breaker, probe_s = half_open_at(small(permitted_number_of_calls_in_half_open_state=1))
    assert not breaker.try_acquire(probe_s)
    breaker.release_permission()
    assert breaker.try_acquire(probe_s)


# ---- TIME_BASED window (rule 12) ---------------------------------------------------


def test_time_window_evicts_buckets_older_than_n_seconds():
    """Rule 12: 10 one-second buckets; at t=10.0 the bucket of second 0 is subtracted."""
    cfg = BreakerConfig(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=5)
    evicted = CircuitBreaker(cfg)
    feed(evicted, 0.2, "FFFF")
    feed(evicted, 10.0, "S")  # window covers seconds 1..10: only this call
    assert evicted.state == CLOSED
    assert snap(evicted, 10.0).calls == 1

    kept = CircuitBreaker(cfg)
    feed(kept, 0.2, "FFFF")
    feed(kept, 9.999, "S")  # window covers seconds 0..9: 4 of 5 failed = 80 %
    assert kept.state == OPEN


def test_time_window_evicts_only_expired_buckets():
    """Rule 12: calls at seconds 0 and 5, a call at second 10 drops second 0 and keeps second 5."""
    cfg = BreakerConfig(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=100)
    breaker = CircuitBreaker(cfg)
    feed(breaker, 0.0, "FF")
    feed(breaker, 5.5, "FFF")
    feed(breaker, 10.1, "S")
    assert snap(breaker, 10.1).calls == 4
    feed(breaker, 40.0, "S")  # far later: every old bucket is gone
    assert snap(breaker, 40.0).calls == 1


# ---- reset (rule 11) ---------------------------------------------------------------


def test_reset_returns_to_closed_with_empty_window():
    """Rule 11: reset() -> a new CLOSED state with empty metrics."""
    breaker = open_at(small(), 0.0)
    breaker.reset(5.0)
    assert breaker.state == CLOSED
    assert snap(breaker).calls == 0
    assert breaker.transitions[-1][:3] == (5.0, OPEN, CLOSED)
    assert breaker.try_acquire(5.0)


def test_full_cycle_transitions_are_recorded_in_order():
    """Transitions CLOSED -> OPEN -> HALF_OPEN -> CLOSED, each stamped with its time."""
    breaker, probe_s = half_open_at(small())
    feed(breaker, 70.0, "S" * 10)
    assert [(t, a, b) for t, a, b, _, _ in breaker.transitions] == [
        (0.0, CLOSED, OPEN), (probe_s, OPEN, HALF_OPEN), (70.0, HALF_OPEN, CLOSED),
    ]


# ---- per-state metrics and reading at a time (rules 6, 8, 12) ----------------------


def test_open_counts_rejections_on_the_metrics_it_carried_over():
    """Rule 6: OPEN keeps CLOSED's metrics (its window and count) and adds its rejections."""
    breaker = open_at(small(), 0.0)
    for i in range(25):
        assert not breaker.try_acquire(1.0 + i)
    s = snap(breaker)
    assert (s.state, s.calls, s.failed_calls, s.not_permitted_calls) == (OPEN, 10, 10, 25)


def test_half_open_reads_its_own_not_permitted_count_and_the_lifetime_total_is_kept():
    """Entering HALF_OPEN starts fresh metrics: its not-permitted count is its own (1),
    while the lifetime total keeps OPEN's 25 rejections too (26)."""
    breaker = open_at(small(), 0.0)
    for i in range(25):
        breaker.try_acquire(1.0 + i)
    assert breaker.try_acquire(60.5)                     # lazily HALF_OPEN, permit 1 of 10
    assert all(breaker.try_acquire(60.6) for _ in range(9))
    assert not breaker.try_acquire(60.7)
    s = snap(breaker, 60.7)
    assert (s.state, s.calls, s.not_permitted_calls) == (HALF_OPEN, 0, 1)
    assert breaker.not_permitted_calls == 26


def test_reading_a_time_window_slides_it_without_a_new_call():
    """Rule 12: the rates are read over the last N seconds at the time of reading."""
    cfg = BreakerConfig(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=2)
    breaker = CircuitBreaker(cfg)
    feed(breaker, 0.2, "FS")
    assert snap(breaker, 9.9)[1:] == (2, 1, 0, 0, 50.0, 0.0)
    later = snap(breaker, 10.0)          # second 0 has left the window
    assert (later.calls, later.failure_rate_pct) == (0, -1.0)


# ---- operator states and explicit transitions (rule 11) -----------------------------

STATES = (CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY)
# resilience4j's StateTransition enum defines every pair except these three.
REFUSED = {(CLOSED, HALF_OPEN), (METRICS_ONLY, OPEN), (METRICS_ONLY, HALF_OPEN)}


def breaker_in(state):
    """A breaker in ``state`` at t = 100 s, reached the way resilience4j reaches it."""
    if state == OPEN:
        return open_at(small(), 100.0)
    if state == HALF_OPEN:
        return half_open_at(small(), 40.0)[0]
    breaker = CircuitBreaker(small())
    move = {FORCED_OPEN: breaker.transition_to_forced_open, DISABLED: breaker.transition_to_disabled,
            METRICS_ONLY: breaker.transition_to_metrics_only}.get(state)
    if move is not None:
        move(100.0)
    return breaker


def move_to(breaker, state, now_s):
    {CLOSED: breaker.transition_to_closed, OPEN: breaker.transition_to_open,
     HALF_OPEN: breaker.transition_to_half_open, FORCED_OPEN: breaker.transition_to_forced_open,
     DISABLED: breaker.transition_to_disabled, METRICS_ONLY: breaker.transition_to_metrics_only}[state](now_s)


@pytest.mark.parametrize("from_state", STATES)
@pytest.mark.parametrize("to_state", STATES)
def test_every_explicit_transition(from_state, to_state):
    """Rule 11: every pair resilience4j defines succeeds (recorded unless X -> X); the three it
    does not define raise and leave the breaker as it was."""
    breaker = breaker_in(from_state)
    assert breaker.state == from_state
    n_before = len(breaker.transitions)
    if (from_state, to_state) in REFUSED:
        with pytest.raises(IllegalStateTransition):
            move_to(breaker, to_state, 101.0)
        assert breaker.state == from_state and len(breaker.transitions) == n_before
        return
    move_to(breaker, to_state, 101.0)
    assert breaker.state == to_state
    if from_state == to_state:
        assert len(breaker.transitions) == n_before
    else:
        assert breaker.transitions[-1][:3] == (101.0, from_state, to_state)


def test_forced_open_rejects_everything_and_never_leaves_by_itself():
    """FORCED_OPEN: every call rejected and counted, results ignored, no timer, attempts + 1."""
    breaker = CircuitBreaker(small(automatic_transition_from_open_to_half_open_enabled=True))
    breaker.transition_to_forced_open(10.0)
    assert breaker.attempts == 1 and breaker.next_timer_s() is None
    assert not any(breaker.try_acquire(10.0 + 1000.0 * i) for i in range(5))
    feed(breaker, 20.0, "S" * 10)
    s = snap(breaker, 5_000.0)
    assert (s.state, s.calls, s.not_permitted_calls) == (FORCED_OPEN, 0, 5)
    breaker.transition_to_closed(6_000.0)
    assert breaker.try_acquire(6_000.0) and snap(breaker, 6_000.0).not_permitted_calls == 0


def test_disabled_permits_everything_and_never_trips():
    """DISABLED: every call permitted, nothing recorded, no transition even at 100 % failures."""
    breaker = CircuitBreaker(small())
    breaker.transition_to_disabled(0.0)
    assert all(breaker.try_acquire(1.0) for _ in range(50))
    feed(breaker, 1.0, "F" * 50)
    assert breaker.state == DISABLED and snap(breaker, 1.0).calls == 0


def test_metrics_only_records_but_never_trips():
    """METRICS_ONLY: every call permitted and recorded; a 100 % failure rate changes nothing."""
    breaker = CircuitBreaker(small())
    breaker.transition_to_metrics_only(0.0)
    feed(breaker, 1.0, "F" * 20)
    s = snap(breaker, 1.0)
    assert (s.state, s.calls, s.failure_rate_pct) == (METRICS_ONLY, 10, 100.0)
    assert breaker.try_acquire(2.0)
    assert [t[2] for t in breaker.transitions] == [METRICS_ONLY]


def test_explicit_open_waits_the_next_back_off_from_forced_open():
    """transitionToOpenState from FORCED_OPEN (attempts 1) enters OPEN with attempts 2: wait f(2)."""
    breaker = CircuitBreaker(small(wait_multiplier=2.0))
    breaker.transition_to_forced_open(0.0)
    breaker.transition_to_open(10.0)
    assert breaker.attempts == 2
    assert breaker.retry_after_s == 10.0 + 120.0


def test_internal_transition_starts_fresh_metrics():
    """CLOSED -> CLOSED is not an event, but like resilience4j it builds a new, empty state."""
    breaker = CircuitBreaker(small())
    feed(breaker, 0.0, "FFFS")
    breaker.transition_to_closed(1.0)
    assert snap(breaker).calls == 0 and breaker.transitions == []


def test_reset_from_an_operator_state_closes():
    breaker = breaker_in(FORCED_OPEN)
    breaker.reset(200.0)
    assert breaker.state == CLOSED and breaker.transitions[-1][:3] == (200.0, FORCED_OPEN, CLOSED)


def test_operator_actions_need_an_enabled_breaker():
    with pytest.raises(ValidationError):
        BreakerConfig(operator_actions=[{"at_s": 10, "action": "forced_open"}])
    with pytest.raises(ValidationError):
        BreakerConfig(enabled=True, operator_actions=[{"at_s": 10, "action": "half_open"}])
    cfg = BreakerConfig(enabled=True, operator_actions=[{"at_s": 10, "action": "forced_open"}])
    assert cfg.operator_actions[0].action == "forced_open"


# ---- retry back-off ----------------------------------------------------------------


def test_retry_defaults():
    """Defaults requested by the issue: off, 3 attempts, 100 ms doubling, full jitter."""
    cfg = RetryConfig()
    assert (cfg.enabled, cfg.max_attempts, cfg.initial_backoff_ms, cfg.multiplier, cfg.jitter) == (
        False, 3, 100.0, 2.0, "full")


def test_retry_cap_below_initial_is_rejected():
    """A cap lower than the first back-off is a configuration error."""
    with pytest.raises(ValidationError):
        RetryConfig(initial_backoff_ms=500, max_backoff_ms=100)


@pytest.mark.parametrize("attempt, ceiling_ms", [(1, 100.0), (2, 200.0), (3, 400.0), (4, 800.0), (8, 10_000.0)])
def test_backoff_without_jitter_is_capped_exponential(attempt, ceiling_ms):
    """Hand computed: 100 * 2**(attempt-1), capped at 10 000 ms (100 * 2**7 = 12 800 -> cap)."""
    assert backoff_ms(attempt, RetryConfig(jitter="none"), 0.7) == ceiling_ms


@pytest.mark.parametrize("attempt, ceiling_ms", [(1, 100.0), (3, 400.0), (8, 10_000.0)])
@pytest.mark.parametrize("u", [0.0, 0.25, 0.999999])
def test_jittered_backoff_bounds(attempt, ceiling_ms, u):
    """Full jitter lies in [0, c); equal jitter in [c/2, c), for ceiling c."""
    full = backoff_ms(attempt, RetryConfig(jitter="full"), u)
    equal = backoff_ms(attempt, RetryConfig(jitter="equal"), u)
    assert 0.0 <= full < ceiling_ms
    assert ceiling_ms / 2 <= equal < ceiling_ms
    assert full == pytest.approx(u * ceiling_ms)


def test_backoff_rejects_bad_arguments():
    """Attempts start at 1 and the draw must lie in [0, 1)."""
    with pytest.raises(ValueError):
        backoff_ms(0, RetryConfig(), 0.5)
    with pytest.raises(ValueError):
        backoff_ms(1, RetryConfig(), 1.0)


def test_backoff_huge_attempt_hits_cap_without_overflow():
    """A very large attempt number still returns the cap."""
    assert backoff_ms(5_000, RetryConfig(jitter="none"), 0.0) == 10_000.0
