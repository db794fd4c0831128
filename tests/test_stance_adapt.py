"""adapt_stance: balanced confident pseudo-labels, refusals, and one real adaptation run on a
tiny stance model (trained here by the train_stance loop on a generated VAST-like file)."""
# ruff: noqa: F811  (the train_stance fixtures are imported by name, then requested as arguments)

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zeroshot_news.config import ConfigError, StanceAdaptationConfig, StanceTarget
from zeroshot_news.stance_adapt import adapt, main, pseudo_labels
from zeroshot_news.train_stance import run

from .fakes import default_config, model_config, section
from .test_train_stance import _cfg, one_thread, tiny_nli, vast_file  # noqa: F401  (fixtures)


def _pairs(n: int) -> pd.DataFrame:
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)], "passage": 0, "target": "t", "topic": "T",
                         "text": [f"text {i}" for i in range(n)]})


def test_pseudo_labels_are_confident_balanced_and_most_confident_first():
    probs = np.array([
        [0.90, 0.05, 0.05],  # favor, most confident
        [0.60, 0.30, 0.10],  # favor
        [0.70, 0.20, 0.10],  # favor
        [0.20, 0.75, 0.05],  # against
        [0.45, 0.50, 0.05],  # against, below confidence
        [0.10, 0.20, 0.70],  # neutral: never a pseudo-label
    ])
    items = pseudo_labels(_pairs(6), probs, confidence=0.55, max_per_class=10)
    # one against reaches 0.55, so one favor (the most confident) is kept with it
    assert [(it.text, it.label) for it in items] == [("text 0", "favor"), ("text 3", "against")]
    assert all(it.target == "T" for it in items)
    assert pseudo_labels(_pairs(6), probs, confidence=0.95, max_per_class=10) == []
    capped = pseudo_labels(_pairs(6), probs, confidence=0.4, max_per_class=1)
    assert sorted(it.label for it in capped) == ["against", "favor"]


def test_adaptation_settings_are_validated():
    good = section(StanceAdaptationConfig, "stance_adaptation")
    assert good.confidence == 0.55 and good.replay_ratio == 1.0
    with pytest.raises(ConfigError, match=r"stance_adaptation\.confidence"):
        default_config("stance_adaptation.confidence=1.5")
    with pytest.raises(ConfigError, match="max_per_class"):
        default_config("stance_adaptation.max_per_class=0")


def test_refuses_a_backend_that_is_not_the_trained_stance_model():
    with pytest.raises(ConfigError, match="stance=trained"):
        adapt(default_config(), pd.DataFrame({"doc_id": [], "title": [], "body": []}), progress=False)


@pytest.fixture(scope="module")
def tiny_stance(tiny_nli, vast_file, tmp_path_factory) -> Path:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = _cfg(tiny_nli, vast_file, tmp_path_factory.mktemp("stance"))
    run(cfg, Path(cfg.output_dir).parent / "metrics.json", Path(cfg.output_dir).parent / "plots", progress=False)
    torch.set_num_threads(before)
    return Path(cfg.output_dir)


def _adapt_config(tiny_stance: Path, vast: Path, tmp_path: Path, **adapt_fields):
    cfg = default_config("stance=trained")
    stance = replace(cfg.stance, targets=[StanceTarget("t1", "topic1", ["topic1"]), StanceTarget("t2", "topic2",
                                                                                                  ["topic2"])],
                     model=model_config("stance", tiny_stance, max_length=32, device="cpu", runtime="torch"))
    training = replace(_cfg(tiny_stance, vast, tmp_path), epochs=1.0)
    adaptation = section(StanceAdaptationConfig, "stance_adaptation",
                         **{"output_dir": str(tmp_path / "adapted"), "confidence": 0.34, **adapt_fields})
    return replace(cfg, stance=stance, stance_training=training, stance_adaptation=adaptation,
                   cache=replace(cfg.cache, enabled=False))


ARTICLES = pd.DataFrame({  # the tiny model learnt the cue words: yes = favor, no = against, maybe = neutral
    "doc_id": ["a", "b", "c", "d", "e", "f"],
    "title": ["topic1", "topic1", "topic2", "weather", "topic2", "topic1"],
    "body": ["the man sits in the park yes", "a red dog eats no", "the big cat runs maybe",
             "the woman sits in the street", "the woman sits yes", "the dog sleeps no"],
})


def _cue_probabilities(scorer, pairs: pd.DataFrame, cfg) -> np.ndarray:
    """The stance model's view, made sharp: the tiny model's yes / no separation is too weak
    to pass a confidence threshold, and this test is about what adapt does with the calls."""
    cue = {"yes": [0.8, 0.1, 0.1], "no": [0.1, 0.8, 0.1]}
    return np.array([cue.get(t.split()[-1], [0.1, 0.1, 0.8]) for t in pairs["text"]])


def test_adapt_fine_tunes_a_copy_on_balanced_pseudo_labels_and_replay(tiny_stance, vast_file, tmp_path,
                                                                       one_thread, monkeypatch):
    monkeypatch.setattr("zeroshot_news.stance_adapt.pair_probabilities", _cue_probabilities)
    cfg = _adapt_config(tiny_stance, vast_file, tmp_path, confidence=0.7)
    before = (tiny_stance / "model.safetensors").read_bytes()
    report = adapt(cfg, ARTICLES, progress=False)
    assert report["mentioning_pairs"] == 5  # article d mentions no target
    labels = report["pseudo_labels"]
    assert labels == {"against": 2, "favor": 2}  # a, e favor; b, f against; c neutral: never a pseudo-label
    assert report["pseudo_labels_by_target"] == {"t1": {"against": 2, "favor": 1}, "t2": {"favor": 1}}
    assert report["replay_items"] == sum(labels.values())  # replay_ratio 1.0
    assert report["steps"] >= 1
    out = tmp_path / "adapted"
    assert {"model.safetensors", "config.json", "README.md"} <= {p.name for p in out.iterdir()}
    assert "No gold label was read" in (out / "README.md").read_text()
    assert (tiny_stance / "model.safetensors").read_bytes() == before  # the base is not modified
    assert (out / "model.safetensors").read_bytes() != before

    # Same config and seed: the same pseudo-labels and the same weights.
    again = adapt(replace(cfg, stance_adaptation=replace(cfg.stance_adaptation, output_dir=str(tmp_path / "b"))),
                  ARTICLES, progress=False)
    assert again["pseudo_labels"] == labels
    assert (tmp_path / "b" / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()


def test_no_confident_pair_is_a_clear_error(tiny_stance, vast_file, tmp_path, one_thread):
    cfg = _adapt_config(tiny_stance, vast_file, tmp_path, confidence=1.0)
    with pytest.raises(ValueError, match="no pseudo-labels"):
        adapt(cfg, ARTICLES, progress=False)


def test_cli_refuses_the_default_backend(tmp_path):
    articles = tmp_path / "articles.parquet"
    ARTICLES.to_parquet(articles)
    with pytest.raises(ConfigError, match="stance=trained"):
        main(["--articles", str(articles), "--report", str(tmp_path / "r.json")])
    assert not (tmp_path / "r.json").exists()
