"""Model files: resolve a configured name to something loadable, load it safely, pick a device.

Shared by the scorers and by ``train_nli`` (which must not depend on the scorers). A
``package:PKG/SUB`` name is a folder inside an installed Python package (how the
offline default model ships); an existing folder is local; anything else that looks
like ``org/name`` is a Hugging Face hub id (which needs network access). Local models
load with the hub switched off, from safetensors only, never with remote code.

A local folder is checked before transformers reads it (:func:`check_model_files`): every
file in it is a regular file (a link to /dev/zero or a FIFO would hang the fingerprint or
the loader for ever), every safetensors file is whole (its header describes exactly the
bytes that follow) and a shard index names shards that are there. Weights must then fit
the architecture (:func:`load_weights`): transformers fills a tensor it does not find with
random numbers and only warns (a warning the quiet loading hides), so a renamed tensor
would score every text with a random model. A malformed tokenizer file is named
(:func:`reading_tokenizer`). Each is a ConfigError: exit 2, one line, no traceback.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from zeroshot_news.config import ConfigError
from zeroshot_news.scorers.safety import refuse_custom_code

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

# Every file that defines a model (the fingerprint hashes them): its config, all its
# safetensors weights (one file or shards + their index), every tokenizer file and the
# sentence-transformers modules (numbered folders such as 1_Pooling).
MODEL_FILES = (
    "config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.txt", "vocab.json", "merges.txt",
    "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
)
MODEL_SUFFIXES = (".safetensors", ".safetensors.index.json", ".model")  # .model: sentencepiece
MODULE_FOLDER = re.compile(r"^\d+_\w+$")
# The tokenizer's JSON files, read when a tokenizer fails to load to name the culprit.
TOKENIZER_JSON = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors library's own limit
# transformers' value for "no limit" (tokenization_utils_base.VERY_LARGE_INTEGER).
VERY_LARGE_INTEGER = int(1e30)


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
        check_model_files(folder, key)
        refuse_custom_code(folder, key)
        return ResolvedModel(str(folder), True)
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ConfigError(f"{key}: {path} is not a model folder (no config.json)")
        check_model_files(path.resolve(), key)
        refuse_custom_code(path.resolve(), key)
        return ResolvedModel(str(path.resolve()), True)
    first = Path(name_or_path).parts[0] if Path(name_or_path).parts else ""
    # The project keeps its own models under models/; a hub id never starts with a local folder.
    looks_local = name_or_path.startswith((".", "/", "~")) or first == "models" or Path(first).is_dir()
    if looks_local or not HUB_ID.match(name_or_path):
        raise ConfigError(f"{key}: model folder {name_or_path!r} does not exist")
    return ResolvedModel(name_or_path, False)


def model_files(folder: Path | str) -> list[str]:
    """Every file that defines the model in ``folder`` (``MODEL_FILES``, every safetensors
    file and shard index, sentencepiece models, the files of sentence-transformers module
    folders), as sorted paths relative to it. Lists names only: reads nothing."""
    folder = Path(folder)
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir():
            if MODULE_FOLDER.match(entry.name):
                found += [f"{entry.name}/{sub.name}" for sub in sorted(os.scandir(entry.path), key=lambda e: e.name)
                          if not sub.is_dir()]
        elif entry.name in MODEL_FILES or entry.name.endswith(MODEL_SUFFIXES):
            found.append(entry.name)
    return found


def _not_regular(path: Path, key: str) -> ConfigError:
    return ConfigError(f"{key}: {path} is not a regular file (a device, FIFO, socket or a link to one); "
                       "refusing to read it")


def open_regular(path: Path | str, key: str = "model.name_or_path") -> IO[bytes]:
    """``path`` opened for binary reading, or a ConfigError if it is not a regular file.

    Opened non-blocking (a FIFO without a writer would block ``open`` itself) and checked
    on the open descriptor, so a file swapped after a check is never read either."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_regular(path, key)
    return os.fdopen(fd, "rb")


def check_model_files(folder: Path, key: str = "model.name_or_path") -> None:
    """Refuse a local model folder that would hang, crash or load wrongly; reads headers only.

    Every entry (and every entry of a sentence-transformers module folder) must be a
    regular file or a folder: links are followed (Hugging Face's cache links every file
    to a blob), /dev/zero, FIFOs and broken links are refused. Every safetensors file must
    be whole, and a shard index must name shards that are in the folder."""
    folder = Path(folder)
    try:
        entries = list(os.scandir(folder))
        entries += [sub for entry in entries if entry.is_dir() and MODULE_FOLDER.match(entry.name)
                    for sub in os.scandir(entry.path)]
    except OSError as exc:
        raise ConfigError(f"{key}: cannot list {folder}: {exc.strerror or exc}") from None
    for entry in entries:
        path = Path(entry.path)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise ConfigError(f"{key}: {path} is a broken link") from None
        except OSError as exc:
            raise ConfigError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _not_regular(path, key)
    for name in model_files(folder):
        if name.endswith(".safetensors"):
            check_safetensors(folder / name, key)
        elif name.endswith(".safetensors.index.json"):
            _check_shard_index(folder / name, key)


