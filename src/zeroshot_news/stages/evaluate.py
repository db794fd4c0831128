"""Evaluate stage: the pipeline's predictions against the dev gold, the crowd gold and the stance gold
(:mod:`zeroshot_news.evaluation.evaluate`); the headline goes to ``metrics/`` for
``dvc metrics``, the full report and the plot tables beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from zeroshot_news.evaluation.evaluate import evaluate_run, headline, log_summary
from zeroshot_news.io import atomic_path, read_parquet, write_json, write_parquet
from zeroshot_news.stages.common import stage_args


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "topics": "topic predictions (parquet)",
        "stance": "stance predictions (parquet)",
        "articles": "cleaned articles, to match gold items (parquet)",
        "removed": "articles removed by cleaning (parquet)",
        "quarantine": "records quarantined by ingest (parquet)",
        "sentences": "crowd-annotated sentences (parquet)",
        "stance-gold": "the stance gold's labels (CSV)",
        "stance-gold-predictions": "the stance_gold stage's predictions (parquet)",
        "short-gold": "the short-item topic gold (CSV)",
        "short-gold-predictions": "the topic_short stage's predictions (parquet)",
    }, outputs={
        "metrics": "the headline metrics (JSON; see headline())",
        "details": "the full evaluation report (JSON)",
        "plots-dir": "confusion and precision-recall tables (CSV)",
        "crowd-out": "the derived crowd stance gold (parquet)",
    })
    metrics, plots, crowd = evaluate_run(
        read_parquet(args.topics), read_parquet(args.stance), read_parquet(args.articles),
        read_parquet(args.removed), read_parquet(args.quarantine), read_parquet(args.sentences), cfg,
        stance_gold=(read_parquet(args.stance_gold_predictions),
                     pd.read_csv(args.stance_gold, dtype=str, keep_default_na=False)),
        short_gold=(read_parquet(args.short_gold_predictions),
                    pd.read_csv(args.short_gold, dtype=str, keep_default_na=False)))
    write_json(metrics, args.details)
    write_json(headline(metrics), args.metrics)
    out = Path(args.plots_dir)
    for name, frame in plots.items():
        with atomic_path(out / name) as tmp:
            frame.to_csv(tmp, index=False)
    write_parquet(crowd, args.crowd_out)
    log_summary(metrics)
