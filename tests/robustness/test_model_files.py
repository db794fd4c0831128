"""Broken model folders: a clear ConfigError (exit 2) naming the file; never a hang, a
traceback or a silently wrong score.

Each case once went wrong: tensors renamed in the safetensors file loaded as random
weights with exit 0 (transformers' missing-weights report is hidden by the quiet
loading: every topic 0.999999, every stance favor); a model.safetensors linked to
/dev/zero (or a FIFO) hung the fingerprint for ever; a malformed tokenizer.json,
``model_max_length: "abc"`` or a truncated safetensors file ended in a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes import model_config
from zeroshot_news.config import ConfigError, ModelConfig
from zeroshot_news.scorers.base import model_fingerprint
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.scorers.loading import ResolvedModel, resolve_model

PASSAGES = ["Russia held military exercises in Tajikistan.", "The talks with the Taliban begin in Moscow."]
HYPOTHESES = ["This text is about the military.", "This text is about diplomacy."]


def _cfg(backend: str, path: Path, export_dir: Path, **kw) -> ModelConfig:
    return model_config(backend, path, **{"batch_size": 2, "max_length": 64, "device": "cpu",
                                          "export_dir": str(export_dir), **kw})


def _copy(src: Path, tmp_path: Path, name: str = "model") -> Path:
    folder = tmp_path / name
    shutil.copytree(src, folder)
    return folder


def _edit_weights(folder: Path, edit: Callable[[dict], dict], name: str = "model.safetensors") -> None:
    from safetensors.torch import load_file, save_file

    save_file(edit(load_file(folder / name)), folder / name, metadata={"format": "pt"})


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **changes}), encoding="utf-8")


@contextmanager
def deadline(seconds: float = 30.0) -> Iterator[None]:
    """Fail a call that hangs (reading /dev/zero, opening a FIFO) instead of hanging the suite."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- 2. weights that do not fit the architecture -------------------------------------------


def _renamed(tensors: dict) -> dict:
    return {k.replace("encoder.layer", "encoder.block"): v for k, v in tensors.items()}


@pytest.mark.parametrize(("backend", "runtime", "source"), [
    ("nli", "torch", "tiny_nli"), ("nli", "onnx", "tiny_nli"),
    ("embedding", "torch", "tiny_encoder"), ("embedding", "onnx", "tiny_encoder"),
])
def test_renamed_tensors_are_refused_not_scored_as_random_weights(backend, runtime, source, request, tmp_path):
    folder = _copy(request.getfixturevalue(source), tmp_path)
    _edit_weights(folder, _renamed)
    cfg = _cfg(backend, folder, tmp_path / "onnx", runtime=runtime)
    with pytest.raises(ConfigError, match=r"model\.name_or_path: .*model\.safetensors.* do not fit the model") as err:
        build_scorer(cfg, progress=False).score(PASSAGES, HYPOTHESES)
    message = str(err.value)
    assert re.search(r"missing: [^;]*encoder\.layer\.\{0, 1\}\.", message), message
    assert re.search(r"unexpected: [^;]*encoder\.block\.\{0, 1\}\.", message), message
    assert not (tmp_path / "onnx").exists() or not any((tmp_path / "onnx").iterdir())


def test_an_encoder_under_an_nli_config_is_refused_not_given_a_random_head(tiny_encoder, tmp_path):
    """Weights of a bare encoder with a config naming NLI labels: the classifier would be random."""
    folder = _copy(tiny_encoder, tmp_path)
    labels = {"0": "contradiction", "1": "entailment", "2": "neutral"}
    _edit_json(folder / "config.json", architectures=["BertForSequenceClassification"], id2label=labels,
               label2id={v: int(k) for k, v in labels.items()})
    with pytest.raises(ConfigError, match=r"missing: classifier\.bias, classifier\.weight\."):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


