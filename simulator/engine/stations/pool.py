"""The pool station of the kernel engine: model replicas, DB connections, reviewers.

The same rules as :class:`simulator.engine.pool.Pool` (the event path's reference), replayed by
a compiled kernel over the station's own arrivals and its completion heap between two control
events, in time order: a free-slot LIFO stack, a FIFO queue with an optional limit that counts
only live requests (expired ones leave the head first), a deadline from entering the queue
(an expired request leaves at its deadline), units that start, drain, crash and slow down, and
a pool-wide speed factor, with the same floating-point expressions
(``now + service * slowdown * speed``), and per-unit busy time for the per-pod autoscaler.
At equal times a completion is handled before an arrival; completions at equal times in the
order their services started.

State lives in numpy arrays so the kernel can run without Python objects; :class:`PoolStation`
wraps them with the interface the control loops already use on the event path's pool
(``state``, ``slowdown``, ``speed_factor``, ``add_unit``, ``make_ready``, ``drain``, ``crash``,
``areas``, ``ready_units``, ``queue``, ``inflight``), so autoscalers, faults, canary and review
shifts drive both engines with the same code.

Every request the station finishes is reported as an output ``(rid, t, code)`` in processing
order: code 0 is a completion at ``t``, any other code is the failure reason (rejection,
deadline, crash) at ``t``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator.engine.pool import CRASHED, DRAINING, READY, STARTING, STOPPED
from simulator.engine.stations.pending import Pending

# integer state (one int64 array per pool)
I_BUSY, I_READY, I_FREE_N, I_Q_HEAD, I_Q_LEN, I_HEAP_N, I_SEQ, I_Q_LIMIT, I_N_OUT, I_N_STOP, I_SLOTS = range(11)
I_REJECT, I_TIMEOUT, I_CRASH = 11, 12, 13
N_INTS = 14
# float state
F_SPEED, F_TIMEOUT, F_DONE_SVC, F_DONE_WAIT = range(4)
N_FLOATS = 4
DONE = 0


# --------------------------------------------------------------------------- kernels
@njit(cache=True)
def _heap_push(ht, hs, hr, hu, n, t, seq, rid, unit):
    i = n
    ht[i] = t
    hs[i] = seq
    hr[i] = rid
    hu[i] = unit
    while i > 0:
        p = (i - 1) >> 1
        if ht[i] < ht[p] or (ht[i] == ht[p] and hs[i] < hs[p]):
            ht[i], ht[p] = ht[p], ht[i]
            hs[i], hs[p] = hs[p], hs[i]
            hr[i], hr[p] = hr[p], hr[i]
            hu[i], hu[p] = hu[p], hu[i]
            i = p
        else:
            break
    return n + 1


@njit(cache=True)
def _heap_sift_down(ht, hs, hr, hu, n, i):
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        r = c + 1
        if r < n and (ht[r] < ht[c] or (ht[r] == ht[c] and hs[r] < hs[c])):
            c = r
        if ht[c] < ht[i] or (ht[c] == ht[i] and hs[c] < hs[i]):
            ht[i], ht[c] = ht[c], ht[i]
            hs[i], hs[c] = hs[c], hs[i]
            hr[i], hr[c] = hr[c], hr[i]
            hu[i], hu[c] = hu[c], hu[i]
            i = c
        else:
            break


@njit(cache=True)
def _heap_pop(ht, hs, hr, hu, n):
    n -= 1
    if n > 0:
        ht[0] = ht[n]
        hs[0] = hs[n]
        hr[0] = hr[n]
        hu[0] = hu[n]
        _heap_sift_down(ht, hs, hr, hu, n, 0)
    return n


@njit(cache=True)
def _emit(iv, out_rid, out_t, out_code, rid, t, code):
    k = iv[I_N_OUT]
    out_rid[k] = rid
    out_t[k] = t
    out_code[k] = code
    iv[I_N_OUT] = k + 1


@njit(cache=True)
def _start(iv, fv, slowdown, inflight, ht, hs, hr, hu, service_s, enter_s, start_s, rid, unit, now):
    fv[F_DONE_WAIT] += now - enter_s[rid]
    start_s[rid] = now
    iv[I_BUSY] += 1
    inflight[unit] += 1
    seq = iv[I_SEQ]
    iv[I_SEQ] = seq + 1
    iv[I_HEAP_N] = _heap_push(ht, hs, hr, hu, iv[I_HEAP_N], now + service_s[rid] * slowdown[unit] * fv[F_SPEED],
                              seq, rid, unit)


@njit(cache=True)
def _expire(iv, fv, enter_s, start_s, end_s, out_rid, out_t, out_code, rid):
    """A request timed out while queued: it left the queue at its deadline, unserved."""
    timeout = fv[F_TIMEOUT]
    deadline = enter_s[rid] + timeout
    fv[F_DONE_WAIT] += timeout
    start_s[rid] = deadline
    end_s[rid] = deadline
    _emit(iv, out_rid, out_t, out_code, rid, deadline, iv[I_TIMEOUT])


@njit(cache=True)
def _release(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s, end_s,
             out_rid, out_t, out_code, unit, now):
    """A slot of ``unit`` is free: give it to the next live queued request, else free it."""
    timeout = fv[F_TIMEOUT]
    while iv[I_Q_LEN] > 0:
        rid = queue[iv[I_Q_HEAD]]
        iv[I_Q_HEAD] += 1
        iv[I_Q_LEN] -= 1
        if now - enter_s[rid] > timeout:  # the client gave up while queued
            _expire(iv, fv, enter_s, start_s, end_s, out_rid, out_t, out_code, rid)
            continue
        _start(iv, fv, slowdown, inflight, ht, hs, hr, hu, service_s, enter_s, start_s, rid, unit, now)
        return
    free[iv[I_FREE_N]] = unit
    iv[I_FREE_N] += 1


@njit(cache=True)
def pool_arrive(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s, end_s,
                out_rid, out_t, out_code, rid, now):
    """Request ``rid`` reaches the station at ``now``: a free slot, the queue, or a rejection."""
    enter_s[rid] = now
    if iv[I_FREE_N] > 0:
        iv[I_FREE_N] -= 1
        _start(iv, fv, slowdown, inflight, ht, hs, hr, hu, service_s, enter_s, start_s, rid, free[iv[I_FREE_N]], now)
        return
    limit = iv[I_Q_LIMIT]
    if limit >= 0 and iv[I_Q_LEN] >= limit:
        # the limit counts live requests: the expired ones at the head leave first
        timeout = fv[F_TIMEOUT]
        while iv[I_Q_LEN] > 0 and now - enter_s[queue[iv[I_Q_HEAD]]] > timeout:
            expired = queue[iv[I_Q_HEAD]]
            iv[I_Q_HEAD] += 1
            iv[I_Q_LEN] -= 1
            _expire(iv, fv, enter_s, start_s, end_s, out_rid, out_t, out_code, expired)
        if iv[I_Q_LEN] >= limit:
            start_s[rid] = now
            end_s[rid] = now
            _emit(iv, out_rid, out_t, out_code, rid, now, iv[I_REJECT])
            return
    queue[iv[I_Q_HEAD] + iv[I_Q_LEN]] = rid
    iv[I_Q_LEN] += 1


@njit(cache=True)
def pool_advance(iv, fv, state, slowdown, inflight, unit_busy, free, queue, ht, hs, hr, hu, in_rid, in_t, n_in, t_end,
                 service_s, enter_s, start_s, end_s, out_rid, out_t, out_code, stop_t, stop_unit):
    """Process arrivals and completions strictly before ``t_end`` in time order; returns arrivals taken."""
    i = 0
    timeout = fv[F_TIMEOUT]
    while True:
        td = ht[0] if iv[I_HEAP_N] > 0 else np.inf
        ta = in_t[i] if i < n_in else np.inf
        if td <= ta:
            if td >= t_end:
                break
            rid = hr[0]
            unit = hu[0]
            iv[I_HEAP_N] = _heap_pop(ht, hs, hr, hu, iv[I_HEAP_N])
            now = td
            served_s = now - start_s[rid]
            fv[F_DONE_SVC] += served_s
            unit_busy[unit] += served_s
            iv[I_BUSY] -= 1
            inflight[unit] -= 1
            end_s[rid] = now
            if now - enter_s[rid] > timeout:
                _emit(iv, out_rid, out_t, out_code, rid, enter_s[rid] + timeout, iv[I_TIMEOUT])
            else:
                _emit(iv, out_rid, out_t, out_code, rid, now, DONE)
            s = state[unit]
            if s == READY:
                if iv[I_Q_LEN] > 0:
                    _release(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s,
                             end_s, out_rid, out_t, out_code, unit, now)
                else:
                    free[iv[I_FREE_N]] = unit
                    iv[I_FREE_N] += 1
            elif s == DRAINING and inflight[unit] == 0:  # stops (the owner applies it in time order)
                k = iv[I_N_STOP]
                stop_t[k] = now
                stop_unit[k] = unit
                iv[I_N_STOP] = k + 1
        else:
            if ta >= t_end:
                break
            pool_arrive(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s, end_s,
                        out_rid, out_t, out_code, in_rid[i], ta)
            i += 1
    return i


@njit(cache=True)
def pool_make_ready(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s, end_s,
                    out_rid, out_t, out_code, unit, now):
    """A unit becomes ready at ``now``: each of its slots takes the next live queued request."""
    for _ in range(iv[I_SLOTS]):
        _release(iv, fv, slowdown, inflight, free, queue, ht, hs, hr, hu, service_s, enter_s, start_s, end_s,
                 out_rid, out_t, out_code, unit, now)


@njit(cache=True)
def pool_crash(iv, fv, inflight, unit_busy, ht, hs, hr, hu, start_s, end_s, out_rid, out_t, out_code, unit, now):
    """Fail ``unit``'s requests in service at ``now`` (in request-id order) and drop them from the heap."""
    n = iv[I_HEAP_N]
    lost = np.empty(inflight[unit], np.int64)
    k = 0
    j = 0
    for i in range(n):  # keep the other entries (heap order is restored below)
        if hu[i] == unit:
            lost[k] = hr[i]
            k += 1
        else:
            ht[j] = ht[i]
            hs[j] = hs[i]
            hr[j] = hr[i]
            hu[j] = hu[i]
            j += 1
    iv[I_HEAP_N] = j
    for i in range(j // 2 - 1, -1, -1):
        _heap_sift_down(ht, hs, hr, hu, j, i)
    lost = np.sort(lost[:k])
    for rid in lost:
        iv[I_BUSY] -= 1
        fv[F_DONE_SVC] += now - start_s[rid]
        unit_busy[unit] += now - start_s[rid]
        end_s[rid] = now
        _emit(iv, out_rid, out_t, out_code, rid, now, iv[I_CRASH])
    inflight[unit] = 0
    return lost


# --------------------------------------------------------------------------- wrapper
class QueueView:
    """The pool's FIFO queue as the control loops see it: its length, its ids, and popleft."""

    def __init__(self, pool: PoolStation):
        self._pool = pool

    def __len__(self) -> int:
        return int(self._pool.iv[I_Q_LEN])

    def __bool__(self) -> bool:
        return bool(self._pool.iv[I_Q_LEN] > 0)

    def __iter__(self):
        iv = self._pool.iv
        return iter(self._pool.queue_buf[iv[I_Q_HEAD]:iv[I_Q_HEAD] + iv[I_Q_LEN]].tolist())

    def popleft(self) -> int:
        iv = self._pool.iv
        if iv[I_Q_LEN] == 0:
            raise IndexError("pop from an empty queue")
        rid = int(self._pool.queue_buf[iv[I_Q_HEAD]])
        iv[I_Q_HEAD] += 1
        iv[I_Q_LEN] -= 1
        return rid


class PoolStation:
    """``units`` x ``slots_per_unit`` servers in front of one FIFO queue, run by the kernels above.

    ``columns`` holds the per-request arrays; ``service``, ``enter``, ``start`` and ``end`` name
    this station's columns in it. ``on_output(rids, times, codes)`` receives what the station
    finished, in processing order; ``on_unit_change(t_s)`` is told when units change state.
    """

    def __init__(self, env, columns, service: str, enter: str, start: str, end: str, units: int, slots_per_unit: int,
                 on_output, queue_limit: int | None = None, timeout_s: float | None = None,
                 reject_reason: int = 1, timeout_reason: int = 2, crash_reason: int = 2, on_unit_change=None):
        self.env = env
        self.columns = columns
        self.names = (service, enter, start, end)
        self.on_output = on_output
        self.on_unit_change = on_unit_change
        self.slots_per_unit = slots_per_unit
        self.timeout_s = timeout_s
        self.iv = np.zeros(N_INTS, np.int64)
        self.fv = np.zeros(N_FLOATS, np.float64)
        iv, fv = self.iv, self.fv
        iv[I_Q_LIMIT] = -1 if queue_limit is None else queue_limit
        iv[I_SLOTS] = slots_per_unit
        iv[I_REJECT], iv[I_TIMEOUT], iv[I_CRASH] = reject_reason, timeout_reason, crash_reason
        fv[F_SPEED] = 1.0
        fv[F_TIMEOUT] = math.inf if timeout_s is None else timeout_s
        self.n_units = 0
        self._state = np.zeros(0, np.int8)
        self._slowdown = np.zeros(0, np.float64)
        self._inflight = np.zeros(0, np.int64)
        self._unit_busy = np.zeros(0)  # finished busy slot-seconds per unit
        self._ready_since = np.zeros(0)  # when each unit became ready (NaN: not yet)
        self.free_buf = np.zeros(0, np.int64)
        self.heap = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.queue_buf = np.zeros(1024, np.int64)
        self.pending = Pending()
        self.stops: list[tuple[float, int]] = []  # (t_s, unit) of draining units that stopped, not yet applied
        self.out = (np.zeros(1024, np.int64), np.zeros(1024), np.zeros(1024, np.int64))
        self.queue = QueueView(self)
        for _ in range(units):
            self.add_unit()

    # ------------------------------------------------------------------ views for the control loops
    @property
    def state(self) -> np.ndarray:
        return self._state[:self.n_units]

    @property
    def slowdown(self) -> np.ndarray:
        return self._slowdown[:self.n_units]

    @property
    def ready_since_s(self) -> np.ndarray:
        return self._ready_since[:self.n_units]

    @property
    def speed_factor(self) -> float:
        return float(self.fv[F_SPEED])

    @speed_factor.setter
    def speed_factor(self, value: float) -> None:
        self.fv[F_SPEED] = value

    @property
    def ready_units(self) -> int:
        return int(self.iv[I_READY])

    @property
    def busy(self) -> int:
        return int(self.iv[I_BUSY])

    @property
    def capacity(self) -> int:
        return int(self.iv[I_READY]) * self.slots_per_unit

    @property
    def inflight(self) -> list[list[int]]:
        """Request ids in service, per unit."""
        n = int(self.iv[I_HEAP_N])
        rids, units = self.heap[2][:n], self.heap[3][:n]
        return [rids[units == u].tolist() for u in range(self.n_units)]

    def count(self, state: int) -> int:
        return int(np.count_nonzero(self.state == state))

    def areas(self) -> tuple[float, float]:
        """(busy slot-seconds, queued request-seconds) since the start, up to now (as Pool.areas)."""
        now = self.env._now
        n, h, q = int(self.iv[I_HEAP_N]), int(self.iv[I_Q_HEAD]), int(self.iv[I_Q_LEN])
        busy, queued = float(self.fv[F_DONE_SVC]), float(self.fv[F_DONE_WAIT])
        if n:
            busy += math.fsum((now - self.columns[self.names[2]][self.heap[2][:n]]).tolist())
        if q:
            waited = now - self.columns[self.names[1]][self.queue_buf[h:h + q]]
            queued += sum(np.minimum(waited, self.fv[F_TIMEOUT]).tolist())
        return busy, queued

    def unit_busy_area(self, unit: int) -> float:
        """Busy slot-seconds of one unit since it was added, up to now (as Pool.unit_busy_area)."""
        n = int(self.iv[I_HEAP_N])
        mine = self.heap[2][:n][self.heap[3][:n] == unit]
        return float(self._unit_busy[unit]) + math.fsum((self.env._now - self.columns[self.names[2]][mine]).tolist())

    # ------------------------------------------------------------------ buffers
    def _cols(self):
        c = self.columns
        return tuple(c[name] for name in self.names)

    def _reserve_out(self, extra: int) -> None:
        need = int(self.iv[I_N_OUT]) + extra
        if need > len(self.out[0]):
            size = max(need, 2 * len(self.out[0]))
            self.out = tuple(np.concatenate([a, np.zeros(size - len(a), a.dtype)]) for a in self.out)

    def _reserve_queue(self, extra: int) -> None:
        h, q = int(self.iv[I_Q_HEAD]), int(self.iv[I_Q_LEN])
        if h + q + extra <= len(self.queue_buf):
            return
        live = self.queue_buf[h:h + q].copy()
        size = max(len(self.queue_buf), 2 * (q + extra))
        if size > len(self.queue_buf):
            self.queue_buf = np.zeros(size, np.int64)
        self.queue_buf[:q] = live
        self.iv[I_Q_HEAD] = 0

    def _flush(self) -> None:
        """Hand what the station finished to its owner."""
        k = int(self.iv[I_N_OUT])
        if k:
            self.iv[I_N_OUT] = 0
            rid, t, code = self.out
            self.on_output(rid[:k].copy(), t[:k].copy(), code[:k].copy())

    # ------------------------------------------------------------------ unit life cycle
    def add_unit(self, ready: bool = True) -> int:
        unit = self.n_units
        if unit == len(self._state):
            size = max(4, 2 * unit)
            grow = size - unit
            self._state = np.concatenate([self._state, np.zeros(grow, np.int8)])
            self._slowdown = np.concatenate([self._slowdown, np.ones(grow)])
            self._inflight = np.concatenate([self._inflight, np.zeros(grow, np.int64)])
            self._unit_busy = np.concatenate([self._unit_busy, np.zeros(grow)])
            self._ready_since = np.concatenate([self._ready_since, np.full(grow, np.nan)])
            slots = size * self.slots_per_unit
            self.free_buf = np.concatenate([self.free_buf, np.zeros(slots - len(self.free_buf), np.int64)])
            self.heap = tuple(np.concatenate([a, np.zeros(slots - len(a), a.dtype)]) for a in self.heap)
        self.n_units += 1
        self._state[unit] = STARTING
        self._slowdown[unit] = 1.0
        if ready:
            self.make_ready(unit)
        elif self.on_unit_change:
            self.on_unit_change(self.env._now)
        return unit

    def make_ready(self, unit: int) -> None:
        if self._state[unit] != STARTING:
            return
        self._state[unit] = READY
        self.iv[I_READY] += 1
        now = self.env._now
        self._ready_since[unit] = now
        self._reserve_out(self.slots_per_unit + int(self.iv[I_Q_LEN]))
        service, enter, start, end = self._cols()
        pool_make_ready(self.iv, self.fv, self._slowdown, self._inflight, self.free_buf, self.queue_buf, *self.heap,
                        service, enter, start, end, *self.out, unit, now)
        self._flush()
        if self.on_unit_change:
            self.on_unit_change(now)

    def _unfree(self, unit: int) -> None:
        n = int(self.iv[I_FREE_N])
        keep = self.free_buf[:n][self.free_buf[:n] != unit]
        self.free_buf[:len(keep)] = keep
        self.iv[I_FREE_N] = len(keep)

    def drain(self, unit: int) -> None:
        """Stop a unit gracefully: no new work; it stops once its in-flight requests finish."""
        s = self._state[unit]
        if s == STARTING:
            self._state[unit] = STOPPED
        elif s == READY:
            self._unfree(unit)
            self._state[unit] = DRAINING if self._inflight[unit] else STOPPED
            self.iv[I_READY] -= 1
        if self.on_unit_change:
            self.on_unit_change(self.env._now)

    def crash(self, unit: int) -> list[int]:
        """Kill a unit at once: its in-flight requests fail now. Returns their ids."""
        now = self.env._now
        lost: list[int] = []
        s = self._state[unit]
        if s in (READY, DRAINING, STARTING):
            self._unfree(unit)
            self.iv[I_READY] -= s == READY
            self._state[unit] = CRASHED
            self._reserve_out(int(self._inflight[unit]))
            _, _, start, end = self._cols()
            lost = pool_crash(self.iv, self.fv, self._inflight, self._unit_busy, *self.heap, start, end, *self.out,
                              unit, now).tolist()
            self._flush()
        if self.on_unit_change:
            self.on_unit_change(now)
        return lost

    # ------------------------------------------------------------------ requests
    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        """Requests that will reach the station at ``times`` (processed when the clock gets there)."""
        self.pending.push(rids, times)

    def enter_rid(self, rid: int) -> None:
        """Request ``rid`` reaches the station now (a control loop moving it, e.g. off a retired canary)."""
        self._reserve_out(1)
        self._reserve_queue(1)
        service, enter, start, end = self._cols()
        pool_arrive(self.iv, self.fv, self._slowdown, self._inflight, self.free_buf, self.queue_buf, *self.heap,
                    service, enter, start, end, *self.out, rid, self.env._now)
        self._flush()

    def next_time(self) -> float:
        """When the station has something to do next: an arrival or a completion (inf: nothing)."""
        t = self.pending.earliest() if self.pending.runs else np.inf
        if self.iv[I_HEAP_N] and self.heap[0][0] < t:
            t = float(self.heap[0][0])
        return t

    def advance(self, t_end: float) -> None:
        """Process everything that happens at the station strictly before ``t_end``."""
        if self.next_time() >= t_end:
            return
        in_rid, in_t, _ = self.pending.take_before(t_end)
        n = len(in_rid)
        self._reserve_out(n + int(self.iv[I_HEAP_N]) + int(self.iv[I_Q_LEN]))
        self._reserve_queue(n)
        stops = np.zeros(self.n_units), np.zeros(self.n_units, np.int64)
        self.iv[I_N_STOP] = 0
        service, enter, start, end = self._cols()
        pool_advance(self.iv, self.fv, self._state, self._slowdown, self._inflight, self._unit_busy, self.free_buf,
                     self.queue_buf, *self.heap, in_rid, in_t, n, t_end, service, enter, start, end, *self.out, *stops)
        self._flush()
        k = int(self.iv[I_N_STOP])
        if k:
            self.stops += zip(stops[0][:k].tolist(), stops[1][:k].tolist())

    def advance_and_stop(self, t_end: float) -> None:
        """``advance`` for a pool alone in its component (reviewers): its draining units' stops are applied
        at once, in the order they happened (a model applies its pools' stops together, ``apply_stops``)."""
        self.advance(t_end)
        for t, unit in self.stops:
            self.apply_stop(t, unit)
        self.stops.clear()

    def apply_stop(self, t_s: float, unit: int) -> None:
        """A draining unit finished its last request at ``t_s`` and stops.

        The kernel only reports it: the engine applies the stops of all its pools in time order,
        so capacity is recorded step by step as on the event path.
        """
        self._state[unit] = STOPPED
        if self.on_unit_change:
            self.on_unit_change(t_s)
