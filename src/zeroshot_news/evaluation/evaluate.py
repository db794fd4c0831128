"""Evaluation: topic and stance predictions against gold labels.

Two gold sources:
- the dev gold (``data/gold/gold.csv``): 211 articles labelled with the three topics and
  stance toward the four default targets, two blind passes plus adjudication;
- crowd stance gold, derived from the Ukraine-crisis corpus's five crowd framing votes
  per sentence (:func:`crowd_sentence_labels`, :func:`crowd_article_labels`). The crowd
  rated framing on -2..2 and did not separate "neutral" from "not mentioned", so it is
  compared on three classes: favor / against / neutral_or_none.

Headline numbers use the configured thresholds on all matched gold items, with seeded
bootstrap confidence intervals. Per-label thresholds tuned for F1 are fitted on the
``tune`` half of the dev gold (stratified, seeded) and reported on the ``test`` half only.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve

from zeroshot_news.config import Config, EvaluationConfig
from zeroshot_news.corpus.gold import load_gold, match_gold, split_tune_test
from zeroshot_news.decisions import STANCE_LABELS
from zeroshot_news.evaluation.crowd import CROWD_CLASSES, CROWD_TARGETS, crowd_article_labels, crowd_sentence_labels
from zeroshot_news.evaluation.stance_gold import stance_gold_headline, stance_gold_metrics
from zeroshot_news.evaluation.topic_short import topics_short_headline, topics_short_metrics
from zeroshot_news.metrics import (
    DECIMALS,
    bootstrap_ci,
    classification_report,
    mean_f1,
    present_classes,
    rounded,
    topic_metrics,
)

log = logging.getLogger(__name__)

STANCE_CLASSES = list(STANCE_LABELS)


# ---------------------------------------------------------------------------
# Crowd gold (the dev gold itself: gold.py)
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def _macro_f1(y_true: np.ndarray, predicted: np.ndarray) -> float | None:
    """Macro-F1 over the label columns; None for an empty half (a tiny gold)."""
    return rounded(f1_score(y_true, predicted, average="macro", zero_division=0)) if len(y_true) else None


def _mean_ap(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """Mean average precision over the labels with a positive item; None when none has one."""
    aps = [average_precision_score(y_true[:, j], scores[:, j]) for j in range(y_true.shape[1]) if y_true[:, j].any()]
    return rounded(float(np.mean(aps))) if aps else None


def tune_thresholds(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-label threshold maximising F1 (ties: the highest threshold)."""
    out = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        if not y_true[:, j].any():
            continue
        precision, recall, thresholds = precision_recall_curve(y_true[:, j], scores[:, j])
        f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
        best = np.flatnonzero(f1[:-1] == f1[:-1].max())[-1]
        out[j] = thresholds[best]
    return out


def stance_metrics(gold: np.ndarray, pred: np.ndarray, classes: list[str], cfg: EvaluationConfig) -> dict[str, Any]:
    report = classification_report(gold, pred, classes)
    present = present_classes(gold, classes)
    report["macro_f1_ci"] = bootstrap_ci(lambda i: mean_f1(gold[i], pred[i], present), len(gold),
                                         cfg.bootstrap_samples, cfg.confidence, cfg.seed) if present else None
    report["gold_distribution"] = {c: int((gold == c).sum()) for c in classes}
    report["majority_class_accuracy"] = rounded(max(report["gold_distribution"].values()) / max(len(gold), 1))
    return report


# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------