def test_a_tensor_of_the_wrong_shape_is_refused(tiny_nli, tmp_path):
    folder = _copy(tiny_nli, tmp_path)
    _edit_weights(folder, lambda t: {**t, "classifier.weight": t["classifier.weight"][:2],
                                     "classifier.bias": t["classifier.bias"][:2]})
    with pytest.raises(ConfigError, match=r"wrong shape: classifier\.bias .*\[2\].*\[3\]"):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


def test_tensors_the_architecture_has_no_place_for_are_refused(tiny_nli, tmp_path):
    """A third layer in the file, two in config.json: the model would silently drop one."""
    folder = _copy(tiny_nli, tmp_path)
    extra = "bert.encoder.layer.2.output.dense.weight"
    _edit_weights(folder, lambda t: {**t, extra: t["bert.encoder.layer.1.output.dense.weight"].clone()})
    with pytest.raises(ConfigError, match=rf"unexpected: {extra}\."):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_the_embedding_backend_may_drop_a_classifier_head_and_a_missing_pooler(tiny_nli, tmp_path, runtime):
    """Not every mismatch is an error: the encoder of a classifier embeds without its head, and
    mean pooling never reads BERT's pooler (sentence-transformers checkpoints may lack it)."""
    folder = _copy(tiny_nli, tmp_path)
    _edit_weights(folder, lambda t: {k: v for k, v in t.items() if ".pooler." not in k})
    scorer = build_scorer(_cfg("embedding", folder, tmp_path / "onnx", runtime=runtime), progress=False)
    assert scorer.score(PASSAGES, HYPOTHESES).shape == (2, 2)
    # The NLI head reads the pooler: the same folder is refused as a classifier.
    with pytest.raises(ConfigError, match=r"missing: bert\.pooler\.dense\.bias, bert\.pooler\.dense\.weight"):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


def test_cli_exits_2_without_traceback_for_renamed_tensors(tiny_encoder, tmp_path, seed_folder):
    folder = _copy(tiny_encoder, tmp_path)
    _edit_weights(folder, _renamed)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "zeroshot_news", "classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"),
         "--config-dir", str(REPO / "conf"), "--no-progress", f"model.name_or_path={folder}",
         f"model.export_dir={tmp_path / 'onnx'}", f"cache.path={tmp_path / 'cache.sqlite'}"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "do not fit the model" in proc.stderr and "encoder.block.{0, 1}." in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()


# -- 3. files that are not regular files ----------------------------------------------------


def _dev_zero(folder: Path, name: str) -> None:
    (folder / name).unlink()
    (folder / name).symlink_to("/dev/zero")


def _fifo(folder: Path, name: str) -> None:
    (folder / name).unlink()
    os.mkfifo(folder / name)


@pytest.mark.parametrize("make", [_dev_zero, _fifo], ids=["dev-zero", "fifo"])
@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "tokenizer.json", "vocab.txt"])
def test_a_model_file_that_is_not_a_regular_file_is_refused_without_reading_it(tiny_nli, tmp_path, make, name):
    folder = _copy(tiny_nli, tmp_path)
    make(folder, name)
    with deadline(), pytest.raises(ConfigError, match=rf"model\.name_or_path: .*{name} is not a regular file"):
        resolve_model(str(folder))


@pytest.mark.parametrize("make", [_dev_zero, _fifo], ids=["dev-zero", "fifo"])
def test_the_fingerprint_never_reads_a_file_that_is_not_regular(tiny_nli, tmp_path, make):
    folder = _copy(tiny_nli, tmp_path)
    make(folder, "model.safetensors")
    with deadline(), pytest.raises(ConfigError, match=r"model\.safetensors is not a regular file"):
        model_fingerprint(model_config("nli", folder), ResolvedModel(str(folder), True))


def test_a_scorer_on_a_model_linked_to_dev_zero_fails_fast(tiny_nli, tmp_path):
    folder = _copy(tiny_nli, tmp_path)
    _dev_zero(folder, "model.safetensors")
    with deadline(), pytest.raises(ConfigError, match="not a regular file"):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


