"""Split articles into model-sized passages on sentence boundaries, never truncating.

The transformers zero-shot pipeline silently truncates long premises; here every
character of an article lands in some passage. Sentences (pysbd, per paragraph; one
longer than ``MAX_SEGMENT_CHARS`` is cut into pieces first, to bound pysbd's time) are
packed greedily into windows of at most ``budget`` tokens; consecutive windows share
``overlap`` sentences. A single sentence longer than the budget is cut on token
boundaries (flagged ``forced``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Counts tokens (no special tokens) for each text.
TokenCounter = Callable[[Sequence[str]], list[int]]
# Cuts one text into spans of at most n tokens: returns [(start, end), ...] char offsets.
TokenCutter = Callable[[str, int], list[tuple[int, int]]]


@dataclass(frozen=True)
class Passage:
    index: int
    start: int  # character offsets into the article text
    end: int
    text: str
    n_tokens: int
    forced: bool = False


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def article_text(title: str, body: str) -> str:
    """The text that gets split and scored: the title is part of what the article says."""
    title, body = (title or "").strip(), (body or "").strip()
    return f"{title}\n\n{body}" if title and body else title or body


# Paragraphs -> each paragraph's sentence (start, end) offsets. The default runs pysbd;
# the score cache passes one that remembers results on disk (pysbd is the slow part of
# a cached re-run: its abbreviation rules compile regexes per call).
Segmenter = Callable[[list[str]], list[list[tuple[int, int]]]]


def segmenter_id() -> str:
    """Names the sentence splitter and its settings: part of every remembered segmentation's key."""
    import pysbd

    return f"pysbd-{getattr(pysbd, '__version__', '?')}-en-char_span"


def segment_paragraphs(paragraphs: list[str]) -> list[list[tuple[int, int]]]:
    """pysbd's sentence spans of each paragraph (character offsets into that paragraph).

    :func:`sentence_spans` passes paragraphs of at most ``MAX_SEGMENT_CHARS`` characters.
    """
    segmenter = _segmenter()
    return [[(span.start, span.end) for span in segmenter.segment(p)] for p in paragraphs]


# pysbd's time grows faster than quadratically with the length of one call's text: 7 / 22 /
# 109 s for a 104 / 208 / 416 KB paragraph, over 300 s for 1 MB, and an article may be 2 MB.
# One call on a paragraph of news prose (of ". " repeated, the worst text tried), best of 3
# on this project's shared 2-core machine: 5 KB 0.03 s (0.05), 10 KB 0.07 s (0.30), 20 KB
# 0.25 s (1.03), 50 KB 1.35 s (6.2). Up to 10 KB prose costs ~7 ms/KB, close to linear; the
# corpus has paragraphs of up to 14 KB (ukraine_news_bias bodies are one paragraph).
MAX_SEGMENT_CHARS = 10_000
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s")
_WHITESPACE = re.compile(r"\s")


