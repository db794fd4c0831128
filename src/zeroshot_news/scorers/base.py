"""The one interface under topic and stance: score (passage, hypothesis) pairs.

Both backends share model resolution (hub id, local folder, or a folder inside an
installed package), safe loading (safetensors only, no remote code), device choice,
tokenizer-based passage splitting and length-sorted batching.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import ConfigError, ModelConfig
from ..passages import Passage, Segmenter, lead_passage, shortest, split_passages
from .safety import refuse_custom_code

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@runtime_checkable
class PairScorer(Protocol):
    fingerprint: str

    def score(self, passages: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        """Probabilities in [0, 1], shape [len(passages), len(hypotheses)].

        Real backends also take ``truncate=True`` (passages.mode=lead): a pair longer than
        the model is cut at its premise's end instead of being refused."""
        ...

    def split(self, text: str, hypotheses: Sequence[str], overlap: int) -> list[Passage]:
        """Passages of ``text`` that fit the model together with any of ``hypotheses``."""
        ...


@dataclass(frozen=True)
class ResolvedModel:
    path: str  # what from_pretrained gets
    local: bool


def resolve_model(name_or_path: str, key: str = "model.name_or_path") -> ResolvedModel:
    """Map a config value to something ``from_pretrained`` can load, or fail clearly.

    ``package:PKG/SUB`` is a folder inside an installed Python package (how the
    offline default model ships); an existing folder is local; anything else that looks
    like ``org/name`` is a Hugging Face hub id (which needs network access).
    """
    if name_or_path.startswith("package:"):
        pkg, _, sub = name_or_path[len("package:"):].partition("/")
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"{key}: package {pkg!r} is not installed (pip install {pkg.replace('_', '-')})")
        folder = Path(next(iter(spec.submodule_search_locations))) / sub
        if not (folder / "config.json").exists():
            raise ConfigError(f"{key}: {folder} has no config.json")
        refuse_custom_code(folder, key)
        return ResolvedModel(str(folder), True)
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ConfigError(f"{key}: {path} is not a model folder (no config.json)")
        refuse_custom_code(path.resolve(), key)
        return ResolvedModel(str(path.resolve()), True)
    first = Path(name_or_path).parts[0] if Path(name_or_path).parts else ""
    # The project keeps its own models under models/; a hub id never starts with a local folder.
    looks_local = name_or_path.startswith((".", "/", "~")) or first == "models" or Path(first).is_dir()
    if looks_local or not HUB_ID.match(name_or_path):
        raise ConfigError(f"{key}: model folder {name_or_path!r} does not exist")
    return ResolvedModel(name_or_path, False)


@contextmanager
def loading(resolved: ResolvedModel, key: str = "model.name_or_path") -> Iterator[None]:
    """Turn transformers' network/cache errors into one clear config error."""
    try:
        yield
    except OSError as exc:
        where = "local folder" if resolved.local else "Hugging Face hub (or its local cache)"
        raise ConfigError(f"{key}: cannot load {resolved.path!r} from the {where}: {exc}") from exc
    except ValueError as exc:
        if "trust_remote_code" not in str(exc):
            raise
        # A hub model that needs its own code: transformers refuses it (trust_remote_code=False).
        raise ConfigError(f"{key}: {resolved.path!r} needs custom code; refusing to load it") from exc


def select_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"model.device: {device!r} requested but CUDA is not available")
    return device


def model_fingerprint(cfg: ModelConfig, resolved: ResolvedModel, extra: str = "") -> str:
    """Identifies weights + scoring settings, so cached scores are never reused wrongly."""
    h = hashlib.sha256()
    h.update(f"{cfg.backend}|{cfg.max_length}|{extra}".encode())
    folder = Path(resolved.path)
    if resolved.local:
        for name in ("config.json", "tokenizer.json", "vocab.txt", "model.safetensors"):
            f = folder / name
            if f.exists():
                with f.open("rb") as fh:
                    for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        h.update(chunk)
    else:
        h.update(resolved.path.encode())
    return h.hexdigest()[:16]


def quiet_transformers(progress: bool) -> None:
    """Silence expected chatter: long texts are tokenised on purpose, only to count tokens."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if not progress:
        hf_logging.disable_progress_bar()


def load_tokenizer(resolved: ResolvedModel):
    from transformers import AutoTokenizer

    if resolved.local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with loading(resolved):
        return AutoTokenizer.from_pretrained(resolved.path, local_files_only=resolved.local,
                                             trust_remote_code=False)


class TokenizerMixin:
    """Loading, token counting, cutting and passage splitting with the backend's own tokenizer."""

    tokenizer = None
    max_length: int = 256

    def _load(self, cfg: ModelConfig, model_class, progress: bool) -> ResolvedModel:
        """Resolve, then load tokenizer and weights (safetensors only, no remote code)."""
        import torch

        self.cfg = cfg
        self.progress = progress
        self._torch = torch
        quiet_transformers(progress)
        resolved = resolve_model(cfg.name_or_path)
        self.tokenizer = load_tokenizer(resolved)
        self.max_length = min(cfg.max_length, self.tokenizer.model_max_length)
        self.device = select_device(cfg.device)
        with loading(resolved):
            self.model = model_class.from_pretrained(
                resolved.path, local_files_only=resolved.local, use_safetensors=True, trust_remote_code=False
            ).to(self.device).eval()
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

    def split(self, text: str, hypotheses: Sequence[str], overlap: int,
              segment: Segmenter | None = None) -> list[Passage]:
        return split_passages(text, self.passage_budget(hypotheses), self.count_tokens,
                              self.cut_tokens, overlap, segment)

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
    and 15.7 pairs/s; benchmarks/README.md).
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    i = 0
    while i < len(order):
        size = batch_size
        if max_tokens:
            size = max(1, min(batch_size, max_tokens // max(1, int(lengths[order[i]]))))
        yield order[i : i + size]
        i += size
