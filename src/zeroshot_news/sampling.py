"""Deterministic sampling shared by the BBC adapter and the gold-set selection.

Python's ``random.Random(seed)`` is stable across platforms and versions for
``sample`` on a sequence, so a seed in params gives the same subset everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def stable_sample(items: Sequence[str], k: int | None, seed: int) -> list[str]:
    """Return ``k`` items drawn without replacement, in sorted order (all if k is None)."""
    ordered = sorted(items)
    if k is None or k >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, k))
