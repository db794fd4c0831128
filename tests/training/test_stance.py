"""train_stance: topic split, label mapping / refusal, a few real training steps on a tiny BERT,
and the stance backend reading what the stage saves.

The base model is a tiny random BERT *NLI* cross-encoder (labels contradiction /
entailment / neutral) saved to tmp_path; the data is a generated VAST-like file with a
learnable rule (a cue word in the post decides the label), so nothing real is needed.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.fakes import default_config, model_config, section
from zeroshot_news.config import ConfigError, StanceTrainingConfig
from zeroshot_news.training.stance import (
    LABEL2ID,
    LABELS,
    build_model,
    run,
    split_by_topic,
    stance_head_rows,
    train,
    vast_items,
)

WORDS = "the a man woman dog cat park street runs sits eats sleeps red blue big small".split()  # noqa: SIM905
TOPICS = [f"topic{i}" for i in range(30)]
CUE = {0: "no", 1: "yes", 2: "maybe"}  # VAST: 0 = con, 1 = pro, 2 = neutral
NLI_LABELS = {"contradiction": 0, "entailment": 1, "neutral": 2}


def _tiny(folder: Path, label2id: dict[str, int] | None):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *CUE.values(), *TOPICS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=64)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    kw = dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=64, max_position_embeddings=64)
    if label2id is None:  # a bare encoder: transformers gives it LABEL_0 / LABEL_1
        BertModel(BertConfig(**kw)).save_pretrained(folder, safe_serialization=True)
    else:
        config = BertConfig(**kw, num_labels=len(label2id), label2id=label2id,
                            id2label={i: n for n, i in label2id.items()})
        BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory) -> Path:
    return _tiny(tmp_path_factory.mktemp("tiny-nli"), NLI_LABELS)


@pytest.fixture(scope="module")
def vast_file(tmp_path_factory) -> Path:
    rng = random.Random(0)
    rows = []
    for i in range(360):
        label = rng.choice([0, 1, 2])
        words = rng.choices(WORDS, k=rng.randint(3, 10))
        words.insert(rng.randint(0, len(words)), CUE[label])
        topic = rng.choice(TOPICS)
        rows.append({"new_id": i, "post": " ".join(words), "new_topic": topic, "topic_str": topic, "label": label,
                     "seen?": 1, "type_idx": 1})
    path = tmp_path_factory.mktemp("vast") / "vast_train.csv.gz"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cfg(base: Path, data: Path, tmp_path: Path, **kw) -> StanceTrainingConfig:
    defaults = dict(base_model=str(base), data_path=str(data), output_dir=str(tmp_path / "out" / "stance-tiny"),
                    holdout_topic_fraction=0.2, max_train_items=None, max_eval_items=None, epochs=4.0,
                    batch_size=16, learning_rate=3e-3, warmup_ratio=0.1, max_length=32, eval_batch_size=64,
                    device="cpu", num_threads=1, label_smoothing=0.0, bf16=False, freeze_word_embeddings=False)
    return section(StanceTrainingConfig, "stance_training", **{**defaults, **kw})


# --- data ---------------------------------------------------------------------


def test_vast_labels_map_to_stance(vast_file):
    items = vast_items(vast_file)
    raw = pd.read_csv(vast_file)
    assert [it.label for it in items] == [{0: "against", 1: "favor", 2: "neutral"}[y] for y in raw["label"]]


def test_held_out_topics_share_no_topic_with_training(vast_file):
    items = vast_items(vast_file)
    train_set, held = split_by_topic(items, 0.2, seed=0)
    assert not {it.target for it in train_set} & {it.target for it in held}
    assert len(train_set) + len(held) == len(items)
    assert len({it.target for it in held}) == 6  # 20 % of 30 topics, whole
    again, _ = split_by_topic(items, 0.2, seed=0)
    other, _ = split_by_topic(items, 0.2, seed=1)
    assert again == train_set and other != train_set  # seeded


def test_default_recipe_composes():
    cfg = default_config("stance_training.epochs=2").stance_training
    assert cfg.base_model == "models/nli-minilm" and cfg.max_length == 256 and cfg.epochs == 2
    with pytest.raises(ConfigError, match="holdout_topic_fraction"):
        default_config("stance_training.holdout_topic_fraction=0")


# --- labels -------------------------------------------------------------------


def test_head_rows_map_nli_or_stance_labels_and_refuse_others():
    assert stance_head_rows(NLI_LABELS) == [1, 0, 2]  # entailment -> favor, contradiction -> against
    assert stance_head_rows({"against": 2, "Favor": 0, "neutral": 1}) == [0, 2, 1]
    for bad in ({"LABEL_0": 0, "LABEL_1": 1}, {"entailment": 0, "not_entailment": 1}, {}):
        with pytest.raises(ConfigError, match="favor / against / neutral"):
            stance_head_rows(bad)


def test_build_model_refuses_a_model_without_the_three_labels(tmp_path):
    with pytest.raises(ConfigError, match="cannot map"):
        build_model(str(_tiny(tmp_path, None)))


def test_new_head_turns_a_bare_encoder_into_a_seeded_stance_model(tmp_path, tiny_nli):
    import torch

    folder = _tiny(tmp_path, None)
    torch.manual_seed(0)
    model, _ = build_model(str(folder), new_head=True)
    torch.manual_seed(0)
    again, _ = build_model(str(folder), new_head=True)
    assert model.config.id2label == dict(enumerate(LABELS)) and model.config.label2id == LABEL2ID
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(),
                                                  strict=True))
    with pytest.raises(ConfigError, match="already has a classification head"):
        build_model(str(tiny_nli), new_head=True)


def test_build_model_keeps_the_nli_head_reordered(tiny_nli):
    import torch
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(tiny_nli).eval()
    model, tokenizer = build_model(str(tiny_nli))
    model.eval()
    assert model.config.id2label == dict(enumerate(LABELS)) and model.config.label2id == LABEL2ID
    assert not model.get_input_embeddings().weight.requires_grad
    enc = tokenizer(["the dog sits"], ["topic3"], return_tensors="pt")
    with torch.no_grad():
        want = base(**enc).logits[:, [1, 0, 2]]
        assert torch.allclose(model(**enc).logits, want, atol=1e-6)


# --- training -----------------------------------------------------------------


def test_loss_falls(tiny_nli, vast_file, tmp_path, one_thread):
    import torch

    cfg = _cfg(tiny_nli, vast_file, tmp_path)
    torch.manual_seed(0)
    train_set, _ = split_by_topic(vast_items(cfg.data_path), cfg.holdout_topic_fraction, cfg.seed)
    model, tokenizer = build_model(cfg.base_model, freeze_word_embeddings=False)
    result = train(model, tokenizer, train_set, cfg, "cpu", progress=False)
    losses = [v for _, v in result.loss_curve]
    assert result.steps == len(losses) > 20
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2


def test_run_saves_a_model_the_stance_backend_loads(tiny_nli, vast_file, tmp_path, one_thread):
    from zeroshot_news.scorers.stance_ce import StanceScorer

    cfg = _cfg(tiny_nli, vast_file, tmp_path)
    metrics = run(cfg, tmp_path / "m" / "metrics.json", tmp_path / "plots", progress=False)
    assert metrics["topics_shared_by_train_and_validation"] == 0
    assert metrics["validation"]["macro_f1"] > 0.5  # the cue word decides: learnable
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["train_items"] == metrics["train_items"]
    assert (tmp_path / "plots" / "confusion.csv").read_text().startswith("actual,predicted\n")
    out = Path(cfg.output_dir)
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "favor", "1": "against", "2": "neutral"}
    assert "held-out" in (out / "README.md").read_text()

    scorer = StanceScorer(model_config("stance", out, max_length=32, device="cpu", runtime="torch"),
                          progress=False)
    texts = ["the man sits in the park yes", "a red dog eats no", "the big cat runs maybe"]
    hyps = ["[favor] topic1", "[against] topic1", "[neutral] topic1", "[relevant] topic1"]
    scores = scorer.score(texts, hyps)
    assert scores.shape == (3, 4)
    np.testing.assert_allclose(scores[:, :3].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(scores[:, 3], 1.0 - scores[:, 2], atol=1e-9)
    # learnt: each class is most probable on the text with its cue word
    assert list(scores[:, :3].argmax(axis=0)) == [0, 1, 2], scores
    np.testing.assert_array_equal(scorer.score(texts[::-1], hyps[::-1]), scores[::-1, ::-1])  # memo: same values
    with pytest.raises(ValueError, match="not tagged"):
        scorer.score(texts, ["This text supports topic1."])

    run(replace(cfg, epochs=1.0), tmp_path / "m" / "metrics.json", tmp_path / "plots", progress=False)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # replaced atomically


def test_stance_backend_refuses_a_model_without_stance_labels(tiny_nli):
    from zeroshot_news.scorers.stance_ce import StanceScorer

    with pytest.raises(ConfigError, match="favor, against, neutral"):
        StanceScorer(model_config("stance", tiny_nli, max_length=32, device="cpu", runtime="torch"), progress=False)


def test_stance_trained_composes_the_default_targets_with_the_stance_model():
    trained, default = default_config("stance=trained"), default_config()
    assert trained.stance_model().backend == "stance"
    assert trained.stance_model().name_or_path == "models/stance-minilm"
    assert trained.stance.targets == default.stance.targets
    assert trained.stance.templates == {c: [f"[{c}] {{}}"] for c in ("favor", "against", "neutral")}
    bench = default_config("benchmark@benchmarks.vast=vast_trained", "stance=trained").benchmarks["vast"]
    # Its decision values come from VAST train's held-out topics (scripts/fit_vast_trained.py).
    assert bench.name == "vast" and (bench.related_threshold, bench.neutral_margin) == (0.7, 0.0)
    assert bench.hypothesis_template == "[relevant] {}"
