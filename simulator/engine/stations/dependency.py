"""Dependency station: an external call with latency, timeout, errors, faults, retries, breaker, fallback.

The rules are those of :mod:`simulator.engine.dependency` (the event path), in three forms:

* **fast** (a healthy dependency without errors, faults, retries or breaker, and a fallback that
  needs no cache): one vectorised pass per block of requests;
* **calls** (no breaker): a request's whole call sequence (attempts, back-off with jitter, faults
  at each attempt's start) depends only on its own draws and the fault timeline, so a compiled
  kernel computes it request by request in the order requests reach the station; the last good
  answer per region (for the cached fallback) is kept in that same order, as on the event path;
* **breaker**: the breaker is a state machine fed in time order, so call starts, call ends and
  breaker timers are replayed in time order from the station's own heap, strictly before the
  next control event, feeding the same :class:`~simulator.mechanisms.breaker.CircuitBreaker`.

A failed call ends in the fallback: ``cached`` (the region's last good answer, not older than
``cache_max_staleness_s``), ``default``, or ``none`` (the request fails).
"""
from __future__ import annotations

from heapq import heappop, heappush

import numpy as np
from numba import njit

from simulator.engine.dependency import (
    BREAKER_EVENT,
    CALL_OK,
    CALL_REJECTED,
    CALL_TIMEOUT,
    FB_DEFAULT,
)
from simulator.engine.faults import Timeline
from simulator.engine.stations.windows import window_at
from simulator.mechanisms.breaker import CircuitBreaker, backoff_ms

FAULT_KINDS = {"outage_errors": 0, "outage_timeouts": 1, "latency_spike": 2, "error_rate": 3}
JITTER = {"full": 0, "equal": 1, "none": 2}
FALLBACK = {"none": 0, "cached": 1, "default": 2}
_START, _END, _TIMER = 0, 1, 2


@njit(cache=True)
def call_outcome(t, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_latency_s, error_rate):
    """(duration_s, status) of one attempt started at ``t`` with latency draw ``lat`` and error draw ``u``."""
    w = window_at(w_start, w_end, t) if len(w_start) else -1
    if w >= 0:
        k = w_kind[w]
        if k == 0:
            return error_latency_s, 1
        if k == 1:
            return timeout_s, 2
        if k == 2:
            lat *= w_factor[w]
        elif k == 3 and u < w_factor[w]:
            return (timeout_s if timeout_s < lat else lat), 1
    if u < error_rate:
        return (timeout_s if timeout_s < lat else lat), 1
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
    """Apply the fallback at ``t``: True when the request goes on (cached or default answer)."""
    if mode == 2:
        fallback[rid] = 2
        return True
    if mode == 1:
        last = last_ok[region[rid]]
        if last >= 0:
            age = t - last
            if not age > 0.0:
                age = 0.0
            if age <= max_stale_s:
                fallback[rid] = 1
                staleness[rid] = age
                return True
    return False


