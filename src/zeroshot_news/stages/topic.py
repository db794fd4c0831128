"""Topic stage: every cleaned article's topic scores, streamed chunk by chunk (``engine``).

With the self-trained head (``models/topic_head.json``, the ``self_train`` stage's output)
each passage is scored by the head on its embedding; otherwise zero-shot pair scores
(:func:`~zeroshot_news.zeroshot.topic.classify_topics`).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import pandas as pd

from zeroshot_news.config import Config, for_workers
from zeroshot_news.engine import run_chunked
from zeroshot_news.io import write_json
from zeroshot_news.scorers.loading import resolve_model
from zeroshot_news.stages.common import stage_args
from zeroshot_news.zeroshot.topic import (
    PASSAGE_SCHEMA,
    TOPIC_SCHEMA,
    TopicReport,
    classify_topics,
    topic_scorers,
)
from zeroshot_news.zeroshot.topic_head import TopicHead, read_head

log = logging.getLogger(__name__)


class TopicWorker:
    """Builds the scorer once (per process or Ray actor) and classifies chunks of articles."""

    def __init__(self, cfg: Config, head: TopicHead | None = None, progress: bool = False):
        self.cfg, self.head = cfg, head
        self.scorer, self.head_encoder = topic_scorers(cfg, head, progress)

    def __call__(self, chunk: pd.DataFrame) -> dict[str, pd.DataFrame]:
        cfg = self.cfg
        result = classify_topics(chunk, self.scorer, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                                 head=self.head, head_encoder=self.head_encoder)
        return {"topics": result.topics, "passages": result.passages}


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "articles": "cleaned articles (parquet)",
        "head": "the self_train stage's topic head (JSON)",
    }, outputs={
        "topics": "one row per article x label (parquet)",
        "passages": "the passages that were scored (parquet)",
        "report": "stage metrics (JSON)",
    })
    cfg = for_workers(cfg)
    resolve_model(cfg.model.name_or_path)  # a bad model path fails now, not inside a worker
    head = read_head(args.head) if cfg.uses_topic_head else None
    report = TopicReport([lab.name for lab in cfg.taxonomy.labels], len(cfg.taxonomy.hypotheses()))
    start = time.perf_counter()
    n = run_chunked(args.articles, ["doc_id", "title", "body"], partial(TopicWorker, cfg, head),
                    {"topics": (Path(args.topics), TOPIC_SCHEMA), "passages": (Path(args.passages), PASSAGE_SCHEMA)},
                    cfg.engine, on_chunk=report.update)
    elapsed = time.perf_counter() - start
    summary = report.to_dict()
    write_json(summary, args.report)
    log.info("topic [%s%s, engine %s]: %d articles, %d passages in %.1fs (%.2f articles/s, model loading included); "
             "predicted share %s", cfg.model.backend, " + self-trained head" if head else "",
             cfg.engine.name, n, summary["passages"], elapsed,
             n / max(elapsed, 1e-9), summary["predicted_share"])
