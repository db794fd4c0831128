"""Shared fixtures: the seed article, tiny self-made models, a corrupted corpus.

Tests never need network access or the real model weights (those are only used by
tests marked ``slow``). The tiny models are randomly initialised BERTs with a
character-level WordPiece vocabulary, built once per session and saved as
safetensors, so they load through exactly the same code path as a real model.
"""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "raw" / "seed" / "000_2f4960956bbf03af.txt"
WORDS = [
    "the", "a", "of", "to", "in", "and", "is", "was", "on", "for", "with", "at", "by", "from",
    "that", "this", "text", "about", "russia", "taliban", "moscow", "military", "talks", "troops",
    "nato", "ukraine", "government", "west", "kremlin", "putin", "security", "diplomacy",
]


def _vocab() -> list[str]:
    chars = string.ascii_lowercase + string.digits + string.punctuation
    return (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + list(chars)
            + [f"##{c}" for c in string.ascii_lowercase + string.digits])


def build_tiny_bert(folder: Path, nli: bool, seed: int = 0) -> Path:
    """Save a tiny random BERT (encoder, or 3-way NLI head) with its tokenizer to ``folder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    kwargs = dict(vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=128)
    if nli:
        labels = {0: "contradiction", 1: "entailment", 2: "neutral"}
        config = BertConfig(**kwargs, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
        model = BertForSequenceClassification(config)
    else:
        model = BertModel(BertConfig(**kwargs))
    model.eval().save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-encoder", nli=False)


@pytest.fixture(scope="session")
def tiny_nli(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-nli", nli=True)


@pytest.fixture(scope="session")
def tiny_no_entailment(tmp_path_factory) -> Path:
    """A sequence classifier whose labels are LABEL_0/LABEL_1: not an NLI model."""
    from transformers import BertConfig, BertForSequenceClassification

    folder = build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-plain", nli=False)
    config = BertConfig.from_pretrained(folder)
    config.num_labels = 2
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def seed_folder(tmp_path) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture
def corrupted_corpus(tmp_path, seed_text) -> Path:
    """A native-format folder with every kind of bad file next to good ones."""
    folder = tmp_path / "corrupted"
    folder.mkdir()
    (folder / "001_good.txt").write_text(seed_text, encoding="utf-8")
    (folder / "002_empty.txt").write_bytes(b"")
    (folder / "003_whitespace.txt").write_bytes(b"  \n\n \t\n")
    (folder / "004_binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "005_truncated_header.txt").write_text(" date 2021-1", encoding="utf-8")
    body = seed_text.split("\n", 1)[1]
    (folder / "006_no_header.txt").write_text(body, encoding="utf-8")
    latin = (" date 2021-10-16 Caf\xe9 talks\n\nReuters\nCaf\xe9 talks\n\n"
             "Foreign ministers from both countries met at a small caf\xe9 in Geneva on Tuesday to discuss "
             "the ceasefire, the exchange of prisoners and the reopening of the border crossings. Officials "
             "said the talks were constructive but that no agreement had been reached on the withdrawal of "
             "troops from the disputed region. A second round of negotiations is expected next month, when "
             "envoys from the United Nations will join the delegations to draft a joint statement.")
    (folder / "007_latin1.txt").write_bytes(latin.encode("latin-1"))
    (folder / "008_huge.txt").write_text(" date 2021-10-17 Huge\n\nX\nHuge\n\n" + "word " * 600_000, encoding="utf-8")
    (folder / "009_duplicate.txt").write_text(seed_text, encoding="utf-8")
    bad_date = seed_text.replace("2021-10-15", "2021-13-45") + "\nA later paragraph makes this a different article.\n"
    (folder / "010_bad_date.txt").write_text(bad_date, encoding="utf-8")
    return folder
