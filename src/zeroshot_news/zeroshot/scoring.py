"""What topic, stance and the benchmarks share: articles -> passages -> pair scores -> article scores.

One computation under every classifier (and the place for new ones, e.g. a head on
frozen passage embeddings):

1. :func:`split_articles`: every article into model-sized passages (``passages.mode``:
   ``split`` reads every sentence, ``lead`` only the first tokens), one row per passage;
2. :func:`score_passages`: every (passage, hypothesis) pair through a
   :class:`~.scorers.PairScorer` (lead passages are cut per pair, like the pipeline);
3. :func:`combine_hypotheses` (a label's several descriptions) or :func:`class_scores`
   (stance classes, normalised per passage), then :func:`aggregate` over an article's
   passages. Scores are rounded to :data:`SCORE_DECIMALS` before they are written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from zeroshot_news.corpus.passages import article_text, sentence_spans
from zeroshot_news.scorers.base import PairScorer

SCORE_DECIMALS = 6  # rounding keeps outputs byte-stable across BLAS thread schedules
PASSAGE_COLUMNS = ["doc_id", "passage", "start", "end", "n_tokens", "forced", "text"]


def split_articles(articles: pd.DataFrame, scorer: PairScorer, hypotheses: Sequence[str], overlap: int,
                   progress: bool = True, desc: str = "split", mode: str = "split") -> pd.DataFrame:
    """One row per passage of every article (``PASSAGE_COLUMNS``); ``mode`` is passages.mode.

    ``articles`` has doc_id, title and body; passages fit the scorer together with the
    longest of ``hypotheses``."""
    rows = []
    for doc_id, title, body in tqdm(zip(articles["doc_id"], articles["title"], articles["body"], strict=True),
                                    total=len(articles), desc=desc, unit="doc", disable=not progress):
        text = article_text(title, body)
        cut = scorer.lead(text, hypotheses) if mode == "lead" else scorer.split(text, hypotheses, overlap)
        for p in cut:
            rows.append((doc_id, p.index, p.start, p.end, p.n_tokens, p.forced, p.text))
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)


def split_sentences(articles: pd.DataFrame, scorer: PairScorer, hypotheses: Sequence[str], progress: bool = True,
                    desc: str = "sentences") -> pd.DataFrame:
    """One row per sentence of every article (``PASSAGE_COLUMNS``; a sentence too long for the
    model with the longest of ``hypotheses`` is cut into model-sized pieces)."""
    rows = []
    for doc_id, title, body in tqdm(zip(articles["doc_id"], articles["title"], articles["body"], strict=True),
                                    total=len(articles), desc=desc, unit="doc", disable=not progress):
        text = article_text(title, body)
        index = 0
        for start, end in sentence_spans(text):
            for p in scorer.split(text[start:end], hypotheses, 0):
                rows.append((doc_id, index, start + p.start, start + p.end, p.n_tokens, p.forced, p.text))
                index += 1
    return pd.DataFrame(rows, columns=PASSAGE_COLUMNS)


def budget_hypotheses(scorer: PairScorer, hypotheses: Sequence[str]) -> list[str]:
    """The one hypothesis that limits the passage budget (the longest), so that splitting
    against thousands of hypotheses does not re-tokenise all of them per article."""
    unique = sorted(set(hypotheses))
    if not unique:
        return unique
    return [unique[int(np.argmax(scorer.count_tokens(unique)))]]


def score_passages(scorer: PairScorer, texts: Sequence[str], hypotheses: Sequence[str], mode: str) -> np.ndarray:
    """[P, H] pair scores; lead passages' longer pairs are cut at the premise's end like the pipeline's."""
    return scorer.score(texts, hypotheses, truncate=mode == "lead")


def combine_hypotheses(scores: np.ndarray, label_of: Sequence[str], labels: Sequence[str], how: str) -> np.ndarray:
    """[P, H] hypothesis scores -> [P, L] label scores (max or mean over a label's hypotheses)."""
    out = np.zeros((scores.shape[0], len(labels)))
    for j, label in enumerate(labels):
        cols = [i for i, lab in enumerate(label_of) if lab == label]
        sub = scores[:, cols]
        out[:, j] = sub.max(axis=1) if how == "max" else sub.mean(axis=1)
    return out


def class_scores(scores: np.ndarray, label_of: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """[P, H] hypothesis scores -> [P, C]: mean over each class's templates, rows summing to 1.

    Normalising makes classes comparable although the scorer gives independent
    probabilities (stance classes; the stance benchmarks' classes)."""
    cols = np.stack([scores[:, [i for i, c in enumerate(label_of) if c == cls]].mean(axis=1)
                     for cls in classes], axis=1)
    return cols / np.clip(cols.sum(axis=1, keepdims=True), 1e-12, None)


def aggregate(scores: np.ndarray, how: str, top_k: int = 2, axis: int = 0) -> np.ndarray:
    """Aggregate passage scores along ``axis``: max, mean or mean of the top k."""
    if scores.shape[axis] == 0:
        raise ValueError("cannot aggregate zero passages")
    if how == "max":
        return scores.max(axis=axis)
    if how == "mean":
        return scores.mean(axis=axis)
    if how == "topk_mean":
        k = min(top_k, scores.shape[axis])
        top = -np.sort(-scores, axis=axis)
        return np.take(top, range(k), axis=axis).mean(axis=axis)
    raise ValueError(f"unknown aggregation {how!r}")
