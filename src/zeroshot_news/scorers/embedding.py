"""Bi-encoder backend: cosine similarity of sentence embeddings, calibrated to [0, 1].

Passages and hypotheses are embedded once each (mean pooling + L2 norm, as
all-MiniLM-L6-v2 was trained). Cosine similarity is not a probability, so it is
mapped through a fixed logistic, ``p = sigmoid(scale * (cos - center))``. The default
center 0.25 / scale 20 comes from the geometry of this model, not from gold labels:
unrelated English sentences sit around cos 0.0-0.15 and paraphrase-level matches
above 0.5, so 0.25 is the point where a passage starts to be "about" a description,
and scale 20 moves p from 0.12 to 0.88 over cos 0.15-0.35. Thresholds are per label.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from ..config import ModelConfig
from .base import (
    TokenizerMixin,
    length_sorted_batches,
    model_fingerprint,
)


class EmbeddingScorer(TokenizerMixin):
    """The ``embedding`` backend's :class:`~.base.PairScorer`."""

    bi_encoder = True
    # Passage vectors kept in memory (least recently used dropped first): topic and stance
    # embed the same passages within one `classify` run, and the second pass should not
    # re-encode them. 20,000 x 384 float32 = 31 MB at most.
    recent_size = 20_000

    def __init__(self, cfg: ModelConfig, progress: bool = True):
        from transformers import AutoModel

        resolved = self._load(cfg, AutoModel, progress)
        self.fingerprint = model_fingerprint(
            cfg, resolved, f"cal={cfg.calibration_center},{cfg.calibration_scale}"
        )
        self._cache: dict[str, np.ndarray] = {}
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def passage_budget(self, hypotheses: Sequence[str]) -> int:
        return self.max_length - self.tokenizer.num_special_tokens_to_add(pair=False)

    def embed(self, texts: Sequence[str], desc: str = "embed", remember: bool = False) -> np.ndarray:
        """L2-normalised embeddings, each distinct text encoded once per call. ``remember``
        keeps them for good (hypotheses: few, reused); passages only stay among the last
        ``recent_size``, so memory does not grow with the corpus (the on-disk cache covers
        re-runs)."""
        fresh: dict[str, np.ndarray] = {}
        for t in texts:
            if t in self._recent and t not in self._cache:
                fresh[t] = self._recent[t]
                self._recent.move_to_end(t)
        todo = sorted({t for t in texts if t not in self._cache and t not in fresh})
        if todo:
            lengths = self.count_tokens(todo)
            batches = list(length_sorted_batches(lengths, self.cfg.batch_size, self.cfg.max_batch_tokens))
            torch = self._torch
            with torch.inference_mode():
                for idx in tqdm(batches, desc=desc, unit="batch", disable=not self.progress or len(batches) < 2):
                    batch = [todo[i] for i in idx]
                    enc = self.tokenizer(batch, padding=True, truncation=True,
                                         max_length=self.max_length, return_tensors="pt").to(self.device)
                    out = self.model(**enc).last_hidden_state
                    mask = enc["attention_mask"].unsqueeze(-1).to(out.dtype)
                    pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                    pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
                    for text, vec in zip(batch, pooled, strict=True):
                        fresh[text] = vec
        if remember:
            self._cache.update(fresh)
        else:
            for text in todo:
                self._recent[text] = fresh[text]
            while len(self._recent) > self.recent_size:
                self._recent.popitem(last=False)
        if not texts:
            return np.zeros((0, 1), np.float32)
        return np.stack([fresh[t] if t in fresh else self._cache[t] for t in texts])

    def similarity(self, passages: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        if not passages or not hypotheses:
            return np.zeros((len(passages), len(hypotheses)), dtype=np.float64)
        return self.embed(passages).astype(np.float64) @ self.embed(hypotheses, remember=True).astype(np.float64).T

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        # Passages and hypotheses are encoded apart, each within max_length: truncate changes nothing.
        cos = self.similarity(passages, hypotheses)
        z = self.cfg.calibration_scale * (cos - self.cfg.calibration_center)
        return 1.0 / (1.0 + np.exp(-z))
