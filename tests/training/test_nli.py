"""train_nli: source split, RTE handling, loss, and a few real training steps on a tiny BERT.

The base model is a tiny randomly initialised BERT saved to tmp_path, and the data are
generated files with a learnable rule (the hypothesis word decides the label), so the
tests need neither the real weights nor the real 6 MB pair file, and run in seconds.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import default_config, model_config, section
from zeroshot_news.config import ConfigError, NLITrainingConfig
from zeroshot_news.corpus.sampling import subsample
from zeroshot_news.training.loop import epoch_batches, length_grouped_batches, lr_factor
from zeroshot_news.training.nli import build_model, run, train
from zeroshot_news.training.nli_data import (
    LABEL2ID,
    Pair,
    allowed_mask,
    load_rte,
    nli_loss,
    split_by_source,
    training_pairs,
    weight_synthetic,
)

WORDS = "the a man woman dog cat park street runs sits eats sleeps red blue big small".split()  # noqa: SIM905
CUE = {"entailment": "yes", "contradiction": "no", "neutral": "maybe", "not_entailment": "no"}


def _write_gz(path: Path, rows: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def _rows(n: int, source: str, labels: tuple[str, ...], seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.choice(labels)
        premise = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
        rows.append({"premise": premise, "hypothesis": f"the {rng.choice(WORDS)} {CUE[label]}",
                     "label": label, "source": source})
    return rows


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny random BertModel + WordPiece tokenizer, saved like a real base encoder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "yes", "no", "maybe"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab=``; ``vocab_file=`` is silently ignored
    # (every token becomes [UNK]).
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=64)
    assert tokenizer.unk_token_id not in tokenizer("the dog yes")["input_ids"]
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture
def data(tmp_path) -> tuple[Path, Path]:
    three = ("entailment", "neutral", "contradiction")
    rows = (_rows(160, "srcA", three, 1) + _rows(160, "srcB", three, 2) + _rows(60, "synth", three, 3)
            + _rows(90, "held", three, 4))
    rte = _rows(40, "RTE(GLUE, 2-class)", ("entailment", "not_entailment"), 5)
    return _write_gz(tmp_path / "pairs.jsonl.gz", rows), _write_gz(tmp_path / "rte.jsonl.gz", rte)


def _cfg(base: Path, data: tuple[Path, Path], tmp_path: Path, **kw) -> NLITrainingConfig:
    defaults = dict(base_model=str(base), data_path=str(data[0]), rte_path=str(data[1]),
                    output_dir=str(tmp_path / "out" / "nli-tiny"), holdout_sources=["held"],
                    synthetic_sources=["synth"], epochs=4.0, batch_size=16, learning_rate=3e-3,
                    warmup_ratio=0.1, max_length=32, eval_batch_size=64, device="cpu", num_threads=1,
                    synthetic_weight=1.0, use_rte=False, label_smoothing=0.0)
    return section(NLITrainingConfig, "nli_training", **{**defaults, **kw})


# --- data handling ----------------------------------------------------------


def _pairs(*sources: str) -> list[Pair]:
    return [Pair(f"p{i}", f"h{i}", "neutral", s) for s in sources for i in range(3)]


def test_split_is_strictly_by_source():
    pairs = _pairs("a", "b", "c", "held")
    train_set, held = split_by_source(pairs, [], ["held"])
    assert {p.source for p in train_set} == {"a", "b", "c"}
    assert {p.source for p in held} == {"held"}
    train_set, _ = split_by_source(pairs, ["a"], ["held"])
    assert {p.source for p in train_set} == {"a"}


def test_split_rejects_unknown_and_overlapping_sources():
    pairs = _pairs("a", "held")
    with pytest.raises(ConfigError, match="not sources"):
        split_by_source(pairs, [], ["typo"])
    with pytest.raises(ConfigError, match="not sources"):
        split_by_source(pairs, ["typo"], ["held"])
    with pytest.raises(ConfigError, match="both train and held out"):
        split_by_source(pairs, ["a", "held"], ["held"])


def test_synthetic_weight_and_drop():
    pairs = _pairs("a", "syn")
    weighted = weight_synthetic(pairs, ["syn"], 0.25)
    assert [p.weight for p in weighted] == [1.0] * 3 + [0.25] * 3
    assert {p.source for p in weight_synthetic(pairs, ["syn"], 0.0)} == {"a"}


def test_subsample_is_seeded_and_keeps_order():
    pairs = _pairs(*"abcdefgh")
    a, b = subsample(pairs, 10, seed=3), subsample(pairs, 10, seed=3)
    assert a == b and len(a) == 10
    assert [pairs.index(p) for p in a] == sorted(pairs.index(p) for p in a)
    assert subsample(pairs, None, 0) == pairs


def test_rte_is_binary_and_not_entailment_allows_contradiction_or_neutral(data):
    rte = load_rte(data[1])
    assert {p.label for p in rte} == {"entailment", "not_entailment"}
    mask = allowed_mask([Pair("p", "h", "not_entailment", "RTE"), Pair("p", "h", "entailment", "RTE")])
    assert mask[0].tolist() == [True, False, True]  # contradiction, entailment, neutral
    assert mask[1].tolist() == [False, True, False]


def test_nli_loss_matches_cross_entropy_and_rte_rule():
    import torch

    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    gold = torch.tensor([LABEL2ID["contradiction"], LABEL2ID["neutral"]])
    allowed = torch.nn.functional.one_hot(gold, 3).bool()
    ones = torch.ones(2)
    for eps in (0.0, 0.1):
        expected = torch.nn.functional.cross_entropy(logits, gold, label_smoothing=eps)
        assert torch.allclose(nli_loss(logits, allowed, ones, eps), expected)
    # not_entailment: -log(p_contradiction + p_neutral) = -log(1 - p_entailment)
    not_ent = torch.tensor([[True, False, True]])
    p_ent = torch.softmax(logits[:1], -1)[0, LABEL2ID["entailment"]]
    assert torch.allclose(nli_loss(logits[:1], not_ent, torch.ones(1), 0.0), -torch.log(1 - p_ent))
    # a down-weighted pair counts less even alone in its batch
    assert nli_loss(logits[:1], allowed[:1], torch.tensor([0.5]), 0.0) < nli_loss(
        logits[:1], allowed[:1], torch.ones(1), 0.0)


def test_batches_are_seeded_length_grouped_and_cover_every_pair():
    lengths = np.random.default_rng(0).integers(5, 100, size=500)
    batches = length_grouped_batches(lengths, 16, np.random.default_rng(1), pool=4)
    again = length_grouped_batches(lengths, 16, np.random.default_rng(1), pool=4)
    assert all((x == y).all() for x, y in zip(batches, again, strict=True))
    assert sorted(np.concatenate(batches).tolist()) == list(range(500))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < np.ptp(lengths) / 2  # grouped: far less padding than random batches
    assert sum(1 for _ in epoch_batches(lengths, 16, 0, total_steps=50)) == 50  # crosses an epoch


def test_lr_schedule_shapes():
    assert lr_factor(0, 100, 10, "linear") == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, "linear") == pytest.approx(1.0)
    assert lr_factor(99, 100, 10, "linear") == pytest.approx(1 / 90)
    assert lr_factor(55, 100, 10, "cosine") == pytest.approx(0.5)
    assert lr_factor(99, 100, 10, "constant") == 1.0


def test_hydra_overrides_reach_the_recipe():
    """train_nli takes Hydra overrides like every command (no --set of its own)."""
    cfg = default_config("nli_training.learning_rate=5e-5", "nli_training.holdout_sources=[a,b]",
                         "nli_training.max_train_pairs=null", "nli_training.seed=7").nli_training
    assert (cfg.learning_rate, cfg.holdout_sources, cfg.max_train_pairs, cfg.seed) == (5e-5, ["a", "b"], None, 7)
    with pytest.raises(ConfigError, match="epoch"):
        default_config("nli_training.epoch=1")


def test_training_pairs_never_train_on_held_out(tiny_base, data, tmp_path):
    cfg = _cfg(tiny_base, data, tmp_path, use_rte=True, synthetic_weight=0.5, max_train_pairs=300)
    train_set, held = training_pairs(cfg)
    assert {p.source for p in held} == {"held"}
    assert "held" not in {p.source for p in train_set}
    assert len(train_set) == 300
    assert {p.weight for p in train_set if p.source == "synth"} <= {0.5}
    blank_train, blank_held = training_pairs(cfg, hypothesis_only=True)
    assert {p.premise for p in blank_train + blank_held} == {""}


# --- training end to end (tiny) ----------------------------------------------


@pytest.fixture
def trainable_embeddings(monkeypatch):
    """The real recipe freezes *pre-trained* word embeddings; a tiny model's random 32-dim
    table is no such asset, and frozen it makes the few-step tests needlessly slow to learn."""
    import zeroshot_news.training.nli as loop

    monkeypatch.setattr(loop, "FREEZE_WORD_EMBEDDINGS", False)


@pytest.fixture
def one_thread():
    """Tiny matrices: one thread beats two on a shared CPU (as run() does with num_threads=1)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_build_model_names_labels_and_freezes_word_embeddings(tiny_base):
    model, _ = build_model(str(tiny_base))
    assert model.config.label2id == LABEL2ID and model.config.num_labels == 3
    assert not model.get_input_embeddings().weight.requires_grad
    assert all(p.requires_grad for n, p in model.named_parameters() if "word_embeddings" not in n)


