"""The model fingerprint (the score cache's key) covers every file that defines the model.

It used to hash config.json, tokenizer.json, vocab.txt and model.safetensors only: a model
stored as safetensors shards (model-0000k-of-0000n.safetensors + index) kept its cached
scores when its weights changed, and so did a model whose tokenizer_config.json (its
model_max_length, hence every passage) or sentence-transformers pooling changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fakes import model_config
from zeroshot_news.scorers import loading
from zeroshot_news.scorers.base import model_fingerprint
from zeroshot_news.scorers.loading import ResolvedModel


def _fingerprint(folder: Path, extra: str = "x") -> str:
    return model_fingerprint(model_config("nli", folder), ResolvedModel(str(folder), True), extra)


@pytest.fixture
def sharded(tiny_nli, tmp_path) -> Path:
    """tiny_nli saved as five safetensors shards and their index (no model.safetensors)."""
    from transformers import BertForSequenceClassification

    folder = tmp_path / "sharded"
    shutil.copytree(tiny_nli, folder)
    (folder / "model.safetensors").unlink()
    BertForSequenceClassification.from_pretrained(tiny_nli).save_pretrained(folder, max_shard_size="30KB")
    assert len(list(folder.glob("model-*-of-*.safetensors"))) > 1
    return folder


def test_changed_weights_in_a_shard_change_the_fingerprint(sharded):
    from safetensors.torch import load_file, save_file

    before = _fingerprint(sharded)
    shard = sorted(sharded.glob("model-*-of-*.safetensors"))[-1]
    tensors = load_file(shard)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, shard, metadata={"format": "pt"})
    assert _fingerprint(sharded) != before


def test_a_changed_shard_index_changes_the_fingerprint(sharded):
    before = _fingerprint(sharded)
    index = sharded / "model.safetensors.index.json"
    data = json.loads(index.read_text(encoding="utf-8"))
    data["metadata"] = {**data.get("metadata", {}), "note": "edited"}
    index.write_text(json.dumps(data), encoding="utf-8")
    assert _fingerprint(sharded) != before


@pytest.mark.parametrize("name", [
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "merges.txt", "vocab.json",
    "spiece.model", "tokenizer.model", "modules.json", "sentence_bert_config.json",
    "config_sentence_transformers.json", "1_Pooling/config.json", "2_Dense/model.safetensors",
])
def test_every_file_that_defines_the_model_is_in_the_fingerprint(tiny_nli, tmp_path, name):
    folder = tmp_path / "m"
    shutil.copytree(tiny_nli, folder)
    path = folder / name
    path.parent.mkdir(exist_ok=True)
    path.write_text('{"a": 1}', encoding="utf-8")
    first = _fingerprint(folder)
    path.write_text('{"a": 2}', encoding="utf-8")
    second = _fingerprint(folder)
    assert name in loading.model_files(folder)
    path.unlink()
    assert len({first, second, _fingerprint(folder)}) == 3


def test_files_that_do_not_define_the_model_are_not(tiny_nli, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(tiny_nli, folder)
    before = _fingerprint(folder)
    (folder / "README.md").write_text("# a model card\n", encoding="utf-8")
    (folder / "pytorch_model.bin").write_bytes(b"never loaded: safetensors only")
    (folder / "notes").mkdir()
    (folder / "notes" / "config.json").write_text("{}", encoding="utf-8")
    assert _fingerprint(folder) == before
