"""Dependency station: an external call with latency, timeout, errors, faults, retries, breaker, fallback.

The rules are those of :mod:`simulator.engine.dependency` (the event path), in three forms:

* **fast** (a healthy dependency without errors, faults, retries or breaker, and a fallback that
  needs no cache): one vectorised pass per block of requests;
* **calls** (no breaker): a request's whole call sequence (attempts, back-off with jitter, faults
  at each attempt's start) depends only on its own draws and the fault timeline, so a compiled
  kernel computes it when the request reaches the station; a cached fallback waits for the
  interval in which it is needed, when every success completed by then is known;
* **breaker**: the breaker is a state machine fed in time order, so call starts, call ends and
  breaker timers are replayed in time order from the station's own heap, strictly before the
  next control event, feeding the same :class:`~simulator.mechanisms.breaker.CircuitBreaker`.

A failed call ends in the fallback: ``cached`` (the region's latest success completed by the
moment the fallback is needed, not older than ``cache_max_staleness_s``), ``default``, or
``none`` (the request fails). Every failing call returns its error after ``error_latency_ms``,
unless that comes after the client timeout (then it is a timeout).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator.engine.dependency import (
    BREAKER_EVENT,
    CALL_OK,
    CALL_TIMEOUT,
    FB_DEFAULT,
)
from simulator.engine.faults import Timeline
from simulator.engine.stations import breaker as kb
from simulator.engine.stations.pending import Pending
from simulator.engine.stations.pool import _heap_pop, _heap_push
from simulator.engine.stations.windows import window_at
from simulator.mechanisms.breaker import backoff_ms

FAULT_KINDS = {"outage_errors": 0, "outage_timeouts": 1, "latency_spike": 2, "error_rate": 3}
JITTER = {"full": 0, "equal": 1, "none": 2}
FALLBACK = {"none": 0, "cached": 1, "default": 2}
OPERATOR_STATE = {"forced_open": kb.FORCED_OPEN, "disabled": kb.DISABLED, "metrics_only": kb.METRICS_ONLY,
                  "closed": kb.CLOSED}
_START, _END, _TIMER = 0, 1, 2


@njit(cache=True)
def call_outcome(t, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_s, error_status, error_rate):
    """(duration_s, status) of one attempt started at ``t`` with latency draw ``lat`` and error draw ``u``.

    A failing call answers after ``error_s`` with ``error_status`` (an error, or a timeout when the
    error would come after the client timeout).
    """
    w = window_at(w_start, w_end, t) if len(w_start) else -1
    if w >= 0:
        k = w_kind[w]
        if k == 0:
            return error_s, error_status
        if k == 1:
            return timeout_s, 2
        if k == 2:
            lat *= w_factor[w]
        elif k == 3 and u < w_factor[w]:
            return error_s, error_status
    if u < error_rate:
        return error_s, error_status
    if lat > timeout_s:
        return timeout_s, 2
    return lat, 0


@njit(cache=True)
def backoff_s(ceiling_ms, u, jitter):
    """Wait before a retry (s), as mechanisms.breaker.backoff_ms for a given ceiling, divided by 1000."""
    if jitter == 0:
        b = u * ceiling_ms
    elif jitter == 1:
        b = ceiling_ms / 2.0 + u * ceiling_ms / 2.0
    else:
        b = ceiling_ms
    return b / 1000.0


@njit(cache=True)
def fallback_of(rid, t, region, mode, max_stale_s, last_ok, fallback, staleness):
    """Apply the fallback at ``t``: True when the request goes on (cached or default answer).

    ``last_ok`` holds, per region, the latest success completed by ``t`` (-inf: none yet).
    """
    if mode == 2:
        fallback[rid] = 2
        return True
    if mode == 1:
        age = t - last_ok[region[rid]]
        if age <= max_stale_s:
            fallback[rid] = 1
            staleness[rid] = age
            return True
    return False


@njit(cache=True)
def cached_fallbacks(rids, times, region, succ_t, succ_region, last_ok, max_stale_s, fallback, staleness, out_go):
    """Cached fallbacks in time order, each against the successes completed by its moment.

    ``succ_t`` (sorted) are completions not yet taken into ``last_ok``; returns how many were.
    """
    p = 0
    for i in range(len(rids)):
        t = times[i]
        while p < len(succ_t) and succ_t[p] <= t:
            last_ok[succ_region[p]] = succ_t[p]
            p += 1
        out_go[i] = fallback_of(rids[i], t, region, 1, max_stale_s, last_ok, fallback, staleness)
    return p


@njit(cache=True)
def call_sequences(rids, times, region, lat0, err0, retry_lat, retry_err, jitter_u, retries, w_start, w_end, w_kind,
                   w_factor, timeout_s, error_s, error_status, error_rate, max_attempts, ceilings_ms, jitter, fb_mode,
                   api_start, api_s, status, calls, fallback, out_t, out_go):
    """Every request's call sequence, in the order given, ending at ``out_t`` with ``out_go``:
    1 it goes on (an answer, or the default fallback), 0 it fails, 2 it needs the cached fallback."""
    for i in range(len(rids)):
        rid = rids[i]
        t0 = times[i]
        api_start[rid] = t0
        t = t0
        attempt = 0
        while True:
            if attempt == 0:
                lat = lat0[rid]
                u = err0[rid]
            else:
                j = rid * retries + attempt - 1
                lat = retry_lat[j]
                u = retry_err[j]
            d, st = call_outcome(t, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_s, error_status,
                                 error_rate)
            t += d
            if st == 0:
                calls[rid] = attempt + 1
                status[rid] = 0
                api_s[rid] = t - t0
                out_t[i] = t
                out_go[i] = 1
                break
            if attempt + 1 < max_attempts:
                t += backoff_s(ceilings_ms[attempt + 1], jitter_u[rid * retries + attempt], jitter)
                attempt += 1
                continue
            calls[rid] = attempt + 1
            status[rid] = st
            api_s[rid] = t - t0
            out_t[i] = t
            if fb_mode == 2:
                fallback[rid] = 2
                out_go[i] = 1
            else:
                out_go[i] = 2 if fb_mode == 1 else 0
            break


@njit(cache=True)
def push_calls(ht, hs, hr, hu, n, seq, rids, times):
    """First call attempts of new requests onto the station's heap, in the order they came."""
    for i in range(len(rids)):
        n = _heap_push(ht, hs, hr, hu, n, times[i], seq + i, rids[i], _START)


