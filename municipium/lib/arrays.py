"""numpy helpers the engine and the series layout share. Pure functions, no Django."""

from __future__ import annotations

import numpy as np


def _dense(high: int, count: int) -> bool:
    """Whether ids up to `high`, `count` of them, are dense enough for a table indexed by id."""
    return high <= 4 * count + 1_000_000


def places(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct `ids` (integers) in increasing order, and each id's place among them.

    By a table indexed by id where the ids are dense enough, as a database's ids are: a
    quarter of the evaluation grid's time went to finding the units of a million
    observations by sorting them (issue 18). Otherwise (negative or sparse ids) by
    `np.unique`, the same result."""
    ids = np.asarray(ids)
    if not len(ids):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or not _dense(high, len(ids)):
        distinct, place = np.unique(ids, return_inverse=True)
        return distinct.astype(np.int64), place.astype(np.int64).reshape(-1)
    seen = np.zeros(high + 1, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen).astype(np.int64), (np.cumsum(seen) - 1)[ids]


class Index:
    """Where each of some ids is among `distinct` (increasing, distinct integers), -1 for
    ids not among them: a table indexed by id where they are dense enough (`places`), else
    a binary search."""

    def __init__(self, distinct: np.ndarray):
        self.distinct = np.asarray(distinct, dtype=np.int64)
        self.table = None
        if len(self.distinct) and self.distinct[0] >= 0 and _dense(int(self.distinct[-1]), len(self.distinct)):
            self.table = np.full(int(self.distinct[-1]) + 1, -1, dtype=np.int64)
            self.table[self.distinct] = np.arange(len(self.distinct))

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self.distinct):
            return np.full(len(ids), -1, dtype=np.int64)
        if self.table is not None:
            inside = (ids >= 0) & (ids < len(self.table))
            return np.where(inside, self.table[np.where(inside, ids, 0)], -1)
        at = np.minimum(np.searchsorted(self.distinct, ids), len(self.distinct) - 1)
        return np.where(self.distinct[at] == ids, at, -1)
