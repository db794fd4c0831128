"""Shared pieces of the benchmark runners: files, subsampling, scoring each pair once, metrics.

Nothing here is fitted on a benchmark: the runners only apply the configured
hypotheses and fixed decision values and then compare with the gold labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from tqdm import tqdm

from zeroshot_news.config import BenchmarkConfig, ConfigError
from zeroshot_news.metrics import macro_f1, present_classes
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.zeroshot.scoring import SCORE_DECIMALS, class_scores

GRID_BLOCK = 512  # passages per call when a bi-encoder scores a full grid (bounds memory)


# ---------------------------------------------------------------------------
# Files and items
# ---------------------------------------------------------------------------


def benchmark_file(cfg: BenchmarkConfig, name: str) -> Path:
    """``cfg.path / name``, or a ConfigError that names ``benchmark.path``."""
    folder = Path(cfg.path)
    if not folder.is_dir():
        raise ConfigError(f"benchmark.path: {cfg.path!r} is not a folder (benchmark {cfg.name!r})")
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"benchmark.path: {cfg.path!r} has no {name} (benchmark {cfg.name!r})")
    return path


def require_columns(df: pd.DataFrame, columns: Iterable[str], where: Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(f"benchmark.path: {where} lacks columns {missing} (has {list(df.columns)})")


def check_classes(cfg: BenchmarkConfig, field: str, given: Iterable[str], expected: Sequence[str]) -> None:
    """The config's class keys must be exactly the benchmark's classes (no silent typos)."""
    if set(given) != set(expected):
        raise ConfigError(f"benchmark.{field}: {cfg.name} needs exactly the keys {list(expected)}, "
                          f"got {sorted(given)}")


def class_hypotheses(templates: dict[str, list[str]], classes: Sequence[str], subject: str) -> list[str]:
    """Every class template filled with ``subject``, class by class (see :func:`class_of`)."""
    return [t.format(subject) for cls in classes for t in templates[cls]]


def class_of(templates: dict[str, list[str]], classes: Sequence[str]) -> list[str]:
    """The class of each hypothesis produced by :func:`class_hypotheses`."""
    return [cls for cls in classes for _ in templates[cls]]


def claim_text(text: str) -> str:
    """A headline/topic ready to go into a template: trimmed, without final punctuation."""
    return " ".join(str(text).split()).rstrip(" .!?;:")


# ---------------------------------------------------------------------------
# Scoring each distinct text once
# ---------------------------------------------------------------------------


class ScoreTable:
    """A precomputed passage x hypothesis grid that answers ``score`` by lookup.

    For a bi-encoder the whole grid costs one embedding per distinct text, so it is
    computed up front in a few large calls (blocks of passages against the same
    hypothesis list, which the scorer keeps embedded between calls) instead of
    hundreds of small per-body calls that would re-embed the same texts.
    """

    def __init__(self, scorer: PairScorer, passages: Sequence[str], hypotheses: Sequence[str],
                 block: int = GRID_BLOCK, progress: bool = True):
        self.fingerprint = scorer.fingerprint
        self._p = {t: i for i, t in enumerate(dict.fromkeys(passages))}
        self._h = {t: i for i, t in enumerate(dict.fromkeys(hypotheses))}
        hyps = list(self._h)
        texts = list(self._p)
        blocks = [texts[i : i + block] for i in range(0, len(texts), block)]
        self._grid = np.zeros((len(texts), len(hyps)), dtype=np.float64)
        for b, chunk in enumerate(tqdm(blocks, desc="score grid", unit="block",
                                       disable=not progress or len(blocks) < 2)):
            if hyps:
                self._grid[b * block : b * block + len(chunk)] = scorer.score(chunk, hyps)

    def score(self, passages: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        rows = [self._p[t] for t in passages]
        cols = [self._h[t] for t in hypotheses]
        return self._grid[np.ix_(rows, cols)]


def pair_scorer(scorer: PairScorer, passages: Sequence[str], hypotheses: Sequence[str],
                progress: bool = True) -> PairScorer | ScoreTable:
    """What the per-text scoring loops should call: a precomputed grid for a bi-encoder,
    the scorer itself for a cross-encoder (whose cost is per pair, so only needed pairs)."""
    return ScoreTable(scorer, passages, hypotheses, progress=progress) if scorer.bi_encoder else scorer


@dataclass(frozen=True)
class ClaimScores:
    """How one text relates to one claim/topic: relevance, and stance on its most relevant passage."""

    relevance: float  # max over passages of the relevance hypothesis
    best_passage: int  # -1: the text has no passage
    n_passages: int
    stance: np.ndarray  # normalised class scores, in the order of ``classes``


def score_claims(scorer: PairScorer | ScoreTable, passages: Sequence[str], claims: Sequence[str], cfg: BenchmarkConfig,
                 classes: Sequence[str], relevance_by: PairScorer | ScoreTable | None = None) -> list[ClaimScores]:
    """Score every claim against one text's passages: one call for relevance, one per best passage.

    Relevance is ``cfg.hypothesis_template`` filled with the claim, scored by
    ``relevance_by`` (default: ``scorer``); the stance templates are scored by ``scorer``
    only on the passage where the claim is most present, since that is where the text
    takes (or doesn't take) a position.
    """
    if not passages:  # an empty text is about nothing: zero relevance, uniform stance
        return [ClaimScores(0.0, -1, 0, np.full(len(classes), 1 / len(classes)))] * len(claims)
    relevance_by = scorer if relevance_by is None else relevance_by
    relevance = relevance_by.score(list(passages), [cfg.hypothesis_template.format(c) for c in claims])  # [P, C]
    best = np.argmax(relevance, axis=0)
    label_of = class_of(cfg.templates, classes)
    stance = np.zeros((len(claims), len(classes)))
    for b in np.unique(best):  # all claims sharing a best passage in one call
        idx = np.flatnonzero(best == b)
        hyps = [h for i in idx for h in class_hypotheses(cfg.templates, classes, claims[i])]
        raw = scorer.score([passages[b]], hyps).reshape(len(idx), len(label_of))
        stance[idx] = class_scores(raw, label_of, classes)
    stance = np.round(stance, SCORE_DECIMALS)
    return [ClaimScores(round(float(relevance[:, i].max()), SCORE_DECIMALS), int(best[i]), len(passages), stance[i])
            for i in range(len(claims))]


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def classification_metrics(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1 (:func:`zeroshot_news.metrics.macro_f1`: over the classes in the gold)
    and per-class F1; a class absent from the gold (a subsample) has no F1: None."""
    gold, pred = list(gold), list(pred)
    if not gold:
        return {"n": 0, "accuracy": None, "macro_f1": None, "per_class_f1": dict.fromkeys(classes)}
    f1 = f1_score(gold, pred, labels=list(classes), average=None, zero_division=0.0)
    present = set(present_classes(gold, classes))
    per_class = {c: round(float(f), 4) if c in present else None for c, f in zip(classes, f1, strict=True)}
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(macro_f1(gold, pred, classes), 4),
        "per_class_f1": per_class,
    }


FNC_RELATED = ("agree", "disagree", "discuss")


def fnc_score(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, float]:
    """(score, best possible score) with the official FNC-1 weighting.

    +0.25 when related-vs-unrelated is right; for a related gold pair, +0.75 more when
    the exact label is right. This equals the official scorer's 0.25 / 0.50 / 0.25 steps.
    """
    score = best = 0.0
    for g, p in zip(gold, pred, strict=True):
        g_rel, p_rel = g in FNC_RELATED, p in FNC_RELATED
        best += 1.0 if g_rel else 0.25
        if g_rel == p_rel:
            score += 0.25
            if g_rel and g == p:
                score += 0.75
    return score, best


def fnc_summary(gold: Sequence[str], pred: Sequence[str]) -> dict:
    score, best = fnc_score(gold, pred)
    return {"score": score, "max_score": best, "relative_score": round(100 * score / best, 2) if best else None}


def confusion_frame(gold: Sequence[str], pred: Sequence[str]) -> pd.DataFrame:
    """Rows of (actual, predicted) for DVC's confusion-matrix plot template."""
    return pd.DataFrame({"actual": list(gold), "predicted": list(pred)})