@njit(cache=True)
def arm_timer(bi, bf, ht, hs, hr, hu, hv, armed, now):
    """After the breaker moved: a newly due timer goes on the heap (as the event path arms one)."""
    nxt = kb.next_timer_s(bi, bf)
    if not math.isnan(nxt) and nxt != armed[0]:
        armed[0] = nxt
        delay = nxt - now
        hv[0] = _heap_push(ht, hs, hr, hu, hv[0], now + (delay if delay > 0.0 else 0.0), hv[1], -1, _TIMER)
        hv[1] += 1


@njit(cache=True)
def breaker_calls(ht, hs, hr, hu, hv, t_end, bi, bf, codes, buckets, tr, armed, region, lat0, err0, retry_lat,
                  retry_err, jitter_u, retries, max_attempts, ceilings_ms, jitter, w_start, w_end, w_kind, w_factor,
                  timeout_s, error_s, error_status, error_rate, fb_mode, max_stale_s, last_ok, start_col, dur, status,
                  calls, call_t0, fallback, staleness, out_rid, out_t, out_go, n_out):
    """Call starts, call ends and breaker timers strictly before ``t_end``, in time order.

    Returns 1 when an output or heap buffer is nearly full (grow it and call again), else 0.
    Heap entries: (t_s, seq, rid, attempt * 4 + kind).
    """
    while hv[0] > 0 and ht[0] < t_end:
        if hv[0] + 3 > len(ht) or n_out[0] + 2 > len(out_rid) or bi[kb.B_NTRANS] + 3 > len(tr[0]):
            return 1
        now = ht[0]
        rid = hr[0]
        code = hu[0]
        hv[0] = _heap_pop(ht, hs, hr, hu, hv[0])
        kind = code & 3
        attempt = code >> 2
        if kind == _START:
            permitted = kb.try_acquire(bi, bf, codes, buckets, tr, now)
            arm_timer(bi, bf, ht, hs, hr, hu, hv, armed, now)
            if not permitted:
                calls[rid] = attempt
                status[rid] = 3
                dur[rid] = now - start_col[rid]
                k = n_out[0]
                out_rid[k] = rid
                out_t[k] = now
                out_go[k] = fallback_of(rid, now, region, fb_mode, max_stale_s, last_ok, fallback, staleness)
                n_out[0] = k + 1
                continue
            if attempt == 0:
                lat = lat0[rid]
                u = err0[rid]
            else:
                j = rid * retries + attempt - 1
                lat = retry_lat[j]
                u = retry_err[j]
            d, st = call_outcome(now, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_s, error_status,
                                 error_rate)
            status[rid] = st
            call_t0[rid] = now
            hv[0] = _heap_push(ht, hs, hr, hu, hv[0], now + (d if d > 0 else 0.0), hv[1], rid, attempt * 4 + _END)
            hv[1] += 1
        elif kind == _END:
            st = status[rid]
            kb.on_result(bi, bf, codes, buckets, tr, now, (now - call_t0[rid]) * 1000.0, st != 0)
            arm_timer(bi, bf, ht, hs, hr, hu, hv, armed, now)
            if st == 0:
                calls[rid] = attempt + 1
                last_ok[region[rid]] = now
                dur[rid] = now - start_col[rid]
                k = n_out[0]
                out_rid[k] = rid
                out_t[k] = now
                out_go[k] = True
                n_out[0] = k + 1
            elif attempt + 1 < max_attempts:
                delay = backoff_s(ceilings_ms[attempt + 1], jitter_u[rid * retries + attempt], jitter)
                hv[0] = _heap_push(ht, hs, hr, hu, hv[0], now + (delay if delay > 0 else 0.0), hv[1], rid,
                                   (attempt + 1) * 4 + _START)
                hv[1] += 1
            else:
                calls[rid] = attempt + 1
                dur[rid] = now - start_col[rid]
                k = n_out[0]
                out_rid[k] = rid
                out_t[k] = now
                out_go[k] = fallback_of(rid, now, region, fb_mode, max_stale_s, last_ok, fallback, staleness)
                n_out[0] = k + 1
        else:
            kb.on_timer(bi, bf, codes, buckets, tr, now)
            arm_timer(bi, bf, ht, hs, hr, hu, hv, armed, now)
    return 0


