"""The circuit breaker's rules as compiled functions on arrays, for the dependency station's kernel.

A replay of :class:`simulator.mechanisms.breaker.CircuitBreaker` (resilience4j's CLOSED / OPEN /
HALF_OPEN state machine with count- or time-based windows, lazy or automatic half-open, a
maximum wait in half-open, per-state metrics, and the operator states FORCED_OPEN, DISABLED
and METRICS_ONLY entered through explicit transitions) with the same floating-point
expressions, so the dependency station can feed it call by call inside a kernel. ``tests/unit/test_breaker_kernel.py`` drives both with
the same random call sequences and requires the same permissions, transitions and rates.

State: ``bi`` (integers) and ``bf`` (floats) below; the window's outcome codes (count window:
bit 0 failed, bit 1 slow) and per-second buckets (time window); transitions are appended to
``tr_*`` arrays as (t_s, from, to, failure %, slow %).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY = range(6)
STATE_NAMES = ("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED", "METRICS_ONLY")
STATE_CODE = {name: code for code, name in enumerate(STATE_NAMES)}
NO_HEAD = np.iinfo(np.int64).min
# integer state
B_STATE, B_ATTEMPTS, B_PERMITS, B_NOT_PERMITTED, B_MIN_CALLS, B_WTYPE, B_WSIZE, B_WNEXT, B_WTOTAL, B_WFAILED, \
    B_WSLOW, B_WHEAD, B_NTRANS, B_AUTOMATIC, B_CFG_TYPE, B_CFG_SIZE, B_CFG_MIN_CALLS, B_PERMITTED, \
    B_AFTER_WAIT_OPEN, B_STATE_NOT_PERMITTED = range(20)
# float state
F_RETRY_AFTER, F_HALF_DEADLINE, F_MAX_HALF_OPEN, F_WAIT_MS, F_MULT, F_FAIL_TH, F_SLOW_TH, F_SLOW_MS = range(8)
TIMER_EPS_S = 1e-9


def new_breaker(cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bi, bf, codes, buckets) for a breaker with ``cfg`` (a BreakerConfig), CLOSED with empty metrics."""
    bi = np.zeros(20, np.int64)
    bf = np.zeros(8, np.float64)
    bi[B_CFG_TYPE] = 0 if cfg.sliding_window_type == "count_based" else 1
    bi[B_CFG_SIZE] = cfg.sliding_window_size
    bi[B_CFG_MIN_CALLS] = cfg.minimum_number_of_calls
    bi[B_PERMITTED] = cfg.permitted_number_of_calls_in_half_open_state
    bi[B_AUTOMATIC] = cfg.automatic_transition_from_open_to_half_open_enabled
    bi[B_AFTER_WAIT_OPEN] = cfg.transition_to_state_after_wait_duration == "open"
    max_wait_ms = cfg.max_wait_duration_in_half_open_state_ms
    bf[F_MAX_HALF_OPEN] = max_wait_ms / 1000.0 if max_wait_ms >= 1.0 else math.inf
    bf[F_WAIT_MS] = cfg.wait_duration_in_open_state_ms
    bf[F_MULT] = cfg.wait_multiplier
    bf[F_FAIL_TH] = cfg.failure_rate_threshold_pct
    bf[F_SLOW_TH] = cfg.slow_call_rate_threshold_pct
    bf[F_SLOW_MS] = cfg.slow_call_duration_threshold_ms
    bf[F_RETRY_AFTER] = math.inf
    bf[F_HALF_DEADLINE] = math.inf
    codes = np.zeros(max(cfg.sliding_window_size, cfg.permitted_number_of_calls_in_half_open_state), np.int8)
    buckets = np.zeros((3, cfg.sliding_window_size), np.int64)
    _closed_window(bi, codes, buckets)
    return bi, bf, codes, buckets


@njit(cache=True)
def _count_window(bi, codes, size, min_calls):
    """Fresh metrics on a count window of ``size`` calls (0: it holds nothing)."""
    bi[B_WTYPE] = 0
    bi[B_WSIZE] = size
    bi[B_WNEXT] = 0
    bi[B_WTOTAL] = 0
    bi[B_WFAILED] = 0
    bi[B_WSLOW] = 0
    bi[B_WHEAD] = NO_HEAD
    bi[B_MIN_CALLS] = min_calls
    bi[B_STATE_NOT_PERMITTED] = 0
    codes[:] = 0


