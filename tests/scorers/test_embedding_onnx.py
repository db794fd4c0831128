"""The embedding backend on ONNX Runtime: same vectors as torch, a start-up without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.fakes import model_config
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.scorers.embedding import choose_runtime
from zeroshot_news.scorers.loading import load_tokenizer, resolve_model
from zeroshot_news.scorers.rust_tokenizer import RustTokenizer

TEXTS = ["Russia held military exercises in Tajikistan.", "The talks with the Taliban begin in Moscow.",
         "Café résumé — Kyiv's “talks” 中文 😀", "", "word " * 300]


def _cfg(path, export_dir, **kw):
    return model_config("embedding", path, **{"batch_size": 2, "max_length": 64, "device": "cpu",
                                              "export_dir": str(export_dir), **kw})


def test_rust_tokenizer_matches_transformers(tiny_encoder):
    ours, theirs = RustTokenizer(tiny_encoder), load_tokenizer(resolve_model(str(tiny_encoder)))
    assert ours.model_max_length == theirs.model_max_length and ours.pad_token_id == theirs.pad_token_id
    for pair in (False, True):
        assert ours.num_special_tokens_to_add(pair=pair) == theirs.num_special_tokens_to_add(pair=pair)
    plain = {"add_special_tokens": False, "truncation": False}
    assert ours(TEXTS, **plain)["input_ids"] == theirs(TEXTS, **plain)["input_ids"]
    offsets = {**plain, "return_offsets_mapping": True}
    expected = [tuple(o) for o in theirs(TEXTS[2], **offsets)["offset_mapping"]]
    assert ours(TEXTS[2], **offsets)["offset_mapping"] == expected
    batch = {"padding": True, "truncation": True, "max_length": 32, "return_tensors": "np"}
    a, b = ours(TEXTS, **batch), theirs(TEXTS, **batch)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert np.array_equal(a[key], b[key]), key


def test_onnx_vectors_equal_torch_and_a_head_fits_either(tiny_encoder, tmp_path):
    onnx = build_encoder(_cfg(tiny_encoder, tmp_path, runtime="onnx"), progress=False)
    torch_ = build_encoder(_cfg(tiny_encoder, tmp_path, runtime="torch"), progress=False)
    assert (onnx.runtime, torch_.runtime) == ("onnx", "torch")
    assert np.allclose(onnx.embed(TEXTS), torch_.embed(TEXTS), atol=1e-5)
    # Cached vectors are keyed by what computed them; a topic head by the weights only.
    assert onnx.fingerprint != torch_.fingerprint
    assert onnx.encoder_fingerprint == torch_.encoder_fingerprint
    assert onnx.count_tokens(TEXTS) == torch_.count_tokens(TEXTS)
    assert onnx.split(TEXTS[4], ["h"], 1) == torch_.split(TEXTS[4], ["h"], 1)


def test_auto_is_onnx_on_the_cpu():
    assert choose_runtime(model_config("embedding", "x", device="cpu", runtime="auto")) == "onnx"
    assert choose_runtime(model_config("embedding", "x", device="cpu", runtime="torch")) == "torch"


def test_an_exported_encoder_starts_without_torch_or_transformers(tiny_encoder, tmp_path):
    build_encoder(_cfg(tiny_encoder, tmp_path, runtime="onnx"), progress=False)  # exports once
    code = (
        "import sys\n"
        "from zeroshot_news.scorers.build import build_encoder\n"
        "from tests.fakes import model_config\n"
        f"cfg = model_config('embedding', {str(tiny_encoder)!r}, device='cpu', runtime='onnx', max_length=64,"
        f" export_dir={str(tmp_path)!r})\n"
        "sys.modules.pop('torch', None); sys.modules.pop('transformers', None)\n"
        "before = set(sys.modules)\n"
        "vec = build_encoder(cfg, progress=False).embed(['a short text'])\n"
        "new = set(sys.modules) - before\n"
        "print(vec.shape, sorted(m for m in new if m.split('.')[0] in ('torch', 'transformers'))[:3])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out


def test_embedding_precision_is_fp32_or_onnx_int8():
    from zeroshot_news.config import ConfigError

    with pytest.raises(ConfigError, match="fp32 or int8"):
        model_config("embedding", "x", precision="bf16")
    with pytest.raises(ConfigError, match="int8 vectors come from ONNX Runtime"):
        model_config("embedding", "x", precision="int8", runtime="torch")
    model_config("embedding", "x", precision="int8", runtime="onnx")


def test_int8_vectors_are_close_to_fp32_and_keyed_apart(tiny_encoder, tmp_path):
    fp32 = build_encoder(_cfg(tiny_encoder, tmp_path, runtime="onnx"), progress=False)
    int8 = build_encoder(_cfg(tiny_encoder, tmp_path, runtime="onnx", precision="int8"), progress=False)
    a, b = fp32.embed(TEXTS), int8.embed(TEXTS)
    assert not np.array_equal(a, b)  # quantised for real
    assert (a * b).sum(1).min() > 0.9  # unit vectors: cosine
    # Cached vectors are keyed apart; a topic head (fitted on the weights) serves both.
    assert int8.fingerprint != fp32.fingerprint and int8.encoder_fingerprint == fp32.encoder_fingerprint
    assert sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()) == ["fp32", "int8"]
