"""Stance: favor / against / neutral / none toward each configured target.

Per target, the passages that mention one of its aliases are scored against the
favor, against and neutral hypotheses (templates filled with the target's name). A
passage's three class scores are the mean over each class's templates, normalised to
sum to one; passages aggregate to the article (``stance.passage_aggregate``) and the
article label is the largest class. ``none`` (target not discussed) comes from
``stance.none_rule``: no alias mention, a low relevance score, or a combination.
Passage-level scores stay in the output (``passage_scores``, JSON) for inspection.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from zeroshot_news.config import (
    PassageConfig,
    StanceConfig,
    StanceTarget,
)
from zeroshot_news.decisions import STANCE_CLASSES, margin_decision, top_two_margin
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.zeroshot.attribution import is_attributed
from zeroshot_news.zeroshot.scoring import (
    SCORE_DECIMALS,
    aggregate,
    class_scores,
    score_passages,
    split_articles,
    split_sentences,
)

log = logging.getLogger(__name__)

CLASSES = STANCE_CLASSES
STANCE_COLUMNS = ["doc_id", "target", "label", "favor", "against", "neutral", "margin", "uncertain", "relevance",
                  "n_passages", "n_mentions", "passage_scores"]


STANCE_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("target", pa.string()), ("label", pa.string()), ("favor", pa.float64()),
    ("against", pa.float64()), ("neutral", pa.float64()), ("margin", pa.float64()), ("uncertain", pa.bool_()),
    ("relevance", pa.float64()),
    ("n_passages", pa.int64()), ("n_mentions", pa.int64()), ("passage_scores", pa.string()),
])


class StanceReport:
    """Label counts per target, accumulated chunk by chunk."""

    def __init__(self, targets: list[str]):
        self.targets = targets
        self.articles = self.passages = 0
        self.counts = {t: dict.fromkeys((*CLASSES, "none"), 0) for t in targets}

    def update(self, results: dict[str, pd.DataFrame], passages: int | None = None) -> None:
        stance = results["stance"]
        self.articles += stance["doc_id"].nunique()
        self.passages += int(stance.groupby("doc_id")["n_passages"].first().sum()) if passages is None else passages
        for (target, label), n in stance.groupby(["target", "label"]).size().items():
            self.counts[target][label] += int(n)

    def to_dict(self) -> dict[str, Any]:
        return {"articles": self.articles, "passages": self.passages, "label_counts": self.counts}


@dataclass
class StanceResult:
    stance: pd.DataFrame
    report: dict[str, Any]


def alias_pattern(target: StanceTarget, case_sensitive: bool, names: list[str] | None = None) -> re.Pattern[str]:
    """Whole-word match of any alias (longest first, so 'Russian government' beats 'Russia');
    ``names``: these instead of the aliases (a target's roles)."""
    aliases = sorted({a for a in (target.aliases if names is None else names) if a.strip()}, key=len, reverse=True)
    if not aliases:
        return re.compile(r"(?!x)x")  # matches nothing
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in aliases) + r")(?!\w)", flags)


def target_hypotheses(cfg: StanceConfig, target: StanceTarget) -> tuple[list[str], list[str]]:
    """(class of each hypothesis, hypothesis texts) for one target, relevance last."""
    classes, texts = [], []
    for cls in CLASSES:
        for template in cfg.templates[cls]:
            classes.append(cls)
            texts.append(template.format(target.display))
    classes.append("relevance")
    texts.append(cfg.relevance_template.format(target.description or target.display))
    return classes, texts


def decide_none(cfg: StanceConfig, mentioned: bool, relevance: float | None, role: bool = False) -> bool:
    """Is the target not discussed? ``mentioned``: an alias or role occurs; ``role``: a role
    (an unambiguous designation of the target as an actor) occurs."""
    relevant = relevance is not None and relevance >= cfg.relevance_threshold
    if cfg.none_rule == "alias":
        return not mentioned
    if cfg.none_rule == "role_or_relevant_alias":  # a role is enough; a bare alias needs relevance
        return not (role or (mentioned and relevant))
    if cfg.none_rule == "relevance":
        return not relevant
    if cfg.none_rule == "alias_or_relevance":  # discussed if mentioned or relevant
        return not (mentioned or relevant)
    return not (mentioned and relevant)  # alias_and_relevance


