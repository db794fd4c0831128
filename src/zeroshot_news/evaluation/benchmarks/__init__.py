"""Public benchmarks run with the project's own zero-shot setup (no training on them).

``--name`` picks one section of ``benchmarks`` (conf/config.yaml: agnews, fnc1, vast);
its ``name`` field picks the runner: AG News (topic), FNC-1 (headline-body stance) or
VAST (stance toward a free-text topic). Its ``scorer`` picks the configured topic model
(``model``) or the stance model (``stance.model``, falling back to ``model``). Writes
the headline metrics (what ``dvc exp show`` compares), the full report with the published
reference number next to it, per-item predictions with gold labels, and an (actual,
predicted) table for DVC's confusion plot.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType

import pandas as pd

from zeroshot_news.config import BenchmarkConfig, Config, ConfigError, ModelConfig
from zeroshot_news.evaluation.benchmarks import agnews, fnc1, vast
from zeroshot_news.scorers.base import PairScorer, model_id
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.scorers.cached import CachedScorer

log = logging.getLogger(__name__)

MODULES: dict[str, ModuleType] = {"agnews": agnews, "fnc1": fnc1, "vast": vast}


def benchmark_section(cfg: Config, name: str) -> BenchmarkConfig:
    if name not in cfg.benchmarks:
        raise ConfigError(f"benchmarks.{name}: no such benchmark (configured: {sorted(cfg.benchmarks)}); "
                          "conf/config.yaml places each one, e.g. `benchmark@benchmarks.vast: vast`")
    return cfg.benchmarks[name]


def model_of(cfg: Config, which: str, bench: BenchmarkConfig | None = None) -> ModelConfig:
    """The configured topic model (``model``), stance model (``stance``) or the benchmark's own."""
    if which == "own":
        assert bench is not None and bench.model is not None  # validated with the config
        return bench.model
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
    model_cfg = model_of(cfg, bench.scorer, bench)
    scorer = benchmark_scorer(cfg, model_cfg, progress)
    module = MODULES[bench.name]
    extra = {}
    if bench.self_train_encoder is not None:
        extra["model_cfg"] = model_cfg  # the encoder it fine-tunes
    if bench.relevance_scorer not in (None, bench.scorer):
        relevance_cfg = model_of(cfg, bench.relevance_scorer, bench)
        extra["relevance_scorer"] = benchmark_scorer(cfg, relevance_cfg, progress)
    relevance = "relevance_scorer" in extra
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
                  "fingerprint": model_id(scorer)},
        **({"relevance_model": {"scorer": bench.relevance_scorer, "backend": relevance_cfg.backend,
                                "name_or_path": relevance_cfg.name_or_path,
                                "fingerprint": model_id(extra["relevance_scorer"])}} if relevance else {}),
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
                f"all-discuss {base['all_discuss']['relative_score']}%, this run's relatedness then discuss "
                f"{base['related_then_discuss']['relative_score']}%), macro-F1 {metrics['macro_f1']}")
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


__all__ = ["MODULES", "RUN_ONLY_KEYS", "headline", "run_benchmark", "summary"]
