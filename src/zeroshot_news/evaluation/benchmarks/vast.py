"""VAST test: stance (pro / con / neutral) of a comment toward a free-text topic, zero-shot.

Per (post, topic) item, with the topic ``new_topic`` as the claim:

* relevance = max over the post's passages of ``hypothesis_template.format(topic)``;
* on the most relevant passage, the pro / con / neutral ``templates`` are scored (mean
  over a class's templates, normalised over the three classes) and the largest wins;
* ``neutral`` is forced when the post is not about the topic (relevance below
  ``related_threshold``: most VAST neutrals are a topic taken from another comment) or
  when pro and con are closer than ``neutral_margin``.

The two decision values may be chosen on VAST's *train* split with
:func:`fit_decision_values` (never on test); see conf/benchmark/vast.yaml.
Metrics: macro-F1 on the zero-shot subset (``seen? == 0``, the number TGA Net reports),
on the few-shot subset and on all items.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
from tqdm import tqdm

from zeroshot_news.config import BenchmarkConfig, ConfigError
from zeroshot_news.corpus.sampling import subsample_frame
from zeroshot_news.corpus.vast import VastFormatError, read_vast
from zeroshot_news.decisions import margin_decision
from zeroshot_news.evaluation.benchmarks.common import (
    ClaimScores,
    benchmark_file,
    check_classes,
    claim_text,
    class_hypotheses,
    classification_metrics,
    pair_scorer,
    score_claims,
)
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.zeroshot.scoring import budget_hypotheses, split_articles

CLASSES = ("pro", "con", "neutral")
FILES = {"test": "vast_test.csv.gz", "train": "vast_train.csv.gz"}
REFERENCE = {"metric": "macro_f1_zero_shot", "value": 0.67,
             "what": "TGA Net (Allaway & McKeown, EMNLP 2020), trained on VAST train; approx."}
THRESHOLD_GRID = tuple(round(x, 2) for x in np.arange(0.0, 1.0001, 0.05))
MARGIN_GRID = tuple(round(x, 3) for x in np.arange(0.0, 0.2001, 0.01))


def load(cfg: BenchmarkConfig, split: str = "test") -> pd.DataFrame:
    """Items (item_id, post, topic, gold, seen, type_idx), subsampled to ``cfg.max_items``."""
    path = benchmark_file(cfg, FILES[split])
    try:
        items = read_vast(path).rename(columns={"label": "gold"})
    except VastFormatError as exc:
        raise ConfigError(f"benchmark.path: {exc}") from exc
    return subsample_frame(items, cfg.max_items, cfg.sample_seed)


def score_items(items: pd.DataFrame, cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1,
                progress: bool = True) -> tuple[pd.DataFrame, int]:
    """(``items`` plus relevance, pro / con / neutral scores, best passage, passage count; total passages)."""
    check_classes(cfg, "templates", cfg.templates, CLASSES)
    items = items.copy()
    items["claim"] = items["topic"].map(claim_text)
    claims = sorted(set(items["claim"]))
    hypotheses = [cfg.hypothesis_template.format(c) for c in claims]
    hypotheses += [h for c in claims for h in class_hypotheses(cfg.templates, CLASSES, c)]

    # Posts repeat with several topics: split and score each distinct post once.
    posts = pd.DataFrame({"body": sorted(set(items["post"]))})
    docs = pd.DataFrame({"doc_id": np.arange(len(posts)), "title": "", "body": posts["body"]})
    doc_of = dict(zip(docs["body"], docs["doc_id"], strict=True))
    passages = split_articles(docs, scorer, budget_hypotheses(scorer, hypotheses), overlap, progress,
                              desc="split (vast)")
    table = pair_scorer(scorer, list(passages["text"]), hypotheses, progress)

    texts = passages.groupby("doc_id", sort=False)["text"].agg(list)
    claims_of = items.groupby(items["post"].map(doc_of), sort=False)["claim"].agg(lambda s: sorted(set(s)))
    scored: dict[tuple[int, str], ClaimScores] = {}
    for doc_id in tqdm(docs["doc_id"], desc="score (vast)", unit="post", disable=not progress):
        post_claims = claims_of[doc_id]
        results = score_claims(table, texts.get(doc_id, []), post_claims, cfg, CLASSES)
        scored.update({(doc_id, c): r for c, r in zip(post_claims, results, strict=True)})

    found = [scored[(doc_of[p], c)] for p, c in zip(items["post"], items["claim"], strict=True)]
    items["relevance"] = [s.relevance for s in found]
    for j, cls in enumerate(CLASSES):
        items[cls] = [float(s.stance[j]) for s in found]
    items["best_passage"] = [s.best_passage for s in found]
    items["n_passages"] = [s.n_passages for s in found]
    return items.drop(columns=["claim", "post"]), len(passages)


def decide(scored: pd.DataFrame, related_threshold: float, neutral_margin: float) -> list[str]:
    """Predicted label per item from its scores (see the module docstring)."""
    labels = np.array(CLASSES, dtype=object)[margin_decision(scored[list(CLASSES)].to_numpy(), neutral_margin)]
    labels[scored["relevance"].to_numpy() < related_threshold] = "neutral"
    return list(labels)


def run(cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1,
        progress: bool = True) -> tuple[dict, pd.DataFrame]:
    scored, n_passages = score_items(load(cfg), cfg, scorer, overlap, progress)
    predictions = scored.copy()
    predictions.insert(predictions.columns.get_loc("gold") + 1, "predicted",
                       decide(scored, cfg.related_threshold, cfg.neutral_margin))
    return metrics_of(predictions, n_passages), predictions


def metrics_of(pred: pd.DataFrame, n_passages: int) -> dict:
    subsets = {"zero_shot": pred[pred["seen"] == 0], "few_shot": pred[pred["seen"] == 1], "all": pred}
    by_subset = {name: classification_metrics(list(df["gold"]), list(df["predicted"]), CLASSES)
                 for name, df in subsets.items()}
    return {
        "n_items": len(pred),
        "n_zero_shot": len(subsets["zero_shot"]),
        "n_passages": n_passages,
        "macro_f1_zero_shot": by_subset["zero_shot"]["macro_f1"],
        "macro_f1_all": by_subset["all"]["macro_f1"],
        "accuracy": by_subset["all"]["accuracy"],
        "per_class_f1": by_subset["all"]["per_class_f1"],
        "subsets": by_subset,
        "predicted_share": {c: round(float((pred["predicted"] == c).mean()), 4) if len(pred) else 0.0
                            for c in CLASSES},
    }


def fit_decision_values(cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1, max_items: int | None = 3000,
                        progress: bool = True) -> dict:
    """Choose ``related_threshold`` and ``neutral_margin`` on VAST **train** (macro-F1, grid search).

    Ties go to the smaller values (the simpler rule). Returns the chosen values and the
    train macro-F1, for writing into conf/benchmark/vast.yaml; the test split is never read.
    """
    train_cfg = dataclasses.replace(cfg, max_items=max_items)
    scored, _ = score_items(load(train_cfg, "train"), train_cfg, scorer, overlap, progress)
    best: tuple[float, float, float] | None = None
    for threshold, margin in itertools.product(THRESHOLD_GRID, MARGIN_GRID):
        f1 = classification_metrics(list(scored["gold"]), decide(scored, threshold, margin), CLASSES)["macro_f1"]
        if best is None or f1 > best[0]:
            best = (f1, threshold, margin)
    assert best is not None
    configured = decide(scored, cfg.related_threshold, cfg.neutral_margin)
    return {"related_threshold": best[1], "neutral_margin": best[2], "train_macro_f1": best[0],
            # For comparison: the values currently in the config, on the same train items.
            "configured_train_macro_f1": classification_metrics(list(scored["gold"]), configured, CLASSES)["macro_f1"],
            "train_items": len(scored), "sample_seed": cfg.sample_seed}
