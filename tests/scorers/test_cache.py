"""The score cache: exact reuse, only new pairs computed, fingerprint isolation, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tests.fakes import KeywordScorer, count_words, cut_words
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.scorers.cached import CachedScorer
from zeroshot_news.scorers.store import ScoreCache, text_key

PASSAGES = ["Russia moved troops to the border.", "The talks with the Taliban begin in Moscow.",
            "Nothing to see here.", "NATO troops and diplomacy."]
HYPS = ["This text is about the military.", "This text is about diplomacy."]
KEYWORDS = {"military": "troops", "diplomacy": "talks"}


class PairCounter:
    """Wraps a scorer and records every (passage, hypothesis) pair it is asked for."""

    def __init__(self, inner, fingerprint: str | None = None):
        self.inner = inner
        self.fingerprint = fingerprint or inner.fingerprint
        self.bi_encoder = inner.bi_encoder
        self.pairs: list[tuple[str, str]] = []
        self.calls = 0

    def split(self, text, hypotheses, overlap, segment=None):
        return self.inner.split(text, hypotheses, overlap, segment)

    def lead(self, text, hypotheses):
        return self.inner.lead(text, hypotheses)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)

    def score(self, passages, hypotheses, truncate=False):
        self.calls += 1
        self.pairs += [(p, h) for p in passages for h in hypotheses]
        # Irrational-looking values exercise exact float64 round trips.
        return self.inner.score(passages, hypotheses) + np.pi * 1e-3 / 7


def _cached(tmp_path, fingerprint=None):
    inner = PairCounter(KeywordScorer(KEYWORDS), fingerprint)
    return inner, CachedScorer(inner, ScoreCache(tmp_path / "sub" / "scores.sqlite"))


def test_reuse_is_exact_and_calls_nothing(tmp_path):
    inner, scorer = _cached(tmp_path)
    assert isinstance(scorer, PairScorer)
    assert (tmp_path / "sub" / "scores.sqlite").exists()  # parent folder created
    first = scorer.score(PASSAGES, HYPS)
    assert np.array_equal(first, inner.inner.score(PASSAGES, HYPS) + np.pi * 1e-3 / 7)
    assert len(inner.pairs) == 8 and scorer.stats()["misses"] == 8
    calls = inner.calls
    again = scorer.score(PASSAGES, HYPS)
    assert np.array_equal(first, again) and again.dtype == np.float64
    assert inner.calls == calls and scorer.stats()["hits"] == 8
    # A fresh process-level instance on the same file: still exact, still no calls.
    inner2 = PairCounter(KeywordScorer(KEYWORDS))
    with ScoreCache(tmp_path / "sub" / "scores.sqlite") as cache:
        reopened = CachedScorer(inner2, cache).score(PASSAGES[::-1], HYPS[::-1])
        assert np.array_equal(reopened, first[::-1, ::-1])
        assert inner2.calls == 0
        assert cache.stats() == {"hits": 8, "misses": 0, "writes": 0}


def test_only_new_pairs_are_computed(tmp_path):
    inner, scorer = _cached(tmp_path)
    base = scorer.score(PASSAGES[:2], HYPS[:1])
    inner.pairs.clear()
    # One new hypothesis and two new passages at once: exactly the 2*2 + 2*1 new pairs.
    full = scorer.score(PASSAGES, HYPS)
    expected_new = {(p, h) for p in PASSAGES for h in HYPS} - {(p, HYPS[0]) for p in PASSAGES[:2]}
    assert sorted(inner.pairs) == sorted(expected_new)
    assert np.array_equal(full[:2, :1], base)
    assert np.array_equal(full, inner.inner.score(PASSAGES, HYPS) + np.pi * 1e-3 / 7)
    # Duplicates in the request are scored once and returned in place.
    inner.pairs.clear()
    dup = scorer.score([PASSAGES[0], "brand new troops", PASSAGES[0], "brand new troops"], HYPS)
    assert sorted(inner.pairs) == sorted(("brand new troops", h) for h in HYPS)
    assert np.array_equal(dup[0], dup[2]) and np.array_equal(dup[1], dup[3])
    assert scorer.score([], HYPS).shape == (0, 2)


def test_many_patterns_fall_back_to_one_sub_grid(tmp_path):
    inner, scorer = _cached(tmp_path)
    scorer.max_groups = 1
    hyps = [f"This text is about topic {i}." for i in range(4)]
    passages = [f"passage {i} about troops" for i in range(4)]
    for i in range(4):  # a diagonal of cached pairs: every row has its own missing pattern
        scorer.score([passages[i]], [hyps[i]])
    calls = inner.calls
    out = scorer.score(passages, hyps)
    assert inner.calls == calls + 1
    assert np.array_equal(out, inner.inner.score(passages, hyps) + np.pi * 1e-3 / 7)


def test_different_fingerprint_is_not_reused(tmp_path):
    _inner_a, a = _cached(tmp_path, "model-a")
    a.score(PASSAGES, HYPS)
    inner_b, b = _cached(tmp_path, "model-b")
    b.score(PASSAGES, HYPS)
    assert len(inner_b.pairs) == 8
    assert a.cache.count("model-a") == 8 and a.cache.count("model-b") == 8 and len(a.cache) == 16


def test_exact_float64_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.random((5, 3)) ** 7  # tiny, full-mantissa doubles
    values[0, 0] = np.nextafter(0.5, 1.0)
    ps, hs = [f"p{i}" for i in range(5)], [f"h{j}" for j in range(3)]
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        cache.put("fp", ps, hs, values)
        got, found = cache.get("fp", [*ps, "absent"], hs)
    assert found[:5].all() and not found[5].any() and np.isnan(got[5]).all()
    assert got[:5].tobytes() == values.tobytes()


def test_wrapper_implements_the_contract_by_delegating(tmp_path):
    inner, scorer = _cached(tmp_path)
    assert (scorer.fingerprint, scorer.bi_encoder) == (inner.fingerprint, inner.bi_encoder)
    text = "Troops moved. Talks began. " * 20
    assert [p.text for p in scorer.split(text, HYPS, 1)] == [p.text for p in inner.split(text, HYPS, 1)]
    assert scorer.lead(text, HYPS) == inner.lead(text, HYPS)
    assert scorer.count_tokens(HYPS) == inner.count_tokens(HYPS)


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from zeroshot_news.scorers.store import ScoreCache
    cache = ScoreCache(sys.argv[1])
    hs = [f"h{j}" for j in range(int(sys.argv[2]))]
    for i in range(100000):
        values = np.array([[(i * 1009 + j) / 7919.0 / 1e5 for j in range(len(hs))]])
        cache.put("fp", [f"p{i}"], hs, values)
        if i == 20:
            print("ready", flush=True)
""")