@njit(cache=True)
def _closed_window(bi, codes, buckets):
    """Fresh metrics of the configured window (CLOSED and METRICS_ONLY)."""
    if bi[B_CFG_TYPE] == 0:
        _count_window(bi, codes, bi[B_CFG_SIZE], min(bi[B_CFG_MIN_CALLS], bi[B_CFG_SIZE]))
    else:
        _count_window(bi, codes, bi[B_CFG_SIZE], bi[B_CFG_MIN_CALLS])
        bi[B_WTYPE] = 1
        buckets[:, :] = 0


@njit(cache=True)
def _advance_window(bi, buckets, now):
    """A time window slides to cover the N seconds ending with the second of ``now``."""
    if bi[B_WTYPE] == 0:
        return
    sec = np.int64(math.floor(now))
    head = bi[B_WHEAD]
    if head == NO_HEAD:
        bi[B_WHEAD] = sec
        return
    if sec <= head:
        return
    size = bi[B_WSIZE]
    last = sec if sec < head + size else head + size
    for s in range(head + 1, last + 1):
        i = s % size
        bi[B_WTOTAL] -= buckets[0, i]
        bi[B_WFAILED] -= buckets[1, i]
        bi[B_WSLOW] -= buckets[2, i]
        buckets[0, i] = 0
        buckets[1, i] = 0
        buckets[2, i] = 0
    bi[B_WHEAD] = sec


@njit(cache=True)
def _record(bi, codes, buckets, now, failed, slow):
    if bi[B_WTYPE] == 0:
        size = bi[B_WSIZE]
        if size == 0:  # the size-0 metrics of FORCED_OPEN and DISABLED hold nothing
            return
        i = bi[B_WNEXT]
        if bi[B_WTOTAL] == size:
            old = codes[i]
            bi[B_WFAILED] -= old & 1
            bi[B_WSLOW] -= old >> 1
        else:
            bi[B_WTOTAL] += 1
        codes[i] = failed | (slow << 1)
        bi[B_WFAILED] += failed
        bi[B_WSLOW] += slow
        bi[B_WNEXT] = i + 1 if i + 1 < size else 0
    else:
        _advance_window(bi, buckets, now)
        i = bi[B_WHEAD] % bi[B_WSIZE]
        buckets[0, i] += 1
        buckets[1, i] += failed
        buckets[2, i] += slow
        bi[B_WTOTAL] += 1
        bi[B_WFAILED] += failed
        bi[B_WSLOW] += slow


@njit(cache=True)
def _rates(bi, buckets, now):
    """(failure %, slow %) of the current metrics at ``now`` (a time window slides first); -1 below the minimum."""
    _advance_window(bi, buckets, now)
    total = bi[B_WTOTAL]
    if total == 0 or total < bi[B_MIN_CALLS]:
        return -1.0, -1.0
    return bi[B_WFAILED] * 100.0 / total, bi[B_WSLOW] * 100.0 / total


@njit(cache=True)
def transition(bi, bf, codes, buckets, tr, now, to):
    """Enter ``to`` with resilience4j's attempts, metrics and timers for it (CircuitBreaker._transition)."""
    frm = bi[B_STATE]
    if frm != to:  # X -> X is internal: new metrics, no event
        f, s = _rates(bi, buckets, now)
        k = bi[B_NTRANS]
        tr[0][k] = now
        tr[1][k] = frm
        tr[2][k] = to
        tr[3][k] = f
        tr[4][k] = s
        bi[B_NTRANS] = k + 1
    bi[B_STATE] = to
    bf[F_RETRY_AFTER] = math.inf
    bf[F_HALF_DEADLINE] = math.inf
    bi[B_PERMITS] = 0
    if to == OPEN:  # the metrics are carried over, so calls in flight are still recorded
        bi[B_ATTEMPTS] += 1
        factor = math.pow(bf[F_MULT], float(bi[B_ATTEMPTS] - 1))
        bf[F_RETRY_AFTER] = now + bf[F_WAIT_MS] * factor / 1000.0
    elif to == HALF_OPEN:
        permitted = bi[B_PERMITTED]
        _count_window(bi, codes, permitted, min(bi[B_CFG_MIN_CALLS], permitted))
        bi[B_PERMITS] = permitted
        bf[F_HALF_DEADLINE] = now + bf[F_MAX_HALF_OPEN]
    elif to == FORCED_OPEN:
        bi[B_ATTEMPTS] += 1
        _count_window(bi, codes, 0, 1)
    elif to == DISABLED:
        bi[B_ATTEMPTS] = 0
        _count_window(bi, codes, 0, 1)
    else:  # CLOSED, METRICS_ONLY
        bi[B_ATTEMPTS] = 0
        _closed_window(bi, codes, buckets)


