"""Small numeric helpers shared by every layer."""
from __future__ import annotations

import math


def finite_or_none(x) -> float | None:
    """JSON-friendly float: NaN/inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