def check_safetensors(path: Path, key: str = "model.name_or_path") -> None:
    """The file's header is JSON and its tensors end exactly where the file does (what the
    safetensors library requires; a cut download or a disk-full copy fails here, named)."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{key}: {path} is truncated or corrupt ({why}); copy or download it again")

    with open_regular(path, key) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        if len(head) < 8:
            raise bad(f"{size} bytes, not even a header length")
        n = int.from_bytes(head, "little")
        if n > min(size - 8, SAFETENSORS_MAX_HEADER):
            raise bad(f"a header of {n} bytes in a file of {size}")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, ValueError):
            raise bad("its header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise bad(f"tensor {name!r} has no valid data_offsets")
        end = max(end, offsets[1])
    if 8 + n + end != size:
        raise bad(f"its header describes {8 + n + end} bytes, the file has {size}")


def _check_shard_index(path: Path, key: str) -> None:
    with open_regular(path, key) as fh:
        try:
            index = json.loads(fh.read())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"{key}: {path} is not readable JSON: {exc}") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise ConfigError(f"{key}: {path} has no weight_map (tensor -> shard file)")
    for shard in sorted({str(v) for v in weight_map.values()}):
        if Path(shard).name != shard or shard.startswith("."):
            raise ConfigError(f"{key}: {path.name} names {shard!r}, which is not a file in {path.parent}")
        if not (path.parent / shard).is_file():
            raise ConfigError(f"{key}: {path.name} names {shard}, which is missing from {path.parent}")


@contextmanager
def loading(resolved: ResolvedModel, key: str = "model.name_or_path") -> Iterator[None]:
    """Turn transformers' network/cache errors into one clear config error.

    From a local folder, whatever transformers, tokenizers or safetensors raise while
    reading it (malformed JSON, an impossible config value, a corrupt weights file) is the
    folder's fault, never the caller's: a ConfigError naming the folder and the cause."""
    try:
        yield
    except ConfigError:
        raise
    except OSError as exc:
        where = "local folder" if resolved.local else "Hugging Face hub (or its local cache)"
        raise ConfigError(f"{key}: cannot load {resolved.path!r} from the {where}: {exc}") from exc
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            # A hub model that needs its own code: transformers refuses it (trust_remote_code=False).
            raise ConfigError(f"{key}: {resolved.path!r} needs custom code; refusing to load it") from exc
        if not resolved.local:
            raise
        raise ConfigError(f"{key}: cannot load {resolved.path!r}: {exc}") from exc
    except Exception as exc:
        if not resolved.local:
            raise
        raise ConfigError(f"{key}: cannot load {resolved.path!r}: {type(exc).__name__}: {exc}") from exc


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


def check_tokenizer_config(folder: Path, key: str = "model.name_or_path") -> None:
    """tokenizer_config.json, if any, is a JSON object whose model_max_length is a number:
    every passage is cut to it (transformers keeps ``"abc"`` as it is and fails later)."""
    path = Path(folder) / "tokenizer_config.json"
    if not path.exists():
        return
    with open_regular(path, key) as fh:
        try:
            config = json.loads(fh.read())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"{key}: {path} is not readable JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{key}: {path} is not a JSON object")
    if config.get("model_max_length") is not None:
        parse_max_length(config["model_max_length"], path, key)


def parse_max_length(value: Any, where: Path | str, key: str = "model.name_or_path") -> int:
    """A tokenizer's ``model_max_length`` as an int (None or infinite: no limit), or a ConfigError."""
    if value is None:
        return VERY_LARGE_INTEGER
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 1:
        raise ConfigError(f"{key}: {where}: model_max_length must be a positive integer, got {value!r}")
    return VERY_LARGE_INTEGER if math.isinf(value) else int(value)


def _bad_tokenizer_file(folder: Path) -> str | None:
    """Which tokenizer file makes loading fail, and why (None when none is malformed on its own)."""
    for name in TOKENIZER_JSON:
        path = folder / name
        if not path.is_file():
            continue
        try:
            with open_regular(path) as fh:
                json.loads(fh.read())
        except (UnicodeDecodeError, ValueError) as exc:
            return f"{path} is not readable JSON: {exc}"
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # the Rust library raises a plain Exception
            return f"{folder / 'tokenizer.json'} is not a valid tokenizer: {exc}"
    return None


@contextmanager
def reading_tokenizer(resolved: ResolvedModel, key: str = "model.name_or_path") -> Iterator[None]:
    """Around building a tokenizer (transformers' or ``RustTokenizer``): a bad tokenizer
    file is a ConfigError that names it, not a traceback from deep inside the library."""
    folder = Path(resolved.path) if resolved.local else None
    if folder is not None:
        check_tokenizer_config(folder, key)
    try:
        with loading(resolved, key):
            yield
    except ConfigError as exc:
        culprit = _bad_tokenizer_file(folder) if folder is not None else None
        if culprit is None:
            raise
        raise ConfigError(f"{key}: {culprit}") from exc


