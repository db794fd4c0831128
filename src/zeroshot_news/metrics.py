"""Classification metrics with one convention, and seeded bootstrap intervals.

Macro-F1 is the mean F1 over the classes that occur in the gold: a class with no gold item
has no recall to measure (its false positives still cost the classes they were taken
from). Every single-label macro-F1 in the project (evaluation, benchmarks, training
reports) is :func:`macro_f1`; multi-label topics (:func:`topic_metrics`) average each
label's binary F1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

from zeroshot_news.config import EvaluationConfig

DECIMALS = 4


def rounded(x: float) -> float:
    return round(float(x), DECIMALS)


def present_classes(gold: Sequence[Any], classes: Sequence[Any]) -> list[Any]:
    """The classes (in ``classes`` order) that occur in ``gold``."""
    seen = set(np.asarray(gold, dtype=object).tolist())
    return [c for c in classes if c in seen]


def macro_f1(gold: Sequence[Any], pred: Sequence[Any], classes: Sequence[Any]) -> float | None:
    """Mean F1 over the classes of ``classes`` present in ``gold``; None without gold items."""
    present = present_classes(gold, classes)
    return mean_f1(gold, pred, present) if present else None


def mean_f1(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any]) -> float:
    """Mean F1 over exactly ``labels``: :func:`macro_f1` with its class set fixed (a bootstrap
    resample keeps the whole gold's classes, so a rare class left out of it counts as 0).

    Computed from per-class counts with scikit-learn's formula (2 tp / (gold count +
    predicted count), 0 for 0/0), bit for bit, about 20x faster: bootstraps call it
    thousands of times."""
    code = {label: i for i, label in enumerate(labels)}
    k = len(code)
    g = np.fromiter((code.get(x, k) for x in gold), dtype=np.intp)
    p = np.fromiter((code.get(x, k) for x in pred), dtype=np.intp)
    tp = np.bincount(g[g == p], minlength=k + 1)[:k].astype(float)
    pred_n = np.bincount(p, minlength=k + 1)[:k].astype(float)
    true_n = np.bincount(g, minlength=k + 1)[:k].astype(float)
    denom = true_n + pred_n
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return float(np.mean(f1)) if k else 0.0


def bootstrap_ci(metric: Callable[[np.ndarray], float], n: int, samples: int, confidence: float,
                 seed: int) -> list[float] | None:
    """Percentile CI of ``metric(indices)`` over item resamples; None without samples."""
    if samples == 0 or n == 0:
        return None
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, n, n)) for _ in range(samples)]
    alpha = (1 - confidence) / 2
    return [rounded(np.quantile(values, alpha)), rounded(np.quantile(values, 1 - alpha))]


def classification_report(gold: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, :func:`macro_f1` and per-class precision / recall / F1 / support."""
    gold, pred = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object)
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(classes), zero_division=0)
    macro = macro_f1(gold, pred, classes)
    return {
        "accuracy": rounded((gold == pred).mean()) if len(gold) else 0.0,
        "macro_f1": rounded(macro) if macro is not None else 0.0,
        "support": len(gold),
        "per_class": {c: {"precision": rounded(pi), "recall": rounded(ri), "f1": rounded(fi), "support": int(si)}
                      for c, pi, ri, fi, si in zip(classes, p, r, f, s, strict=True)},
    }


def topic_metrics(y_true: np.ndarray, scores: np.ndarray, predicted: np.ndarray, labels: list[str],
                  cfg: EvaluationConfig) -> dict[str, Any]:
    """Multi-label: per label P/R/F1/support/AP, macro and micro F1, bootstrap CIs."""
    per_label = {}
    for j, label in enumerate(labels):
        p, r, f, _ = precision_recall_fscore_support(y_true[:, j], predicted[:, j], average="binary",
                                                     zero_division=0)
        ap = average_precision_score(y_true[:, j], scores[:, j]) if y_true[:, j].any() else float("nan")
        ci = bootstrap_ci(lambda i, j=j: f1_score(y_true[i, j], predicted[i, j], zero_division=0),
                          len(y_true), cfg.bootstrap_samples, cfg.confidence, cfg.seed)
        per_label[label] = {"precision": rounded(p), "recall": rounded(r), "f1": rounded(f), "f1_ci": ci,
                            "support": int(y_true[:, j].sum()), "average_precision": rounded(ap)}
    macro = f1_score(y_true, predicted, average="macro", zero_division=0)
    return {
        "items": len(y_true),
        "macro_f1": rounded(macro),
        "macro_f1_ci": bootstrap_ci(lambda i: f1_score(y_true[i], predicted[i], average="macro", zero_division=0),
                                    len(y_true), cfg.bootstrap_samples, cfg.confidence, cfg.seed),
        "micro_f1": rounded(f1_score(y_true, predicted, average="micro", zero_division=0)),
        "mean_average_precision": rounded(np.nanmean([v["average_precision"] for v in per_label.values()])),
        "per_label": per_label,
    }
