"""Per-request records as preallocated numpy arrays, one per column, grown by doubling.

Kernels write into the arrays by request id, so a column is always the whole allocation
(``columns[name]``); ``trimmed()`` gives the first ``n`` rows of every column at the end. No
per-request Python objects: a request is an integer id into these arrays. Each column lives in an
anonymous memory map that is only reserved, not committed: memory is committed as rows are
written, and ``release_before(row)`` hands the pages of rows that are no longer needed back to the
operating system (the summary-only path, after it has reduced them), while request ids stay the
row numbers of one long array. A full run hands back its random draws' columns the same way, as
soon as the requests they were drawn for have finished.
"""
from __future__ import annotations

import mmap

import numpy as np

PAGE = mmap.PAGESIZE


def _reserve(size: int, dtype) -> np.ndarray:
    """An array of ``size`` elements in its own anonymous map (pages committed on first write)."""
    dtype = np.dtype(dtype)
    nbytes = max(size * dtype.itemsize, PAGE)
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), dtype=dtype, count=size)


def _release(arr: np.ndarray, first: int, stop: int) -> None:
    """Return the whole pages of ``arr[first:stop]`` to the operating system (they read as zeros)."""
    base = arr.base.obj if isinstance(arr.base, memoryview) else arr.base
    if not isinstance(base, mmap.mmap):
        return
    size = arr.dtype.itemsize
    lo = -(-first * size // PAGE) * PAGE
    hi = stop * size // PAGE * PAGE
    if hi > lo:
        base.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


class Columns:
    """Named numpy columns of equal length with a default value each."""

    def __init__(self, capacity: int = 4096):
        self.n = 0
        self.capacity = capacity
        self.released = 0  # rows before this one have been handed back in every column (read as zeros)
        self._gone: dict[str, int] = {}  # the same per column
        self._arrays: dict[str, np.ndarray] = {}
        self._fill: dict[str, float | int] = {}

    def add(self, name: str, dtype, fill: float | int = 0) -> None:
        """A new column, filled with ``fill`` for the requests that exist already."""
        if name in self._arrays:
            raise ValueError(f"column {name} exists")
        arr = _reserve(self.capacity, dtype)
        arr[self.released:self.n] = fill
        self._arrays[name] = arr
        self._gone[name] = self.released
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
                new = _reserve(size, old.dtype)
                keep = self._gone[name]
                new[keep:first] = old[keep:first]
                self._arrays[name] = new
            self.capacity = size
        for name, arr in self._arrays.items():
            fill = self._fill[name]
            if fill != 0:  # rows past n were never written, and a fresh anonymous page reads as zeros
                arr[first:need] = fill
        self.n = need
        return slice(first, need)

    def set_block(self, rows: slice, values: dict[str, np.ndarray]) -> None:
        for name, v in values.items():
            self._arrays[name][rows] = v

    def trimmed(self, names=None) -> dict[str, np.ndarray]:
        """The first ``n`` rows of each column (views, no copies)."""
        return {name: self._arrays[name][:self.n] for name in (names if names is not None else self._arrays)}

    def release_before(self, row: int, names=None) -> None:
        """Hand back the memory of rows before ``row`` in every column (or in ``names``): nothing
        reads or writes them any more."""
        row = min(row, self.n)
        for name in (list(self._arrays) if names is None else names):
            gone = self._gone[name]
            if row > gone:
                _release(self._arrays[name], gone, row)
                self._gone[name] = row
        if names is None:
            self.released = max(self.released, row)

    def drop(self, name: str) -> None:
        """Forget a column that is no longer needed (frees its memory)."""
        self._arrays.pop(name, None)
        self._fill.pop(name, None)
        self._gone.pop(name, None)
