"""Train the stance cross-encoder (the ``train_stance`` stage): (passage, target) -> favor / against / neutral.

The committed model's base is the project's NLI cross-encoder (``models/nli-minilm``): its
head keeps its rows, entailment / contradiction / neutral mapped onto favor / against /
neutral. A base whose labels are already favor / against / neutral is fine-tuned as is; any
other label set is refused (:func:`stance_head_rows`), unless ``stance_training.new_head``
asks for a new seeded 3-way head on a bare encoder (all-MiniLM-L6-v2 won a short comparison
of bases that way; its full run was within noise of the committed model: README).

Data: VAST train (``post``, ``new_topic``; label 0 = con -> against, 1 = pro -> favor,
2 = neutral). Validation holds out whole *topics*, chosen with the seed: VAST's test is
about unseen topics, so rows of a training topic would flatter the score.

The loop is the ``train_nli`` recipe through the shared :mod:`zeroshot_news.training`
helpers: tokenise once, length-grouped seeded batches, AdamW with linear warm-up and
decay, word embeddings frozen, bf16 autocast only where measured faster.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from ..config import ConfigError, StanceTrainingConfig, add_config_args, config_from_args
from ..io import write_json
from ..loading import resolve_model, select_device
from ..training import (
    collate,
    encode_pairs,
    epoch_batches,
    lr_factor,
    make_optimizer,
    native_bf16,
    save_model,
    total_steps,
)

log = logging.getLogger(__name__)

LABELS = ("favor", "against", "neutral")  # the head's id order; scorers find ids by name
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
VAST_LABELS = {0: "against", 1: "favor", 2: "neutral"}  # 0 = con, 1 = pro
NLI_TO_STANCE = {"entailment": "favor", "contradiction": "against", "neutral": "neutral"}
LOSS_POINTS = 200


@dataclass(frozen=True)
class Item:
    text: str
    target: str
    label: str  # one of LABELS


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def read_vast(path: Path | str) -> list[Item]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (VAST lives in data/external/benchmarks/vast)")
    raw = pd.read_csv(path, keep_default_na=False)
    missing = {"post", "new_topic", "label"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    bad = sorted(set(raw["label"]) - set(VAST_LABELS))
    if bad:
        raise ValueError(f"{path}: unknown labels {bad} (expected 0=con, 1=pro, 2=neutral)")
    return [Item(str(p), str(t), VAST_LABELS[int(y)])
            for p, t, y in zip(raw["post"], raw["new_topic"], raw["label"], strict=True)]


def split_by_topic(items: Sequence[Item], fraction: float, seed: int) -> tuple[list[Item], list[Item]]:
    """(train, validation): a seeded ``fraction`` of the distinct topics is held out whole."""
    topics = sorted({it.target for it in items})
    n_held = max(1, round(fraction * len(topics)))
    held = {topics[i] for i in np.random.default_rng(seed).choice(len(topics), size=n_held, replace=False)}
    return [it for it in items if it.target not in held], [it for it in items if it.target in held]


def subsample(items: Sequence[Item], n: int | None, seed: int) -> list[Item]:
    if n is None or n >= len(items):
        return list(items)
    keep = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in keep]


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def stance_head_rows(label2id: dict[str, int], key: str = "stance_training.base_model") -> list[int]:
    """Row of the base head to use for favor, against, neutral; refuses an unmappable label set."""
    names = {name.lower(): int(i) for name, i in label2id.items()}
    if set(LABELS) <= set(names):
        return [names[c] for c in LABELS]
    by_nli = {NLI_TO_STANCE[n]: i for n, i in names.items() if n in NLI_TO_STANCE}
    if set(by_nli) == set(LABELS):
        return [by_nli[c] for c in LABELS]
    raise ConfigError(f"{key}: cannot map the model's labels {sorted(label2id)} onto favor / against / neutral "
                      "(need favor/against/neutral, or an NLI head with entailment/contradiction/neutral)")


def build_model(base: str, freeze_word_embeddings: bool = True, new_head: bool = False):
    """(model, tokenizer): the base cross-encoder with its head rows mapped to favor / against /
    neutral, or (``new_head``) a bare encoder with a new 3-way head (seeded by the caller)."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    resolved = resolve_model(base, key="stance_training.base_model")
    if resolved.local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = AutoConfig.from_pretrained(resolved.path, local_files_only=resolved.local, trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(resolved.path, local_files_only=resolved.local,
                                              trust_remote_code=False)
    if new_head:
        if any(a.endswith("ForSequenceClassification") for a in config.architectures or []):
            raise ConfigError(f"stance_training.new_head: {base} already has a classification head "
                              f"({config.architectures}); map it instead (new_head=false)")
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved.path, local_files_only=resolved.local, use_safetensors=True, trust_remote_code=False,
            num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=dict(LABEL2ID)).float()
        if freeze_word_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        return model, tokenizer
    rows = stance_head_rows(dict(config.label2id or {}))  # refuse before reading the weights
    model = AutoModelForSequenceClassification.from_pretrained(
        resolved.path, local_files_only=resolved.local, use_safetensors=True, trust_remote_code=False)
    model.float()
    head = model.classifier
    if head.out_features != len(config.label2id):
        raise ConfigError("stance_training.base_model: the classifier's size does not match its labels")
    with torch.no_grad():
        new = torch.nn.Linear(head.in_features, len(LABELS))
        new.weight.copy_(head.weight[rows])
        new.bias.copy_(head.bias[rows])
    model.classifier = new
    model.num_labels = len(LABELS)
    model.config.num_labels = len(LABELS)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = dict(LABEL2ID)
    if freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model, tokenizer


