"""The stance classes and the one rule that turns class scores into a label.

Every stance decision in the project (the stance stage, FNC-1, VAST, the trained model's
head) reads three scores in the order (one side, the other side, neutral) and applies
:func:`margin_decision`: the largest wins, but a side that leads the opposite side by less
than ``neutral_margin`` is not a position, so the item is neutral.
"""

from __future__ import annotations

import numpy as np

STANCE_CLASSES = ("favor", "against", "neutral")  # the scored classes, in the head's order
NONE = "none"  # not discussed: decided by a relevance / mention rule, never by class scores
STANCE_LABELS = (*STANCE_CLASSES, NONE)  # what a stance output and the gold may say


def margin_decision(scores: np.ndarray, neutral_margin: float, weak: np.ndarray | None = None,
                    lead: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Index per row of ``scores`` ([n, 3]: side, other side, neutral): the argmax, except that
    a winning side closer than ``neutral_margin`` to the other side, flagged in ``weak``, or
    leading neutral by less than its ``lead`` (one per side), becomes neutral (2)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    best = np.argmax(scores, axis=1)
    side = best != 2
    close = np.abs(scores[:, 0] - scores[:, 1]) < neutral_margin
    if weak is not None:
        close = close | np.asarray(weak, dtype=bool)
    if any(lead):
        winner = scores[np.arange(len(scores)), np.minimum(best, 1)]
        close = close | (winner - scores[:, 2] < np.asarray(lead, dtype=float)[np.minimum(best, 1)])
    return np.where(side & close, 2, best)


def top_two_margin(scores: np.ndarray) -> np.ndarray:
    """Per row, the largest score minus the second largest: how clearly the label was decided."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    if scores.shape[1] < 2:
        return np.ones(scores.shape[0])
    top = -np.sort(-scores, axis=1)
    return top[:, 0] - top[:, 1]