def test_kill_minus_9_mid_write_leaves_only_complete_entries(tmp_path):
    db, width = tmp_path / "c.sqlite", 400
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(width)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.4)
        assert proc.poll() is None, "writer finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    expected = {(text_key(f"h{j}"), j) for j in range(width)}
    h_index = dict(expected)
    with ScoreCache(db) as cache:
        rows = cache._con.execute("SELECT p, h, v FROM scores WHERE fp = 'fp'").fetchall()
        by_p: dict[bytes, int] = {}
        p_index = {text_key(f"p{i}"): i for i in range(100000)}
        for p, h, v in rows:
            i, j = p_index[p], h_index[h]
            assert v == (i * 1009 + j) / 7919.0 / 1e5
            by_p[p] = by_p.get(p, 0) + 1
        n = len(by_p)
        assert n > 21
        # Every transaction is all or nothing, and they committed in order.
        assert set(by_p.values()) == {width}
        assert set(by_p) == {text_key(f"p{i}") for i in range(n)}
        cache.put("fp", ["after"], ["crash"], np.array([[0.25]]))  # still writable
        assert cache.get("fp", ["after"], ["crash"])[0][0, 0] == 0.25


@pytest.mark.parametrize("n_procs", [2])
def test_concurrent_processes_share_one_file(tmp_path, n_procs):
    db = tmp_path / "c.sqlite"
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from zeroshot_news.scorers.store import ScoreCache
        with ScoreCache(sys.argv[1]) as cache:
            hs = [f"h{j}" for j in range(50)]
            for i in range(40):
                ps = [f"p{i}", f"q{sys.argv[2]}-{i}"]
                cache.put("fp", ps, hs, np.full((2, 50), i / 40.0))
                cache.get("fp", ps, hs)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(k)], env=env) for k in range(n_procs)]
    assert [p.wait(timeout=60) for p in procs] == [0] * n_procs
    with ScoreCache(db) as cache:
        assert len(cache) == (40 + 40 * n_procs) * 50