def needs_relevance(cfg: StanceConfig) -> bool:
    """Does the none rule ask the relevance hypothesis?"""
    return cfg.none_rule != "alias"


def scored_hypotheses(cfg: StanceConfig, target: StanceTarget) -> tuple[list[str], list[str]]:
    """(classes, texts) the stage scores for one target: the relevance one (last) only when
    the none rule asks it."""
    classes, texts = target_hypotheses(cfg, target)
    return (classes, texts) if needs_relevance(cfg) else (classes[:-1], texts[:-1])


def stance_passages(articles: pd.DataFrame, scorer: PairScorer, cfg: StanceConfig, passages_cfg: PassageConfig,
                    progress: bool = True) -> pd.DataFrame:
    """The units the stance stage scores (``stance.unit``: model-sized passages, or single
    sentences), sized for the longest hypothesis it scores (a long description must not
    shorten the passages of a rule that never asks it)."""
    all_hyps = [h for t in cfg.targets for h in scored_hypotheses(cfg, t)[1]]
    if cfg.unit == "sentence":
        return split_sentences(articles, scorer, all_hyps, progress, desc="sentences (stance)")
    return split_articles(articles, scorer, all_hyps, passages_cfg.overlap_sentences, progress,
                          desc="split (stance)", mode=passages_cfg.mode)


def mentions_of(passages: pd.DataFrame, target: StanceTarget, case_sensitive: bool,
                names: list[str] | None = None) -> np.ndarray:
    """Boolean per passage: does it mention one of the target's aliases (or ``names``)?"""
    pattern = alias_pattern(target, case_sensitive, names)
    return passages["text"].map(lambda t: bool(pattern.search(t))).to_numpy(dtype=bool)


def attribution_weights(passages: pd.DataFrame, target: StanceTarget, cfg: StanceConfig) -> np.ndarray:
    """Per passage, the weight of its class scores: 1, or for attributed speech (a reporting
    verb, or a mention inside quotes) 0 (``attribution: skip``) or ``attribution_weight``."""
    if cfg.attribution == "keep":
        return np.ones(len(passages))
    pattern = alias_pattern(target, cfg.case_sensitive_aliases, [*target.aliases, *target.roles])
    low = 0.0 if cfg.attribution == "skip" else cfg.attribution_weight
    return np.array([low if is_attributed(text, [m.span() for m in pattern.finditer(text)]) else 1.0
                     for text in passages["text"]])


def classify_stance(articles: pd.DataFrame, scorer: PairScorer, cfg: StanceConfig,
                    passages_cfg: PassageConfig, progress: bool = True) -> StanceResult:
    passages = stance_passages(articles, scorer, cfg, passages_cfg, progress)
    groups = passages.groupby("doc_id", sort=False).indices
    empty = np.array([], dtype=int)
    # One scorer call per target (batched over the whole chunk), then rows doc-major so
    # the row order does not depend on how the corpus was chunked.
    per_target = []
    for target in cfg.targets:
        classes, hyps = target_hypotheses(cfg, target)
        roles = mentions_of(passages, target, cfg.case_sensitive_aliases, target.roles)
        mentions = mentions_of(passages, target, cfg.case_sensitive_aliases) | roles
        scored = np.ones(len(passages), dtype=bool) if needs_relevance(cfg) else mentions
        stance_hyps = scored_hypotheses(cfg, target)[1]
        raw = np.zeros((len(passages), len(hyps)))
        if scored.any():
            raw[np.flatnonzero(scored), : len(stance_hyps)] = score_passages(
                scorer, list(passages.loc[scored, "text"]), stance_hyps, passages_cfg.mode)
        weights = attribution_weights(passages, target, cfg)
        per_target.append((target, classes, mentions, roles, weights, np.round(raw, SCORE_DECIMALS)))
    rows = []
    for doc_id in articles["doc_id"]:
        idx = groups.get(doc_id, empty)
        for target, classes, mentions, roles, weights, raw in per_target:
            rows.append(_article_stance(doc_id, target.name, idx, mentions, roles, weights, raw, classes, passages,
                                        cfg))
    stance = pd.DataFrame(rows, columns=STANCE_COLUMNS).astype(
        {"favor": float, "against": float, "neutral": float, "margin": float, "uncertain": bool, "relevance": float})
    report = StanceReport([t.name for t in cfg.targets])
    report.update({"stance": stance}, passages=len(passages))
    report = report.to_dict()
    return StanceResult(stance=stance, report=report)