class DependencyStation:
    """One external dependency; ``names`` maps its roles to the run's column names."""

    def __init__(self, cfg, columns, names: dict[str, str], faults: Timeline, emit, fail, fail_reason: int,
                 n_regions: int, events: list, breaker_states: list, component: str):
        self.cfg = cfg
        self.columns = columns
        self.names = names
        self.emit, self.fail, self.fail_reason = emit, fail, fail_reason
        self.events, self.breaker_states, self.component = events, breaker_states, component
        self.timeout_s = cfg.timeout_ms / 1000.0
        error_s = cfg.error_latency_ms / 1000.0
        # a failing call returns its error after error_latency_ms, unless the client gives up first
        self.error = (error_s, 1) if error_s <= self.timeout_s else (self.timeout_s, 2)
        ws = faults.windows
        self.w = (np.array([w.start_s for w in ws]), np.array([w.end_s for w in ws]),
                  np.array([FAULT_KINDS[w.kind] for w in ws], np.int64), np.array([w.factor for w in ws]))
        retry = cfg.retry if cfg.retry.enabled else None
        self.retries = retry.max_attempts - 1 if retry is not None else 0
        self.max_attempts = retry.max_attempts if retry is not None else 1
        self.jitter = JITTER[retry.jitter] if retry is not None else 2
        # back-off ceilings per retry number, from the mechanism itself (index 0 unused)
        plain = retry.model_copy(update={"jitter": "none"}) if retry is not None else None
        self.ceilings_ms = np.array([0.0] + [backoff_ms(a, plain, 0.0) for a in range(1, self.max_attempts)])
        self.retry = retry
        self.fb_mode = FALLBACK[cfg.fallback]
        self.last_ok = np.full(n_regions, -np.inf)  # latest success per region taken into account so far
        self.cached = Pending()  # requests waiting for the cached fallback, at the moment it is needed
        self.successes = (np.zeros(0), np.zeros(0, np.int64))  # completions not yet in last_ok: (t_s, region)
        self.breaker = kb.new_breaker(cfg.breaker) if cfg.breaker.enabled else None  # (bi, bf, codes, buckets)
        self.fast = (self.breaker is None and not ws and retry is None and not cfg.error_rate
                     and cfg.fallback != "cached")
        # breaker path: the station's heap of call starts, call ends and timers (t, seq, rid, attempt*4+kind)
        self.heap = (np.zeros(1024), np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(1024, np.int64))
        self.hv = np.zeros(2, np.int64)  # entries, next sequence number
        self.transitions = tuple(np.zeros(64, dt) for dt in (np.float64, np.int64, np.int64, np.float64, np.float64))
        self.timer_armed = np.full(1, np.nan)
        self._n_transitions = 0

    @property
    def not_permitted_calls(self) -> int:
        """Calls the breaker refused over the run."""
        return int(self.breaker[0][kb.B_NOT_PERMITTED]) if self.breaker is not None else 0

    def _col(self, role: str) -> np.ndarray:
        return self.columns[self.names[role]]

    # ------------------------------------------------------------------ requests
    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        if self.breaker is not None:
            self._col("start")[rids] = times
            k = len(rids)
            ht, hs, hr, hu = self._room(k)
            n, seq = int(self.hv[0]), int(self.hv[1])
            push_calls(ht, hs, hr, hu, n, seq, rids, times)
            self.hv[0] = n + k
            self.hv[1] = seq + k
        elif self.fast:
            self._push_fast(rids, times)
        else:
            self._push_calls(rids, times)

    def _room(self, extra: int):
        n = int(self.hv[0])
        if n + extra + 3 > len(self.heap[0]):
            size = max(2 * len(self.heap[0]), n + extra + 1024)
            self.heap = tuple(np.concatenate([a, np.zeros(size - len(a), a.dtype)]) for a in self.heap)
        return self.heap

    def _push_fast(self, rids: np.ndarray, times: np.ndarray) -> None:
        c = self._col
        lat = c("lat")[rids]
        c("start")[rids] = times
        c("calls")[rids] = 1
        late = lat > self.timeout_s
        if not late.any():
            c("status")[rids] = CALL_OK
            c("dur")[rids] = lat
            self.emit(rids, times + lat)
            return
        ok = ~late
        c("status")[rids] = np.where(late, CALL_TIMEOUT, CALL_OK)
        c("dur")[rids] = np.where(late, self.timeout_s, lat)
        out_t = np.where(late, times + self.timeout_s, times + lat)
        if self.fb_mode == FALLBACK["default"]:
            c("fallback")[rids[late]] = FB_DEFAULT
            self.emit(rids, out_t)
        else:
            self.emit(rids[ok], out_t[ok])
            self.fail(rids[late], out_t[late], self.fail_reason)

    def _push_calls(self, rids: np.ndarray, times: np.ndarray) -> None:
        k = len(rids)
        out_t = np.empty(k)
        go = np.empty(k, np.int8)
        cols, names = self.columns, self.names
        empty = np.zeros(0)
        retry = (cols[names["retry_lat"]], cols[names["retry_err"]], cols[names["jitter"]]) if self.retries else (
            empty, empty, empty)
        call_sequences(rids, times, cols["region"], cols[names["lat"]], cols[names["err"]], *retry, self.retries,
                       *self.w, self.timeout_s, *self.error, self.cfg.error_rate, self.max_attempts, self.ceilings_ms,
                       self.jitter, self.fb_mode, cols[names["start"]], cols[names["dur"]], cols[names["status"]],
                       cols[names["calls"]], cols[names["fallback"]], out_t, go)
        ok = go == 1
        if self.fb_mode == FALLBACK["cached"]:
            # successes are remembered with their completion time; fallbacks wait for their moment
            won = ok & (cols[names["status"]][rids] == CALL_OK)
            t, r = self.successes
            self.successes = (np.concatenate([t, out_t[won]]), np.concatenate([r, cols["region"][rids[won]]]))
            self.cached.push(rids[go == 2], out_t[go == 2])
        if ok.all():
            self.emit(rids, out_t)
            return
        self.emit(rids[ok], out_t[ok])
        failed = go == 0
        if failed.any():
            self.fail(rids[failed], out_t[failed], self.fail_reason)

    def _resolve_cached(self, t_end: float) -> None:
        """Cached fallbacks needed before ``t_end``, against the successes completed by their moment
        (all known: a call that succeeds before ``t_end`` started before it); then the successes
        before ``t_end`` are folded into the per-region latest, as no later fallback precedes them."""
        t, r = self.successes
        order = np.argsort(t, kind="stable")
        t, r = t[order], r[order]
        rids, times, _ = self.cached.take_before(t_end)
        used = 0
        if len(rids):
            go = np.empty(len(rids), np.bool_)
            cols = self.columns
            used = cached_fallbacks(rids, times, cols["region"], t, r, self.last_ok, self.cfg.cache_max_staleness_s,
                                    cols[self.names["fallback"]], cols[self.names["staleness"]], go)
            self.emit(rids[go], times[go])
            if not go.all():
                self.fail(rids[~go], times[~go], self.fail_reason)
        done = used + int(np.searchsorted(t[used:], t_end, side="left"))
        np.maximum.at(self.last_ok, r[used:done], t[used:done])
        self.successes = (t[done:], r[done:])

    def operator_action(self, action: str, name: str, now: float) -> None:
        """A runbook step: an operator moves the breaker by hand (as ExternalApi.operator_action)."""
        bi, bf, codes, buckets = self.breaker
        if len(self.transitions[0]) < int(bi[kb.B_NTRANS]) + 3:
            self.transitions = tuple(np.concatenate([a, np.zeros(len(a) + 8, a.dtype)]) for a in self.transitions)
        if action == "reset":
            kb.reset(bi, bf, codes, buckets, self.transitions, now)
        else:
            kb.transition(bi, bf, codes, buckets, self.transitions, now, OPERATOR_STATE[action])
        self._record_transitions(by=name)
        ht, hs, hr, hu = self._room(1)
        arm_timer(bi, bf, ht, hs, hr, hu, self.hv, self.timer_armed, now)

    # ------------------------------------------------------------------ breaker path
    def advance(self, t_end: float) -> None:
        """Replay call starts, call ends and breaker timers strictly before ``t_end`` (compiled)."""
        if self.breaker is None:
            if self.fb_mode == FALLBACK["cached"] and not self.fast:
                self._resolve_cached(t_end)
            return
        if self.hv[0] == 0 or self.heap[0][0] >= t_end:
            return
        cols, names, cfg = self.columns, self.names, self.cfg
        empty = np.zeros(0)
        retry = (cols[names["retry_lat"]], cols[names["retry_err"]], cols[names["jitter"]]) if self.retries else (
            empty, empty, empty)
        size = max(1024, 2 * int(self.hv[0]))
        out = (np.empty(size, np.int64), np.empty(size), np.empty(size, np.bool_))
        n_out = np.zeros(1, np.int64)
        rid_parts, t_parts, go_parts = [], [], []
        while True:
            status = breaker_calls(*self.heap, self.hv, t_end, *self.breaker, self.transitions, self.timer_armed,
                                   cols["region"], cols[names["lat"]], cols[names["err"]], *retry, self.retries,
                                   self.max_attempts, self.ceilings_ms, self.jitter, *self.w, self.timeout_s,
                                   *self.error, cfg.error_rate, self.fb_mode, cfg.cache_max_staleness_s,
                                   self.last_ok, cols[names["start"]], cols[names["dur"]], cols[names["status"]],
                                   cols[names["calls"]], cols[names["call_t0"]], cols[names["fallback"]],
                                   cols[names["staleness"]], *out, n_out)
            k = int(n_out[0])
            rid_parts.append(out[0][:k].copy())
            t_parts.append(out[1][:k].copy())
            go_parts.append(out[2][:k].copy())
            n_out[0] = 0
            self._record_transitions()
            if status == 0:
                break
            self._room(2 * int(self.hv[0]))
            if self._n_transitions + 3 > len(self.transitions[0]):
                self.transitions = tuple(np.concatenate([a, np.zeros(len(a), a.dtype)]) for a in self.transitions)
        rids, times, go = (np.concatenate(x) for x in (rid_parts, t_parts, go_parts))
        if go.any():
            self.emit(rids[go], times[go])
        if not go.all():
            self.fail(rids[~go], times[~go], self.fail_reason)

    def _record_transitions(self, by: str | None = None) -> None:
        """The breaker's new transitions become events and breaker states (as on the event path)."""
        n = int(self.breaker[0][kb.B_NTRANS])
        t, frm, to, fail_pct, slow_pct = self.transitions
        for i in range(self._n_transitions, n):
            to_name = kb.STATE_NAMES[to[i]]
            detail = f"{kb.STATE_NAMES[frm[i]]} -> {to_name}"
            if by is not None:
                detail += f" (by an operator: {by})"
            elif to_name == "OPEN":
                detail += f" (failure rate {fail_pct[i]:.0f} %, slow calls {slow_pct[i]:.0f} %)"
            self.events.append((float(t[i]), BREAKER_EVENT[to_name], self.component, detail))
            self.breaker_states.append((float(t[i]), to_name))
        self._n_transitions = n
