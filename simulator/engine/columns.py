"""Per-request records as preallocated numpy arrays, one per column, grown by doubling.

Kernels write into the arrays by request id, so a column is always the whole allocation
(``columns[name]``); ``trimmed()`` gives the first ``n`` rows of every column at the end. No
per-request Python objects: a request is an integer id into these arrays. Allocations are
``np.empty`` and only the rows in use are filled, so memory is committed as requests arrive.
"""
from __future__ import annotations

import numpy as np


class Columns:
    """Named numpy columns of equal length with a default value each."""

    def __init__(self, capacity: int = 4096):
        self.n = 0
        self.capacity = capacity
        self._arrays: dict[str, np.ndarray] = {}
        self._fill: dict[str, float | int] = {}

    def add(self, name: str, dtype, fill: float | int = 0) -> None:
        """A new column, filled with ``fill`` for the requests that exist already."""
        if name in self._arrays:
            raise ValueError(f"column {name} exists")
        arr = np.empty(self.capacity, dtype=dtype)
        arr[:self.n] = fill
        self._arrays[name] = arr
        self._fill[name] = fill

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def names(self) -> list[str]:
        return list(self._arrays)

    def extend(self, k: int) -> slice:
        """Room for ``k`` new requests (filled with the defaults); returns their slice."""
        first = self.n
        need = first + k
        if need > self.capacity:
            size = max(need, 2 * self.capacity)
            for name, old in self._arrays.items():
                new = np.empty(size, dtype=old.dtype)
                new[:first] = old[:first]
                self._arrays[name] = new
            self.capacity = size
        for name, arr in self._arrays.items():
            arr[first:need] = self._fill[name]
        self.n = need
        return slice(first, need)

    def set_block(self, rows: slice, values: dict[str, np.ndarray]) -> None:
        for name, v in values.items():
            self._arrays[name][rows] = v

    def trimmed(self, names=None) -> dict[str, np.ndarray]:
        """The first ``n`` rows of each column (views, no copies)."""
        return {name: self._arrays[name][:self.n] for name in (names if names is not None else self._arrays)}

    def drop(self, name: str) -> None:
        """Forget a column that is no longer needed (frees its memory)."""
        self._arrays.pop(name, None)
        self._fill.pop(name, None)
