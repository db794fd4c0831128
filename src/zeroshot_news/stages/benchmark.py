"""Benchmark stage: one public benchmark (``--name``: a section of ``benchmarks`` in
params.yaml) with the project's zero-shot setup (:mod:`zeroshot_news.evaluation.benchmarks`).

Writes the headline metrics (what ``dvc exp show`` compares), the full report with the
published reference next to it, per-item predictions with gold labels, and an (actual,
predicted) table for DVC's confusion plot.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from zeroshot_news.evaluation.benchmarks import RUN_ONLY_KEYS, headline, run_benchmark, summary
from zeroshot_news.evaluation.benchmarks.common import confusion_frame
from zeroshot_news.io import atomic_path, write_json, write_parquet
from zeroshot_news.stages.common import stage_args

log = logging.getLogger(__name__)


def write_outputs(metrics: dict, predictions: pd.DataFrame, metrics_path: str, details_path: str,
                  predictions_path: str, plots_dir: str) -> None:
    write_json({k: v for k, v in metrics.items() if k not in RUN_ONLY_KEYS}, details_path)
    write_json(headline(metrics), metrics_path)
    write_parquet(predictions, predictions_path)
    with atomic_path(Path(plots_dir) / "confusion.csv") as tmp:
        confusion_frame(predictions["gold"], predictions["predicted"]).to_csv(tmp, index=False)


def _options(ap) -> None:
    ap.add_argument("--name", required=True, help="which section of `benchmarks` to run (agnews, fnc1, vast)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={}, outputs={
        "metrics": "the headline metrics (JSON)",
        "details": "the full report, with the reference (JSON)",
        "predictions": "per-item predictions with gold labels (parquet)",
        "plots-dir": "confusion.csv for DVC's confusion plot",
    }, extra=_options)
    metrics, predictions = run_benchmark(cfg, args.name, progress=not args.no_progress)
    write_outputs(metrics, predictions, args.metrics, args.details, args.predictions, args.plots_dir)
    log.info("%s", summary(metrics))
