"""Fine-tuning helpers shared by training stages (a lower layer: stages never import each other).

Tokenise once, length-grouped seeded batches with dynamic padding, AdamW without decay
on biases / LayerNorm, linear warm-up + decay, bf16 autocast only where the CPU has
native bf16, fp16 safetensors on disk. ``train_nli`` and ``train_stance`` both use them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


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
