"""Self-train stage: fit the topic head on the corpus's own passages, label-free
(:mod:`zeroshot_news.zeroshot.self_train`); ``self_train.rounds: 0`` writes the zero-shot marker.
A pool under ``self_train.min_pool_passages`` gets the shipped head (or zero-shot)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from zeroshot_news.io import atomic_path, read_parquet, write_json
from zeroshot_news.stages.common import stage_args
from zeroshot_news.zeroshot.self_train import fit_topic_head
from zeroshot_news.zeroshot.topic_head import dump_head

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "articles": "the unlabeled pool, cleaned articles (parquet)",
        "shipped-head": "the head fitted on the bundled corpus, for a pool too small to self-train on (JSON)",
    }, outputs={"head": "the topic head (JSON)", "report": "stage metrics (JSON)"})
    start = time.perf_counter()
    articles = read_parquet(args.articles) if cfg.uses_topic_head else None
    data, report = fit_topic_head(articles, cfg, args.shipped_head)
    with atomic_path(Path(args.head)) as tmp:
        tmp.write_text(dump_head(data), encoding="utf-8")
    write_json(report, args.report)  # no timings: metrics stay byte-identical across runs
    log.info("self_train: %s in %.1fs", report, time.perf_counter() - start)
