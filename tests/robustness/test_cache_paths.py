"""cache.path pointing at something that is not a score cache: refused, never taken over."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from tests.fakes import KeywordScorer, section
from zeroshot_news.config import CacheConfig, ConfigError
from zeroshot_news.scorers.cached import CachedScorer
from zeroshot_news.scorers.store import ScoreCache, text_key


def _cache_cfg(path) -> CacheConfig:
    return section(CacheConfig, "cache", path=str(path))


def test_an_input_or_gold_file_is_refused_by_name_and_left_as_it_is(tmp_path):
    gold = tmp_path / "gold.csv"
    gold.write_text("item_id,label\na,none\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a cache file name"):
        _cache_cfg(gold).validate("cache")
    assert gold.read_text(encoding="utf-8") == "item_id,label\na,none\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.csv"]


def test_another_applications_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "app.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER, name TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="another application"):
        ScoreCache(path)
    assert path.read_bytes() == before  # not switched to WAL, no tables added
    assert not (tmp_path / "app.sqlite-wal").exists()


def test_an_unknown_schema_version_is_a_clear_error(tmp_path):
    path = tmp_path / "c.sqlite"
    ScoreCache(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        ScoreCache(path)


@pytest.mark.parametrize("kind", ["fifo", "devnull", "loop"])
def test_a_cache_path_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path, kind):
    path = tmp_path / "c.sqlite"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "devnull":
        path.symlink_to("/dev/null")
    else:
        path.symlink_to(tmp_path / "other.sqlite")
        (tmp_path / "other.sqlite").symlink_to(path)
    code = ("import sys\nfrom zeroshot_news.scorers.store import ScoreCache\nfrom zeroshot_news.config import "
            "ConfigError\ntry:\n    ScoreCache(sys.argv[1])\nexcept ConfigError as e:\n    print('refused', e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert proc.stdout.startswith("refused"), proc.stdout + proc.stderr
    with pytest.raises(ConfigError):
        _cache_cfg(path).validate("cache")


def test_a_cache_locked_by_another_writer_is_a_clear_error(tmp_path):
    path = tmp_path / "c.sqlite"
    ScoreCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code = ("import sys\nfrom zeroshot_news.scorers.store import ScoreCache\nfrom zeroshot_news.config import "
                "ConfigError\ntry:\n    ScoreCache(sys.argv[1], timeout=0.5)\nexcept ConfigError as e:\n"
                "    print('refused', e)\n")
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
        assert proc.stdout.startswith("refused") and "locked" in proc.stdout, proc.stdout + proc.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_damaged_sentence_spans_are_segmented_again(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    scorer = CachedScorer(KeywordScorer({}, budget=8), cache)
    text = "One short sentence here. Another one follows it. And a third one ends it."
    want = scorer.split(text, ["h"], 0)
    paragraph_key = text_key(f"{scorer._segmenter_id}\0{text}")
    for damage in ("not json", json.dumps([[0, 10_000]]), json.dumps([[5, 3]])):
        cache._con.execute("DELETE FROM sentences")
        cache._con.execute("INSERT INTO sentences (k, spans) VALUES (?, ?)", (paragraph_key, damage))
        scorer.scorer.__dict__.pop("_split_memo", None)
        assert scorer.split(text, ["h"], 0) == want
    cache.close()


class _Encoder(KeywordScorer):
    bi_encoder = True

    def embed(self, texts):
        v = np.ones((len(texts), 4), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_cached_vectors_of_another_width_are_recomputed(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    encoder = CachedScorer(_Encoder({}), cache)
    wrong = np.ones(3, dtype=np.float32) / np.sqrt(3)  # unit length, wrong width
    cache.put_vectors(encoder.fingerprint, {text_key("a text"): wrong})
    vectors = encoder.embed(["a text", "another"])
    assert vectors.shape == (2, 4)
    cache.close()


def test_a_topic_head_of_another_width_is_a_config_error():
    from zeroshot_news.zeroshot.topic_head import TopicHead

    head = TopicHead(("military",), "enc", np.zeros((1, 384)), np.zeros(1))
    with pytest.raises(ConfigError, match="384-wide"):
        head.predict_proba(np.zeros((2, 768)))