@njit(cache=True)
def call_sequences(rids, times, region, lat0, err0, retry_lat, retry_err, jitter_u, retries, w_start, w_end, w_kind,
                   w_factor, timeout_s, error_latency_s, error_rate, max_attempts, ceilings_ms, jitter, fb_mode,
                   max_stale_s, last_ok, api_start, api_s, status, calls, fallback, staleness, out_t, out_go):
    """Every request's call sequence, in the order given; ``out_go`` says whether it goes on at ``out_t``."""
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
            d, st = call_outcome(t, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_latency_s, error_rate)
            t += d
            if st == 0:
                calls[rid] = attempt + 1
                status[rid] = 0
                r = region[rid]
                if t > last_ok[r]:
                    last_ok[r] = t
                api_s[rid] = t - t0
                out_t[i] = t
                out_go[i] = True
                break
            if attempt + 1 < max_attempts:
                t += backoff_s(ceilings_ms[attempt + 1], jitter_u[rid * retries + attempt], jitter)
                attempt += 1
                continue
            calls[rid] = attempt + 1
            status[rid] = st
            api_s[rid] = t - t0
            out_t[i] = t
            out_go[i] = fallback_of(rid, t, region, fb_mode, max_stale_s, last_ok, fallback, staleness)
            break


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
        self.error_latency_s = cfg.error_latency_ms / 1000.0
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
        self.last_ok = np.full(n_regions, -1.0)
        self.breaker = CircuitBreaker(cfg.breaker) if cfg.breaker.enabled else None
        self.fast = (self.breaker is None and not ws and retry is None and not cfg.error_rate
                     and cfg.fallback != "cached")
        # breaker path: (t_s, seq, kind, rid, attempt) in time order
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._n_transitions = 0
        self._timer_armed_s = float("nan")

    def _col(self, role: str) -> np.ndarray:
        return self.columns[self.names[role]]

    # ------------------------------------------------------------------ requests
    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        if self.breaker is not None:
            heap = self._heap
            seq = self._seq
            start = self._col("start")
            start[rids] = times
            for rid, t in zip(rids.tolist(), times.tolist()):
                heappush(heap, (t, seq, _START, rid, 0))
                seq += 1
            self._seq = seq
        elif self.fast:
            self._push_fast(rids, times)
        else:
            self._push_calls(rids, times)

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
        go = np.empty(k, np.bool_)
        cols, names = self.columns, self.names
        empty = np.zeros(0)
        retry = (cols[names["retry_lat"]], cols[names["retry_err"]], cols[names["jitter"]]) if self.retries else (
            empty, empty, empty)
        cfg = self.cfg
        call_sequences(rids, times, cols["region"], cols[names["lat"]], cols[names["err"]], *retry, self.retries,
                       *self.w, self.timeout_s, self.error_latency_s, cfg.error_rate, self.max_attempts,
                       self.ceilings_ms, self.jitter, self.fb_mode, cfg.cache_max_staleness_s, self.last_ok,
                       cols[names["start"]], cols[names["dur"]], cols[names["status"]], cols[names["calls"]],
                       cols[names["fallback"]], cols[names["staleness"]], out_t, go)
        if go.all():
            self.emit(rids, out_t)
            return
        self.emit(rids[go], out_t[go])
        self.fail(rids[~go], out_t[~go], self.fail_reason)

    # ------------------------------------------------------------------ breaker path
    def advance(self, t_end: float) -> None:
        """Replay call starts, call ends and breaker timers strictly before ``t_end``."""
        heap = self._heap
        if self.breaker is None or not heap or heap[0][0] >= t_end:
            return
        br = self.breaker
        cols, names, cfg = self.columns, self.names, self.cfg
        region, lat0, err0 = cols["region"], cols[names["lat"]], cols[names["err"]]
        start_col, dur, status, calls = cols[names["start"]], cols[names["dur"]], cols[names["status"]], cols[
            names["calls"]]
        t0_col = cols[names["call_t0"]]
        w_start, w_end, w_kind, w_factor = self.w
        timeout_s, error_latency_s, error_rate = self.timeout_s, self.error_latency_s, cfg.error_rate
        retries = self.retries
        go_rids: list[int] = []
        go_t: list[float] = []
        fail_rids: list[int] = []
        fail_t: list[float] = []
        seq = self._seq
        while heap and heap[0][0] < t_end:
            now, _, kind, rid, attempt = heappop(heap)
            if kind == _START:
                permitted = br.try_acquire(now)
                seq = self._transitions(now, seq)
                if not permitted:
                    calls[rid] = attempt
                    status[rid] = CALL_REJECTED
                    dur[rid] = now - start_col[rid]
                    self._fallback(rid, now, go_rids, go_t, fail_rids, fail_t)
                    continue
                if attempt == 0:
                    lat, u = lat0[rid], err0[rid]
                else:
                    j = rid * retries + attempt - 1
                    lat, u = cols[names["retry_lat"]][j], cols[names["retry_err"]][j]
                d, st = call_outcome(now, lat, u, w_start, w_end, w_kind, w_factor, timeout_s, error_latency_s,
                                     error_rate)
                status[rid] = st
                t0_col[rid] = now
                heappush(heap, (now + (d if d > 0 else 0.0), seq, _END, rid, attempt))
                seq += 1
            elif kind == _END:
                st = status[rid]
                br.on_result(now, (now - t0_col[rid]) * 1000.0, st != CALL_OK)
                seq = self._transitions(now, seq)
                if st == CALL_OK:
                    calls[rid] = attempt + 1
                    self.last_ok[region[rid]] = now
                    dur[rid] = now - start_col[rid]
                    go_rids.append(rid)
                    go_t.append(now)
                elif attempt + 1 < self.max_attempts:
                    delay = backoff_s(self.ceilings_ms[attempt + 1], cols[names["jitter"]][rid * retries + attempt],
                                      self.jitter)
                    heappush(heap, (now + (delay if delay > 0 else 0.0), seq, _START, rid, attempt + 1))
                    seq += 1
                else:
                    calls[rid] = attempt + 1
                    dur[rid] = now - start_col[rid]
                    self._fallback(rid, now, go_rids, go_t, fail_rids, fail_t)
            else:
                br.on_timer(now)
                seq = self._transitions(now, seq)
        self._seq = seq
        if go_rids:
            self.emit(np.array(go_rids, np.int64), np.array(go_t))
        if fail_rids:
            self.fail(np.array(fail_rids, np.int64), np.array(fail_t), self.fail_reason)

    def _fallback(self, rid: int, t: float, go_rids: list, go_t: list, fail_rids: list, fail_t: list) -> None:
        cols = self.columns
        if fallback_of(rid, t, cols["region"], self.fb_mode, self.cfg.cache_max_staleness_s, self.last_ok,
                       cols[self.names["fallback"]], cols[self.names["staleness"]]):
            go_rids.append(rid)
            go_t.append(t)
        else:
            fail_rids.append(rid)
            fail_t.append(t)

    def _transitions(self, now: float, seq: int) -> int:
        """Breaker transitions become events; a newly due timer is armed (as the event path does).

        Returns the next sequence number of the station's heap.
        """
        br = self.breaker
        tr = br.transitions
        while self._n_transitions < len(tr):
            t_s, frm, to, fail_pct, slow_pct = tr[self._n_transitions]
            self._n_transitions += 1
            detail = f"{frm} -> {to}"
            if to == "OPEN":
                detail += f" (failure rate {fail_pct:.0f} %, slow calls {slow_pct:.0f} %)"
            self.events.append((t_s, BREAKER_EVENT[to], self.component, detail))
            self.breaker_states.append((t_s, to))
        nxt = br.next_timer_s()
        if nxt is not None and nxt != self._timer_armed_s:
            self._timer_armed_s = nxt
            heappush(self._heap, (now + max(0.0, nxt - now), seq, _TIMER, -1, 0))
            seq += 1
        return seq
