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

from zeroshot_news.config import BenchmarkConfig, ModelConfig
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


def run(cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1, progress: bool = True,
        model_cfg: ModelConfig | None = None) -> tuple[dict, pd.DataFrame]:
    """``model_cfg``: the encoder's config, for ``cfg.self_train_encoder`` (fine-tuning)."""
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
                                                  [groups[d] for d in docs["doc_id"]], model_cfg, progress)
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
                  f"self-trained ({cfg.self_train_rounds} rounds{encoder_note(cfg, len(items))}, "
                  f"{CROSS_FIT_FOLDS}-fold cross-fitted, no labels)",
        "zero_shot_accuracy": round(float(accuracy_score(predictions["gold"], predictions["zero_shot"])), 4),
    }
    metrics.pop("n")
    return metrics, predictions


def tunes_encoder(cfg: BenchmarkConfig, n_items: int) -> bool:
    """Whether the folds fine-tune the encoder: configured, and the smallest fold's fit texts
    (one passage per AG News item, about) reach ``min_pool_passages``; all folds or none."""
    enc = cfg.self_train_encoder
    smallest_fit = n_items - -(-n_items // CROSS_FIT_FOLDS)  # less the largest fold
    return enc is not None and enc.epochs > 0 and smallest_fit >= enc.min_pool_passages


def encoder_note(cfg: BenchmarkConfig, n_items: int) -> str:
    enc = cfg.self_train_encoder
    if enc is None or not tunes_encoder(cfg, n_items):
        return ""
    soft = f" and {enc.soft_rounds} soft round(s)" if enc.soft_rounds else ""
    return f", then the encoder fine-tuned {enc.epochs:g} epoch(s) on hard pseudo-labels{soft}"


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
                               item_passages: list[np.ndarray], model_cfg: ModelConfig | None = None,
                               progress: bool = True) -> np.ndarray:
    """Predicted class per item from label-free self-training, cross-fitted: the head that
    scores an item was fitted on the *other* fold's texts (and never sees a label). With
    ``cfg.self_train_encoder``, the head's encoder (``model_cfg``) is then fine-tuned on the
    fold's confident pseudo-labels (:func:`fine_tuned_predictions`) and predicts instead."""
    if cfg.self_train_encoder is not None and cfg.self_train_encoder.epochs and model_cfg is None:
        raise ValueError("agnews: self_train_encoder fine-tunes the encoder: pass its model_cfg")
    signal, vectors = self_training_inputs(scorer, passages, hypotheses, label_of, classes, item_passages)
    fold = np.random.default_rng(cfg.sample_seed).permutation(len(vectors)) % CROSS_FIT_FOLDS
    predicted = np.zeros(len(vectors), dtype=int)
    texts = [" ".join(passages["text"].iloc[idx]) for idx in item_passages]
    for k in range(CROSS_FIT_FOLDS):
        fit, score = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        clf = self_train_single_label(vectors[fit], signal[fit], rounds=cfg.self_train_rounds,
                                      top_fraction=cfg.self_train_top_fraction, C=cfg.self_train_C,
                                      seed=cfg.sample_seed)
        if not tunes_encoder(cfg, len(vectors)):
            predicted[score] = clf.classes_[clf.predict_proba(vectors[score]).argmax(axis=1)]
        else:
            predicted[score] = fine_tuned_predictions(clf, vectors[fit], [texts[i] for i in fit],
                                                      [texts[i] for i in score], len(classes), cfg, model_cfg,
                                                      progress)
    return predicted


# The share of each pseudo-class (the head's predictions on the fold it was fitted on), most
# confident first, that the encoder is fine-tuned on: research/agnews_encoder_selftrain.py's
# recipe, fixed before its first run.
ENCODER_KEEP = 0.5


def fine_tuned_predictions(clf, fit_vectors: np.ndarray, fit_texts: list[str], score_texts: list[str],
                           n_classes: int, cfg: BenchmarkConfig, model_cfg: ModelConfig, progress: bool) -> np.ndarray:
    """The fitted head's confident pseudo-labels on its own fold fine-tune the encoder + a linear
    layer started as the head (softmax cross-entropy); each of ``soft_rounds`` then continues on
    every fit text's sharpened distribution under the last round's model (as the pipeline's soft
    rounds do); the other fold is predicted by argmax."""
    from zeroshot_news.training.topic_encoder import cross_entropy_loss, fine_tune_headed, headed_logits
    from zeroshot_news.zeroshot.topic_head import sharpened_distribution

    proba = clf.predict_proba(fit_vectors)
    pseudo, confidence = clf.classes_[proba.argmax(axis=1)], proba.max(axis=1)
    keep = []
    for c in np.unique(pseudo):
        members = np.flatnonzero(pseudo == c)
        ranked = members[np.argsort(-confidence[members], kind="stable")]
        keep.extend(ranked[: max(1, int(ENCODER_KEEP * len(members)))])
    keep = np.sort(np.array(keep))
    enc = cfg.self_train_encoder
    keep = capped(keep, enc.max_passages, cfg.sample_seed)
    coef = np.zeros((n_classes, fit_vectors.shape[1]))
    intercept = np.full(n_classes, -1e3)  # a class the head never predicts starts out of reach
    coef[clf.classes_], intercept[clf.classes_] = clf.coef_, clf.intercept_
    run = fine_tune_headed([fit_texts[i] for i in keep], cross_entropy_loss(pseudo[keep]), coef, intercept,
                           model_cfg=model_cfg, cfg=enc, seed=cfg.sample_seed, progress=progress,
                           desc="fine-tune encoder (agnews fold)")
    rows = capped(np.arange(len(fit_texts)), enc.max_passages, cfg.sample_seed)
    texts = [fit_texts[i] for i in rows]
    for r in range(enc.soft_rounds):
        logits = headed_logits(run, texts, progress=progress)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        targets = sharpened_distribution(p / p.sum(axis=1, keepdims=True))
        run = fine_tune_headed(texts, cross_entropy_loss(targets), coef, intercept, model_cfg=model_cfg, cfg=enc,
                               seed=cfg.sample_seed, progress=progress,
                               desc=f"soft round {r + 1} (agnews fold)", start=run)
    return headed_logits(run, score_texts, progress=progress).argmax(axis=1)


def capped(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """``rows``, or a seeded sample of ``limit`` of them (sorted) when there are more: the
    pipeline caps its fine-tuning pool the same way."""
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
