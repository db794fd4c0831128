"""``train_nli`` training loop: model, optimiser and schedule, training, prediction, held-out metrics."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from ..config import NLITrainingConfig
from ..loading import resolve_model
from ..training import collate, epoch_batches, lr_factor, make_optimizer, total_steps
from ..training import native_bf16 as use_bf16
from .data import LABEL2ID, LABELS, Pair, allowed_mask, encode, nli_loss

FREEZE_WORD_EMBEDDINGS = True  # see the package docstring; candidate for an NLITrainingConfig field
LOSS_POINTS = 200  # about this many rows in plots/nli/loss.csv, whatever the run length


@dataclass
class TrainResult:
    steps: int
    loss_curve: list[tuple[int, float]]  # (step, mean loss of the window ending there)
    final_loss: float
    seconds: float
    pairs_seen: int


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


# ---------------------------------------------------------------------------
# Train / predict / evaluate
# ---------------------------------------------------------------------------


def train(model, tokenizer, pairs: Sequence[Pair], cfg: NLITrainingConfig, device: str,
          progress: bool = True) -> TrainResult:
    """Fine-tune encoder + head in place; returns the loss curve."""
    import torch

    if not pairs:
        raise ValueError("no training pairs: check train_sources / holdout_sources / max_train_pairs")
    encoded = encode(tokenizer, pairs, cfg.max_length)
    lengths = encoded.lengths()
    allowed = torch.from_numpy(allowed_mask(pairs))
    weights = torch.tensor([p.weight for p in pairs], dtype=torch.float32)
    steps = total_steps(len(pairs), cfg.batch_size, cfg.epochs)
    warmup = round(cfg.warmup_ratio * steps)
    optimizer = make_optimizer(model, cfg.learning_rate, cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, steps, warmup, cfg.lr_schedule))
    autocast = use_bf16(device)
    window = max(1, steps // LOSS_POINTS)
    curve, recent, seen = [], [], 0
    model.to(device).train()
    start = time.perf_counter()
    bar = tqdm(epoch_batches(lengths, cfg.batch_size, cfg.seed, steps), total=steps, desc="train nli",
               unit="step", disable=not progress)
    for step, idx in enumerate(bar, 1):
        batch = {k: v.to(device) for k, v in collate(encoded, idx, tokenizer.pad_token_id).items()}
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            logits = model(**batch).logits
        loss = nli_loss(logits, allowed[idx].to(device), weights[idx].to(device), cfg.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # guards the fresh head's first steps
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        recent.append(loss.item())
        seen += len(idx)
        if step % window == 0 or step == steps:
            curve.append((step, float(np.mean(recent[-window:]))))
            bar.set_postfix(loss=f"{curve[-1][1]:.3f}")
    seconds = time.perf_counter() - start
    tail = recent[-max(1, min(50, steps // 10)):]  # the last ~10% of steps (<= 50)
    return TrainResult(steps, curve, float(np.mean(tail)), seconds, seen)


def predict(model, tokenizer, pairs: Sequence[Pair], cfg: NLITrainingConfig, device: str,
            progress: bool = True) -> np.ndarray:
    """Predicted head ids for ``pairs``, batched by length."""
    import torch

    encoded = encode(tokenizer, pairs, cfg.max_length)
    order = np.argsort(-encoded.lengths(), kind="stable")
    preds = np.zeros(len(pairs), dtype=np.int64)
    autocast = use_bf16(device)
    model.to(device).eval()
    batches = [order[i : i + cfg.eval_batch_size] for i in range(0, len(order), cfg.eval_batch_size)]
    with torch.inference_mode():
        for idx in tqdm(batches, desc="eval nli", unit="batch", disable=not progress):
            batch = {k: v.to(device) for k, v in collate(encoded, idx, tokenizer.pad_token_id).items()}
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
                preds[idx] = model(**batch).logits.argmax(dim=-1).cpu().numpy()
    return preds


def evaluate(pairs: Sequence[Pair], preds: np.ndarray) -> dict[str, Any]:
    """Accuracy per held-out source and overall, macro-F1, and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, f1_score

    gold = np.array([LABEL2ID[p.label] for p in pairs])
    sources = np.array([p.source for p in pairs])
    per_source = {s: round(float((preds[sources == s] == gold[sources == s]).mean()), 4)
                  for s in sorted(set(sources))}
    matrix = confusion_matrix(gold, preds, labels=list(range(len(LABELS))))
    return {
        "accuracy": round(float((preds == gold).mean()), 4),
        "macro_f1": round(float(f1_score(gold, preds, average="macro", labels=list(range(len(LABELS))))), 4),
        "accuracy_by_source": per_source,
        "n_by_source": dict(Counter(sources.tolist())),
        "confusion": {"labels": list(LABELS), "rows_actual_cols_predicted": matrix.tolist()},
    }

