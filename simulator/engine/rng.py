"""Named random streams spawned from one seed.

Every component draws from its own stream, keyed by a stable name
(``"inference.service"``), so that adding a component never shifts another's numbers
and two scenarios run with the same seed share random numbers (common random numbers).
"""
from __future__ import annotations

import math
import zlib

import numpy as np


class RandomStreams:
    """``SeedSequence(seed)`` -> one independent ``numpy.random.Generator`` per name."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(key,))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen


def draw(rng: np.random.Generator, dist: str, mean: float, cv: float, n: int) -> np.ndarray:
    """``n`` variates with the given mean and coefficient of variation (vectorised).

    exponential ignores ``cv`` (it is 1 by definition); constant ignores it too;
    lognormal and gamma are parameterised so that mean and cv match exactly.
    """
    if n <= 0:
        return np.empty(0)
    if mean <= 0:
        return np.zeros(n)
    if dist == "constant" or cv == 0:
        return np.full(n, float(mean))
    if dist == "exponential":
        return rng.exponential(mean, n)
    if dist == "lognormal":
        sigma2 = math.log1p(cv * cv)
        return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)
    if dist == "gamma":
        shape = 1.0 / (cv * cv)
        return rng.gamma(shape, mean / shape, n)
    raise ValueError(f"unknown distribution {dist!r}")


def categorical(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """Codes 0..k-1 drawn with probabilities proportional to ``shares`` (dict order)."""
    p = np.array(list(shares.values()), dtype=float)
    p = p / p.sum()
    return np.searchsorted(np.cumsum(p), rng.random(n), side="right").clip(0, len(p) - 1).astype(np.int16)
