"""The dev gold: loading it, matching it to the corpus, and its seeded tune / test halves.

Shared by the evaluate stage (which scores on both halves) and by the few-shot topic head
(``self_train.labels_from: gold``), which may fit on the ``tune`` half only: one split
function, so both always agree on which items are test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def load_gold(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"gold file {path} does not exist (evaluation.gold_path)")
    gold = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "item_id" not in gold.columns:
        raise ValueError(f"{path}: needs an item_id column")
    return gold


def match_gold(gold: pd.DataFrame, articles: pd.DataFrame, removed: pd.DataFrame,
               quarantine: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Attach doc_ids (via the raw path); count gold items with no prediction, by reason."""
    by_path = dict(zip(articles["path"], articles["doc_id"], strict=True))
    matched = gold.assign(doc_id=gold["item_id"].map(by_path))
    reasons: dict[str, int] = {}
    removed_reason = dict(zip(removed["path"], removed["reason"], strict=True))
    quarantined = dict(zip(quarantine["path"], quarantine["reason"], strict=True))
    for item in matched.loc[matched["doc_id"].isna(), "item_id"]:
        why = removed_reason.get(item) or quarantined.get(item) or "not_in_corpus"
        reasons[why] = reasons.get(why, 0) + 1
    return matched.dropna(subset=["doc_id"]).reset_index(drop=True), dict(sorted(reasons.items()))


def split_tune_test(gold: pd.DataFrame, seed: int) -> pd.Series:
    """'tune' or 'test' per row: half of each stratum, seeded."""
    rng = np.random.default_rng(seed)
    split = pd.Series("test", index=gold.index)
    strata = gold["stratum"] if "stratum" in gold.columns else pd.Series("all", index=gold.index)
    for _, idx in gold.groupby(strata, sort=True).groups.items():
        idx = np.array(sorted(idx))
        chosen = rng.permutation(idx)[: len(idx) // 2]
        split.loc[chosen] = "tune"
    return split


def matched_gold(path: Path | str, articles: pd.DataFrame) -> pd.DataFrame:
    """The gold at ``path`` matched to ``articles`` (doc_id attached; unmatched items dropped),
    without the evaluate stage's counts of why an item is missing."""
    none = pd.DataFrame({"path": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    return match_gold(load_gold(path), articles, none, none)[0]


def tune_half(gold: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The matched gold's ``tune`` rows (the evaluate stage's split of the same rows)."""
    return gold[split_tune_test(gold, seed).to_numpy() == "tune"].reset_index(drop=True)
