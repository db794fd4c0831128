"""The score cache never trusts its file blindly: bad values, corrupt files, read-only caches."""

from __future__ import annotations

import logging
import os
import sqlite3

import numpy as np
import pytest

from tests.fakes import KeywordScorer
from zeroshot_news.scorers.cached import CachedScorer
from zeroshot_news.scorers.store import ScoreCache, text_key

PASSAGES = ["Russia moved troops to the border.", "The talks with the Taliban begin in Moscow."]
HYPS = ["This text is about the military.", "This text is about diplomacy."]
KEYWORDS = {"military": "troops", "diplomacy": "talks"}
EXPECTED = np.array([[0.9, 0.1], [0.1, 0.9]])


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.name == "zeroshot_news.scorers.store"]


def _fill(path, n_passages: int = 2) -> None:
    with ScoreCache(path) as cache:
        ps = [f"passage {i}" for i in range(n_passages)]
        cache.put("fp", ps, HYPS, np.full((n_passages, len(HYPS)), 0.5))


def _set_raw(path, passage: str, hypothesis: str, value) -> None:
    """Write a value behind the cache's back, as a bug or a hand edit would."""
    con = sqlite3.connect(path)
    con.execute("UPDATE scores SET v = ? WHERE fp = ? AND p = ? AND h = ?",
                (value, KeywordScorer.fingerprint, text_key(passage), text_key(hypothesis)))
    con.commit()
    con.close()


# --- values -------------------------------------------------------------------------------


def test_out_of_range_and_non_finite_values_are_misses_warned_once(tmp_path, caplog):
    db = tmp_path / "c.sqlite"
    with ScoreCache(db) as cache:
        CachedScorer(KeywordScorer(KEYWORDS), cache).score(PASSAGES, HYPS)
    _set_raw(db, PASSAGES[0], HYPS[0], 7.5)
    _set_raw(db, PASSAGES[0], HYPS[1], -0.25)
    _set_raw(db, PASSAGES[1], HYPS[0], float("inf"))
    _set_raw(db, PASSAGES[1], HYPS[1], "0.9x")  # SQLite keeps text in a REAL column
    caplog.set_level(logging.WARNING)
    with ScoreCache(db) as cache:
        values, found = cache.get(KeywordScorer.fingerprint, PASSAGES, HYPS)
        assert not found.any() and np.isnan(values).all()
        inner = KeywordScorer(KEYWORDS)
        scorer = CachedScorer(inner, cache)
        assert np.array_equal(scorer.score(PASSAGES, HYPS), EXPECTED)  # recomputed, not 7.5 or inf
        assert inner.calls == [(2, 2)]
        assert np.array_equal(scorer.score(PASSAGES, HYPS), EXPECTED)  # and stored again
        assert inner.calls == [(2, 2)]
    assert len(_warnings(caplog)) == 1
    assert "not finite or outside [0.0, 1.0]" in _warnings(caplog)[0]


def test_invalid_values_are_not_stored(tmp_path):
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        assert cache.put("fp", ["a"], ["x", "y", "z", "w"], np.array([[0.5, 1.5, np.inf, np.nan]])) == 1
        assert cache.put_pairs("fp", [("b", "x", float("inf")), ("b", "y", -1.0), ("b", "z", 1.0)]) == 1
        assert len(cache) == 2


# --- corrupt files ------------------------------------------------------------------------


def _assert_fresh_and_moved(db, caplog) -> None:
    aside = sorted(p.name for p in db.parent.iterdir() if p.name.startswith(f"{db.name}.corrupt-"))
    assert len(aside) == 1 and aside[0].endswith("Z")
    messages = _warnings(caplog)
    assert len(messages) == 1 and "corrupt" in messages[0] and aside[0] in messages[0]
    with ScoreCache(db) as cache:  # the fresh file works and is not moved again
        assert len(cache) == 1
    assert len([p for p in db.parent.iterdir() if ".corrupt-" in p.name]) == 1


def test_random_bytes_file_is_moved_aside(tmp_path, caplog):
    db = tmp_path / "scores.sqlite"
    db.write_bytes(np.random.default_rng(0).bytes(300_000))
    caplog.set_level(logging.WARNING)
    with ScoreCache(db) as cache:
        assert len(cache) == 0
        cache.put("fp", ["p"], ["h"], np.array([[0.5]]))
    _assert_fresh_and_moved(db, caplog)


def test_truncated_file_is_moved_aside(tmp_path, caplog):
    db = tmp_path / "scores.sqlite"
    _fill(db, 12_000)  # about 2.5 MB
    assert db.stat().st_size > 2 << 20
    os.truncate(db, 1 << 20)  # truncate -s 1M
    caplog.set_level(logging.WARNING)
    with ScoreCache(db) as cache:
        assert len(cache) == 0
        assert cache.get("fp", ["passage 11999"], HYPS)[1].sum() == 0
        cache.put("fp", ["p"], ["h"], np.array([[0.5]]))
    _assert_fresh_and_moved(db, caplog)


def test_healthy_cache_is_not_moved(tmp_path, caplog):
    db = tmp_path / "scores.sqlite"
    _fill(db)
    caplog.set_level(logging.WARNING)
    with ScoreCache(db) as cache:
        assert len(cache) == 4
    assert _warnings(caplog) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.sqlite"]


# --- read-only caches ---------------------------------------------------------------------


def _check_read_only(db, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with ScoreCache(db) as cache:
        values, found = cache.get("fp", ["passage 0", "passage 1"], HYPS)
        assert found.all() and (values == 0.5).all()
        assert cache.put("fp", ["new"], HYPS, np.array([[0.2, 0.3]])) == 0  # no error, not saved
        cache.put("fp", ["newer"], HYPS, np.array([[0.2, 0.3]]))
        assert not cache.get("fp", ["new"], HYPS)[1].any()
    messages = _warnings(caplog)
    assert len(messages) == 1 and "read-only" in messages[0] and "not saved" in messages[0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anything")
@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_cache_serves_reads(tmp_path, caplog, what):
    folder = tmp_path / "cache"
    db = folder / "scores.sqlite"
    _fill(db)
    locked = db if what == "file" else folder
    locked.chmod(0o555 if what == "folder" else 0o444)
    try:
        _check_read_only(db, caplog)
    finally:
        locked.chmod(0o755 if what == "folder" else 0o644)


def test_read_only_cache_serves_reads_even_as_root(tmp_path, caplog, monkeypatch):
    """The same path, forced by reporting the folder not writable, so it is covered when run as root."""
    db = tmp_path / "cache" / "scores.sqlite"
    _fill(db)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    _check_read_only(db, caplog)


def test_disk_full_surfaces_as_no_space_left(tmp_path):
    """SQLite's 'database or disk is full' (forced with max_page_count) is reported as
    ENOSPC naming the cache, not as 'cannot rollback - no transaction is active'."""
    import errno

    from zeroshot_news.scorers.store import ScoreCache

    cache = ScoreCache(tmp_path / "full.sqlite")
    pages = cache._con.execute("PRAGMA page_count").fetchone()[0]
    cache._con.execute(f"PRAGMA max_page_count = {pages + 1}")
    passages = [f"passage number {i} " * 20 for i in range(400)]
    with pytest.raises(OSError) as info:
        cache.put("fp", passages, ["h"], np.full((400, 1), 0.5))
    assert info.value.errno == errno.ENOSPC
    assert "no space left on device" in str(info.value) and "full.sqlite" in str(info.value)
    cache.close()
