"""Topic predictions against the short-item gold: per label and macro, per half, with CIs.

The ``tune`` half chooses among short-item rules; the ``test`` half reports. Labels of the
taxonomy without a gold column are reported as unevaluated (a new label is not measured here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zeroshot_news.config import EvaluationConfig
from zeroshot_news.metrics import topic_metrics

HALVES = ("tune", "test")


def topics_short_metrics(predictions: pd.DataFrame, gold: pd.DataFrame, labels: list[str],
                         cfg: EvaluationConfig) -> dict[str, Any]:
    """``predictions``: item_id, label, score, predicted (the topic_short stage's output);
    ``gold``: item_id, split and a 0/1 column per label."""
    evaluated = [lab for lab in labels if lab in gold.columns]
    report: dict[str, Any] = {"labels": evaluated,
                              "unevaluated": [lab for lab in labels if lab not in gold.columns]}
    if not evaluated:
        return report
    score = predictions.pivot(index="item_id", columns="label", values="score")
    pred = predictions.pivot(index="item_id", columns="label", values="predicted")
    missing = sorted(set(gold["item_id"]) - set(score.index))
    if missing:
        raise ValueError(f"short-gold items without a prediction (re-run the topic_short stage): {missing[:3]}")
    y_true = gold[evaluated].astype(int).to_numpy()
    scores = score.loc[gold["item_id"], evaluated].to_numpy(dtype=float)
    predicted = pred.loc[gold["item_id"], evaluated].to_numpy(dtype=bool).astype(int)
    split = gold["split"].to_numpy()
    for half in (*HALVES, "all"):
        mask = np.ones(len(gold), bool) if half == "all" else split == half
        report[half] = (topic_metrics(y_true[mask], scores[mask], predicted[mask], evaluated, cfg)
                        if mask.any() else None)
    return report


def topics_short_headline(report: dict[str, Any]) -> dict[str, Any]:
    test, tune = report.get("test"), report.get("tune")
    if not test:
        return {}
    return {"macro_f1": test["macro_f1"], "macro_f1_ci": test["macro_f1_ci"],
            "mean_ap": test["mean_average_precision"], "tune_macro_f1": tune["macro_f1"] if tune else None,
            "f1": {lab: m["f1"] for lab, m in test["per_label"].items()}}