def bounded_pieces(paragraph: str, cap: int = MAX_SEGMENT_CHARS) -> list[tuple[int, int]]:
    """Contiguous (start, end) pieces of ``paragraph`` of at most ``cap`` characters each.

    A paragraph that fits is one piece, so its sentences are exactly pysbd's. A longer one
    is cut, within each window of ``cap`` characters, after its last line break, else after
    its last sentence end (``.``, ``!``, ``?`` or ``…``, any closing quotes or brackets, then
    whitespace), else after its last whitespace, else at ``cap`` characters. Only the
    window's second half is searched, so every piece but the last is at least ``cap // 2``
    long and the cutting is linear.
    """
    pieces, start = [], 0
    while len(paragraph) - start > cap:
        end = _cut(paragraph, start + max(cap // 2, 1), start + cap)
        pieces.append((start, end))
        start = end
    pieces.append((start, len(paragraph)))
    return pieces


def _cut(text: str, lo: int, hi: int) -> int:
    """Where to cut ``text`` between ``lo`` and ``hi``: right after the best boundary there."""
    newline = text.rfind("\n", lo, hi)
    if newline >= 0:
        return newline + 1
    for boundary in (_SENTENCE_END, _WHITESPACE):
        matches = list(boundary.finditer(text, lo, hi))
        if matches:
            return matches[-1].end()
    return hi


def sentence_spans(text: str, segment: Segmenter | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) character spans, whitespace trimmed, paragraph breaks respected.

    The segmenter gets at most ``MAX_SEGMENT_CHARS`` characters at a time (longer paragraphs
    are cut first, see :func:`bounded_pieces`), so pysbd's time stays linear in the text: a
    2 MB text costs at most what ~200 full calls do, ~15 s for news prose and ~60 s for the
    worst text tried (``. . .``) on this project's 2-core machine (31 s and 93 s end to end while it was
    shared with a training job), where one 2 MB paragraph used to take hours.
    """
    paragraphs, offsets = [], []  # paragraphs, the longer ones as pieces; their offsets in text
    offset = 0
    for para in text.split("\n\n"):
        for start, end in bounded_pieces(para):
            if para[start:end].strip():
                paragraphs.append(para[start:end])
                offsets.append(offset + start)
        offset += len(para) + 2
    spans: list[tuple[int, int]] = []
    if not paragraphs:
        return spans
    segmented = (segment or segment_paragraphs)(paragraphs)
    for para, para_offset, para_spans in zip(paragraphs, offsets, segmented, strict=True):
        for start, end in _fill_gaps(para, para_spans):
            s, e = para_offset + start, para_offset + end
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((s, e))
    return spans


def _fill_gaps(para: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` plus any uncovered stretch with text in it as a span of its own: the
    segmenter can drop text (pysbd loses the trailing ``??`` of ``?.??``), and no text
    may be lost."""
    out, pos = [], 0
    for start, end in sorted(spans):
        if start > pos and para[pos:start].strip():
            out.append((pos, start))
        out.append((start, end))
        pos = max(pos, end)
    if para[pos:].strip():
        out.append((pos, len(para)))
    return out


# Sentence token counts may exceed the whole text's by a few tokens at joins (BPE); a text
# this far under the budget packs into one passage either way.
FIT_SLACK = 8


def split_passages(
    text: str, budget: int, count_tokens: TokenCounter, cut_tokens: TokenCutter, overlap: int = 1,
    segment: Segmenter | None = None,
) -> list[Passage]:
    """Pack sentences into passages of at most ``budget`` tokens each."""
    if budget < 8:
        raise ValueError(f"passage token budget {budget} is too small")
    # A text that fits with room to spare is one passage whatever its sentences are: the
    # packing below would join them all into exactly this span (first to last non-space
    # character). Skipping sentence segmentation here is most of a short text's cost.
    start, end = len(text) - len(text.lstrip()), len(text.rstrip())
    if end > start:
        whole = count_tokens([text[start:end]])[0]
        if whole <= budget - FIT_SLACK:
            return [Passage(0, start, end, text[start:end], whole, False)]
    units: list[tuple[int, int, bool]] = []  # (start, end, forced)
    spans = sentence_spans(text, segment)
    lengths = count_tokens([text[s:e] for s, e in spans]) if spans else []
    sent_tokens: list[int] = []
    for (s, e), n in zip(spans, lengths, strict=True):
        if n <= budget:
            units.append((s, e, False))
            sent_tokens.append(n)
            continue
        pieces = cut_tokens(text[s:e], budget)
        for ps, pe in pieces:
            units.append((s + ps, s + pe, True))
        sent_tokens += count_tokens([text[s + ps : s + pe] for ps, pe in pieces])
    passages: list[Passage] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + sent_tokens[j] <= budget):
            total += sent_tokens[j]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        passages.append(Passage(len(passages), start, end, text[start:end], total,
                                any(u[2] for u in units[i:j])))
        if j >= len(units):
            break
        i = max(j - overlap, i + 1)
    # Sentence token counts add up to the window's count for WordPiece/BPE up to a few
    # tokens at joins; re-count exactly and split any window that still overflows.
    exact = count_tokens([p.text for p in passages]) if passages else []
    if any(n > budget for n in exact):
        return _resplit(text, passages, exact, budget, count_tokens, cut_tokens)
    return [Passage(p.index, p.start, p.end, p.text, n, p.forced) for p, n in zip(passages, exact, strict=True)]


def _resplit(text, passages, exact, budget, count_tokens, cut_tokens) -> list[Passage]:
    out: list[Passage] = []
    for p, n in zip(passages, exact, strict=True):
        if n <= budget:
            out.append(Passage(len(out), p.start, p.end, p.text, n, p.forced))
            continue
        for ps, pe in cut_tokens(p.text, budget):
            piece = text[p.start + ps : p.start + pe]
            out.append(Passage(len(out), p.start + ps, p.start + pe, piece,
                               count_tokens([piece])[0], True))
    return out


def shortest(texts: Sequence[str], count_tokens: TokenCounter) -> list[str]:
    """The text with the fewest tokens, as a one-item list (empty for no texts)."""
    if not texts:
        return []
    counts = count_tokens(list(texts))
    return [texts[int(np.argmin(counts))]]


def lead_passage(text: str, budget: int, count_tokens: TokenCounter, cut_tokens: TokenCutter) -> list[Passage]:
    """The first ``budget`` tokens of ``text`` as one passage (``forced`` when it was cut)."""
    if not text.strip():
        return []
    if budget < 1:
        raise ValueError(f"no room for a passage: budget {budget} tokens")
    spans = cut_tokens(text, budget)
    if len(spans) <= 1:
        return [Passage(0, 0, len(text), text, count_tokens([text])[0], False)]
    end = spans[0][1]
    return [Passage(0, 0, end, text[:end], count_tokens([text[:end]])[0], True)]