def test_maybe_cached_follows_the_config(tmp_path):
    from zeroshot_news.config import CacheConfig
    from zeroshot_news.scorers.cached import maybe_cached

    inner = KeywordScorer(KEYWORDS)
    assert maybe_cached(inner, CacheConfig(enabled=False, path=str(tmp_path / "x.sqlite"))) is inner
    assert maybe_cached(inner, None) is inner
    assert not (tmp_path / "x.sqlite").exists()
    wrapped = maybe_cached(inner, CacheConfig(enabled=True, path=str(tmp_path / "d" / "x.sqlite")))
    assert isinstance(wrapped, CachedScorer) and (tmp_path / "d" / "x.sqlite").exists()
    wrapped.cache.close()


def test_sentence_segmentations_are_remembered(tmp_path, monkeypatch, seed_text):
    """A cached re-run does not run the (slow) sentence splitter again; passages are unchanged."""
    from zeroshot_news.corpus import passages as passages_module
    from zeroshot_news.scorers import cached as cache_module

    inner = KeywordScorer(KEYWORDS, budget=40)
    calls: list[int] = []

    def counting(paragraphs):
        calls.append(len(paragraphs))
        return passages_module.segment_paragraphs(paragraphs)

    def split_with_segment(text, hypotheses, overlap, segment=None):
        return passages_module.split_passages(text, inner.budget, count_words, cut_words, overlap, segment)

    monkeypatch.setattr(inner, "split", split_with_segment)
    monkeypatch.setattr(cache_module, "segment_paragraphs", counting)
    want = split_with_segment(seed_text, HYPS, 1)
    with ScoreCache(tmp_path / "c.sqlite") as cache:
        first = CachedScorer(inner, cache).split(seed_text, HYPS, 1)
    n_paragraphs = calls[0]
    assert first == want and n_paragraphs > 3
    with ScoreCache(tmp_path / "c.sqlite") as cache:  # a new process, in effect
        again = CachedScorer(inner, cache).split(seed_text, HYPS, 1)
        edited = CachedScorer(inner, cache).split(seed_text + "\n\nA new closing paragraph. It has two sentences.",
                                                  HYPS, 1)
    assert again == want
    assert calls == [n_paragraphs, 1]  # nothing for the re-run, only the new paragraph after an edit
    assert edited[:-1] == want[:-1] or edited[0] == want[0]


def test_a_bi_encoder_scores_from_cached_vectors_without_encoding_again(tmp_path, tiny_encoder, monkeypatch):
    """self_train embeds the corpus; stance then scores the same passages: no second encoding,
    and the very same numbers as scoring without the cache."""
    from tests.fakes import model_config
    from zeroshot_news.scorers.build import build_encoder

    cfg = model_config("embedding", tiny_encoder, device="cpu", max_length=64, runtime="torch")
    passages = ["Troops crossed the border at dawn.", "Ministers met in Geneva.", "A quiet day."]
    hypotheses = ["This text is about the military.", "This text is about diplomacy."]
    plain = build_encoder(cfg, progress=False).score(passages, hypotheses)
    inner = build_encoder(cfg, progress=False)
    cached = CachedScorer(inner, ScoreCache(tmp_path / "c.sqlite"))
    cached.embed(passages)
    encoded = []
    real = inner._encode
    monkeypatch.setattr(inner, "_encode", lambda batch: encoded.append(list(batch)) or real(batch))
    inner._recent.clear()  # only the on-disk cache may answer
    scores = cached.score(passages, hypotheses)
    assert np.array_equal(scores, plain)
    assert all(text in hypotheses for batch in encoded for text in batch)  # hypotheses only
