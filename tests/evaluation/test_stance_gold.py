"""Stance-gold metrics: per target and pooled, per half, tuned vs untuned, uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from tests.fakes import section
from zeroshot_news.config import EvaluationConfig
from zeroshot_news.evaluation.stance_gold import stance_gold_headline, stance_gold_metrics
from zeroshot_news.metrics import macro_f1, mean_f1

CFG = section(EvaluationConfig, "evaluation", bootstrap_samples=50)


def _frames():
    gold = pd.DataFrame({
        "item_id": [f"i{k}" for k in range(8)] * 2,
        "target": ["a"] * 8 + ["b"] * 8,
        "label": ["against", "neutral", "none", "neutral", "against", "none", "neutral", "favor"] * 2,
        "split": ["tune"] * 4 + ["test"] * 4 + ["tune"] * 4 + ["test"] * 4,
    })
    pred = gold[["item_id", "target"]].assign(
        label=["against", "neutral", "neutral", "neutral", "neutral", "none", "neutral", "favor"] * 2,
        uncertain=[False, True, True, False] * 4)
    return gold, pred


def test_per_target_halves_pooled_and_worst():
    gold, pred = _frames()
    report, plots = stance_gold_metrics(pred, gold, ["a"], CFG)
    assert report["tuned_targets"] == ["a"] and report["untuned_targets"] == ["b"]
    test_a = report["targets"]["a"]["test"]
    g = gold[(gold.target == "a") & (gold.split == "test")]
    p = pred.loc[g.index, "label"]
    assert test_a["macro_f1"] == pytest.approx(macro_f1(g["label"], p, ["favor", "against", "neutral", "none"]),
                                               abs=1e-4)
    assert report["pooled_untuned"]["tune"]["support"] == 4
    assert report["worst_test_macro_f1"] == min(e["test"]["macro_f1"] for e in report["targets"].values())
    assert set(plots) == {"confusion/stance_gold_a.csv", "confusion/stance_gold_b.csv",
                          "confusion/stance_gold_pooled.csv"}
    head = stance_gold_headline(report)
    assert head["a"]["macro_f1"] == test_a["macro_f1"] and head["a"]["tune_macro_f1"] == report["targets"]["a"][
        "tune"]["macro_f1"]
    unc = report["targets"]["a"]["uncertainty"]["tune"]
    assert unc["decided"] == 4 and unc["uncertain"] == 2 and unc["uncertain_share"] == 0.5


def test_a_missing_prediction_is_an_error():
    gold, pred = _frames()
    with pytest.raises(ValueError, match="without a prediction"):
        stance_gold_metrics(pred.iloc[1:], gold, ["a"], CFG)


def test_mean_f1_is_scikit_learns_macro_f1_bit_for_bit():
    rng = np.random.default_rng(0)
    labels = ["favor", "against", "neutral", "none"]
    for _ in range(300):
        n = int(rng.integers(1, 40))
        gold, pred = rng.choice(labels, n), rng.choice(labels, n)
        subset = [c for c in labels if rng.random() < 0.8] or ["none"]
        assert mean_f1(gold, pred, subset) == f1_score(gold, pred, labels=subset, average="macro", zero_division=0)
