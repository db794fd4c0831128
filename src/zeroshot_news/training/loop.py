"""The one fine-tuning loop of the project's cross-encoders (NLI and stance) and its parts.

Tokenise once, length-grouped seeded batches with dynamic padding, AdamW without decay
on biases / LayerNorm, linear warm-up + decay, gradient clipping, bf16 autocast only
where the device has native bf16, fp16 safetensors on disk. :func:`fit` trains with a
caller's loss (the NLI loss over allowed classes; cross-entropy for stance) and
:func:`predict_logits` scores held-out pairs; ``nli`` and ``stance`` differ only in data,
head and loss.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

LOSS_POINTS = 200  # about this many rows in a loss.csv, whatever the run length


class Recipe(Protocol):
    """The fields of a training config the loop reads (NLITrainingConfig, StanceTrainingConfig)."""

    seed: int
    epochs: float
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    lr_schedule: str


@dataclass
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]

    def lengths(self) -> np.ndarray:
        return np.array([len(ids) for ids in self.input_ids])


def encode_pairs(tokenizer, firsts: Sequence[str], seconds: Sequence[str], max_length: int) -> Encoded:
    """Tokenise every pair once, truncating the longer side first; padding happens per batch."""
    enc = tokenizer(list(firsts), list(seconds), truncation="longest_first", max_length=max_length,
                    padding=False, return_token_type_ids=True)
    return Encoded(enc["input_ids"], enc["token_type_ids"])


def collate(encoded: Encoded, idx: Sequence[int], pad_id: int) -> dict[str, Any]:
    """Pad one batch to its own longest pair (dynamic padding)."""
    import torch

    width = max(len(encoded.input_ids[i]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        n = len(encoded.input_ids[i])
        ids[row, :n] = torch.tensor(encoded.input_ids[i])
        types[row, :n] = torch.tensor(encoded.token_type_ids[i])
        mask[row, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def length_grouped_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                           pool: int = 50) -> list[np.ndarray]:
    """Shuffled batches of similar-length pairs (shuffle, sort within pools of ``pool``
    batches, cut, shuffle the batch order); all randomness from ``rng``."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = order[start : start + batch_size * pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, total_steps: int) -> Iterator[np.ndarray]:
    """``total_steps`` batches over as many (partial) epochs as needed, each epoch reshuffled."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < total_steps:
        for batch in length_grouped_batches(lengths, batch_size, rng):
            if done == total_steps:
                return
            yield batch
            done += 1


def total_steps(n_items: int, batch_size: int, epochs: float) -> int:
    return max(1, math.ceil(epochs * math.ceil(n_items / batch_size)))


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Learning-rate multiplier: linear warm-up, then linear / cosine decay to 0, or constant."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return max(0.0, 1 - progress)


def native_bf16(device: str) -> bool:
    """True on CUDA with bf16 and on CPUs with native bf16 (AVX512-BF16 / AMX)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


def make_optimizer(model, learning_rate: float, weight_decay: float):
    """AdamW; no weight decay on biases and LayerNorm weights."""
    import torch

    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=learning_rate)


def save_model(model, tokenizer, output_dir: Path | str, card: str) -> Path:
    """fp16 safetensors + config (dtype float32: loads upcast) + tokenizer + card, via a temp dir."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_dir.parent / f".{output_dir.name}.tmp-{os.getpid()}"
    old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.cpu().half().save_pretrained(tmp, safe_serialization=True)
        config_path = tmp / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        for key in ("dtype", "torch_dtype"):
            if key in config:
                config[key] = "float32"
        config.setdefault("dtype", "float32")
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        for f in tmp.iterdir():
            f.chmod(0o644)
        if output_dir.exists():
            output_dir.rename(old)
        tmp.rename(output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        model.float()
    shutil.rmtree(old, ignore_errors=True)
    return output_dir


@dataclass
class TrainResult:
    steps: int
    loss_curve: list[tuple[int, float]]  # (step, mean loss of the window ending there)
    final_loss: float
    seconds: float
    items_seen: int


def fit(model, encoded: Encoded, loss_fn: Callable[[Any, np.ndarray], Any], recipe: Recipe, pad_id: int,
        device: str, bf16: bool, desc: str = "train", progress: bool = True) -> TrainResult:
    """Fine-tune ``model`` in place on ``encoded`` pairs: ``loss_fn(logits, batch indices)``
    is the batch loss. Seeded length-grouped batches, AdamW, warm-up + decay, clipping."""
    import torch

    n = len(encoded.input_ids)
    if not n:
        raise ValueError("no training items")
    lengths = encoded.lengths()
    steps = total_steps(n, recipe.batch_size, recipe.epochs)
    warmup = round(recipe.warmup_ratio * steps)
    optimizer = make_optimizer(model, recipe.learning_rate, recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, steps, warmup, recipe.lr_schedule))
    window = max(1, steps // LOSS_POINTS)
    curve, recent, seen = [], [], 0
    model.to(device).train()
    start = time.perf_counter()
    bar = tqdm(epoch_batches(lengths, recipe.batch_size, recipe.seed, steps), total=steps, desc=desc,
               unit="step", disable=not progress)
    for step, idx in enumerate(bar, 1):
        batch = {k: v.to(device) for k, v in collate(encoded, idx, pad_id).items()}
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            logits = model(**batch).logits
        loss = loss_fn(logits, idx)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # guards a fresh head's first steps
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


def predict_logits(model, encoded: Encoded, batch_size: int, pad_id: int, device: str, bf16: bool,
                   n_classes: int, desc: str = "eval", progress: bool = True):
    """[n, n_classes] float32 logits (a torch tensor on the CPU), batched longest first."""
    import torch

    n = len(encoded.input_ids)
    out = torch.zeros((n, n_classes), dtype=torch.float32)
    if not n:
        return out
    order = np.argsort(-encoded.lengths(), kind="stable")
    model.to(device).eval()
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with torch.inference_mode():
        for idx in tqdm(batches, desc=desc, unit="batch", disable=not progress):
            batch = {k: v.to(device) for k, v in collate(encoded, idx, pad_id).items()}
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                out[torch.from_numpy(idx)] = model(**batch).logits.float().cpu()
    return out
