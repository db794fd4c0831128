"""A model folder that ships its own Python code is refused before anything loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from zeroshot_news.config import ConfigError
from zeroshot_news.scorers.base import resolve_model
from zeroshot_news.scorers.safety import refuse_custom_code


def _evil_folder(root: Path, marker: Path, where: str = "config.json") -> Path:
    """A model folder whose auto_map points at evil.py, which leaves a marker when imported."""
    folder = root / "evil-model"
    folder.mkdir()
    (folder / "evil.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('pwned')\n"
        "from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast\n"
        "class EvilConfig(PretrainedConfig):\n    model_type = 'evilmodel'\n"
        "class EvilModel(PreTrainedModel):\n    config_class = EvilConfig\n"
        "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n",
        encoding="utf-8")
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel",
                "AutoTokenizer": [None, "evil.EvilTokenizer"]}
    config = {"model_type": "evilmodel"}
    tok_config = {}
    (config if where == "config.json" else tok_config)["auto_map"] = auto_map
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if tok_config:
        (folder / "tokenizer_config.json").write_text(json.dumps(tok_config), encoding="utf-8")
    return folder


def test_cli_refuses_remote_code_even_when_the_prompt_is_answered_yes(tmp_path, seed_folder):
    marker = tmp_path / "MARKER"
    folder = _evil_folder(tmp_path, marker)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TRUST_REMOTE_CODE": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "zeroshot_news", "classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"),
         "--config-dir", str(REPO / "conf"), "--no-progress", f"model.name_or_path={folder}",
         f"cache.path={tmp_path / 'cache.sqlite'}"],
        input="y\n", capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert not marker.exists(), "the model folder's Python code was executed"
    assert proc.returncode == 2, proc.stderr
    assert "contains custom code (auto_map); refusing to load it" in proc.stderr
    assert str(folder) in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("where", ["config.json", "tokenizer_config.json"])
def test_resolve_model_refuses_auto_map(tmp_path, where):
    folder = _evil_folder(tmp_path, tmp_path / "MARKER", where)
    message = rf"model.name_or_path: .*evil-model contains custom code \(auto_map\); refusing.*{where}"
    with pytest.raises(ConfigError, match=message):
        resolve_model(str(folder))
    assert not (tmp_path / "MARKER").exists()


def test_custom_code_file_reference_is_refused(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "custom_pipelines": {
        "x": {"impl": "pipe.Pipe"}}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="custom code"):
        refuse_custom_code(folder)


def test_plain_model_folder_passes(tiny_encoder):
    refuse_custom_code(tiny_encoder)
    assert resolve_model(str(tiny_encoder)).local


def test_every_from_pretrained_call_sets_trust_remote_code_false():
    """A grep-level guard: a new loader must not rely on transformers' interactive default."""
    src = REPO / "src" / "zeroshot_news"
    missing = []
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for i, chunk in enumerate(text.split(".from_pretrained(")[1:]):
            call = chunk.split(")\n")[0]
            if "trust_remote_code=False" not in call:
                missing.append(f"{path.relative_to(src)} call {i + 1}")
    assert not missing
