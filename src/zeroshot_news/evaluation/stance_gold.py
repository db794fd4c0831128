"""Stance predictions against the stance gold: per target and pooled, per half, with CIs.

Macro-F1 is over favor / against / neutral / none present in the half's gold
(:func:`zeroshot_news.metrics.macro_f1`). The ``tune`` half chooses every stance variant,
and only on the *tuned* targets (the ones the pipeline configures); the ``test`` half
reports. Targets the pipeline does not configure were never tuned on (neither half).
``uncertain`` predictions (margin below ``stance.uncertain_margin``) are reported apart:
how many there are and how often they are right compared with the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zeroshot_news.config import EvaluationConfig
from zeroshot_news.decisions import STANCE_LABELS
from zeroshot_news.metrics import bootstrap_ci, classification_report, mean_f1, present_classes, rounded

CLASSES = list(STANCE_LABELS)
HALVES = ("tune", "test")


def _half_report(gold: np.ndarray, pred: np.ndarray, cfg: EvaluationConfig) -> dict[str, Any]:
    report = classification_report(gold, pred, CLASSES)
    present = present_classes(gold, CLASSES)
    report["macro_f1_ci"] = bootstrap_ci(lambda i: mean_f1(gold[i], pred[i], present), len(gold),
                                         cfg.bootstrap_samples, cfg.confidence, cfg.seed) if present else None
    report["gold_distribution"] = {c: int((gold == c).sum()) for c in CLASSES}
    return report


def _uncertainty(frame: pd.DataFrame) -> dict[str, Any]:
    """Flagged vs unflagged favor / against / neutral predictions: share and accuracy."""
    decided = frame[frame["predicted"] != "none"]
    flagged = decided["uncertain"].astype(bool)

    def accuracy(part: pd.DataFrame) -> float | None:
        return rounded((part["label"] == part["predicted"]).mean()) if len(part) else None

    return {"decided": len(decided), "uncertain": int(flagged.sum()),
            "uncertain_share": rounded(flagged.mean()) if len(decided) else None,
            "accuracy_uncertain": accuracy(decided[flagged]), "accuracy_certain": accuracy(decided[~flagged])}


def stance_gold_metrics(predictions: pd.DataFrame, gold: pd.DataFrame, tuned_targets: list[str],
                        cfg: EvaluationConfig) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(report, plot tables). ``predictions``: item_id, target, label, uncertain (the
    stance_gold stage's output); ``gold``: item_id, target, label, split."""
    frame = gold[["item_id", "target", "label", "split"]].merge(
        predictions[["item_id", "target", "label", "uncertain"]].rename(columns={"label": "predicted"}),
        on=["item_id", "target"], how="left", validate="one_to_one")
    if frame["predicted"].isna().any():
        missing = frame.loc[frame["predicted"].isna(), ["item_id", "target"]].head(3).to_dict("records")
        raise ValueError(f"stance gold rows without a prediction (re-run the stance_gold stage): {missing}")
    present = set(frame["target"])
    tuned = [t for t in tuned_targets if t in present]
    untuned = sorted(present - set(tuned))
    report: dict[str, Any] = {"targets": {}, "tuned_targets": tuned, "untuned_targets": untuned}
    plots: dict[str, pd.DataFrame] = {}

    def entry(g: pd.DataFrame) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for half in (*HALVES, "all"):
            part = g if half == "all" else g[g["split"] == half]
            out[half] = (_half_report(part["label"].to_numpy(object), part["predicted"].to_numpy(object), cfg)
                         if len(part) else None)
        out["uncertainty"] = {half: _uncertainty(g[g["split"] == half]) for half in HALVES}
        return out

    def confusion(name: str, g: pd.DataFrame) -> None:
        test = g[g["split"] == "test"]
        plots[f"confusion/stance_gold_{name}.csv"] = pd.DataFrame(
            {"actual": test["label"].to_numpy(object), "predicted": test["predicted"].to_numpy(object)})

    for target in (*tuned, *untuned):  # the configured order, then the gold-only targets
        g = frame[frame["target"] == target]
        report["targets"][target] = entry(g)
        confusion(target, g)
    report["pooled"] = entry(frame)
    confusion("pooled", frame)
    for name, mask in (("pooled_tuned", frame["target"].isin(tuned_targets)),
                       ("pooled_untuned", ~frame["target"].isin(tuned_targets))):
        if mask.any():
            report[name] = entry(frame[mask])
    tests = {t: e["test"]["macro_f1"] for t, e in report["targets"].items() if e["test"]}
    report["worst_test_macro_f1"] = min(tests.values()) if tests else None
    report["worst_test_target"] = min(tests, key=tests.get) if tests else None
    return report, plots


def stance_gold_headline(report: dict[str, Any]) -> dict[str, Any]:
    """Test-half macro-F1 per target (what is reported) and tune-half (what chooses)."""
    out: dict[str, Any] = {}
    for target, e in report["targets"].items():
        out[target] = {"macro_f1": e["test"]["macro_f1"] if e["test"] else None,
                       "macro_f1_ci": e["test"]["macro_f1_ci"] if e["test"] else None,
                       "tune_macro_f1": e["tune"]["macro_f1"] if e["tune"] else None}
    for name in ("pooled", "pooled_tuned", "pooled_untuned"):
        if name in report:
            e = report[name]
            out[name] = {"macro_f1": e["test"]["macro_f1"] if e["test"] else None,
                         "macro_f1_ci": e["test"]["macro_f1_ci"] if e["test"] else None,
                         "tune_macro_f1": e["tune"]["macro_f1"] if e["tune"] else None}
    out["worst_macro_f1"] = report["worst_test_macro_f1"]
    return out
