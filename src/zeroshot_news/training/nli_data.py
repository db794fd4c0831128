"""NLI training data and loss: NLI pairs by source, length-grouped batches, the set-valued loss.

Validation is by held-out *source* (a random split of a source would leak its
annotators' habits). RTE is 2-class: a ``not_entailment`` pair allows two head classes
and is trained with ``-log(p_contra + p_neutral)`` (:func:`nli_loss`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from zeroshot_news.config import ConfigError, NLITrainingConfig
from zeroshot_news.corpus.sampling import subsample
from zeroshot_news.training.loop import Encoded, encode_pairs

# id order of the classification head; the nli scorer finds the ids by name.
LABELS = ("contradiction", "entailment", "neutral")
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
# Which head classes a gold label allows: a binary RTE not_entailment pair allows two.
ALLOWED = {
    "contradiction": (LABEL2ID["contradiction"],),
    "entailment": (LABEL2ID["entailment"],),
    "neutral": (LABEL2ID["neutral"],),
    "not_entailment": (LABEL2ID["contradiction"], LABEL2ID["neutral"]),
}


@dataclass(frozen=True)
class Pair:
    premise: str
    hypothesis: str
    label: str  # a key of ALLOWED
    source: str
    weight: float = 1.0


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


def encode(tokenizer, pairs: Sequence[Pair], max_length: int) -> Encoded:
    """Tokenize once, truncating the longer side first; padding happens per batch."""
    return encode_pairs(tokenizer, [p.premise for p in pairs], [p.hypothesis for p in pairs], max_length)


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

