"""Public benchmarks run with the project's own zero-shot setup (no training on them).

    python -m zeroshot_news benchmark --name agnews --metrics M.json --details D.json \
        --predictions P.parquet --plots-dir DIR [overrides...]

``--name`` picks one section of ``benchmarks`` (conf/config.yaml: agnews, fnc1, vast);
its ``name`` field picks the runner: AG News (topic), FNC-1 (headline-body stance) or
VAST (stance toward a free-text topic). Its ``scorer`` picks the configured topic model
(``model``) or the stance model (``stance.model``, falling back to ``model``). Writes
the headline metrics (what ``dvc exp show`` compares), the full report with the published
reference number next to it, per-item predictions with gold labels, and an (actual,
predicted) table for DVC's confusion plot.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from types import ModuleType

import pandas as pd

from ..config import BenchmarkConfig, Config, ConfigError, ModelConfig, add_config_args, config_from_args
from ..io import atomic_path, write_json, write_parquet
from ..scorers import PairScorer, build_scorer
from ..scorers.cache import CachedScorer
from . import agnews, fnc1, vast
from .common import confusion_frame

log = logging.getLogger(__name__)

MODULES: dict[str, ModuleType] = {"agnews": agnews, "fnc1": fnc1, "vast": vast}


def benchmark_section(cfg: Config, name: str) -> BenchmarkConfig:
    if name not in cfg.benchmarks:
        raise ConfigError(f"benchmarks.{name}: no such benchmark (configured: {sorted(cfg.benchmarks)}); "
                          "conf/config.yaml places each one, e.g. `benchmark@benchmarks.vast: vast`")
    return cfg.benchmarks[name]


def model_of(cfg: Config, which: str) -> ModelConfig:
    """The configured topic model (``model``) or stance model (``stance``)."""
    return cfg.model if which == "model" else cfg.stance_model()


def benchmark_scorer(cfg: Config, model_cfg: ModelConfig, progress: bool) -> PairScorer:
    # The on-disk score cache pays off for a cross-encoder (each pair is a forward pass);
    # a bi-encoder scores whole passage x hypothesis grids here (millions of cheap pairs
    # for FNC-1), which would only bloat the cache.
    cache = cfg.cache if model_cfg.backend in ("nli", "stance") else None
    return build_scorer(model_cfg, progress=progress, cache=cache)


def run_benchmark(cfg: Config, name: str, progress: bool = True) -> tuple[dict, pd.DataFrame]:
    """Run one configured benchmark: (metrics incl. model, reference and timing, predictions)."""
    bench = benchmark_section(cfg, name)
    model_cfg = model_of(cfg, bench.scorer)
    scorer = benchmark_scorer(cfg, model_cfg, progress)
    module = MODULES[bench.name]
    extra = {}
    if bench.relevance_scorer not in (None, bench.scorer):
        relevance_cfg = model_of(cfg, bench.relevance_scorer)
        extra["relevance_scorer"] = benchmark_scorer(cfg, relevance_cfg, progress)
    start = time.perf_counter()
    results, predictions = module.run(bench, scorer, cfg.passages.overlap_sentences, progress=progress, **extra)
    seconds = time.perf_counter() - start
    metrics = {
        "benchmark": bench.name,
        "path": bench.path,
        "max_items": bench.max_items,
        "sample_seed": bench.sample_seed,
        "scorer": bench.scorer,
        "model": {"backend": model_cfg.backend, "name_or_path": model_cfg.name_or_path,
                  "fingerprint": scorer.fingerprint},
        **({"relevance_model": {"scorer": bench.relevance_scorer, "backend": relevance_cfg.backend,
                                "name_or_path": relevance_cfg.name_or_path,
                                "fingerprint": extra["relevance_scorer"].fingerprint}} if extra else {}),
        "reference": module.REFERENCE,
        **results,
        # Wall time of scoring (model loading excluded); depends on the machine.
        "timing": {"seconds": round(seconds, 1), "items_per_s": round(len(predictions) / max(seconds, 1e-9), 2)},
    }
    if isinstance(scorer, CachedScorer):
        metrics["score_cache"] = scorer.stats()
    return metrics, predictions


def summary(metrics: dict) -> str:
    """A few lines for the terminal: the headline numbers next to the reference."""
    head = (f"{metrics['benchmark']} [{metrics['model']['backend']}: {metrics['model']['name_or_path']}] "
            f"{metrics['n_items']} items in {metrics['timing']['seconds']}s "
            f"({metrics['timing']['items_per_s']} items/s)")
    if metrics["benchmark"] == "agnews":
        body = f"accuracy {metrics['accuracy']}, macro-F1 {metrics['macro_f1']}"
    elif metrics["benchmark"] == "fnc1":
        base = metrics["baselines"]
        body = (f"FNC score {metrics['fnc_score']['relative_score']}% "
                f"(all-unrelated {base['all_unrelated']['relative_score']}%, "
                f"all-discuss {base['all_discuss']['relative_score']}%), macro-F1 {metrics['macro_f1']}")
    else:
        body = f"macro-F1 zero-shot {metrics['macro_f1_zero_shot']}, all {metrics['macro_f1_all']}"
    if "score_cache" in metrics:
        s = metrics["score_cache"]
        head += f" (score cache: {s['hits']} pairs reused, {s['misses']} computed)"
    ref = metrics["reference"]
    ref_value = ref.get("value", ref.get("range"))
    return (f"{head}\n  {body}\n  per-class F1 {metrics['per_class_f1']}\n"
            f"  reference {ref['metric']} {ref_value}: {ref['what']}")


# Machine- and history-dependent: printed, never written to the metrics file, so the
# same inputs and params give the same metrics bytes.
RUN_ONLY_KEYS = ("timing", "score_cache")
# Per runner, the numbers compared across experiments (the rest stays in the details).
HEADLINE_KEYS = {"agnews": ("accuracy", "macro_f1", "zero_shot_accuracy"),
                 "fnc1": ("fnc_score.relative_score", "macro_f1"),
                 "vast": ("macro_f1_zero_shot", "macro_f1_all")}


def headline(metrics: dict) -> dict:
    """The few numbers ``dvc exp show`` should show for one benchmark, plus its size."""
    out = {"n_items": metrics["n_items"]}
    for key in HEADLINE_KEYS[metrics["benchmark"]]:
        value: object = metrics
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            out[key.split(".")[-1]] = value
    return out


def write_outputs(metrics: dict, predictions: pd.DataFrame, metrics_path: str, details_path: str,
                  predictions_path: str, plots_dir: str) -> None:
    write_json({k: v for k, v in metrics.items() if k not in RUN_ONLY_KEYS}, details_path)
    write_json(headline(metrics), metrics_path)
    write_parquet(predictions, predictions_path)
    with atomic_path(Path(plots_dir) / "confusion.csv") as tmp:
        confusion_frame(predictions["gold"], predictions["predicted"]).to_csv(tmp, index=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="which section of `benchmarks` to run (agnews, fnc1, vast)")
    ap.add_argument("--metrics", required=True, help="output: the headline metrics (JSON)")
    ap.add_argument("--details", required=True, help="output: the full report, with the reference (JSON)")
    ap.add_argument("--predictions", required=True, help="output: per-item predictions with gold labels (parquet)")
    ap.add_argument("--plots-dir", required=True, help="output: confusion.csv for DVC's confusion plot")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    metrics, predictions = run_benchmark(config_from_args(args), args.name, progress=not args.no_progress)
    write_outputs(metrics, predictions, args.metrics, args.details, args.predictions, args.plots_dir)
    log.info("%s", summary(metrics))


__all__ = ["MODULES", "headline", "main", "run_benchmark"]
