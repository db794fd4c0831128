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

import contextlib
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from zeroshot_news.config import ConfigError, ModelConfig
from zeroshot_news.scorers.base import (
    TokenizerMixin,
    length_sorted_batches,
    model_fingerprint,
)
from zeroshot_news.scorers.loading import (
    ResolvedModel,
    load_tokenizer,
    load_weights,
    reading_tokenizer,
    resolve_model,
    tokenizer_max_length,
)
from zeroshot_news.scorers.rust_tokenizer import RustTokenizer

log = logging.getLogger(__name__)

# Mean pooling reads last_hidden_state only: BERT's pooler may be absent from the weights
# (sentence-transformers checkpoints often lack it) without changing a vector.
UNUSED_WEIGHTS = ("pooler.",)


def cuda_visible() -> bool:
    """Whether a CUDA GPU may be usable, without importing torch (~1 s) on machines with none."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()


def choose_runtime(cfg: ModelConfig) -> str:
    """``model.runtime``; ``auto``: torch on a GPU, ONNX Runtime on the CPU (fast start, fused kernels)."""
    if cfg.runtime in ("torch", "onnx"):
        return cfg.runtime
    if cfg.device == "cpu":
        return "onnx"
    if cfg.device == "auto" and not cuda_visible():
        return "onnx"
    import torch

    return "torch" if cfg.device != "auto" or torch.cuda.is_available() else "onnx"


class EmbeddingScorer(TokenizerMixin):
    """The ``embedding`` backend's :class:`~.base.PairScorer`."""

    bi_encoder = True
    # Passage vectors kept in memory (least recently used dropped first): topic and stance
    # embed the same passages within one `classify` run, and the second pass should not
    # re-encode them. 20,000 x 384 float32 = 31 MB at most.
    recent_size = 20_000

    def __init__(self, cfg: ModelConfig, progress: bool = True):
        self._cache: dict[str, np.ndarray] = {}
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self.runtime = choose_runtime(cfg)
        if cfg.precision == "int8" and self.runtime != "onnx":
            raise ConfigError("model.precision=int8: int8 vectors come from ONNX Runtime, and this run "
                              "resolved model.runtime to torch (a GPU); use precision=fp32 there")
        if self.runtime == "onnx":
            resolved = self._load_onnx(cfg, progress)
        else:
            from transformers import AutoModel

            resolved = self._load(cfg, AutoModel, progress, unused=UNUSED_WEIGHTS)
        # What a topic head was fitted on: the weights and the calibration, whatever runs them
        # (ONNX Runtime's fp32 vectors equal torch's to ~1e-6, tested). int8 vectors (cosine
        # ~0.99 to fp32) keep the key: quantising an encoder keeps its head, as a deployment
        # does; both pairings are measured (docs/research/performance.md).
        self.encoder_fingerprint = model_fingerprint(
            cfg, resolved, f"cal={cfg.calibration_center},{cfg.calibration_scale}"
        )
        self.model_id = self.encoder_fingerprint  # what reports name (no runtime export bytes)
        # What computed the vectors (the score-cache key): torch keeps the encoder's own
        # fingerprint; ONNX Runtime adds the verified export's digest.
        self.fingerprint = self.encoder_fingerprint
        if self.runtime == "onnx":
            mode = f"{self.fingerprint}|onnx-{self._export_digest}"
            self.fingerprint = hashlib.sha256(mode.encode()).hexdigest()[:16]

    def _load_onnx(self, cfg: ModelConfig, progress: bool) -> ResolvedModel:
        """Tokenizer from tokenizer.json and the exported graph: neither torch nor transformers
        is imported unless the graph must first be exported (once per weights)."""
        from zeroshot_news.scorers.onnx_runtime import OnnxLogits, export_digest, exported_graph

        self.cfg, self.progress, self.device = cfg, progress, "cpu"
        resolved = resolve_model(cfg.name_or_path)
        with reading_tokenizer(resolved):
            self.tokenizer = RustTokenizer(resolved.path) if RustTokenizer.available(resolved.path) \
                else load_tokenizer(resolved)
        self.max_length = min(cfg.max_length, tokenizer_max_length(self.tokenizer, resolved))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        weights = model_fingerprint(replace(cfg, max_length=0, calibration_center=0.0, calibration_scale=1.0),
                                    resolved, "encoder-weights")

        def torch_model():
            from transformers import AutoModel

            return load_weights(resolved, AutoModel, unused=UNUSED_WEIGHTS).eval()

        folder = exported_graph(torch_model, cfg.export_dir, weights, cfg.precision, names, output="last_hidden_state")
        self._export_digest = export_digest(folder)
        self.onnx = OnnxLogits(folder, names)
        return resolved

    def _encode(self, batch: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised float32 vectors of one batch."""
        if self.runtime == "onnx":
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            out = self.onnx(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (out * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        torch = self._torch
        enc = self.tokenizer(batch, padding=True, truncation=True,
                             max_length=self.max_length, return_tensors="pt").to(self.device)
        out = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(out.dtype)
        pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()

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
            with self._no_grad():
                for idx in tqdm(batches, desc=desc, unit="batch", disable=not self.progress or len(batches) < 2):
                    batch = [todo[i] for i in idx]
                    for text, vec in zip(batch, self._encode(batch), strict=True):
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

    def _no_grad(self):
        if self.runtime == "onnx":
            return contextlib.nullcontext()
        return self._torch.inference_mode()

    def similarity(self, passages: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        if not passages or not hypotheses:
            return np.zeros((len(passages), len(hypotheses)), dtype=np.float64)
        return self.embed(passages).astype(np.float64) @ self.embed(hypotheses, remember=True).astype(np.float64).T

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        # Passages and hypotheses are encoded apart, each within max_length: truncate changes nothing.
        return self._calibrate(self.similarity(passages, hypotheses))

    def score_embedded(self, passage_vectors: np.ndarray, hypotheses: Sequence[str]) -> np.ndarray:
        """``score`` for passages already embedded (e.g. vectors from the score cache): the
        same numbers, without encoding the passages again."""
        if not len(passage_vectors) or not hypotheses:
            return np.zeros((len(passage_vectors), len(hypotheses)), dtype=np.float64)
        hyp = self.embed(hypotheses, remember=True).astype(np.float64)
        return self._calibrate(np.asarray(passage_vectors, dtype=np.float32).astype(np.float64) @ hyp.T)

    def _calibrate(self, cos: np.ndarray) -> np.ndarray:
        z = self.cfg.calibration_scale * (cos - self.cfg.calibration_center)
        return 1.0 / (1.0 + np.exp(-z))
