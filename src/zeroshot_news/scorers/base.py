"""The one interface under topic, stance and the benchmarks: :class:`PairScorer`.

A backend (``embedding``, ``nli``) and the score cache that wraps it implement exactly
this contract; callers use nothing else (``scoring.py`` is where they do). The backends
share model loading (``..loading``), tokenizer-based passage splitting
(:class:`TokenizerMixin`) and length-sorted batching.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from zeroshot_news.config import ModelConfig
from zeroshot_news.corpus.passages import Passage, Segmenter, lead_passage, shortest, split_passages
from zeroshot_news.scorers.loading import (
    ResolvedModel,
    load_tokenizer,
    load_weights,
    loading,
    model_files,
    open_regular,
    quiet_transformers,
    resolve_model,
    select_device,
    tokenizer_max_length,
)


@runtime_checkable
class PairScorer(Protocol):
    """Scores (passage, hypothesis) pairs and cuts texts into passages that fit its model."""

    #: Identifies the weights and every scoring setting: the score cache's key.
    fingerprint: str
    #: True when scores come from one embedding per text (a full passage x hypothesis
    #: grid is then cheap); False for a cross-encoder, whose cost is per pair. A
    #: bi-encoder also has ``embed(texts) -> [len(texts), dim]`` unit vectors (the topic
    #: head's and the benchmarks' self-training input); a cross-encoder has none.
    bi_encoder: bool

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        """Probabilities in [0, 1], shape [len(passages), len(hypotheses)].

        ``truncate=True`` (passages.mode=lead): a pair longer than the model is cut at its
        premise's end, like transformers' pipeline, instead of being refused."""
        ...

    def split(self, text: str, hypotheses: Sequence[str], overlap: int,
              segment: Segmenter | None = None) -> list[Passage]:
        """Passages of ``text`` that fit the model together with any of ``hypotheses``,
        ``overlap`` sentences shared between neighbours; ``segment`` splits paragraphs
        into sentences (default: pysbd; the score cache passes one that remembers)."""
        ...

    def lead(self, text: str, hypotheses: Sequence[str]) -> list[Passage]:
        """The first tokens of ``text`` as one passage (passages.mode=lead)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text in the model's tokenizer, special tokens excluded."""
        ...


__all__ = ["PairScorer", "ResolvedModel", "TokenizerMixin", "length_sorted_batches", "loading",
           "model_fingerprint", "model_id", "resolve_model", "select_device"]


def model_id(scorer: PairScorer) -> str:
    """What a report names a scorer by: weights and scoring settings, not the runtime's export
    bytes (``model_id`` where a backend has one; they differ by machine, the cache key has them)."""
    return getattr(scorer, "model_id", scorer.fingerprint)


def _hash_file(path: Path, *hashes) -> None:
    with open_regular(path) as fh:  # never a device or a FIFO: it could be read for ever
        for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
            for h in hashes:
                h.update(chunk)


def model_fingerprint(cfg: ModelConfig, resolved: ResolvedModel, extra: str = "") -> str:
    """Identifies weights + scoring settings, so cached scores are never reused wrongly.

    A local model is identified by every file that defines it (``loading.model_files``:
    config, all safetensors weights and shard indexes, tokenizer files, sentence-transformers
    modules), each by name and content: a changed shard or tokenizer file is a new model."""
    h = hashlib.sha256()
    h.update(f"{cfg.backend}|{cfg.max_length}|{extra}".encode())
    if not resolved.local:
        h.update(resolved.path.encode())
        return h.hexdigest()[:16]
    folder = Path(resolved.path)
    for name in model_files(folder):
        content = hashlib.sha256()
        _hash_file(folder / name, content)
        h.update(name.encode() + b"\0" + content.digest())
    return h.hexdigest()[:16]


class TokenizerMixin:
    """Loading, token counting, cutting and passage splitting with the backend's own tokenizer."""

    tokenizer = None
    max_length: int = 256

    def _load(self, cfg: ModelConfig, model_class, progress: bool, unused: tuple[str, ...] = ()) -> ResolvedModel:
        """Resolve, then load tokenizer and weights (safetensors only, no remote code; weights
        that do not fit the architecture are refused, see ``loading.load_weights``)."""
        import torch

        self.cfg = cfg
        self.progress = progress
        self._torch = torch
        quiet_transformers(progress)
        resolved = resolve_model(cfg.name_or_path)
        self.tokenizer = load_tokenizer(resolved)
        self.max_length = min(cfg.max_length, tokenizer_max_length(self.tokenizer, resolved))
        self.device = select_device(cfg.device)
        self.model = load_weights(resolved, model_class, unused=unused).to(self.device).eval()
        return resolved

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    def cut_tokens(self, text: str, n: int) -> list[tuple[int, int]]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        offsets = enc["offset_mapping"]
        spans = []
        for i in range(0, len(offsets), n):
            chunk = offsets[i : i + n]
            spans.append((chunk[0][0], chunk[-1][1]))
        return spans

    def passage_budget(self, hypotheses: Sequence[str]) -> int:
        raise NotImplementedError

    # Recent splits, kept so that topic and stance (which split the same articles with the
    # same budget within one `classify` run) segment each article once: sentence
    # segmentation is most of a short text's non-model time. Bounded: oldest dropped.
    split_memo_size = 4096

    def split(self, text: str, hypotheses: Sequence[str], overlap: int,
              segment: Segmenter | None = None) -> list[Passage]:
        budget = self.passage_budget(hypotheses)
        if segment is not None:
            return split_passages(text, budget, self.count_tokens, self.cut_tokens, overlap, segment)
        memo = self.__dict__.setdefault("_split_memo", OrderedDict())
        key = (text, budget, overlap)
        if key in memo:
            memo.move_to_end(key)
            return list(memo[key])
        passages = split_passages(text, budget, self.count_tokens, self.cut_tokens, overlap)
        memo[key] = tuple(passages)  # Passage is frozen: sharing is safe
        while len(memo) > self.split_memo_size:
            memo.popitem(last=False)
        return passages

    def lead(self, text: str, hypotheses: Sequence[str]) -> list[Passage]:
        """The article's first tokens as one passage (passages.mode=lead).

        Cut for the shortest hypothesis, the most any pair can read; ``score(...,
        truncate=True)`` trims each longer pair further, as the pipeline does per pair.
        """
        return lead_passage(text, self.passage_budget(shortest(hypotheses, self.count_tokens)),
                            self.count_tokens, self.cut_tokens)


def length_sorted_batches(lengths: Sequence[int], batch_size: int,
                          max_tokens: int | None = None) -> Iterator[np.ndarray]:
    """Indices in batches of similar length (longest first), so padding stays minimal.

    ``max_tokens`` also caps rows x longest length: long pairs go in smaller batches. On
    a CPU that is both faster and far leaner (attention memory grows with batch x length²:
    ONNX Runtime at 32 x 512 tokens peaks at 4.3 GB and 11.5 pairs/s, at 8 x 512 at 1 GB
    and 15.7 pairs/s; perf/README.md).
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    i = 0
    while i < len(order):
        size = batch_size
        if max_tokens:
            size = max(1, min(batch_size, max_tokens // max(1, int(lengths[order[i]]))))
        yield order[i : i + size]
        i += size
