"""Seeded sampling: the one home of every random subset the project draws.

:func:`stable_sample` picks names (Python's ``random.Random(seed).sample`` is stable across
platforms and versions for a sequence); :func:`seeded_indices` picks positions (numpy's
``default_rng(seed)``), which :func:`subsample` and :func:`subsample_frame` keep in their
original order. A seed in params gives the same subset everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


def stable_sample(items: Sequence[str], k: int | None, seed: int) -> list[str]:
    """Return ``k`` items drawn without replacement, in sorted order (all if k is None)."""
    ordered = sorted(items)
    if k is None or k >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, k))


def seeded_indices(n: int, k: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``k`` of ``n`` items drawn without replacement (all when k is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def subsample(items: Sequence[T], k: int | None, seed: int) -> list[T]:
    """At most ``k`` items, chosen with ``seed``, in their original order."""
    return [items[i] for i in seeded_indices(len(items), k, seed)]


def subsample_frame(frame: pd.DataFrame, k: int | None, seed: int) -> pd.DataFrame:
    """At most ``k`` rows, chosen with ``seed``, in their original order (index reset)."""
    return frame.iloc[seeded_indices(len(frame), k, seed)].reset_index(drop=True)
