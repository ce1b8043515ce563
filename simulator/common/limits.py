"""Outer limits shared by the scenario sections: the largest values that still make physical sense.

Each section states its own ranges; these are the common ceilings they refer to, so that a
duration, a replica count or a name means the same maximum everywhere.
"""

MAX_DURATION_S = 30 * 24 * 3600.0     # one simulated month
MAX_LATENCY_MS = 600_000.0            # ten minutes for any single call or service time
MAX_CV = 10.0                         # coefficient of variation of a time
MAX_REPLICAS = 1_000                  # model replicas of one deployment
MAX_COUNT = 100_000                   # counts of calls, windows, rows in a configuration
MAX_USD = 1e9                         # any single price or amount
MAX_ENTRIES = 50                      # entries of a list or mapping (segments, spikes, faults...)
MAX_POINTS = 10_000                   # piecewise-linear points of a traffic profile
MAX_NAME_CHARS = 80                   # names, labels, versions
MAX_TEXT_CHARS = 4_000                # descriptions
MIN_TIME_STEP_S = 0.001               # no time step, period or window below a millisecond
MIN_DURATION_S = 1.0                  # a run shorter than a second has nothing to measure
MAX_OVERRIDE_VALUES = 1_000          # values in one dotted override (a list of operator actions, say)


def count_values(value: object, limit: int = MAX_OVERRIDE_VALUES) -> int:
    """Values in a nested list/mapping, counting stops just past ``limit`` (iterative, no recursion)."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def check_small_overrides(overrides: object) -> object:
    """Each dotted override holds a small document (it is validated where it lands): a pydantic
    before-validator for mappings of overrides, so an alias bomb cannot pass through one."""
    from simulator.common.text import quote_value

    if isinstance(overrides, dict):
        for path, value in overrides.items():
            if count_values(value) > MAX_OVERRIDE_VALUES:
                raise ValueError(f"{quote_value(path)} holds more than {MAX_OVERRIDE_VALUES:,} values")
    return overrides