def _article_stance(doc_id: str, target: str, idx: np.ndarray, mentions: np.ndarray, roles: np.ndarray,
                    weights: np.ndarray, raw: np.ndarray, classes: list[str], passages: pd.DataFrame,
                    cfg: StanceConfig) -> dict[str, Any]:
    """One article x target row from the passage scores of that target."""
    mention_idx = idx[mentions[idx]]
    relevance = float(raw[idx, -1].max()) if needs_relevance(cfg) and len(idx) else None
    if decide_none(cfg, bool(len(mention_idx)), relevance, bool(roles[idx].any())):
        return _row(doc_id, target, "none", None, relevance, len(idx), len(mention_idx), [], cfg)
    # Score the mentioning passages; with a relevance rule and no mention, all of them.
    use = mention_idx if len(mention_idx) else idx
    per_passage = class_scores(raw[use][:, : len(classes) - 1], classes[:-1], CLASSES)
    article, label = decide_article(per_passage, weights[use], cfg)
    detail = []
    for i, w, s in zip(use, weights[use], per_passage, strict=True):
        unit = {"passage": int(passages.at[i, "passage"]),
                **{c: round(float(v), SCORE_DECIMALS) for c, v in zip(CLASSES, s, strict=True)}}
        if cfg.attribution != "keep":  # the weight of an attributed unit
            unit["weight"] = float(w)
        detail.append(unit)
    return _row(doc_id, target, label, article, relevance, len(idx), len(mention_idx), detail, cfg)


def decide_article(per_unit: np.ndarray, weights: np.ndarray, cfg: StanceConfig) -> tuple[np.ndarray, str]:
    """(article class scores, label) from the mentioning units' class scores and weights.

    ``max`` / ``mean`` / ``topk_mean`` aggregate the units with a positive weight (``mean``
    weighted) and apply :func:`~zeroshot_news.decisions.margin_decision`; ``vote`` lets
    each such unit decide by that rule and the side with the larger weighted vote wins (a
    tie, or no side at all, is neutral). When no unit has weight (everything attributed),
    nothing takes a side: neutral, with the plain mean as scores."""
    live = weights > 0
    if not live.any():
        article = per_unit.mean(axis=0)
        return np.round(article / article.sum(), SCORE_DECIMALS), "neutral"
    units, w = per_unit[live], weights[live]
    how, lead = cfg.passage_aggregate, (cfg.favor_lead, cfg.against_lead)
    if how == "vote":
        article = (units * w[:, None]).sum(axis=0) / w.sum()
        votes = margin_decision(units, cfg.neutral_margin, lead=lead)
        favor, against = float(w[votes == 0].sum()), float(w[votes == 1].sum())
        label = "favor" if favor > against else "against" if against > favor else "neutral"
        return np.round(article / article.sum(), SCORE_DECIMALS), label
    article = (units * w[:, None]).sum(axis=0) / w.sum() if how == "mean" else aggregate(units, how, cfg.top_k)
    article = np.round(article / article.sum(), SCORE_DECIMALS)
    return article, CLASSES[int(margin_decision(article, cfg.neutral_margin, lead=lead)[0])]


def _row(doc_id, target, label, scores, relevance, n_passages, n_mentions, detail, cfg) -> dict[str, Any]:
    """One output row. ``margin``: the winning class score minus the runner-up's (None for
    ``none``, which a mention / relevance rule decides); ``uncertain``: margin below
    ``stance.uncertain_margin``, or a label of ``stance.uncertain_labels``."""
    values = dict.fromkeys(CLASSES) if scores is None else dict(zip(CLASSES, map(float, scores), strict=True))
    margin = None if scores is None else round(float(top_two_margin(scores)[0]), SCORE_DECIMALS)
    return {"doc_id": doc_id, "target": target, "label": label, **values, "margin": margin,
            "uncertain": margin is not None and (margin < cfg.uncertain_margin
                                                 or label in (cfg.uncertain_labels or ())),
            "relevance": None if relevance is None else round(relevance, SCORE_DECIMALS),
            "n_passages": n_passages, "n_mentions": n_mentions,
            "passage_scores": json.dumps(detail, sort_keys=True)}
