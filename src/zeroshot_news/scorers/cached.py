"""A PairScorer that answers from the score store before scoring.

``CachedScorer(scorer, store)`` wraps any PairScorer: ``score`` looks the whole grid up in
the :class:`~zeroshot_news.scorers.store.ScoreCache`, asks the inner scorer only for the
missing pairs (grouped into sub-grids, so a new hypothesis or new passages cost exactly
their new pairs), stores them, and returns the full matrix. A bi-encoder's passage vectors
and every paragraph's sentence spans are kept the same way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshot_news.corpus.passages import Passage, Segmenter, segment_paragraphs, segmenter_id
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.scorers.store import ScoreCache, text_key

log = logging.getLogger(__name__)


class CachedScorer:
    """A PairScorer that reuses cached pair scores and computes only the missing pairs."""

    def __init__(self, scorer: PairScorer, cache: ScoreCache, chunk_passages: int = 1024, max_groups: int = 8):
        self.scorer = scorer
        self.cache = cache
        self.fingerprint: str = scorer.fingerprint
        self.bi_encoder: bool = scorer.bi_encoder
        # A bi-encoder's identity for a topic head (weights + calibration, not the runtime).
        self.encoder_fingerprint: str | None = getattr(scorer, "encoder_fingerprint", None)
        self.model_id: str = getattr(scorer, "model_id", scorer.fingerprint)
        # Missing passages go to the inner scorer (and are committed) this many at a time,
        # so an interrupted long run keeps what it finished.
        self.chunk_passages = max(1, int(chunk_passages))
        self.max_groups = max(1, int(max_groups))
        self.hits = 0
        self.misses = 0
        self.inner_calls = 0
        self._segmenter_id = segmenter_id()
        self._vector_width: int | None = None  # set by the first vectors this instance encodes

    def split(self, text: str, hypotheses: Sequence[str], overlap: int, segment: Segmenter | None = None,
              ) -> list[Passage]:
        """The inner scorer's passages, sentence spans remembered in the cache (unless ``segment`` is given)."""
        return self.scorer.split(text, hypotheses, overlap, segment=segment or self._segment)

    def lead(self, text: str, hypotheses: Sequence[str]) -> list[Passage]:
        return self.scorer.lead(text, hypotheses)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.scorer.count_tokens(texts)

    def _segment(self, paragraphs: list[str]) -> list[list[tuple[int, int]]]:
        """Sentence spans per paragraph: remembered ones from the cache, the rest from pysbd."""
        keys = [text_key(f"{self._segmenter_id}\0{p}") for p in paragraphs]
        known = self.cache.get_spans(keys)
        # A remembered segmentation must fit its paragraph (in order, inside it): anything else
        # is damage, and valid-looking but wrong spans would silently change passages and scores.
        for key, paragraph in zip(keys, paragraphs, strict=True):
            if key in known and not _fits(known[key], len(paragraph)):
                del known[key]
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            computed = segment_paragraphs([paragraphs[i] for i in missing])
            new = {keys[i]: spans for i, spans in zip(missing, computed, strict=True)}
            self.cache.put_spans(new)
            known.update(new)
        return [known[k] for k in keys]

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "inner_calls": self.inner_calls}

    def _encode_missing(self, unique: list[str], keys: list[bytes], known: dict[bytes, np.ndarray]) -> list[int]:
        """Encode (and store) the texts whose key is not in ``known``; returns their indices."""
        missing = [i for i, k in enumerate(keys) if k not in known]
        for start in range(0, len(missing), self.chunk_passages):
            part = missing[start:start + self.chunk_passages]
            vectors = np.asarray(self.scorer.embed([unique[i] for i in part]), dtype=np.float32)
            self._vector_width = int(vectors.shape[1])
            new = {keys[i]: v for i, v in zip(part, vectors, strict=True)}
            self.cache.put_vectors(self.fingerprint, new)
            known.update(new)
        return missing

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A bi-encoder's unit vectors, each distinct text encoded once ever per encoder: a new
        label, description, head or threshold never re-encodes a passage."""
        if not self.bi_encoder:
            raise TypeError(f"{type(self.scorer).__name__} is not a bi-encoder: it has no embeddings")
        texts = list(texts)
        unique, inverse = _unique(texts)
        keys = [text_key(t) for t in unique]
        known = self.cache.get_vectors(self.fingerprint, keys)
        missing = self._encode_missing(unique, keys, known)
        # Vectors of another width are damage (the stack below and a head need one width): the
        # width is that of what the encoder just produced, else the common one; others again.
        widths = Counter(v.size for v in known.values())
        width = self._vector_width or (widths.most_common(1)[0][0] if widths else None)
        damaged = [k for k, v in known.items() if v.size != width]
        if damaged:
            log.warning("score cache: %d cached vectors have another width than %s; encoding them again",
                        len(damaged), width)
            for k in damaged:
                del known[k]
            missing += self._encode_missing(unique, keys, known)
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        if not texts:
            return np.zeros((0, 1), np.float32)
        return np.stack([known[k] for k in keys])[inverse]

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        # truncate needs no key of its own: it only changes pairs that would otherwise be
        # refused as too long, so a (passage, hypothesis) pair has one score either way.
        inner_kw = {"truncate": True} if truncate else {}
        passages, hypotheses = list(passages), list(hypotheses)
        if not passages or not hypotheses:
            return np.zeros((len(passages), len(hypotheses)), dtype=np.float64)
        # Each distinct text once (boilerplate passages repeat across articles).
        u_p, p_inv = _unique(passages)
        u_h, h_inv = _unique(hypotheses)
        p_keys = [text_key(p) for p in u_p]
        h_keys = [text_key(h) for h in u_h]
        values, found = self.cache.get_keys(self.fingerprint, p_keys, h_keys)
        n_found = int(found.sum())
        self.hits += n_found
        self.misses += found.size - n_found
        for rows, cols in self._missing_groups(~found):
            for start in range(0, len(rows), self.chunk_passages):
                r = rows[start:start + self.chunk_passages]
                if self.bi_encoder:  # the passages' vectors come from (and go to) the cache
                    sub = np.asarray(self.scorer.score_embedded(self.embed([u_p[i] for i in r]),
                                                                [u_h[j] for j in cols]), dtype=np.float64)
                else:
                    sub = np.asarray(self.scorer.score([u_p[i] for i in r], [u_h[j] for j in cols], **inner_kw),
                                     dtype=np.float64)
                self.inner_calls += 1
                if sub.shape != (len(r), len(cols)):
                    raise ValueError(f"inner scorer returned {sub.shape}, expected {(len(r), len(cols))}")
                values[np.ix_(r, cols)] = sub
                self.cache.put_keys(self.fingerprint, [p_keys[i] for i in r], [h_keys[j] for j in cols], sub)
        return values[np.ix_(p_inv, h_inv)]

    def _missing_groups(self, missing: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Sub-grids (rows, cols) covering every missing cell.

        Rows are grouped by their exact pattern of missing columns, so each group is a
        full sub-grid of missing pairs (nothing is recomputed). Many distinct patterns
        (rare: partial earlier runs) fall back to one union sub-grid, which recomputes
        a few cached pairs but keeps the inner scorer's batches full.
        """
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows) == 0:
            return []
        patterns, inverse = np.unique(missing[rows], axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        if len(patterns) > self.max_groups:
            cols = np.flatnonzero(missing[rows].any(axis=0))
            return [(rows, cols)]
        return [(rows[inverse == g], np.flatnonzero(patterns[g])) for g in range(len(patterns))]


def _fits(spans: list[tuple[int, int]], length: int) -> bool:
    """Sentence spans in order, non-empty, non-overlapping, inside a text of ``length`` characters."""
    end = 0
    for s, e in spans:
        if not (end <= s < e <= length):
            return False
        end = e
    return True


def _unique(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order, and each input's index into them."""
    index: dict[str, int] = {}
    inv = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.intp, count=len(texts))
    return list(index), inv


def maybe_cached(scorer: Any, cache_cfg: Any) -> Any:
    """``scorer`` wrapped in a CachedScorer on ``cache_cfg.path`` when ``cache_cfg.enabled``.

    ``cache_cfg`` is a :class:`~zeroshot_news.config.CacheConfig` (or None: no cache).
    """
    if cache_cfg is None or not cache_cfg.enabled:
        return scorer
    return CachedScorer(scorer, ScoreCache(cache_cfg.path))
