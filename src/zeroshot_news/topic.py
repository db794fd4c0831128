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
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from .config import Config, PassageConfig, TaxonomyConfig, TopicConfig, for_workers, load_config
from .engine import run_chunked
from .io import write_json
from .passages import aggregate, article_text
from .scorers import PairScorer, build_scorer, resolve_model

TOPIC_COLUMNS = ["doc_id", "label", "score", "threshold", "predicted", "n_passages", "best_passage",
                 "passage_scores"]
PASSAGE_COLUMNS = ["doc_id", "passage", "start", "end", "n_tokens", "forced", "text"]
SCORE_DECIMALS = 6  # rounding keeps outputs byte-stable across BLAS thread schedules


TOPIC_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("label", pa.string()), ("score", pa.float64()), ("threshold", pa.float64()),
    ("predicted", pa.bool_()), ("n_passages", pa.int64()), ("best_passage", pa.int64()),
    ("passage_scores", pa.list_(pa.float64())),
])
PASSAGE_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("passage", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("n_tokens", pa.int64()), ("forced", pa.bool_()), ("text", pa.string()),
])


class TopicReport:
    """Stage report accumulated chunk by chunk (so it never needs the whole table)."""

    def __init__(self, labels: list[str], n_hypotheses: int):
        self.labels, self.n_hypotheses = labels, n_hypotheses
        self.articles = self.passages = self.no_topic = 0
        self.predicted = dict.fromkeys(labels, 0)
        self.score_sum = dict.fromkeys(labels, 0.0)

    def update(self, results: dict[str, pd.DataFrame]) -> None:
        topics, passages = results["topics"], results["passages"]
        self.articles += topics["doc_id"].nunique()
        self.passages += len(passages)
        for label, group in topics.groupby("label"):
            self.predicted[label] += int(group["predicted"].sum())
            self.score_sum[label] += float(group["score"].sum())
        self.no_topic += int((~topics.groupby("doc_id")["predicted"].any()).sum())

    def to_dict(self) -> dict[str, Any]:
        n = max(self.articles, 1)
        return {
            "articles": self.articles,
            "passages": self.passages,
            "pairs_scored": self.passages * self.n_hypotheses,
            "predicted_share": {lab: round(self.predicted[lab] / n, 4) for lab in self.labels},
            "mean_score": {lab: round(self.score_sum[lab] / n, 4) for lab in self.labels},
            "no_topic_share": round(self.no_topic / n, 4),
        }


@dataclass
class TopicResult:
    topics: pd.DataFrame
    passages: pd.DataFrame
    report: dict[str, Any]


def split_articles(articles: pd.DataFrame, scorer: PairScorer, hypotheses: list[str], overlap: int,
                   progress: bool = True, desc: str = "split", mode: str = "split") -> pd.DataFrame:
    """One row per passage of every article (``PASSAGE_COLUMNS``); ``mode`` is passages.mode."""
    rows = []
    for doc_id, title, body in tqdm(zip(articles["doc_id"], articles["title"], articles["body"], strict=True),
                                    total=len(articles), desc=desc, unit="doc", disable=not progress):
        text = article_text(title, body)
        cut = scorer.lead(text, hypotheses) if mode == "lead" else scorer.split(text, hypotheses, overlap)
        for p in cut:
            rows.append((doc_id, p.index, p.start, p.end, p.n_tokens, p.forced, p.text))
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)


def score_passages(scorer: PairScorer, texts: list[str], hypotheses: list[str], mode: str) -> np.ndarray:
    """scorer.score, letting lead passages' longer pairs be cut like the pipeline's."""
    if mode == "lead":
        return scorer.score(texts, hypotheses, truncate=True)  # type: ignore[call-arg]
    return scorer.score(texts, hypotheses)


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
    passages = split_articles(articles, scorer, hypotheses, passages_cfg.overlap_sentences, progress,
                              mode=passages_cfg.mode)
    scores = combine_hypotheses(score_passages(scorer, list(passages["text"]), hypotheses, passages_cfg.mode),
                                label_of, labels, topic.hypothesis_combine)
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
    report = TopicReport(labels, len(hypotheses))
    report.update({"topics": topics, "passages": passages})
    report = report.to_dict()
    return TopicResult(topics=topics, passages=passages, report=report)


class TopicWorker:
    """Builds the scorer once (per process or Ray actor) and classifies chunks of articles."""

    def __init__(self, cfg: Config, progress: bool = False):
        self.cfg = cfg
        self.scorer = build_scorer(cfg.model, progress=progress, cache=cfg.cache)

    def __call__(self, chunk: pd.DataFrame) -> dict[str, pd.DataFrame]:
        cfg = self.cfg
        result = classify_topics(chunk, self.scorer, cfg.taxonomy, cfg.topic, cfg.passages, progress=False)
        return {"topics": result.topics, "passages": result.passages}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="zeroshot-news topic", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--input", default="data/processed/articles.parquet")
    ap.add_argument("--out-dir", default="data/predictions")
    ap.add_argument("--report", default="metrics/topic.json")
    args = ap.parse_args(argv)
    cfg = for_workers(load_config(args.params))
    resolve_model(cfg.model.name_or_path)  # a bad model path fails now, not inside a worker
    out = Path(args.out_dir)
    report = TopicReport([lab.name for lab in cfg.taxonomy.labels], len(cfg.taxonomy.hypotheses()))
    start = time.perf_counter()
    n = run_chunked(args.input, ["doc_id", "title", "body"], partial(TopicWorker, cfg),
                    {"topics": (out / "topics.parquet", TOPIC_SCHEMA),
                     "passages": (out / "topic_passages.parquet", PASSAGE_SCHEMA)},
                    cfg.engine, on_chunk=report.update)
    elapsed = time.perf_counter() - start
    summary = report.to_dict()
    write_json(summary, args.report)
    print(f"topic [{cfg.model.backend}, engine {cfg.engine.name}]: {n} articles, {summary['passages']} passages in "
          f"{elapsed:.1f}s ({n / max(elapsed, 1e-9):.2f} articles/s, model loading included); "
          f"predicted share {summary['predicted_share']}", file=sys.stderr)
