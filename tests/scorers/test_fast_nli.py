"""FastNLIScorer: bit-identical to the reference NLIScorer in fp32; its pair template matches the
tokenizer; ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import model_config
from zeroshot_news.config import ConfigError, ModelConfig
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.scorers.fast_nli import FastNLIScorer, learn_pair_template
from zeroshot_news.scorers.reference import NLIScorer

PASSAGES = ["Russia held military exercises in Tajikistan.", "The talks with the Taliban begin in Moscow.",
            "A short one.", "Russia held military exercises in Tajikistan."]
HYPOTHESES = ["This text is about the military.", "This text is about diplomacy.", "Sport."]


def _cfg(path, **kw) -> ModelConfig:
    return model_config("nli", path, **{"batch_size": 2, "max_length": 64, "device": "cpu", "runtime": "torch", **kw})


def test_fp32_is_identical_to_nli_scorer(tiny_nli):
    slow, fast = NLIScorer(_cfg(tiny_nli), progress=False), FastNLIScorer(_cfg(tiny_nli), progress=False)
    assert fast.template is not None and fast.fingerprint == slow.fingerprint
    assert np.array_equal(fast.score(PASSAGES[:3], HYPOTHESES), slow.score(PASSAGES[:3], HYPOTHESES))
    # Duplicate pairs are run once and still land in place.
    dup = fast.score(PASSAGES, HYPOTHESES)
    assert np.allclose(dup[3], dup[0], atol=0) and np.allclose(dup, slow.score(PASSAGES, HYPOTHESES), atol=1e-6)
    with pytest.raises(ValueError, match="exceeds max_length"):
        fast.score(["word " * 200], HYPOTHESES)


def test_template_reproduces_the_tokenizer(tiny_nli):
    scorer = FastNLIScorer(_cfg(tiny_nli), progress=False)
    tok, template = scorer.tokenizer, scorer.template
    for p, h in [(p, h) for p in PASSAGES for h in HYPOTHESES]:
        want = tok(p, h, return_token_type_ids=True)
        ids, types = template.build(tok(p, add_special_tokens=False)["input_ids"],
                                    tok(h, add_special_tokens=False)["input_ids"])
        assert ids == want["input_ids"] and types == want["token_type_ids"]


def test_unreproducible_template_falls_back(tiny_nli):
    class Odd:
        """A tokenizer whose pair encoding is not a concatenation of the single encodings."""

        def __call__(self, a, b=None, add_special_tokens=True, return_token_type_ids=False):
            ids = [ord(c) for c in a] + ([0] + [ord(c) + 1 for c in b] if b is not None else [])
            out = {"input_ids": ids}
            if return_token_type_ids:
                out["token_type_ids"] = [0] * len(ids)
            return out

    assert learn_pair_template(Odd()) is None
    scorer = FastNLIScorer(_cfg(tiny_nli), progress=False)
    scorer.template = None
    assert np.allclose(scorer.score(PASSAGES[:2], HYPOTHESES),
                       NLIScorer(_cfg(tiny_nli), progress=False).score(PASSAGES[:2], HYPOTHESES), atol=0)


def test_reduced_precision_modes_get_their_own_fingerprint(tiny_nli):
    base = FastNLIScorer(_cfg(tiny_nli), progress=False)
    q = FastNLIScorer(_cfg(tiny_nli, precision="int8"), progress=False)
    assert q.fingerprint != base.fingerprint
    scores = q.score(PASSAGES[:2], HYPOTHESES)
    assert scores.shape == (2, 3) and np.all((scores >= 0) & (scores <= 1))
    # Precision is validated once, with the config: never reaches a scorer.
    with pytest.raises(ConfigError, match=r"model\.precision: must be one of"):
        _cfg(tiny_nli, precision="fp8")


def test_build_scorer_gives_the_fast_path_for_nli(tiny_nli):
    assert isinstance(build_scorer(_cfg(tiny_nli), progress=False, cache=None), FastNLIScorer)


def test_onnx_runtime_matches_torch_and_exports_once(tiny_nli, tmp_path):
    export_dir = tmp_path / "onnx"
    torch_scores = FastNLIScorer(_cfg(tiny_nli), progress=False).score(PASSAGES, HYPOTHESES)
    onnx = FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(export_dir)), progress=False)
    assert onnx.onnx is not None
    assert np.abs(onnx.score(PASSAGES, HYPOTHESES) - torch_scores).max() < 1e-5
    # One folder per (weights, precision), nothing half-written left next to it.
    (graph,) = export_dir.iterdir()
    assert graph.name.endswith("-fp32") and (graph / "model.onnx").exists()
    mtime = (graph / "model.onnx").stat().st_mtime_ns
    again = FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(export_dir)), progress=False)
    assert (graph / "model.onnx").stat().st_mtime_ns == mtime  # re-used, not re-exported
    # Its own fingerprint: a cache never mixes torch and ONNX Runtime scores.
    assert again.fingerprint == onnx.fingerprint != FastNLIScorer(_cfg(tiny_nli), progress=False).fingerprint
    q = FastNLIScorer(_cfg(tiny_nli, runtime="onnx", precision="int8", export_dir=str(export_dir)),
                      progress=False)
    assert q.fingerprint not in (onnx.fingerprint,)
    assert sorted(p.name.rsplit("-", 1)[1] for p in export_dir.iterdir()) == ["fp32", "int8"]
    scores = q.score(PASSAGES, HYPOTHESES)
    assert scores.shape == (4, 3) and np.all((scores >= 0) & (scores <= 1))


def test_interrupted_export_leaves_no_graph(tiny_nli, tmp_path, monkeypatch):
    from zeroshot_news.scorers import onnx_runtime

    def killed(model, folder, names, output):
        (folder / "model.onnx").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_runtime, "_export", killed)
    with pytest.raises(KeyboardInterrupt):
        FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(tmp_path)), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_export_is_detected_and_rebuilt(tiny_nli, tmp_path):
    from zeroshot_news.scorers import onnx_runtime

    export_dir = tmp_path / "onnx"
    good = FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(export_dir)), progress=False)
    expected = good.score(PASSAGES, HYPOTHESES)
    (graph,) = export_dir.iterdir()
    data = sorted(p for p in graph.iterdir() if p.name not in ("model.onnx", "MANIFEST.json"))
    damaged = data[0] if data else graph / "model.onnx"
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)  # zero a stretch, as a bad disk would
    damaged.write_bytes(bytes(raw))
    onnx_runtime._VERIFIED.clear()  # a new process
    again = FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(export_dir)), progress=False)
    np.testing.assert_allclose(again.score(PASSAGES, HYPOTHESES), expected, atol=1e-6)
    assert any(p.name.startswith(f".{graph.name}.damaged-") for p in export_dir.iterdir())
    # The cache key names the export that computed the score: the damaged one's never matches.
    assert again.fingerprint == good.fingerprint  # the rebuilt export is byte-identical here


def test_export_digest_refuses_a_changed_file(tiny_nli, tmp_path):
    from zeroshot_news.scorers import onnx_runtime

    FastNLIScorer(_cfg(tiny_nli, runtime="onnx", export_dir=str(tmp_path)), progress=False)
    (graph,) = tmp_path.iterdir()
    onnx_runtime._VERIFIED.clear()
    assert onnx_runtime.export_digest(graph)
    with (graph / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    onnx_runtime._VERIFIED.clear()
    with pytest.raises(onnx_runtime.DamagedExport, match=r"model\.onnx"):
        onnx_runtime.export_digest(graph)
