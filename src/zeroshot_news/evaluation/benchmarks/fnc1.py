"""FNC-1 competition test: headline-body stance (agree / disagree / discuss / unrelated), zero-shot.

Two steps per (headline, body) pair, with the headline as the claim:

1. **Related or not.** The relevance hypothesis ``hypothesis_template.format(claim)``
   ("This text is about {claim}.") is scored against every passage of the body; the
   pair's relevance is the max over passages (a body is related when any part of it is
   about the headline). ``relevance < related_threshold`` -> ``unrelated``.
2. **Which stance.** On the body's most relevant passage (where the claim is
   discussed), the ``templates`` of agree / disagree / discuss are scored; a class's
   score is the mean over its templates, normalised over the three classes, and the
   largest wins. With ``neutral_margin`` > 0, agree/disagree closer than the margin
   falls back to ``discuss`` (the same rule as VAST's neutral); with ``position_threshold``,
   so does a pair whose agree + disagree share is below it.

``relevance_scorer`` (conf/benchmark/fnc1_trained.yaml) lets a second model decide step 1:
the topic encoder for related vs unrelated, the trained stance model for step 2.

Efficiency: bodies are split once. A cross-encoder (cost per pair) scores only the
needed pairs: per body one call for all its headlines' relevance hypotheses, plus one
per distinct best passage for the stance templates, so the 904 bodies x ~28
headlines of the test set never score a (passage, hypothesis) pair twice. A
bi-encoder (cost per text) scores the full passage x hypothesis grid in a few large
calls instead, embedding every distinct text once. Stance scores are computed for
every pair (also those predicted unrelated), which gives the diagnostic
``stance_on_gold_related`` (stance quality alone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from zeroshot_news.config import BenchmarkConfig
from zeroshot_news.corpus.sampling import subsample_frame
from zeroshot_news.decisions import margin_decision
from zeroshot_news.evaluation.benchmarks.common import (
    FNC_RELATED,
    ClaimScores,
    benchmark_file,
    check_classes,
    claim_text,
    class_hypotheses,
    classification_metrics,
    fnc_summary,
    pair_scorer,
    require_columns,
    score_claims,
)
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.zeroshot.scoring import SCORE_DECIMALS, budget_hypotheses, split_articles

CLASSES = (*FNC_RELATED, "unrelated")
REFERENCE = {"metric": "relative_score", "value": 75.20,
             "what": "official FNC-1 baseline (gradient boosting on hand-made features, trained on FNC-1 train)"}
STANCES_FILE = "competition_test_stances.csv"
BODIES_FILE = "competition_test_bodies.csv"


def load(cfg: BenchmarkConfig) -> pd.DataFrame:
    """Pairs (pair_id, body_id, headline, body, gold); ``max_items`` samples pairs, not bodies."""
    stances_path, bodies_path = benchmark_file(cfg, STANCES_FILE), benchmark_file(cfg, BODIES_FILE)
    stances = pd.read_csv(stances_path, keep_default_na=False, dtype={"Body ID": int})
    bodies = pd.read_csv(bodies_path, keep_default_na=False, dtype={"Body ID": int})
    require_columns(stances, ["Headline", "Body ID", "Stance"], stances_path)
    require_columns(bodies, ["Body ID", "articleBody"], bodies_path)
    bad = sorted(set(stances["Stance"]) - set(CLASSES))
    if bad:
        raise ValueError(f"{stances_path}: unknown stances {bad}")
    missing = sorted(set(stances["Body ID"]) - set(bodies["Body ID"]))
    if missing:
        raise ValueError(f"{stances_path}: Body IDs {missing[:5]} have no body in {bodies_path}")
    pairs = pd.DataFrame({"pair_id": stances.index.astype(int), "body_id": stances["Body ID"],
                          "headline": stances["Headline"], "gold": stances["Stance"]})
    pairs = subsample_frame(pairs, cfg.max_items, cfg.sample_seed)
    body_text = dict(zip(bodies["Body ID"], bodies["articleBody"], strict=True))
    pairs.insert(3, "body", pairs["body_id"].map(body_text))
    return pairs


def decide(relevance: float, stance: np.ndarray, cfg: BenchmarkConfig) -> tuple[str, str]:
    """(predicted label, stance-only label) for one pair: agree / disagree must lead each other
    by ``neutral_margin`` and together hold ``position_threshold`` of the scores, else discuss."""
    taken = stance[0] + stance[1]  # the share of agree + disagree: how clearly a position is taken
    label = FNC_RELATED[int(margin_decision(stance[None, :], cfg.neutral_margin,
                                            weak=np.array([taken < (cfg.position_threshold or 0.0)]))[0])]
    return (label if relevance >= cfg.related_threshold else "unrelated"), label


def run(cfg: BenchmarkConfig, scorer: PairScorer, overlap: int = 1, progress: bool = True,
        relevance_scorer: PairScorer | None = None) -> tuple[dict, pd.DataFrame]:
    """Score every pair; ``relevance_scorer`` (default ``scorer``) decides related vs unrelated."""
    check_classes(cfg, "templates", cfg.templates, FNC_RELATED)
    pairs = load(cfg)
    pairs["claim"] = pairs["headline"].map(claim_text)
    claims = sorted(set(pairs["claim"]))
    relevance_hypotheses = [cfg.hypothesis_template.format(c) for c in claims]
    stance_hypotheses = [h for c in claims for h in class_hypotheses(cfg.templates, FNC_RELATED, c)]

    bodies = pairs.drop_duplicates("body_id")[["body_id", "body"]]
    docs = pd.DataFrame({"doc_id": bodies["body_id"], "title": "", "body": bodies["body"]})
    # Split for the stance scorer: its input (passage + claim) is the one that must fit.
    passages = split_articles(docs, scorer, budget_hypotheses(scorer, relevance_hypotheses + stance_hypotheses),
                              overlap, progress, desc="split (fnc1)")
    texts_all = list(passages["text"])
    if relevance_scorer is None:
        table = pair_scorer(scorer, texts_all, relevance_hypotheses + stance_hypotheses, progress)
        relevance_by = table
    else:
        table = pair_scorer(scorer, texts_all, stance_hypotheses, progress)
        relevance_by = pair_scorer(relevance_scorer, texts_all, relevance_hypotheses, progress)

    texts = passages.groupby("doc_id", sort=False)["text"].agg(list)
    claims_of = pairs.groupby("body_id", sort=False)["claim"].agg(lambda s: sorted(set(s)))
    scored: dict[tuple[int, str], ClaimScores] = {}
    for body_id in tqdm(docs["doc_id"], desc="score (fnc1)", unit="body", disable=not progress):
        body_claims = claims_of[body_id]
        results = score_claims(table, texts.get(body_id, []), body_claims, cfg, FNC_RELATED, relevance_by)
        scored.update({(body_id, c): r for c, r in zip(body_claims, results, strict=True)})

    predictions = predictions_frame(pairs, scored, cfg)
    return metrics_of(predictions, len(passages)), predictions


def predictions_frame(pairs: pd.DataFrame, scored: dict[tuple[int, str], ClaimScores],
                      cfg: BenchmarkConfig) -> pd.DataFrame:
    rows = []
    for pair_id, body_id, headline, claim, gold in zip(pairs["pair_id"], pairs["body_id"], pairs["headline"],
                                                       pairs["claim"], pairs["gold"], strict=True):
        s = scored[(body_id, claim)]
        predicted, stance_only = decide(s.relevance, s.stance, cfg)
        rows.append({"pair_id": pair_id, "body_id": body_id, "headline": headline, "gold": gold,
                     "predicted": predicted, "stance_only": stance_only,
                     "relevance": round(s.relevance, SCORE_DECIMALS),
                     **{c: float(v) for c, v in zip(FNC_RELATED, s.stance, strict=True)},
                     "best_passage": s.best_passage, "n_passages": s.n_passages})
    return pd.DataFrame(rows)


def binary(labels: list[str]) -> list[str]:
    return ["related" if x in FNC_RELATED else "unrelated" for x in labels]


def metrics_of(pred: pd.DataFrame, n_passages: int) -> dict:
    gold, predicted = list(pred["gold"]), list(pred["predicted"])
    n = len(pred)
    gold_related = pred[pred["gold"].isin(FNC_RELATED)]
    four_way = classification_metrics(gold, predicted, CLASSES)
    return {
        "n_items": n,
        "n_bodies": int(pred["body_id"].nunique()),
        "n_passages": n_passages,
        "fnc_score": fnc_summary(gold, predicted),
        "baselines": {"all_unrelated": fnc_summary(gold, ["unrelated"] * n),
                      "all_discuss": fnc_summary(gold, ["discuss"] * n),
                      # This run's related / unrelated step with `discuss` for every related pair:
                      # the FNC score rewards that majority class, so the stance step adds skill
                      # only where the run beats this (docs/research/stance.md, FNC-1's score).
                      "related_then_discuss": fnc_summary(
                          gold, ["unrelated" if p == "unrelated" else "discuss" for p in predicted])},
        "accuracy": four_way["accuracy"],
        "macro_f1": four_way["macro_f1"],
        "per_class_f1": four_way["per_class_f1"],
        "related_vs_unrelated": classification_metrics(binary(gold), binary(predicted), ["related", "unrelated"]),
        # Stance step alone, as if relatedness were known: agree/disagree/discuss on gold-related pairs.
        "stance_on_gold_related": classification_metrics(list(gold_related["gold"]),
                                                         list(gold_related["stance_only"]), FNC_RELATED),
        "gold_share": {c: round(float((pred["gold"] == c).mean()), 4) if n else 0.0 for c in CLASSES},
        "predicted_share": {c: round(float((pred["predicted"] == c).mean()), 4) if n else 0.0 for c in CLASSES},
    }
