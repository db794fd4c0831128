"""train_stance stage: fine-tune the stance cross-encoder on VAST train (:mod:`zeroshot_news.training.stance`)."""

from __future__ import annotations

import logging

from zeroshot_news.config import ConfigError
from zeroshot_news.stages.common import stage_args
from zeroshot_news.training.stance import run

log = logging.getLogger(__name__)


def _options(ap) -> None:
    ap.add_argument("--no-progress", action="store_true")
    ap.epilog = ("e.g. python -m zeroshot_news train_stance --metrics /tmp/m.json --plots-dir /tmp/p "
                 "stance_training.max_train_items=200 stance_training.output_dir=/tmp/m")


def main(argv: list[str] | None = None) -> None:
    args, config = stage_args(argv, __doc__, inputs={}, outputs={
        "metrics": "held-out-topic metrics (JSON)", "plots-dir": "confusion.csv and loss.csv"}, extra=_options)
    cfg = config.stance_training
    if cfg is None:
        raise ConfigError("stance_training: missing section (conf/stance_training/default.yaml)")
    metrics = run(cfg, args.metrics, args.plots_dir, not args.no_progress)
    val = metrics["validation"]
    log.info("train_stance: %d items x %s epochs in %ss (%s items/s), final loss %s; held-out topics macro-F1 "
             "%.3f (before training %.3f), accuracy %.3f; model -> %s", metrics["train_items"], cfg.epochs,
             metrics["train_seconds"], metrics["train_items_per_second"], metrics["final_train_loss"],
             val["macro_f1"], metrics["validation_before_training"]["macro_f1"], val["accuracy"], cfg.output_dir)
