"""Refuse model folders that ship their own Python code, before transformers reads them.

``trust_remote_code=False`` on every ``from_pretrained`` is the first guard; this is the
second: a local folder whose configs name code (``auto_map``, ``custom_pipelines``) is
refused outright, so no prompt, environment variable or transformers default can ever
reach the import of that code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zeroshot_news.config import ConfigError

CONFIG_FILES = ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json")
CODE_KEYS = ("auto_map", "custom_pipelines")


def _code_key(data: Any) -> str | None:
    """The first key naming custom code, at any depth (sub-configs can carry their own)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in CODE_KEYS and value:
                return key
            found = _code_key(value)
            if found:
                return found
    elif isinstance(data, list):
        for value in data:
            found = _code_key(value)
            if found:
                return found
    return None


def refuse_custom_code(folder: Path, key: str = "model.name_or_path") -> None:
    """Raise ConfigError when ``folder``'s configs reference custom code; read nothing else."""
    for name in CONFIG_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"{key}: {path} is not readable JSON: {exc}") from exc
        found = _code_key(data)
        if found:
            raise ConfigError(f"{key}: {folder} contains custom code ({found}); refusing to load it "
                              f"({name}: {found} names Python code that transformers would import)")
