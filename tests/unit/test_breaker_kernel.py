"""The compiled breaker replays mechanisms.breaker.CircuitBreaker exactly: same permissions, same
transitions (time, states, rates), same refusals, same timers and the same per-state metrics, on
random call sequences across window types, automatic half-open, maximum half-open waits, back-off
multipliers and operator actions (forced open, disabled, metrics only, closed, reset)."""
import math

import numpy as np
import pytest

from simulator.engine.stations import breaker as kb
from simulator.mechanisms.breaker import BreakerConfig, CircuitBreaker

OPERATOR = {"FORCED_OPEN": "transition_to_forced_open", "DISABLED": "transition_to_disabled",
            "METRICS_ONLY": "transition_to_metrics_only", "CLOSED": "transition_to_closed", "reset": "reset"}
CONFIGS = [
    {},
    {"sliding_window_size": 20, "minimum_number_of_calls": 10, "failure_rate_threshold_pct": 40,
     "wait_duration_in_open_state_ms": 2000, "permitted_number_of_calls_in_half_open_state": 4},
    {"sliding_window_type": "time_based", "sliding_window_size": 5, "minimum_number_of_calls": 8,
     "wait_duration_in_open_state_ms": 1500, "wait_multiplier": 1.7,
     "automatic_transition_from_open_to_half_open_enabled": True},
    {"sliding_window_size": 10, "minimum_number_of_calls": 5, "slow_call_rate_threshold_pct": 60,
     "slow_call_duration_threshold_ms": 80, "max_wait_duration_in_half_open_state_ms": 700,
     "permitted_number_of_calls_in_half_open_state": 3, "wait_duration_in_open_state_ms": 900},
    {"sliding_window_type": "time_based", "sliding_window_size": 3, "minimum_number_of_calls": 4,
     "max_wait_duration_in_half_open_state_ms": 500, "transition_to_state_after_wait_duration": "closed",
     "automatic_transition_from_open_to_half_open_enabled": True, "wait_duration_in_open_state_ms": 800},
]


def replay(cfg: BreakerConfig, seed: int):
    """Feed both breakers the same random calls; return what each said."""
    rng = np.random.default_rng(seed)
    py = CircuitBreaker(cfg)
    bi, bf, codes, buckets = kb.new_breaker(cfg)
    cap = 10_000
    tr = (np.zeros(cap), np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap), np.zeros(cap))
    t = 0.0
    in_flight: list[tuple[float, float, bool]] = []  # (end time, duration ms, failed)
    said_py, said_k = [], []
    p_fail = 0.1
    for _ in range(4000):
        t += float(rng.exponential(0.02))
        if rng.random() < 0.01:
            p_fail = float(rng.choice([0.0, 0.1, 0.9]))
        for end, dur, failed in [c for c in in_flight if c[0] <= t]:
            in_flight.remove((end, dur, failed))
            py.on_result(end, dur, failed)
            kb.on_result(bi, bf, codes, buckets, tr, end, dur, failed)
        for timer in (py.next_timer_s(),):
            k_timer = kb.next_timer_s(bi, bf)
            said_py.append(("timer", timer))
            said_k.append(("timer", None if math.isnan(k_timer) else k_timer))
            if timer is not None and timer <= t:
                py.on_timer(timer)
                kb.on_timer(bi, bf, codes, buckets, tr, timer)
        if rng.random() < 0.004:  # an operator acts
            action = str(rng.choice(list(OPERATOR)))
            getattr(py, OPERATOR[action])(t)
            if action == "reset":
                kb.reset(bi, bf, codes, buckets, tr, t)
            else:
                kb.transition(bi, bf, codes, buckets, tr, t, kb.STATE_CODE[action])
        if rng.random() < 0.05:
            snap = py.snapshot(t)
            said_py.append(("snapshot", snap.state, snap.calls, snap.failed_calls, snap.slow_calls,
                            snap.not_permitted_calls, snap.failure_rate_pct, snap.slow_call_rate_pct))
            said_k.append(("snapshot", kb.STATE_NAMES[bi[kb.B_STATE]],
                           *(float(x) if isinstance(x, float) else int(x) for x in kb.snapshot(bi, buckets, t))))
        ok_py = py.try_acquire(t)
        ok_k = kb.try_acquire(bi, bf, codes, buckets, tr, t)
        said_py.append(("permit", ok_py))
        said_k.append(("permit", bool(ok_k)))
        if ok_py:
            dur = float(rng.lognormal(math.log(60), 0.6))
            in_flight.append((t + dur / 1000.0, dur, bool(rng.random() < p_fail)))
    n = int(bi[kb.B_NTRANS])
    transitions = [(float(tr[0][i]), kb.STATE_NAMES[tr[1][i]], kb.STATE_NAMES[tr[2][i]], float(tr[3][i]),
                    float(tr[4][i])) for i in range(n)]
    return said_py, said_k, py.transitions, transitions, py.not_permitted_calls, int(bi[kb.B_NOT_PERMITTED])


@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_breaker_says_what_the_mechanism_says(cfg, seed):
    said_py, said_k, tr_py, tr_k, refused_py, refused_k = replay(BreakerConfig(enabled=True, **CONFIGS[cfg]), seed)
    assert said_py == said_k
    assert tr_py == tr_k
    assert refused_py == refused_k


def test_the_sequences_reach_every_state():
    seen = set()
    for cfg in CONFIGS:
        for seed in range(4):
            seen |= {to for _, _, to, _, _ in replay(BreakerConfig(enabled=True, **cfg), seed)[2]}
    assert seen == {"OPEN", "HALF_OPEN", "CLOSED", "FORCED_OPEN", "DISABLED", "METRICS_ONLY"}
