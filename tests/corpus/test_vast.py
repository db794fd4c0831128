"""The one VAST reader: the topic is ``topic_str`` (the authors' column), not ``new_topic``."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import REPO
from zeroshot_news.corpus.vast import VastFormatError, read_vast

VAST = REPO / "data" / "external" / "benchmarks" / "vast"


def _write(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_synthetic_neutrals_read_their_unrelated_topic(tmp_path):
    """A synthetic neutral's new_topic repeats the post's own topic; topic_str is the unrelated one."""
    rows = [
        {"new_id": 1, "post": "Guns should be banned.", "new_topic": "gun control", "topic_str": "gun control",
         "label": 1, "seen?": 1, "type_idx": 1},
        {"new_id": 2, "post": "Guns should be banned.", "new_topic": "gun control", "topic_str": "electric car",
         "label": 2, "seen?": 1, "type_idx": 4},
    ]
    items = read_vast(_write(tmp_path / "v.csv", rows))
    assert list(items["topic"]) == ["gun control", "electric car"]
    assert list(items["label"]) == ["pro", "neutral"]


def test_no_synthetic_neutral_repeats_a_labelled_pair_in_vast_train():
    """On the real file: with new_topic, 2,251 synthetic neutrals repeat a pro/con (post, topic) pair."""
    items = read_vast(VAST / "vast_train.csv.gz")
    sided = set(zip(*items.loc[items["label"] != "neutral", ["post", "topic"]].to_numpy().T, strict=True))
    synthetic = items[items["type_idx"] == 4]
    assert len(synthetic) == 2313
    repeats = sum((p, t) in sided for p, t in zip(synthetic["post"], synthetic["topic"], strict=True))
    assert repeats < 100  # topic_str: a handful of accidental collisions, not 2,251


def test_a_file_without_the_topic_column_is_refused(tmp_path):
    rows = [{"new_id": 1, "post": "x", "new_topic": "t", "label": 0, "seen?": 0, "type_idx": 1}]
    with pytest.raises(VastFormatError, match="topic_str"):
        read_vast(_write(tmp_path / "v.csv", rows))
