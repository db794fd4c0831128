"""Issue 25, a diagnostic that chooses nothing: what would annotated short items buy?

The label-free pipeline leaves the short gold at 0.706 tune / 0.720 test macro-F1 against a
goal of 0.80, and every label-free rule tried on its scores stays at 0.69-0.72 on tune. This
asks whether the encoder's vectors can separate the annotators' labels at all: a supervised
logistic regression per label (class_weight balanced, threshold 0.5) on the short items'
vectors, with
- 5-fold cross-validation inside the TUNE half (every tune item scored by a model that did not
  see it), for C in 0.1 / 1 / 10; the C with the best tune CV macro-F1 is then
- fitted on the whole tune half (277 items) and on seeded subsamples of it (25 %, 50 %), and
  scored once on the TEST half (printed for the record; nothing is adopted from it).
Both encoders are read: the configured base (frozen MiniLM) and the head's fine-tuned encoder
(models/topic_encoder). The pipeline's own label-free predictions (data/predictions/
topic_short.parquet, after `dvc repro`) are printed beside them.

    python research/short_supervised_ceiling.py    # about a minute on 2 cores
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.zeroshot.topic import topic_scorers
from zeroshot_news.zeroshot.topic_head import read_head

C_GRID = (0.1, 1.0, 10.0)
SEED = 0


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean([f1_score(y[:, j], pred[:, j], zero_division=0) for j in range(y.shape[1])]))


def mean_ap(y: np.ndarray, s: np.ndarray) -> float:
    return float(np.mean([average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1])]))


def fit_predict(x_fit: np.ndarray, y_fit: np.ndarray, x_new: np.ndarray, c: float) -> np.ndarray:
    out = np.zeros((len(x_new), y_fit.shape[1]))
    for j in range(y_fit.shape[1]):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        out[:, j] = model.fit(x_fit, y_fit[:, j]).predict_proba(x_new)[:, 1]
    return out


def cross_fitted(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """Each item's probabilities from a model fitted on the other folds; folds stratified on
    the label-set pattern (patterns with under 5 items joined to the commonest) so every fold has positives of
    every label."""
    pattern = (y * (2 ** np.arange(y.shape[1]))).sum(axis=1)
    values, counts = np.unique(pattern, return_counts=True)
    pattern = np.where(np.isin(pattern, values[counts < 5]), values[np.argmax(counts)], pattern)
    out = np.zeros(y.shape, dtype=float)
    for fit, held in StratifiedKFold(5, shuffle=True, random_state=SEED).split(x, pattern):
        out[held] = fit_predict(x[fit], y[fit], x[held], c)
    return out


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    head = read_head("models/topic_head.json")
    labels = list(head.labels)
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    y = gold[labels].astype(int).to_numpy()
    tune = (gold["split"] == "tune").to_numpy()
    test = (gold["split"] == "test").to_numpy()
    base, tuned = topic_scorers(cfg, head)
    vectors = {"frozen MiniLM (base)": base.embed(list(gold["text"])),
               "fine-tuned encoder (the head's)": tuned.embed(list(gold["text"]))}

    pipeline = pd.read_parquet("data/predictions/topic_short.parquet")
    predicted = pipeline.pivot(index="item_id", columns="label", values="predicted").loc[gold["item_id"], labels]
    score = pipeline.pivot(index="item_id", columns="label", values="score").loc[gold["item_id"], labels]
    predicted, score = predicted.to_numpy().astype(int), score.to_numpy().astype(float)
    print(f"short gold: tune {tune.sum()}, test {test.sum()}; labels {labels}")
    for half, m in (("tune", tune), ("test", test)):
        print(f"label-free pipeline, {half}: F1 {macro_f1(y[m], predicted[m]):.4f} AP {mean_ap(y[m], score[m]):.4f}")
    rng = np.random.default_rng(SEED)
    tune_idx = np.flatnonzero(tune)
    for name, x in vectors.items():
        cv = {c: cross_fitted(x[tune], y[tune], c) for c in C_GRID}
        row = "  ".join(f"C {c:g}: F1 {macro_f1(y[tune], (p >= 0.5).astype(int)):.4f} AP {mean_ap(y[tune], p):.4f}"
                        for c, p in cv.items())
        print(f"{name}: tune 5-fold CV  {row}")
        best_c = max(C_GRID, key=lambda c: macro_f1(y[tune], (cv[c] >= 0.5).astype(int)))
        for share in (0.25, 0.5, 1.0):
            draws = 1 if share == 1.0 else 3
            f1s, aps = [], []
            for _ in range(draws):
                fit = tune_idx if share == 1.0 else rng.choice(tune_idx, int(share * len(tune_idx)), replace=False)
                p = fit_predict(x[fit], y[fit], x[test], best_c)
                f1s.append(macro_f1(y[test], (p >= 0.5).astype(int)))
                aps.append(mean_ap(y[test], p))
            print(f"  C {best_c:g} fitted on {share:.0%} of tune ({int(share * tune.sum())} items, {draws} draw(s)):"
                  f" test F1 {np.mean(f1s):.4f} (min {min(f1s):.4f}) AP {np.mean(aps):.4f}")


if __name__ == "__main__":
    main()
