"""Topic stage: multi-label zero-shot topics over the configured taxonomy.

Each article is split into passages, every (passage, label hypothesis) pair is
scored, a label's hypotheses combine per passage (``topic.hypothesis_combine``) and
passages aggregate to the article (``topic.passage_aggregate``). A label is predicted
when its article score reaches the label's threshold.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from .config import PassageConfig, TaxonomyConfig, TopicConfig, load_config
from .io import read_parquet, write_json, write_parquet
from .passages import aggregate, article_text
from .scorers import PairScorer, build_scorer

TOPIC_COLUMNS = ["doc_id", "label", "score", "threshold", "predicted", "n_passages", "best_passage",
                 "passage_scores"]
PASSAGE_COLUMNS = ["doc_id", "passage", "start", "end", "n_tokens", "forced", "text"]
SCORE_DECIMALS = 6  # rounding keeps outputs byte-stable across BLAS thread schedules


@dataclass
class TopicResult:
    topics: pd.DataFrame
    passages: pd.DataFrame
    report: dict[str, Any]


def split_articles(articles: pd.DataFrame, scorer: PairScorer, hypotheses: list[str], overlap: int,
                   progress: bool = True, desc: str = "split") -> pd.DataFrame:
    """One row per passage of every article (``PASSAGE_COLUMNS``)."""
    rows = []
    for doc_id, title, body in tqdm(zip(articles["doc_id"], articles["title"], articles["body"], strict=True),
                                    total=len(articles), desc=desc, unit="doc", disable=not progress):
        for p in scorer.split(article_text(title, body), hypotheses, overlap):
            rows.append((doc_id, p.index, p.start, p.end, p.n_tokens, p.forced, p.text))
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)


def combine_hypotheses(scores: np.ndarray, label_of: list[str], labels: list[str], how: str) -> np.ndarray:
    """[P, H] hypothesis scores -> [P, L] label scores (max or mean over a label's hypotheses)."""
    out = np.zeros((scores.shape[0], len(labels)))
    for j, label in enumerate(labels):
        cols = [i for i, lab in enumerate(label_of) if lab == label]
        sub = scores[:, cols]
        out[:, j] = sub.max(axis=1) if how == "max" else sub.mean(axis=1)
    return out


def classify_topics(articles: pd.DataFrame, scorer: PairScorer, taxonomy: TaxonomyConfig,
                    topic: TopicConfig, passages_cfg: PassageConfig, progress: bool = True) -> TopicResult:
    pairs = taxonomy.hypotheses()
    label_of = [lab for lab, _ in pairs]
    hypotheses = [h for _, h in pairs]
    labels = [lab.name for lab in taxonomy.labels]
    thresholds = {lab.name: lab.threshold for lab in taxonomy.labels}
    passages = split_articles(articles, scorer, hypotheses, passages_cfg.overlap_sentences, progress)
    scores = combine_hypotheses(scorer.score(list(passages["text"]), hypotheses), label_of, labels,
                                topic.hypothesis_combine)
    scores = np.round(scores, SCORE_DECIMALS)
    rows = []
    bounds = passages.groupby("doc_id", sort=False).indices
    for doc_id in articles["doc_id"]:
        idx = bounds.get(doc_id, np.array([], dtype=int))
        doc_scores = scores[idx]
        article = (np.round(aggregate(doc_scores, topic.passage_aggregate, topic.top_k), SCORE_DECIMALS)
                   if len(idx) else np.zeros(len(labels)))
        for j, label in enumerate(labels):
            rows.append({
                "doc_id": doc_id, "label": label, "score": float(article[j]),
                "threshold": thresholds[label], "predicted": bool(article[j] >= thresholds[label]),
                "n_passages": len(idx),
                "best_passage": int(np.argmax(doc_scores[:, j])) if len(idx) else -1,
                "passage_scores": [float(x) for x in doc_scores[:, j]],
            })
    topics = pd.DataFrame(rows, columns=TOPIC_COLUMNS)
    predicted = topics[topics["predicted"]].groupby("label").size()
    report = {
        "articles": len(articles),
        "passages": len(passages),
        "pairs_scored": len(passages) * len(hypotheses),
        "predicted_share": {lab: round(float(predicted.get(lab, 0)) / max(len(articles), 1), 4)
                            for lab in labels},
        "mean_score": {lab: round(float(topics.loc[topics["label"] == lab, "score"].mean()), 4)
                       if len(topics) else 0.0 for lab in labels},
        "no_topic_share": round(float((~topics.groupby("doc_id")["predicted"].any()).mean()), 4)
        if len(topics) else 0.0,
    }
    return TopicResult(topics=topics, passages=passages, report=report)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="zeroshot-news topic", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--input", default="data/processed/articles.parquet")
    ap.add_argument("--out-dir", default="data/predictions")
    ap.add_argument("--report", default="metrics/topic.json")
    args = ap.parse_args(argv)
    cfg = load_config(args.params)
    scorer = build_scorer(cfg.model)
    articles = read_parquet(args.input)
    start = time.perf_counter()
    result = classify_topics(articles, scorer, cfg.taxonomy, cfg.topic, cfg.passages)
    elapsed = time.perf_counter() - start
    out = Path(args.out_dir)
    write_parquet(result.topics, out / "topics.parquet")
    write_parquet(result.passages, out / "topic_passages.parquet")
    write_json(result.report, args.report)
    print(f"topic [{cfg.model.backend}]: {len(articles)} articles, {len(result.passages)} passages in "
          f"{elapsed:.1f}s ({len(articles) / max(elapsed, 1e-9):.2f} articles/s); "
          f"predicted share {result.report['predicted_share']}", file=sys.stderr)