def tokenizer_max_length(tokenizer, resolved: ResolvedModel, key: str = "model.name_or_path") -> int:
    """The loaded tokenizer's model_max_length, checked (see :func:`parse_max_length`)."""
    where = Path(resolved.path) / "tokenizer_config.json" if resolved.local else f"{resolved.path} tokenizer"
    return parse_max_length(getattr(tokenizer, "model_max_length", None), where, key)


def load_tokenizer(resolved: ResolvedModel, key: str = "model.name_or_path"):
    from transformers import AutoTokenizer

    if resolved.local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with reading_tokenizer(resolved, key):
        tokenizer = AutoTokenizer.from_pretrained(resolved.path, local_files_only=resolved.local,
                                                  trust_remote_code=False)
    tokenizer_max_length(tokenizer, resolved, key)
    return tokenizer


def load_weights(resolved: ResolvedModel, model_class, key: str = "model.name_or_path",
                 unused: tuple[str, ...] = ()):
    """``model_class.from_pretrained`` (safetensors only, no remote code) that refuses
    weights which do not fit the architecture.

    transformers fills every tensor it does not find with random numbers and reports it
    only as a warning (hidden by :func:`quiet_transformers`): a checkpoint whose tensors
    were renamed, or a config.json from another model, would load "fine" and score every
    text at random. Refused: any missing tensor (except those under ``unused`` prefixes:
    parts the caller never reads, e.g. BERT's pooler under mean pooling), any tensor of
    the wrong shape and any tensor the model has no place for, except a task head that a
    bare encoder (``AutoModel``) leaves out. transformers' own list of buffers that may
    be absent (``_keys_to_ignore_on_load_missing``, position_ids) is already applied.
    """
    with loading(resolved, key):
        model, info = model_class.from_pretrained(
            resolved.path, local_files_only=resolved.local, use_safetensors=True, ignore_mismatched_sizes=True,
            output_loading_info=True, trust_remote_code=False)
    check_weights(model, info, resolved, key, unused)
    return model


def _names(keys: list[str], most: int = 6) -> str:
    """Tensor names, one per layer pattern as transformers' own report writes them
    (``encoder.layer.{0, 1}.output.dense.weight``), the first ``most`` of them."""
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(re.sub(r"(?<=\.)\d+(?=\.)", "*", k), []).append(k)
    names = []
    for pattern, members in groups.items():
        slots = [re.findall(r"(?<=\.)\d+(?=\.)", m) for m in members]
        if len(members) > 1 and all(len(s) == 1 for s in slots):
            numbers = ", ".join(str(n) for n in sorted({int(s[0]) for s in slots}))
            names.append(pattern.replace("*", "{" + numbers + "}"))
        else:
            names.append(members[0] if len(members) == 1 else pattern)
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


def check_weights(model, info: dict[str, Any], resolved: ResolvedModel, key: str = "model.name_or_path",
                  unused: tuple[str, ...] = ()) -> None:
    """Raise ConfigError when ``from_pretrained``'s loading info shows a weights/architecture mismatch."""
    missing = sorted(k for k in info.get("missing_keys") or () if not k.startswith(unused))
    bare = getattr(model, "base_model", None) is model
    own = {name for name, _ in model.named_children()} | {getattr(model, "base_model_prefix", "")}
    # A bare encoder loaded from a classifier's checkpoint leaves its head out (heads sit
    # outside the encoder's modules); a tensor inside them it has no place for is an error.
    unexpected = sorted(k for k in info.get("unexpected_keys") or () if not bare or k.split(".")[0] in own)
    shapes = []
    for item in sorted(info.get("mismatched_keys") or (), key=str):
        if isinstance(item, tuple | list) and len(item) == 3:
            name, saved, wanted = item
            shapes.append(f"{name} (file {list(saved)}, model {list(wanted)})")
        else:
            shapes.append(str(item))
    errors = [str(e) for e in info.get("error_msgs") or ()]
    if not (missing or unexpected or shapes or errors):
        return
    problems = ([f"missing: {_names(missing)}"] if missing else []) \
        + ([f"unexpected: {_names(unexpected)}"] if unexpected else []) \
        + ([f"wrong shape: {_names(shapes)}"] if shapes else []) + errors
    weights = [n for n in model_files(resolved.path) if n.endswith(".safetensors")] if resolved.local else []
    files = weights[0] if len(weights) == 1 else f"{len(weights)} safetensors files" if weights else "safetensors"
    raise ConfigError(
        f"{key}: the weights in {resolved.path} ({files}) do not fit the model its config.json describes "
        f"({type(model).__name__}): {'; '.join(problems)}. transformers would fill the gaps with random "
        "numbers and every score would be meaningless (are config.json and the weights from the same model?)")
