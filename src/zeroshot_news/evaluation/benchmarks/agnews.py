"""AG News test set: single-label topic classification into 4 classes, zero-shot.

Each item (title + description) is split into passages like any article; every class
description becomes ``hypothesis_template.format(description)``; a class's hypotheses
combine by max per passage and passages aggregate by max (the project's topic
defaults). The prediction is the argmax over classes: AG News is single-label, so no
threshold is involved.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score

from zeroshot_news.config import BenchmarkConfig
from zeroshot_news.corpus.sampling import subsample_frame
from zeroshot_news.evaluation.benchmarks.common import (
    benchmark_file,
    check_classes,
    classification_metrics,
)
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.zeroshot.scoring import (
    SCORE_DECIMALS,
    aggregate,
    budget_hypotheses,
    combine_hypotheses,
    split_articles,
)
from zeroshot_news.zeroshot.topic_head import self_train_single_label

REFERENCE = {"metric": "accuracy", "range": [0.77, 0.80],
             "what": "published zero-shot NLI classifiers (large MNLI cross-encoders), no AG News training"}
HYPOTHESIS_COMBINE = "max"
CROSS_FIT_FOLDS = 2
PASSAGE_AGGREGATE = "max"


def clean_text(text: str) -> str:
    """Undo AG News' escapes: ``\\`` for newlines and HTML entities with the ``&`` lost (``#36;``)."""
    text = re.sub(r"\\n|\\", " ", str(text))
    text = re.sub(r"(?<!&)#(\d+);", r"&#\1;", text)
    return " ".join(html.unescape(text).split())


def read_classes(cfg: BenchmarkConfig) -> list[str]:
    """Class names in index order (classes.txt: one per line, index 1 first)."""
    return [line.strip() for line in benchmark_file(cfg, "classes.txt").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def load(cfg: BenchmarkConfig) -> pd.DataFrame:
    """Items (item_id, gold, title, body), subsampled to ``cfg.max_items`` with ``cfg.sample_seed``."""
    classes = read_classes(cfg)
    path = benchmark_file(cfg, "test.csv")
    raw = pd.read_csv(path, header=None, names=["class_index", "title", "body"], dtype={"class_index": int},
                      keep_default_na=False)
    bad = raw.loc[~raw["class_index"].between(1, len(classes)), "class_index"]
    if len(bad):
        raise ValueError(f"{path}: class index {bad.iloc[0]} outside 1..{len(classes)}")
    items = pd.DataFrame({
        "item_id": raw.index.astype(int),  # row number in test.csv
        "gold": [classes[i - 1] for i in raw["class_index"]],
        "title": raw["title"].map(clean_text),
        "body": raw["body"].map(clean_text),
    })
    return subsample_frame(items, cfg.max_items, cfg.sample_seed)


def run(cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1,
        progress: bool = True) -> tuple[dict, pd.DataFrame]:
    items = load(cfg)
    classes = read_classes(cfg)
    check_classes(cfg, "labels", cfg.labels, classes)
    label_of = [cls for cls in classes for _ in cfg.labels[cls]]
    hypotheses = [cfg.hypothesis_template.format(d) for cls in classes for d in cfg.labels[cls]]

    docs = items.rename(columns={"item_id": "doc_id"})
    passages = split_articles(docs, scorer, budget_hypotheses(scorer, hypotheses), overlap, progress,
                              desc="split (agnews)")
    scores = combine_hypotheses(scorer.score(list(passages["text"]), hypotheses), label_of, classes,
                                HYPOTHESIS_COMBINE)
    groups = passages.groupby("doc_id", sort=False).indices
    item_scores = np.stack([aggregate(scores[groups[d]], PASSAGE_AGGREGATE) for d in docs["doc_id"]])
    item_scores = np.round(item_scores, SCORE_DECIMALS)

    zero_shot = np.argmax(item_scores, axis=1)
    self_trained = None
    if cfg.self_train_rounds and scorer.bi_encoder:
        self_trained = cross_fitted_self_training(cfg, scorer, passages, hypotheses, label_of, classes,
                                                  [groups[d] for d in docs["doc_id"]])
    predictions = items[["item_id", "gold"]].copy()
    predictions["predicted"] = [classes[i] for i in (zero_shot if self_trained is None else self_trained)]
    predictions["zero_shot"] = [classes[i] for i in zero_shot]
    for j, cls in enumerate(classes):
        predictions[f"score_{cls}"] = item_scores[:, j]
    predictions["n_passages"] = [len(groups[d]) for d in docs["doc_id"]]

    metrics = {
        "n_items": len(items),
        "n_passages": len(passages),
        "pairs_scored": len(passages) * len(hypotheses),
        **classification_metrics(predictions["gold"], predictions["predicted"], classes),
        "predicted_share": {c: round(float((predictions["predicted"] == c).mean()), 4) for c in classes},
        "method": "zero-shot" if self_trained is None else
                  f"self-trained ({cfg.self_train_rounds} rounds, {CROSS_FIT_FOLDS}-fold cross-fitted, no labels)",
        "zero_shot_accuracy": round(float(accuracy_score(predictions["gold"], predictions["zero_shot"])), 4),
    }
    metrics.pop("n")
    return metrics, predictions


def self_training_inputs(scorer: PairScorer, passages: pd.DataFrame, hypotheses: list[str], label_of: list[str],
                         classes: list[str], item_passages: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per item, what label-free self-training reads: the signal (the best cosine of its
    passages to each class's descriptions) and its vector (the normalised mean of its passage
    vectors)."""
    passage_vectors = scorer.embed(list(passages["text"])).astype(np.float64)
    cosine = combine_hypotheses(passage_vectors @ scorer.embed(hypotheses).astype(np.float64).T, label_of,
                                classes, HYPOTHESIS_COMBINE)
    signal = np.stack([cosine[idx].max(axis=0) for idx in item_passages])
    vectors = np.stack([passage_vectors[idx].mean(axis=0) for idx in item_passages])
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return signal, vectors


def cross_fitted_self_training(cfg: BenchmarkConfig, scorer: PairScorer, passages: pd.DataFrame,
                               hypotheses: list[str], label_of: list[str], classes: list[str],
                               item_passages: list[np.ndarray]) -> np.ndarray:
    """Predicted class per item from label-free self-training, cross-fitted: the head that
    scores an item was fitted on the *other* fold's texts (and never sees a label)."""
    signal, vectors = self_training_inputs(scorer, passages, hypotheses, label_of, classes, item_passages)
    fold = np.random.default_rng(cfg.sample_seed).permutation(len(vectors)) % CROSS_FIT_FOLDS
    predicted = np.zeros(len(vectors), dtype=int)
    for k in range(CROSS_FIT_FOLDS):
        fit, score = fold != k, fold == k
        clf = self_train_single_label(vectors[fit], signal[fit], rounds=cfg.self_train_rounds,
                                      top_fraction=cfg.self_train_top_fraction, C=cfg.self_train_C,
                                      seed=cfg.sample_seed)
        predicted[score] = clf.classes_[clf.predict_proba(vectors[score]).argmax(axis=1)]
    return predicted
