"""The crowd stance gold: the Ukraine-crisis corpus's five framing votes per sentence.

The crowd rated framing of the Russian, Ukrainian and Western governments on -2..2 and did
not separate "neutral" from "not mentioned", so it is compared on three classes:
favor / against / neutral_or_none (:func:`crowd_sentence_labels`, :func:`crowd_article_labels`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CROWD_CLASSES = ["favor", "against", "neutral_or_none"]
CROWD_TARGETS = {"russia": "russian_government", "ukraine": "ukrainian_government", "west": "western_governments"}


def crowd_sentence_labels(sentences: pd.DataFrame, min_votes: int = 3) -> pd.DataFrame:
    """Per sentence and government: favor if >= min_votes of 5 votes are > 0, against if
    >= min_votes are < 0, else neutral_or_none (0 meant neutral or not mentioned).
    Both signs reaching min_votes (possible for min_votes <= 2) counts as neutral_or_none."""
    rows = []
    for row in sentences.itertuples():
        for gov, target in CROWD_TARGETS.items():
            votes = np.asarray(getattr(row, f"votes_{gov}"), dtype=float)
            pos, neg = int((votes > 0).sum()), int((votes < 0).sum())
            label = ("neutral_or_none" if pos >= min_votes and neg >= min_votes else
                     "favor" if pos >= min_votes else "against" if neg >= min_votes else "neutral_or_none")
            rows.append({"doc_id": row.doc_id, "sentence_id": row.sentence_id, "target": target,
                         "label": label, "n_votes": len(votes)})
    return pd.DataFrame(rows, columns=["doc_id", "sentence_id", "target", "label", "n_votes"])


def crowd_article_labels(sentence_labels: pd.DataFrame) -> pd.DataFrame:
    """Article label per target: the majority of its non-neutral sentence labels
    (against if more against than favor sentences, favor if more favor), else neutral_or_none."""
    if sentence_labels.empty:
        return pd.DataFrame(columns=["doc_id", "target", "label"])
    counts = sentence_labels.pivot_table(index=["doc_id", "target"], columns="label", aggfunc="size",
                                         fill_value=0)
    for cls in CROWD_CLASSES:
        if cls not in counts.columns:
            counts[cls] = 0
    label = np.where(counts["against"] > counts["favor"], "against",
                     np.where(counts["favor"] > counts["against"], "favor", "neutral_or_none"))
    return counts.assign(label=label).reset_index()[["doc_id", "target", "label"]]
