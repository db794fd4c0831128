"""train_nli stage: fine-tune the project's NLI cross-encoder (:mod:`zeroshot_news.training.nli`)."""

from __future__ import annotations

import logging

from zeroshot_news.stages.common import stage_args
from zeroshot_news.training.nli import run

log = logging.getLogger(__name__)


def _options(ap) -> None:
    ap.add_argument("--hypothesis-only", action="store_true",
                    help="diagnostic: blank every premise (train and eval) to measure hypothesis-only bias")
    ap.add_argument("--no-progress", action="store_true")
    ap.epilog = ("e.g. python -m zeroshot_news train_nli --metrics /tmp/m.json --plots-dir /tmp/p "
                 "nli_training.max_train_pairs=20000 nli_training.output_dir=/tmp/m")


def main(argv: list[str] | None = None) -> None:
    args, config = stage_args(argv, __doc__, inputs={}, outputs={
        "metrics": "held-out metrics (JSON)", "plots-dir": "confusion.csv and loss.csv"}, extra=_options)
    cfg = config.nli_training
    metrics = run(cfg, args.metrics, args.plots_dir, args.hypothesis_only, not args.no_progress)
    held = metrics["heldout"]
    by_source = ", ".join(f"{s} {a:.3f}" for s, a in held["accuracy_by_source"].items())
    log.info("train_nli: %d pairs x %s epochs in %ss (%s pairs/s), final loss %s; held-out accuracy %.3f "
             "(macro-F1 %.3f): %s; model -> %s", metrics["train_pairs"], cfg.epochs, metrics["train_seconds"],
             metrics["train_pairs_per_second"], metrics["final_train_loss"], held["accuracy"], held["macro_f1"],
             by_source, cfg.output_dir)