def test_a_link_to_a_regular_file_is_fine(tiny_nli, tmp_path):
    """Hugging Face's own cache stores every file as a link to a blob."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    for path in tiny_nli.iterdir():
        (folder / path.name).symlink_to(path)
    scorer = build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)
    assert scorer.score(PASSAGES, HYPOTHESES).shape == (2, 2)


# -- 4. malformed files: a ConfigError naming the file, not a traceback ---------------------


@pytest.mark.parametrize("content", ["{not json", '{"version": "1.0", "model": {"type": "NoSuchModel"}}'],
                         ids=["not-json", "not-a-tokenizer"])
@pytest.mark.parametrize(("backend", "runtime"), [("nli", "torch"), ("embedding", "onnx")])
def test_a_malformed_tokenizer_json_is_named(tiny_nli, tiny_encoder, tmp_path, content, backend, runtime):
    folder = _copy(tiny_nli if backend == "nli" else tiny_encoder, tmp_path)
    (folder / "tokenizer.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"model\.name_or_path: .*tokenizer\.json"):
        build_scorer(_cfg(backend, folder, tmp_path / "onnx", runtime=runtime), progress=False)


@pytest.mark.parametrize("value", ["abc", "512", True, -1, None, [512]])
@pytest.mark.parametrize(("backend", "runtime"), [("nli", "torch"), ("embedding", "onnx"), ("embedding", "torch")])
def test_a_bad_model_max_length_is_named(tiny_nli, tiny_encoder, tmp_path, value, backend, runtime):
    folder = _copy(tiny_nli if backend == "nli" else tiny_encoder, tmp_path)
    _edit_json(folder / "tokenizer_config.json", model_max_length=value)
    cfg = _cfg(backend, folder, tmp_path / "onnx", runtime=runtime)
    if value is None:  # null means "no limit", as transformers reads it
        assert build_scorer(cfg, progress=False).score(PASSAGES, HYPOTHESES).shape == (2, 2)
        return
    with pytest.raises(ConfigError, match=r"tokenizer_config\.json: model_max_length must be a positive integer"):
        build_scorer(cfg, progress=False)


@pytest.mark.parametrize(("backend", "runtime"), [("nli", "torch"), ("embedding", "onnx")])
def test_a_malformed_tokenizer_config_is_named(tiny_nli, tiny_encoder, tmp_path, backend, runtime):
    folder = _copy(tiny_nli if backend == "nli" else tiny_encoder, tmp_path)
    (folder / "tokenizer_config.json").write_text('{"model_max_length": 128,', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"model\.name_or_path: .*tokenizer_config\.json"):
        build_scorer(_cfg(backend, folder, tmp_path / "onnx", runtime=runtime), progress=False)


@pytest.mark.parametrize("cut", ["half", "header", "tail", "extra"])
def test_a_truncated_safetensors_file_is_named(tiny_nli, tmp_path, cut):
    folder = _copy(tiny_nli, tmp_path)
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes({"half": data[: len(data) // 2], "header": data[:100], "tail": data[:-1],
                      "extra": data + b"\0"}[cut])
    with pytest.raises(ConfigError, match=r"model\.name_or_path: .*model\.safetensors is truncated or corrupt"):
        build_scorer(_cfg("nli", folder, tmp_path / "onnx", runtime="torch"), progress=False)


def test_a_truncated_shard_is_named(tiny_nli, tmp_path):
    from transformers import BertForSequenceClassification

    folder = _copy(tiny_nli, tmp_path)
    (folder / "model.safetensors").unlink()
    BertForSequenceClassification.from_pretrained(tiny_nli).save_pretrained(folder, max_shard_size="30KB")
    shard = sorted(folder.glob("model-*-of-*.safetensors"))[1]
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(ConfigError, match=rf"{shard.name} is truncated or corrupt"):
        resolve_model(str(folder))
    shard.unlink()
    with pytest.raises(ConfigError, match=rf"model\.safetensors\.index\.json names {shard.name}, which is missing"):
        resolve_model(str(folder))