def evaluate(
    topics: pd.DataFrame, stance: pd.DataFrame, gold: pd.DataFrame, crowd: pd.DataFrame,
    labels: list[str], targets: list[str], cfg: EvaluationConfig,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Metrics and plot tables. ``gold`` is already matched to doc_ids."""
    plots: dict[str, pd.DataFrame] = {}
    metrics: dict[str, Any] = {}
    # --- topics
    wide_score = topics.pivot(index="doc_id", columns="label", values="score")
    wide_pred = topics.pivot(index="doc_id", columns="label", values="predicted")
    g = gold[gold["doc_id"].isin(wide_score.index)].reset_index(drop=True)
    if g.empty:
        # A researcher's own corpus: no dev-gold item is in it. Nothing to score against; say so.
        log.warning("evaluate: no dev-gold item is in this corpus (%d gold items); topic and dev-gold stance "
                    "metrics are skipped", len(gold))
        metrics["dev_gold"] = {"skipped": "no gold item is in the corpus"}
    # An empty cell means "not annotated for this label" (e.g. a label added later and
    # annotated on a sample, `annotate import`): such a label is evaluated on its own
    # annotated items (topics_partial), the fully annotated ones jointly.
    # A row annotated for stance only (every topic cell empty) is not a topic item.
    topic_cols = [lab for lab in labels if lab in g.columns]
    gt = g[(g[topic_cols] != "").any(axis=1)].reset_index(drop=True) if topic_cols else g.iloc[:0]
    topic_labels = [lab for lab in topic_cols if (gt[lab] != "").all()]
    partial_labels = [lab for lab in topic_cols if lab not in topic_labels]
    # A configured label or target without gold is reported, never dropped silently.
    unevaluated: dict[str, Any] = {}
    for lab in (lab for lab in labels if lab not in g.columns and not g.empty):
        share = float(wide_pred[lab].astype(bool).mean()) if lab in wide_pred.columns else 0.0
        unevaluated[f"topic:{lab}"] = {"reason": "no gold column", "predicted_share": rounded(share)}
    stance_cols = stance.pivot(index="doc_id", columns="target", values="label")
    for target in (t for t in targets if f"stance_{t}" not in g.columns and not g.empty):
        share = float((stance_cols[target] != "none").mean()) if target in stance_cols.columns else 0.0
        unevaluated[f"stance:{target}"] = {"reason": "no gold column", "discussed_share": rounded(share)}
    for key, info in unevaluated.items():
        log.warning("evaluate: %s has no gold (%s); it is predicted but not evaluated", key, info)
    if unevaluated:
        metrics["unevaluated"] = unevaluated
    for lab in partial_labels:
        sub = gt[gt[lab] != ""]
        y = sub[[lab]].astype(int).to_numpy()
        metrics.setdefault("topics_partial", {})[lab] = topic_metrics(
            y, wide_score.loc[sub["doc_id"], [lab]].to_numpy(dtype=float),
            wide_pred.loc[sub["doc_id"], [lab]].to_numpy(dtype=bool).astype(int), [lab], cfg)["per_label"][lab] | {
                "items": len(sub)}
    if topic_labels and len(gt):
        y_true = gt[topic_labels].astype(int).to_numpy()
        scores = wide_score.loc[gt["doc_id"], topic_labels].to_numpy(dtype=float)
        predicted = wide_pred.loc[gt["doc_id"], topic_labels].to_numpy(dtype=bool).astype(int)
        metrics["topics"] = topic_metrics(y_true, scores, predicted, topic_labels, cfg)
        split = split_tune_test(gt, cfg.seed).to_numpy()
        tune, test = split == "tune", split == "test"
        thresholds = tune_thresholds(y_true[tune], scores[tune])
        tuned_pred = (scores >= thresholds).astype(int)
        metrics["topics_tuned"] = {
            "tune_items": int(tune.sum()), "test_items": int(test.sum()),
            "thresholds": {lab: rounded(t) for lab, t in zip(topic_labels, thresholds, strict=True)},
            "test_macro_f1_tuned": _macro_f1(y_true[test], tuned_pred[test]),
            "test_macro_f1_configured": _macro_f1(y_true[test], predicted[test]),
            # What chooses among topic variants (the test half never does).
            "tune_macro_f1_configured": _macro_f1(y_true[tune], predicted[tune]),
            "tune_mean_ap": _mean_ap(y_true[tune], scores[tune]),
            "test_mean_ap": _mean_ap(y_true[test], scores[test]),
        }
        for j, lab in enumerate(topic_labels):
            plots[f"confusion/topic_{lab}.csv"] = pd.DataFrame({
                "actual": np.where(y_true[:, j] == 1, lab, "not_" + lab),
                "predicted": np.where(predicted[:, j] == 1, lab, "not_" + lab)})
            if y_true[:, j].any():
                precision, recall, _ = precision_recall_curve(y_true[:, j], scores[:, j])
                plots[f"pr/{lab}.csv"] = pd.DataFrame({"recall": recall.round(DECIMALS),
                                                       "precision": precision.round(DECIMALS)})
    # --- stance vs dev gold
    metrics["stance"] = {}
    stance_pred = stance.pivot(index="doc_id", columns="target", values="label")
    # The same seeded tune / test halves as the topic thresholds: a stance variant is
    # chosen on ``tune`` and reported on ``test``.
    halves = split_tune_test(g, cfg.seed) if len(g) else pd.Series(dtype=object)
    for target in targets:
        col = f"stance_{target}"
        if col not in g.columns or target not in stance_pred.columns:
            continue
        # A row annotated for topics only (an empty stance cell) is not a stance item.
        sub = g[g["doc_id"].isin(stance_pred.index) & (g[col] != "")]
        if sub.empty:
            continue
        gold_labels = sub[col].to_numpy(dtype=object)
        pred_labels = stance_pred.loc[sub["doc_id"], target].to_numpy(dtype=object)
        metrics["stance"][target] = stance_metrics(gold_labels, pred_labels, STANCE_CLASSES, cfg)
        half = halves.loc[sub.index].to_numpy(dtype=object)
        metrics["stance"][target]["halves"] = {
            h: ({k: v for k, v in classification_report(gold_labels[half == h], pred_labels[half == h],
                                                        STANCE_CLASSES).items() if k != "per_class"}
                if (half == h).any() else {"accuracy": None, "macro_f1": None, "support": 0})
            for h in ("tune", "test")}
        plots[f"confusion/stance_{target}.csv"] = pd.DataFrame({"actual": gold_labels, "predicted": pred_labels})
    # --- stance vs crowd gold (three classes)
    metrics["stance_crowd"] = {}
    for target in sorted(crowd["target"].unique()) if len(crowd) else []:
        if target not in stance_pred.columns:
            continue
        sub = crowd[(crowd["target"] == target) & crowd["doc_id"].isin(stance_pred.index)]
        pred = stance_pred.loc[sub["doc_id"], target].replace({"neutral": "neutral_or_none", "none": "neutral_or_none"})
        gold_labels, pred_labels = sub["label"].to_numpy(dtype=object), pred.to_numpy(dtype=object)
        metrics["stance_crowd"][target] = stance_metrics(gold_labels, pred_labels, CROWD_CLASSES, cfg)
        plots[f"confusion/crowd_{target}.csv"] = pd.DataFrame({"actual": gold_labels, "predicted": pred_labels})
    return metrics, plots


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a researcher compares across experiments (``dvc exp show``, ``dvc metrics diff``):
    topic macro-F1 with its CI, mean AP, the test half and per-label F1; stance macro-F1 per
    target (whole gold and the tune half that chooses variants) and on the crowd gold. The
    full report (precision, recall, supports, distributions) is written beside it."""
    out: dict[str, Any] = {}
    topics = metrics.get("topics")
    if topics:
        out["topics"] = {
            "macro_f1": topics["macro_f1"], "macro_f1_ci": topics["macro_f1_ci"],
            "mean_ap": topics["mean_average_precision"],
            "f1": {label: m["f1"] for label, m in topics["per_label"].items()},
        }
        if "topics_tuned" in metrics:
            tuned = metrics["topics_tuned"]
            out["topics"]["test_half_macro_f1"] = tuned["test_macro_f1_configured"]
            out["topics"]["tune_half_macro_f1"] = tuned["tune_macro_f1_configured"]
            out["topics"]["tune_half_mean_ap"] = tuned["tune_mean_ap"]
    for label, m in metrics.get("topics_partial", {}).items():  # labels annotated on a sample only
        out.setdefault("topics", {}).setdefault("f1", {})[label] = m["f1"]
    stance = {}
    for target, m in metrics.get("stance", {}).items():
        stance[target] = {"macro_f1": m["macro_f1"]}
        tune = m.get("halves", {}).get("tune")
        if tune:
            stance[target]["tune_macro_f1"] = tune["macro_f1"]
    if stance:
        # The dev gold has 1-14 favor / against articles per target: one article moves these by ~0.25.
        out["stance_dev_gold_small_sample"] = stance
    if metrics.get("topics_short", {}).get("test"):
        out["topics_short"] = topics_short_headline(metrics["topics_short"])
    if "stance_gold" in metrics:
        out["stance_gold"] = stance_gold_headline(metrics["stance_gold"])
    crowd = {target: m["macro_f1"] for target, m in metrics.get("stance_crowd", {}).items()}
    if crowd:
        out["stance_crowd"] = crowd
    return out


def evaluate_run(topics: pd.DataFrame, stance: pd.DataFrame, articles: pd.DataFrame, removed: pd.DataFrame,
                 quarantine: pd.DataFrame, sentences: pd.DataFrame, cfg: Config,
                 stance_gold: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                 short_gold: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, pd.DataFrame], pd.DataFrame]:
    """(full report, plot tables, the derived crowd gold per sentence) of one pipeline run:
    the dev gold matched to the corpus (missing items counted by reason), the crowd gold and,
    given (predictions, gold labels), the stance gold."""
    gold, missing = match_gold(load_gold(cfg.evaluation.gold_path), articles, removed, quarantine)
    crowd_sent = crowd_sentence_labels(sentences, cfg.evaluation.crowd_min_votes)
    crowd = crowd_article_labels(crowd_sent)
    metrics, plots = evaluate(topics, stance, gold, crowd, [lab.name for lab in cfg.taxonomy.labels],
                              [t.name for t in cfg.stance.targets], cfg.evaluation)
    metrics["gold"] = {"path": cfg.evaluation.gold_path, "matched": len(gold), "missing": missing}
    metrics["crowd_gold"] = {
        "sentences": int(crowd_sent["sentence_id"].nunique()), "articles": int(crowd["doc_id"].nunique()),
        "sentence_distribution": {t: {c: int(((crowd_sent["target"] == t) & (crowd_sent["label"] == c)).sum())
                                      for c in CROWD_CLASSES} for t in CROWD_TARGETS.values()},
        "rule": f"sentence: >={cfg.evaluation.crowd_min_votes} of 5 votes >0 favor, "
                f">={cfg.evaluation.crowd_min_votes} <0 against, else neutral_or_none; article: more against "
                "than favor sentences -> against, more favor -> favor, else neutral_or_none",
    }
    if short_gold is not None:
        metrics["topics_short"] = topics_short_metrics(*short_gold, [lab.name for lab in cfg.taxonomy.labels],
                                                       cfg.evaluation)
    if stance_gold is not None:
        report, gold_plots = stance_gold_metrics(*stance_gold, [t.name for t in cfg.stance.targets], cfg.evaluation)
        metrics["stance_gold"] = report
        plots.update(gold_plots)
    crowd_out = crowd_sent.merge(crowd.rename(columns={"label": "article_label"}), on=["doc_id", "target"])
    return metrics, plots, crowd_out


def log_summary(metrics: dict[str, Any]) -> None:
    t = metrics.get("topics", {})
    log.info("evaluate: %d gold items matched (missing %s); topic macro-F1 %s CI %s", metrics["gold"]["matched"],
             metrics["gold"]["missing"], t.get("macro_f1"), t.get("macro_f1_ci"))
    for target, m in metrics["stance"].items():
        log.info("  stance %-22s macro-F1 %s acc %s (majority %s)", target, m["macro_f1"], m["accuracy"],
                 m["majority_class_accuracy"])
    for target, m in metrics["stance_crowd"].items():
        log.info("  crowd  %-22s macro-F1 %s acc %s %s", target, m["macro_f1"], m["accuracy"],
                 m["gold_distribution"])
    gold = metrics.get("stance_gold")
    if gold:
        for target, m in [*gold["targets"].items(), ("POOLED", gold["pooled"])]:
            test, tune = m.get("test") or {}, m.get("tune") or {}  # a half may hold no row of a target
            log.info("  stance gold %-22s test macro-F1 %s CI %s (tune %s)", target, test.get("macro_f1"),
                     test.get("macro_f1_ci"), tune.get("macro_f1"))