def test_loss_falls(tiny_base, data, tmp_path, trainable_embeddings, one_thread):
    import torch

    cfg = _cfg(tiny_base, data, tmp_path, use_rte=True)
    torch.manual_seed(0)
    train_set, _ = training_pairs(cfg)
    model, tokenizer = build_model(cfg.base_model)
    result = train(model, tokenizer, train_set, cfg, "cpu", progress=False)
    losses = [v for _, v in result.loss_curve]
    assert result.steps == len(losses) > 20
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2


def test_run_saves_a_model_nli_scorer_loads(tiny_base, data, tmp_path, trainable_embeddings, one_thread):
    import torch

    from zeroshot_news.scorers.fast_nli import FastNLIScorer

    cfg = _cfg(tiny_base, data, tmp_path, use_rte=True, synthetic_weight=0.5)
    metrics = run(cfg, tmp_path / "metrics" / "metrics.json", tmp_path / "plots", progress=False)
    held = metrics["heldout"]
    assert set(held["accuracy_by_source"]) == {"held"}
    assert "held" not in metrics["train_pairs_by_source"]
    assert held["accuracy"] > 0.5  # the hypothesis word decides the label: learnable
    assert json.loads((tmp_path / "metrics" / "metrics.json").read_text())["train_pairs"] == 420
    confusion = (tmp_path / "plots" / "confusion.csv").read_text().splitlines()
    assert confusion[0] == "actual,predicted" and len(confusion) == 91
    assert (tmp_path / "plots" / "loss.csv").read_text().startswith("step,loss\n")

    out = Path(cfg.output_dir)
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp dir left behind
    from safetensors import safe_open

    with safe_open(out / "model.safetensors", "pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()}  # noqa: SIM118 == {torch.float16}

    scorer = FastNLIScorer(model_config("nli", out, max_length=32, device="cpu", runtime="torch"), progress=False)
    assert next(scorer.model.parameters()).dtype == torch.float32  # fp16 on disk, fp32 loaded
    scores = scorer.score(["the man sits in the park", "a red dog"], ["the dog yes", "the cat no"])
    assert scores.shape == (2, 2)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (scores[:, 0] > scores[:, 1]).all()  # learnt: "yes" entails, "no" contradicts

    # a second run replaces the folder atomically
    run(replace(cfg, epochs=1.0), tmp_path / "metrics" / "metrics.json", tmp_path / "plots", progress=False)
    assert (out / "model.safetensors").exists()
