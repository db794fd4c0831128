"""Test doubles and config helpers.

* :class:`KeywordScorer`: a transparent :class:`~zeroshot_news.scorers.PairScorer` for
  stage tests (scores come from keywords, passages are word-counted), with the word
  counters it splits with;
* :func:`section`: a config section built from ``conf/`` (the one home of defaults)
  with a few fields replaced, so tests never restate default values.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Any

import numpy as np

from tests.conftest import REPO
from zeroshot_news.config import Config, ModelConfig, compose_config, parse_config, parse_section
from zeroshot_news.corpus.passages import lead_passage, split_passages


def count_words(texts):
    return [len(t.split()) for t in texts]


def cut_words(text, n):
    words = [m.span() for m in re.finditer(r"\S+", text)]
    return [(words[i][0], words[min(i + n, len(words)) - 1][1]) for i in range(0, len(words), n)]


class KeywordScorer:
    """score = 0.9 when a hypothesis keyword occurs in the passage, else 0.1."""

    fingerprint = "keyword-scorer"
    bi_encoder = False

    def __init__(self, keywords: dict[str, str], budget: int = 30):
        self.keywords = keywords  # hypothesis substring -> passage keyword
        self.budget = budget
        self.calls: list[tuple[int, int]] = []

    def split(self, text, hypotheses, overlap, segment=None):
        return split_passages(text, self.budget, count_words, cut_words, overlap, segment)

    def lead(self, text, hypotheses):
        return lead_passage(text, self.budget, count_words, cut_words)

    def count_tokens(self, texts):
        return count_words(texts)

    def score(self, passages, hypotheses, truncate=False):
        self.calls.append((len(passages), len(hypotheses)))
        self.truncated = truncate
        out = np.full((len(passages), len(hypotheses)), 0.1)
        for j, hyp in enumerate(hypotheses):
            for marker, keyword in self.keywords.items():
                if marker in hyp:
                    out[:, j] = [0.9 if keyword in p.lower() else 0.1 for p in passages]
        return out


@lru_cache(maxsize=8)
def _composed(*overrides: str) -> dict[str, Any]:
    return compose_config(REPO / "conf", list(overrides))


def default_config(*overrides: str) -> Config:
    """The composition of ``conf/`` (with Hydra overrides), validated."""
    return parse_config(_composed(*overrides))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def section(cls: type, name: str, overrides: tuple[str, ...] = (), **fields: Any) -> Any:
    """Section ``name`` of the ``conf/`` composition as ``cls``, with ``fields`` replaced; parsed and
    validated like params.yaml (``fields`` may hold dataclasses, e.g. StanceTarget objects)."""
    composed = _composed(*overrides)
    for part in name.split("."):  # a nested section, e.g. "benchmarks.vast"
        composed = composed[part]
    data = {**composed, **{k: _plain(v) for k, v in fields.items()}}
    return parse_section(cls, data, name)


def model_config(backend: str, path: Any, **fields: Any) -> ModelConfig:
    """``conf/model/<backend>.yaml`` pointing at ``path``, with ``fields`` replaced."""
    return section(ModelConfig, "model", (f"model={backend}",), name_or_path=str(path), **fields)


class BagOfWordsEncoder(KeywordScorer):
    """A tiny deterministic bi-encoder: L2-normalised hashed bag of words (for the topic head).

    Counts how many texts it encodes, so tests can assert what was (not) re-encoded."""

    fingerprint = "bag-of-words"
    encoder_fingerprint = "bag-of-words"
    bi_encoder = True

    def __init__(self, dim: int = 256, budget: int = 30):
        super().__init__({}, budget)
        self.dim = dim
        self.encoded = 0

    def _index(self, word: str) -> int:
        import hashlib

        return int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little") % self.dim

    def embed(self, texts):
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[i, self._index(word)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.clip(norms, 1e-9, None)

    def score_embedded(self, vectors, hypotheses):
        """The bi-encoder contract's scoring from vectors: what ``score`` gives (no keywords: 0.1)."""
        return np.full((len(vectors), len(hypotheses)), 0.1)