def use_bf16(cfg: StanceTrainingConfig, device: str) -> bool:
    return native_bf16(device) if cfg.bf16 is None else cfg.bf16


# ---------------------------------------------------------------------------
# Train / predict / evaluate
# ---------------------------------------------------------------------------


@dataclass
class TrainResult:
    steps: int
    loss_curve: list[tuple[int, float]]
    final_loss: float
    seconds: float
    items_seen: int


def train(model, tokenizer, items: Sequence[Item], cfg: StanceTrainingConfig, device: str,
          progress: bool = True) -> TrainResult:
    """Fine-tune encoder + head in place (cross-entropy with label smoothing)."""
    import torch

    if not items:
        raise ValueError("no training items: check max_train_items / holdout_topic_fraction")
    encoded = encode_pairs(tokenizer, [it.text for it in items], [it.target for it in items], cfg.max_length)
    lengths = encoded.lengths()
    gold = torch.tensor([LABEL2ID[it.label] for it in items])
    steps = total_steps(len(items), cfg.batch_size, cfg.epochs)
    warmup = round(cfg.warmup_ratio * steps)
    optimizer = make_optimizer(model, cfg.learning_rate, cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, steps, warmup, cfg.lr_schedule))
    autocast = use_bf16(cfg, device)
    window = max(1, steps // LOSS_POINTS)
    curve, recent, seen = [], [], 0
    model.to(device).train()
    start = time.perf_counter()
    bar = tqdm(epoch_batches(lengths, cfg.batch_size, cfg.seed, steps), total=steps, desc="train stance",
               unit="step", disable=not progress)
    for step, idx in enumerate(bar, 1):
        batch = {k: v.to(device) for k, v in collate(encoded, idx, tokenizer.pad_token_id).items()}
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            logits = model(**batch).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), gold[idx].to(device),
                                                 label_smoothing=cfg.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        recent.append(loss.item())
        seen += len(idx)
        if step % window == 0 or step == steps:
            curve.append((step, float(np.mean(recent[-window:]))))
            bar.set_postfix(loss=f"{curve[-1][1]:.3f}")
    seconds = time.perf_counter() - start
    tail = recent[-max(1, min(50, steps // 10)):]
    return TrainResult(steps, curve, float(np.mean(tail)), seconds, seen)


def predict_proba(model, tokenizer, items: Sequence[Item], cfg: StanceTrainingConfig, device: str,
                  progress: bool = True) -> np.ndarray:
    """[n, 3] probabilities (favor, against, neutral), batched by length."""
    import torch

    out = np.zeros((len(items), len(LABELS)))
    if not items:
        return out
    encoded = encode_pairs(tokenizer, [it.text for it in items], [it.target for it in items], cfg.max_length)
    order = np.argsort(-encoded.lengths(), kind="stable")
    autocast = use_bf16(cfg, device)
    model.to(device).eval()
    batches = [order[i : i + cfg.eval_batch_size] for i in range(0, len(order), cfg.eval_batch_size)]
    with torch.inference_mode():
        for idx in tqdm(batches, desc="eval stance", unit="batch", disable=not progress):
            batch = {k: v.to(device) for k, v in collate(encoded, idx, tokenizer.pad_token_id).items()}
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
                logits = model(**batch).logits.float()
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
    return out


def evaluate(items: Sequence[Item], probs: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, f1_score

    gold = np.array([LABEL2ID[it.label] for it in items])
    preds = probs.argmax(axis=1)
    labels = list(range(len(LABELS)))
    per_class = f1_score(gold, preds, labels=labels, average=None, zero_division=0.0)
    return {
        "n": len(items),
        "n_topics": len({it.target for it in items}),
        "accuracy": round(float((preds == gold).mean()), 4),
        "macro_f1": round(float(per_class.mean()), 4),
        "per_class_f1": {c: round(float(f), 4) for c, f in zip(LABELS, per_class, strict=True)},
        "predicted_share": {c: round(float((preds == i).mean()), 4) for i, c in enumerate(LABELS)},
        "confusion": {"labels": list(LABELS),
                      "rows_actual_cols_predicted": confusion_matrix(gold, preds, labels=labels).tolist()},
    }


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


def base_note(cfg: StanceTrainingConfig) -> str:
    if cfg.new_head:
        return ("a bare encoder with a new 3-way head (seeded), fine-tuned end to end. It won a short "
                "comparison of bases on the held-out topics (README, \"Stance\").")
    return ("its 3-way head is kept with entailment -> favor, contradiction -> against, neutral -> "
            "neutral (an NLI base), or favor / against / neutral as named.")


def model_card(cfg: StanceTrainingConfig, metrics: dict[str, Any]) -> str:
    val, base = metrics["validation"], metrics["validation_before_training"]
    recipe = yaml.safe_dump(asdict(cfg), sort_keys=False, width=100).strip()
    before_label = "the new head" if cfg.new_head else "the base's head mapped"
    return f"""# stance-minilm: the project's stance cross-encoder

(passage, target) -> favor / against / neutral, for the `stance` backend of zeroshot-news
(`stance=trained`). Trained by `python -m zeroshot_news train_stance` (the `train_stance`
DVC stage); do not edit by hand.

## Model
- Base: `{cfg.base_model}`; {base_note(cfg)}
- Input: `[CLS] passage [SEP] target [SEP]`, at most {cfg.max_length} tokens (longer side cut first).
- Weights stored in fp16; config.json says float32, so they load (upcast) as fp32.

## Data
VAST train (`{cfg.data_path}`; Allaway & McKeown 2020): `post`, `new_topic`, label 0 = con -> against,
1 = pro -> favor, 2 = neutral. {metrics["train_items"]} training items over {metrics["train_topics"]} topics
(labels {metrics["train_labels"]}). Validation: {val["n"]} items of {val["n_topics"]} topics held out whole
(seeded, {cfg.holdout_topic_fraction:.0%} of the topics; no topic is in both). VAST test and dev were never read.

## Result (held-out topics)
| | macro-F1 | accuracy |
|---|---|---|
| {before_label}, before training | {base["macro_f1"]:.4f} | {base["accuracy"]:.4f} |
| after training | **{val["macro_f1"]:.4f}** | {val["accuracy"]:.4f} |

Per class F1: {val["per_class_f1"]}. Training: {metrics["epochs"]} epochs, {metrics["steps"]} steps,
{metrics["train_seconds"]:.0f} s on {metrics["device"]} ({metrics["train_items_per_second"]} items/s,
bf16 autocast {metrics["bf16_autocast"]}), final train loss {metrics["final_train_loss"]:.4f}.

## Recipe
```yaml
{recipe}
```
"""


def write_plots(plots_dir: Path | str, items: Sequence[Item], probs: np.ndarray,
                curve: Sequence[tuple[int, float]]) -> None:
    from ..io import atomic_path

    plots_dir = Path(plots_dir)
    with atomic_path(plots_dir / "confusion.csv") as tmp:
        lines = ["actual,predicted"] + [f"{it.label},{LABELS[int(p)]}"
                                        for it, p in zip(items, probs.argmax(axis=1), strict=True)]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with atomic_path(plots_dir / "loss.csv") as tmp:
        tmp.write_text("step,loss\n" + "".join(f"{s},{v:.5f}\n" for s, v in curve), encoding="utf-8")


def run(cfg: StanceTrainingConfig, metrics_path: Path | str, plots_dir: Path | str,
        progress: bool = True) -> dict[str, Any]:
    """The whole stage: VAST train -> topic split -> train -> held-out topics -> metrics, plots, model."""
    import torch

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    device = select_device(cfg.device)
    model, tokenizer = build_model(cfg.base_model, cfg.freeze_word_embeddings, cfg.new_head)
    train_set, heldout = split_by_topic(read_vast(cfg.data_path), cfg.holdout_topic_fraction, cfg.seed)
    shared = sorted({it.target for it in train_set} & {it.target for it in heldout})
    assert not shared, f"held-out topics leaked into training: {shared[:5]}"
    train_set = subsample(train_set, cfg.max_train_items, cfg.seed)
    heldout = subsample(heldout, cfg.max_eval_items, cfg.seed)
    before = evaluate(heldout, predict_proba(model, tokenizer, heldout, cfg, device, progress))
    result = train(model, tokenizer, train_set, cfg, device, progress)
    probs = predict_proba(model, tokenizer, heldout, cfg, device, progress)
    metrics = {
        "validation": evaluate(heldout, probs),
        "validation_before_training": before,
        "train_items": len(train_set),
        "train_topics": len({it.target for it in train_set}),
        "train_labels": dict(sorted(Counter(it.label for it in train_set).items())),
        "topics_shared_by_train_and_validation": len(shared),
        "epochs": cfg.epochs,
        "steps": result.steps,
        "final_train_loss": round(result.final_loss, 4),
        "train_seconds": round(result.seconds, 1),
        "train_items_per_second": round(result.items_seen / max(result.seconds, 1e-9), 1),
        "device": device,
        "bf16_autocast": use_bf16(cfg, device),
    }
    write_json(metrics, metrics_path)
    write_plots(plots_dir, heldout, probs, result.loss_curve)
    save_model(model, tokenizer, cfg.output_dir, model_card(cfg, metrics))
    return metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="e.g. python -m zeroshot_news train_stance --metrics /tmp/m.json --plots-dir "
                                        "/tmp/p stance_training.max_train_items=200 stance_training.output_dir=/tmp/m")
    ap.add_argument("--metrics", required=True, help="output: held-out-topic metrics (JSON)")
    ap.add_argument("--plots-dir", required=True, help="output: confusion.csv and loss.csv")
    ap.add_argument("--no-progress", action="store_true")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    cfg = config_from_args(args).stance_training
    if cfg is None:
        raise ConfigError("stance_training: missing section (conf/stance_training/default.yaml)")
    metrics = run(cfg, args.metrics, args.plots_dir, not args.no_progress)
    val = metrics["validation"]
    log.info("train_stance: %d items x %s epochs in %ss (%s items/s), final loss %s; held-out topics macro-F1 "
             "%.3f (before training %.3f), accuracy %.3f; model -> %s", metrics["train_items"], cfg.epochs,
             metrics["train_seconds"], metrics["train_items_per_second"], metrics["final_train_loss"],
             val["macro_f1"], metrics["validation_before_training"]["macro_f1"], val["accuracy"], cfg.output_dir)


__all__ = ["LABEL2ID", "LABELS", "Item", "build_model", "evaluate", "main", "predict_proba", "read_vast", "run",
           "split_by_topic", "stance_head_rows", "subsample", "train"]
