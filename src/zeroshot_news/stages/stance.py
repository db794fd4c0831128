"""Stance stage: every cleaned article's stance toward each configured target, streamed chunk
by chunk (``engine``); :func:`~zeroshot_news.zeroshot.stance.classify_stance` decides."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import pandas as pd

from zeroshot_news.config import Config, for_workers
from zeroshot_news.engine import run_chunked
from zeroshot_news.io import write_json
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.scorers.loading import resolve_model
from zeroshot_news.stages.common import stage_args
from zeroshot_news.zeroshot.stance import STANCE_SCHEMA, StanceReport, classify_stance

log = logging.getLogger(__name__)


class StanceWorker:
    """Builds the stance scorer once (per process or Ray actor) and classifies chunks."""

    def __init__(self, cfg: Config, keep: frozenset[str] | None = None, progress: bool = False):
        self.cfg, self.keep = cfg, keep
        self.scorer = build_scorer(cfg.stance_model(), progress=progress, cache=cfg.cache)

    def __call__(self, chunk: pd.DataFrame) -> dict[str, pd.DataFrame]:
        if self.keep is not None:
            chunk = chunk[chunk["doc_id"].isin(self.keep)].reset_index(drop=True)
        result = classify_stance(chunk, self.scorer, self.cfg.stance, self.cfg.passages, progress=False)
        return {"stance": result.stance}


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "articles": "cleaned articles (parquet)",
        "topics": "topic predictions, for stance.restrict_to_topics (parquet)",
    }, outputs={"stance": "one row per article x target (parquet)", "report": "stage metrics (JSON)"})
    cfg = for_workers(cfg)
    model_cfg = cfg.stance_model()
    resolve_model(model_cfg.name_or_path)  # a bad model path fails now, not inside a worker
    keep = None
    if cfg.stance.restrict_to_topics:
        topics = pd.read_parquet(args.topics, columns=["doc_id", "label", "predicted"])
        keep = frozenset(topics.loc[topics["predicted"] & topics["label"].isin(cfg.stance.restrict_to_topics),
                                    "doc_id"])
    report = StanceReport([t.name for t in cfg.stance.targets])
    start = time.perf_counter()
    n = run_chunked(args.articles, ["doc_id", "title", "body"], partial(StanceWorker, cfg, keep),
                    {"stance": (Path(args.stance), STANCE_SCHEMA)}, cfg.engine, on_chunk=report.update)
    elapsed = time.perf_counter() - start
    summary = report.to_dict()
    write_json(summary, args.report)
    log.info("stance [%s, engine %s]: %d of %d articles x %d targets in %.1fs (%.2f articles/s, model loading "
             "included)", model_cfg.backend, cfg.engine.name, summary["articles"], n, len(cfg.stance.targets),
             elapsed, n / max(elapsed, 1e-9))
    for target, counts in summary["label_counts"].items():
        log.info("  %-22s %s", target, counts)
