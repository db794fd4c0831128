"""The stance cross-encoder (the ``train_stance`` stage trains it): (passage, target) -> favor / against / neutral.

The committed model's base is the project's NLI cross-encoder (``models/nli-minilm``): its
head keeps its rows, entailment / contradiction / neutral mapped onto favor / against /
neutral. A base whose labels are already favor / against / neutral is fine-tuned as is; any
other label set is refused (:func:`stance_head_rows`), unless ``stance_training.new_head``
asks for a new seeded 3-way head on a bare encoder (all-MiniLM-L6-v2 won a short comparison
of bases that way; docs/research/stance.md).

Data: VAST train (:mod:`zeroshot_news.corpus.vast`; con -> against, pro -> favor, neutral).
Validation holds out whole *topics*, chosen with the seed: VAST's test is
about unseen topics, so rows of a training topic would flatter the score.

The loop is the NLI model's (:func:`zeroshot_news.training.loop.fit`): tokenise once,
length-grouped seeded batches, AdamW with linear warm-up and decay, word embeddings frozen,
bf16 autocast only where measured faster; only the data, the head and the loss differ.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from zeroshot_news.config import ConfigError, StanceTrainingConfig
from zeroshot_news.corpus.sampling import seeded_indices, subsample
from zeroshot_news.corpus.vast import read_vast
from zeroshot_news.decisions import STANCE_CLASSES
from zeroshot_news.io import write_json
from zeroshot_news.metrics import macro_f1, rounded
from zeroshot_news.scorers.loading import resolve_model, select_device
from zeroshot_news.training.loop import TrainResult, encode_pairs, fit, native_bf16, predict_logits, save_model

log = logging.getLogger(__name__)

LABELS = STANCE_CLASSES  # the head's id order; scorers find ids by name
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
VAST_TO_STANCE = {"con": "against", "pro": "favor", "neutral": "neutral"}
NLI_TO_STANCE = {"entailment": "favor", "contradiction": "against", "neutral": "neutral"}


@dataclass(frozen=True)
class Item:
    text: str
    target: str
    label: str  # one of LABELS


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def vast_items(path: Path | str) -> list[Item]:
    """VAST's rows (:func:`zeroshot_news.corpus.vast.read_vast`) as (post, topic, stance) items."""
    frame = read_vast(path)
    return [Item(post, topic, VAST_TO_STANCE[label])
            for post, topic, label in zip(frame["post"], frame["topic"], frame["label"], strict=True)]


def split_by_topic(items: Sequence[Item], fraction: float, seed: int) -> tuple[list[Item], list[Item]]:
    """(train, validation): a seeded ``fraction`` of the distinct topics is held out whole."""
    topics = sorted({it.target for it in items})
    n_held = max(1, round(fraction * len(topics)))
    held = {topics[i] for i in seeded_indices(len(topics), n_held, seed)}
    return [it for it in items if it.target not in held], [it for it in items if it.target in held]


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


def train(model, tokenizer, items: Sequence[Item], cfg: StanceTrainingConfig, device: str,
          progress: bool = True) -> TrainResult:
    """Fine-tune encoder + head in place (cross-entropy with label smoothing)."""
    import torch

    if not items:
        raise ValueError("no training items: check max_train_items / holdout_topic_fraction")
    encoded = encode_pairs(tokenizer, [it.text for it in items], [it.target for it in items], cfg.max_length)
    gold = torch.tensor([LABEL2ID[it.label] for it in items])

    def loss(logits, idx):
        return torch.nn.functional.cross_entropy(logits.float(), gold[idx].to(device),
                                                 label_smoothing=cfg.label_smoothing)

    return fit(model, encoded, loss, cfg, tokenizer.pad_token_id, device, use_bf16(cfg, device), "train stance",
               progress)


def predict_proba(model, tokenizer, items: Sequence[Item], cfg: StanceTrainingConfig, device: str,
                  progress: bool = True) -> np.ndarray:
    """[n, 3] probabilities (favor, against, neutral), batched by length."""
    import torch

    if not items:
        return np.zeros((0, len(LABELS)))
    encoded = encode_pairs(tokenizer, [it.text for it in items], [it.target for it in items], cfg.max_length)
    logits = predict_logits(model, encoded, cfg.eval_batch_size, tokenizer.pad_token_id, device,
                            use_bf16(cfg, device), len(LABELS), "eval stance", progress)
    return torch.softmax(logits, dim=-1).numpy().astype(np.float64)


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
        "macro_f1": rounded(macro_f1(gold, preds, labels)),
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
                "comparison of bases on the held-out topics (docs/research/stance.md).")
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
VAST train (`{cfg.data_path}`; Allaway & McKeown 2020): `post`, `topic_str` (the authors' topic column:
a synthetic neutral pairs the post with an unrelated topic), label 0 = con -> against, 1 = pro -> favor,
2 = neutral (mostly "not about this topic").
{metrics["train_items"]} training items over {metrics["train_topics"]} topics (labels {metrics["train_labels"]}).
Validation: {val["n"]} items of {val["n_topics"]} topics held out whole (seeded,
{cfg.holdout_topic_fraction:.0%} of the topics; no topic is in both). VAST test and dev were never read.

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
    from zeroshot_news.io import atomic_path

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
    train_set, heldout = split_by_topic(vast_items(cfg.data_path), cfg.holdout_topic_fraction, cfg.seed)
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
