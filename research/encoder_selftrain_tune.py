"""Issue 25: adopt ``self_train.encoder`` (the head's encoder fine-tuned on the head's own
pseudo-labels) as the default? Compares two pipeline runs on the TUNE halves of the short-item
gold and the dev gold; never reads a test half.

Criterion, written before the pipeline run it reads: adopt ``self_train.encoder.epochs: 1`` when
1. the short gold's tune macro-F1 of the variant, at the configured rule or at the short-item
   threshold scale the tune half picks from 0.5-1.0 (then adopted with it), is at least the
   baseline's at its configured rule (scale 0.9, chosen on this half before), and
2. the dev gold's tune macro-F1 is not lower than the baseline's by more than 0.01.
A paired bootstrap on the short tune half is printed for the record (1,000 resamples, seed 0).

    # baseline: the committed pipeline's outputs (dvc repro); variant: the same stages with
    # self_train.encoder.epochs=1 written under /tmp/exp (commands in docs/research/topic.md)
    python research/encoder_selftrain_tune.py data/predictions /tmp/exp/predictions
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from zeroshot_news.config import load_config
from zeroshot_news.corpus.gold import matched_gold, split_tune_test
from zeroshot_news.metrics import bootstrap_ci

SCALES = np.round(np.arange(0.5, 1.001, 0.1), 2)


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    tp = (gold & pred).sum(axis=0)
    denom = gold.sum(axis=0) + pred.sum(axis=0)
    return float(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0).mean())


def mean_ap(gold: np.ndarray, scores: np.ndarray) -> float:
    return float(np.mean([average_precision_score(gold[:, j], scores[:, j]) for j in range(gold.shape[1])]))


def wide(frame: pd.DataFrame, key: str, ids, labels: list[str], column: str) -> np.ndarray:
    return frame.pivot(index=key, columns="label", values=column).loc[ids, labels].to_numpy()


def short_tune(folder: Path, labels: list[str], base_thresholds: np.ndarray):
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    gold = gold[gold["split"] == "tune"].reset_index(drop=True)
    pred = pd.read_parquet(folder / "topic_short.parquet")
    y = gold[labels].astype(int).to_numpy().astype(bool)
    score = wide(pred, "item_id", gold["item_id"], labels, "score").astype(float)
    threshold = wide(pred, "item_id", gold["item_id"], labels, "threshold").astype(float)
    predicted = wide(pred, "item_id", gold["item_id"], labels, "predicted").astype(bool)
    scaled = ~np.isclose(threshold, base_thresholds)  # the short items' rows (all, in practice)
    by_scale = {float(s): macro_f1(y, score >= np.where(scaled, base_thresholds * s, base_thresholds))
                for s in SCALES}
    return y, score, predicted, by_scale


def dev_tune(folder: Path, labels: list[str], cfg):
    articles = pd.read_parquet("data/processed/articles.parquet")
    dev = matched_gold(cfg.evaluation.gold_path, articles)
    dev = dev[split_tune_test(dev, cfg.evaluation.seed).to_numpy() == "tune"].reset_index(drop=True)
    topics = pd.read_parquet(folder / "topics.parquet")
    y = dev[labels].astype(int).to_numpy().astype(bool)
    return (macro_f1(y, wide(topics, "doc_id", dev["doc_id"], labels, "predicted").astype(bool)),
            mean_ap(y, wide(topics, "doc_id", dev["doc_id"], labels, "score").astype(float)))


def main(baseline: str, variant: str) -> None:
    cfg = load_config()
    labels = [lab.name for lab in cfg.taxonomy.labels]
    thresholds = np.array([lab.threshold for lab in cfg.taxonomy.labels])
    runs = {}
    print("| run | short tune F1 (configured rule) | short tune F1 by scale 0.5..1.0 | short tune mean AP "
          "| dev tune F1 | dev tune mean AP |")
    print("|---|---:|---|---:|---:|---:|")
    for name, folder in (("baseline", Path(baseline)), ("variant", Path(variant))):
        y, score, predicted, by_scale = short_tune(folder, labels, thresholds)
        dev_f1, dev_ap = dev_tune(folder, labels, cfg)
        runs[name] = (y, predicted, by_scale, dev_f1)
        scales = " / ".join(f"{v:.4f}" for v in by_scale.values())
        print(f"| {name} | {macro_f1(y, predicted):.4f} | {scales} | {mean_ap(y, score):.4f} | {dev_f1:.4f} "
              f"| {dev_ap:.4f} |")
    y, base_pred, _, base_dev = runs["baseline"]
    _, var_pred, var_scales, var_dev = runs["variant"]
    best_scale = max(var_scales, key=lambda s: (var_scales[s], -abs(s - 0.9)))

    def diff(i: np.ndarray) -> float:
        return macro_f1(y[i], var_pred[i]) - macro_f1(y[i], base_pred[i])

    lo, hi = bootstrap_ci(diff, len(y), 1000, 0.95, 0)
    base_f1 = macro_f1(y, base_pred)
    print(f"short tune, variant minus baseline at the configured rule: {diff(np.arange(len(y))):+.4f} "
          f"[{lo:+.4f}, {hi:+.4f}]")
    print(f"variant's best scale on tune: {best_scale} ({var_scales[best_scale]:.4f})")
    adopt = max(macro_f1(y, var_pred), var_scales[best_scale]) >= base_f1 and var_dev >= base_dev - 0.01
    print(f"criterion: short {max(macro_f1(y, var_pred), var_scales[best_scale]):.4f} >= {base_f1:.4f} and "
          f"dev {var_dev:.4f} >= {base_dev - 0.01:.4f}: {'ADOPT' if adopt else 'do not adopt'}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
