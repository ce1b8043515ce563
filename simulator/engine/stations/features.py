"""Feature-store station: an online lookup, and the source database's connection pool for misses.

A hit adds its lookup latency; a miss (or ``mode: compute``) takes a connection of the database
pool (a :class:`~simulator.engine.stations.pool.PoolStation`) after the lookup; during a database
outage a miss fails at once, at the moment it would have entered the pool. Requests leave
vectorised, block by block, in the order they came.
"""
from __future__ import annotations

import numpy as np

from simulator.engine.draws import FS_HIT, FS_MISS, FS_OFF
from simulator.engine.faults import Timeline
from simulator.engine.stations.pool import PoolStation
from simulator.engine.stations.windows import windows_at


class FeatureStoreStation:
    """Hits and switched-off lookups pass arithmetically; misses queue for a database connection."""

    def __init__(self, env, sc, columns, emit, fail, db_reason: int, faults: Timeline):
        self.columns = columns
        self.emit = emit
        self.fail = fail
        self.db_reason = db_reason
        outages = [w for w in faults.windows if w.kind == "outage"]
        self.faults = faults
        self.has_outage = bool(outages)
        self.w_start = np.array([w.start_s for w in faults.windows])
        self.w_end = np.array([w.end_s for w in faults.windows])
        self.w_outage = np.array([w.kind == "outage" for w in faults.windows], bool)
        self.db = None
        if sc.feature_store.mode != "off":
            self.db = PoolStation(env, columns, "db_svc_s", "db_enter_s", "db_start_s", "db_end_s",
                                  sc.feature_store.db_connections, 1, self._after_db)

    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        c = self.columns
        hit = c["fs_hit"][rids]
        if hit[0] == FS_OFF:  # the whole store is switched off
            self.emit(rids, times)
            return
        is_hit = hit == FS_HIT
        if is_hit.all():
            self.emit(rids, times + c["fs_lookup_s"][rids])
            return
        if is_hit.any():
            self.emit(rids[is_hit], times[is_hit] + c["fs_lookup_s"][rids[is_hit]])
        miss = hit == FS_MISS
        m_rids = rids[miss]
        enter = times[miss] + c["fs_lookup_s"][m_rids]
        if self.has_outage:
            w = windows_at(self.w_start, self.w_end, enter)
            down = (w >= 0) & self.w_outage[np.maximum(w, 0)]
            if down.any():
                d_rids, d_t = m_rids[down], enter[down]
                for name in ("db_enter_s", "db_start_s", "db_end_s"):
                    c[name][d_rids] = d_t
                self.fail(d_rids, d_t, self.db_reason)
                m_rids, enter = m_rids[~down], enter[~down]
        self.db.push(m_rids, enter)

    def _after_db(self, rids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        self.emit(rids, times)  # the database pool has no limit, deadline or crash: every query finishes

    def advance(self, t_end: float) -> None:
        if self.db is not None:
            self.db.advance(t_end)
