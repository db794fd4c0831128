"""Sentence splitting stays near-linear: pysbd never sees more than ``MAX_SEGMENT_CHARS`` at once.

pysbd's cost grows faster than quadratically with the length of what it segments (7 / 22 /
109 s for a 104 / 208 / 416 KB paragraph, over 300 s for 1 MB) while an article may be
2 MB, so one article without paragraph breaks could stall a run for hours. Longer
paragraphs are cut on line breaks, sentence ends or whitespace first.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest

from tests.conftest import SEED
from zeroshot_news.corpus import passages
from zeroshot_news.corpus.passages import segment_paragraphs, sentence_spans


def _repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n].strip()


def _prose(n: int) -> str:
    """``n`` characters of news prose as one paragraph (the seed article, line breaks removed)."""
    return _repeat(" ".join(SEED.read_text(encoding="utf-8").split()) + " ", n)


class SpySegmenter:
    """A ``Segmenter`` that records what it is given and fails at once on a piece over the cap
    (so the unbounded code fails this test instead of running for minutes)."""

    def __init__(self, inner=segment_paragraphs):
        self.inner = inner
        self.pieces: list[str] = []

    def __call__(self, paragraphs: list[str]) -> list[list[tuple[int, int]]]:
        for p in paragraphs:
            assert len(p) <= passages.MAX_SEGMENT_CHARS, f"a {len(p)}-character piece reached the segmenter"
        self.pieces += paragraphs
        return self.inner(paragraphs)


def _whole(paragraphs: list[str]) -> list[list[tuple[int, int]]]:
    """A stand-in segmenter: each piece is one sentence (fast, to test only the cutting)."""
    return [[(0, len(p))] for p in paragraphs]


def _check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are ordered, disjoint, trimmed, and cover every non-space character of ``text``."""
    pos = 0
    for s, e in spans:
        assert pos <= s < e
        assert not text[s].isspace() and not text[e - 1].isspace()
        assert not text[pos:s].strip(), f"text lost between {pos} and {s}"
        pos = e
    assert not text[pos:].strip()


KINDS = {
    "prose": _prose(1_000_000),
    "lines": _repeat("A short line of text without an end\n", 1_000_000),
    "words": _repeat("word another thing ", 1_000_000),
    "no_space": "x" * 1_000_000,
}
# What a piece may end with (the cut right after it) for each kind, in order of preference.
ENDS = {"prose": r"[.!?][\"'”’)\]]*\s$", "lines": r"\n$", "words": r"\s$", "no_space": r"x$"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_1mb_paragraph_is_cut_into_pieces_within_the_cap_on_the_best_boundary(kind):
    text = KINDS[kind]
    cap = passages.MAX_SEGMENT_CHARS
    pieces = passages.bounded_pieces(text)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(pieces))  # contiguous
    assert all(0 < e - s <= cap for s, e in pieces)
    assert len(pieces) <= 2 * len(text) // cap + 1  # pieces are at least half the cap: linear work
    for _, end in pieces[:-1]:  # a line break, else a sentence end, else whitespace, else anywhere
        assert re.search(ENDS[kind], text[max(end - 20, 0):end]), f"cut after {text[end - 20:end]!r}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_1mb_paragraph_reaches_the_segmenter_in_pieces_within_the_cap(kind):
    text = KINDS[kind]
    spy = SpySegmenter(_whole)
    _check_spans(text, sentence_spans(text, spy))
    assert len(spy.pieces) > 1


def test_a_1mb_paragraph_is_split_by_pysbd_in_bounded_time():
    text = KINDS["prose"]
    spy = SpySegmenter()
    started = time.perf_counter()
    spans = sentence_spans(text, spy)
    elapsed = time.perf_counter() - started
    _check_spans(text, spans)
    assert max(map(len, spy.pieces)) <= passages.MAX_SEGMENT_CHARS
    assert len(spans) > 1_000_000 // 200  # sentences, not pieces
    assert elapsed < 60, f"{elapsed:.0f} s for 1 MB (the unbounded split took over 300 s)"


def test_the_default_segmenter_is_bounded_too(monkeypatch):
    """Without a ``segment`` argument every pysbd call also gets at most the cap."""
    calls: list[int] = []
    real = passages._segmenter()

    class Counting:
        def segment(self, text):
            calls.append(len(text))
            assert len(text) <= passages.MAX_SEGMENT_CHARS
            return real.segment(text)

    monkeypatch.setattr(passages, "_segmenter", lambda: Counting())
    text = _prose(3 * passages.MAX_SEGMENT_CHARS + 123)
    _check_spans(text, sentence_spans(text))
    assert len(calls) >= 4 and max(calls) <= passages.MAX_SEGMENT_CHARS


def test_paragraphs_under_the_cap_reach_pysbd_whole():
    paragraphs = [_prose(n) for n in (200, 3000, passages.MAX_SEGMENT_CHARS)]
    text = "Title\n\n" + "\n\n".join(paragraphs)
    spy = SpySegmenter(_whole)
    sentence_spans(text, spy)
    assert spy.pieces == ["Title", *paragraphs]


def test_cutting_on_sentence_ends_keeps_pysbds_sentences():
    """A paragraph a few times the cap gives the sentences pysbd finds in the whole of it."""
    text = _prose(3 * passages.MAX_SEGMENT_CHARS)
    whole = segment_paragraphs([text])[0]  # pysbd on all of it at once (the old way)
    expected = []
    for s, e in whole:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            expected.append((s, e))
    assert sentence_spans(text) == expected
