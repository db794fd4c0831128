"""Model files: resolve a configured name to something loadable, load it safely, pick a device.

Shared by the scorers and by ``train_nli`` (which must not depend on the scorers). A
``package:PKG/SUB`` name is a folder inside an installed Python package (how the
offline default model ships); an existing folder is local; anything else that looks
like ``org/name`` is a Hugging Face hub id (which needs network access). Local models
load with the hub switched off, from safetensors only, never with remote code.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zeroshot_news.config import ConfigError
from zeroshot_news.scorers.safety import refuse_custom_code

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


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