@njit(cache=True)
def reset(bi, bf, codes, buckets, tr, now):
    """Back to CLOSED with empty metrics from any state (CircuitBreaker.reset)."""
    if bi[B_STATE] != CLOSED:
        transition(bi, bf, codes, buckets, tr, now, CLOSED)
    else:
        _closed_window(bi, codes, buckets)


@njit(cache=True)
def _reject(bi):
    bi[B_STATE_NOT_PERMITTED] += 1
    bi[B_NOT_PERMITTED] += 1


@njit(cache=True)
def try_acquire(bi, bf, codes, buckets, tr, now):
    """Permission for one call at ``now``; a refusal is counted (CircuitBreaker.try_acquire)."""
    state = bi[B_STATE]
    if state == CLOSED or state == DISABLED or state == METRICS_ONLY:
        return True
    if state == OPEN:
        if now > bf[F_RETRY_AFTER]:  # strictly after, as Instant.isAfter
            transition(bi, bf, codes, buckets, tr, now, HALF_OPEN)
        else:
            _reject(bi)
            return False
    elif state == FORCED_OPEN:
        _reject(bi)
        return False
    if bi[B_PERMITS] > 0:
        bi[B_PERMITS] -= 1
        return True
    _reject(bi)
    return False


@njit(cache=True)
def on_result(bi, bf, codes, buckets, tr, now, duration_ms, failed):
    """Record a finished call and evaluate the thresholds in CLOSED and HALF_OPEN (CircuitBreaker.on_result)."""
    state = bi[B_STATE]
    if state == DISABLED or state == FORCED_OPEN:
        return
    _record(bi, codes, buckets, now, 1 if failed else 0, 1 if duration_ms > bf[F_SLOW_MS] else 0)
    if state == OPEN or state == METRICS_ONLY:
        return
    total = bi[B_WTOTAL]
    if total < bi[B_MIN_CALLS]:
        return
    f = bi[B_WFAILED] * 100.0 / total
    s = bi[B_WSLOW] * 100.0 / total
    if f >= bf[F_FAIL_TH] or s >= bf[F_SLOW_TH]:
        transition(bi, bf, codes, buckets, tr, now, OPEN)
    elif state == HALF_OPEN:
        transition(bi, bf, codes, buckets, tr, now, CLOSED)


@njit(cache=True)
def next_timer_s(bi, bf):
    """Absolute time of the pending timer transition, or NaN (CircuitBreaker.next_timer_s)."""
    if bi[B_STATE] == OPEN and bi[B_AUTOMATIC]:
        return bf[F_RETRY_AFTER]
    if bi[B_STATE] == HALF_OPEN and bf[F_HALF_DEADLINE] != math.inf:
        return bf[F_HALF_DEADLINE]
    return math.nan


@njit(cache=True)
def on_timer(bi, bf, codes, buckets, tr, now):
    """Fire the pending timer if it is due (CircuitBreaker.on_timer)."""
    due = next_timer_s(bi, bf)
    if math.isnan(due) or now < due - TIMER_EPS_S:
        return
    if bi[B_STATE] == OPEN:
        transition(bi, bf, codes, buckets, tr, now, HALF_OPEN)
    elif bi[B_AFTER_WAIT_OPEN]:
        transition(bi, bf, codes, buckets, tr, now, OPEN)
    else:
        transition(bi, bf, codes, buckets, tr, now, CLOSED)


@njit(cache=True)
def snapshot(bi, buckets, now):
    """(calls, failed, slow, refused in this state, failure %, slow %) at ``now`` (CircuitBreaker.snapshot)."""
    f, s = _rates(bi, buckets, now)
    return bi[B_WTOTAL], bi[B_WFAILED], bi[B_WSLOW], bi[B_STATE_NOT_PERMITTED], f, s
