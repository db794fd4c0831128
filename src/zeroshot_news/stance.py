"""Stance stage: favor / against / neutral / none toward each configured target.

Per target, the passages that mention one of its aliases are scored against the
favor, against and neutral hypotheses (templates filled with the target's name). A
passage's three class scores are the mean over each class's templates, normalised to
sum to one; passages aggregate to the article (``stance.passage_aggregate``) and the
article label is the largest class. ``none`` (target not discussed) comes from
``stance.none_rule``: no alias mention, a low relevance score, or a combination.
Passage-level scores stay in the output (``passage_scores``, JSON) for inspection.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import PassageConfig, StanceConfig, StanceTarget, load_config
from .io import read_parquet, write_json, write_parquet
from .passages import aggregate
from .scorers import PairScorer, build_scorer
from .topic import SCORE_DECIMALS, split_articles

CLASSES = ("favor", "against", "neutral")
STANCE_COLUMNS = ["doc_id", "target", "label", "favor", "against", "neutral", "relevance",
                  "n_passages", "n_mentions", "passage_scores"]


@dataclass
class StanceResult:
    stance: pd.DataFrame
    report: dict[str, Any]


def alias_pattern(target: StanceTarget, case_sensitive: bool) -> re.Pattern[str]:
    """Whole-word match of any alias (longest first, so 'Russian government' beats 'Russia')."""
    aliases = sorted({a for a in target.aliases if a.strip()}, key=len, reverse=True)
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
    texts.append(cfg.relevance_template.format(target.display))
    return classes, texts


def decide_none(cfg: StanceConfig, mentioned: bool, relevance: float | None) -> bool:
    relevant = relevance is not None and relevance >= cfg.relevance_threshold
    if cfg.none_rule == "alias":
        return not mentioned
    if cfg.none_rule == "relevance":
        return not relevant
    if cfg.none_rule == "alias_or_relevance":  # discussed if mentioned or relevant
        return not (mentioned or relevant)
    return not (mentioned and relevant)  # alias_and_relevance


def class_scores(scores: np.ndarray, classes: list[str]) -> np.ndarray:
    """[P, H] hypothesis scores -> [P, 3] favor/against/neutral, each row summing to 1."""
    cols = np.stack([scores[:, [i for i, c in enumerate(classes) if c == cls]].mean(axis=1)
                     for cls in CLASSES], axis=1)
    return cols / np.clip(cols.sum(axis=1, keepdims=True), 1e-12, None)


def classify_stance(articles: pd.DataFrame, scorer: PairScorer, cfg: StanceConfig,
                    passages_cfg: PassageConfig, progress: bool = True) -> StanceResult:
    all_hyps = [h for t in cfg.targets for h in target_hypotheses(cfg, t)[1]]
    passages = split_articles(articles, scorer, all_hyps, passages_cfg.overlap_sentences, progress,
                              desc="split (stance)")
    needs_relevance = cfg.none_rule != "alias"
    rows = []
    for target in cfg.targets:
        classes, hyps = target_hypotheses(cfg, target)
        pattern = alias_pattern(target, cfg.case_sensitive_aliases)
        mentions = passages["text"].map(lambda t, p=pattern: bool(p.search(t))).to_numpy()
        scored = mentions if not needs_relevance else np.ones(len(passages), dtype=bool)
        stance_hyps = hyps if needs_relevance else hyps[:-1]
        raw = np.zeros((len(passages), len(hyps)))
        if scored.any():
            raw[np.flatnonzero(scored), : len(stance_hyps)] = scorer.score(
                list(passages.loc[scored, "text"]), stance_hyps)
        raw = np.round(raw, SCORE_DECIMALS)
        groups = passages.groupby("doc_id", sort=False).indices
        for doc_id in articles["doc_id"]:
            idx = groups.get(doc_id, np.array([], dtype=int))
            mention_idx = idx[mentions[idx]]
            relevance = float(raw[idx, -1].max()) if needs_relevance and len(idx) else None
            if decide_none(cfg, bool(len(mention_idx)), relevance):
                rows.append(_row(doc_id, target.name, "none", None, relevance, len(idx), len(mention_idx), []))
                continue
            # Score the mentioning passages; with a relevance rule and no mention, all of them.
            use = mention_idx if len(mention_idx) else idx
            per_passage = class_scores(raw[use][:, : len(classes) - 1], classes[:-1])
            article = aggregate(per_passage, cfg.passage_aggregate, cfg.top_k)
            article = np.round(article / article.sum(), SCORE_DECIMALS)
            label = CLASSES[int(np.argmax(article))]
            if label != "neutral" and abs(article[0] - article[1]) < cfg.neutral_margin:
                label = "neutral"
            detail = [{"passage": int(passages.at[i, "passage"]),
                       **{c: round(float(v), SCORE_DECIMALS) for c, v in zip(CLASSES, s, strict=True)}}
                      for i, s in zip(use, per_passage, strict=True)]
            rows.append(_row(doc_id, target.name, label, article, relevance, len(idx), len(mention_idx), detail))
    stance = pd.DataFrame(rows, columns=STANCE_COLUMNS)
    counts = stance.groupby(["target", "label"]).size()
    report = {
        "articles": len(articles),
        "passages": len(passages),
        "label_counts": {t.name: {lab: int(counts.get((t.name, lab), 0)) for lab in (*CLASSES, "none")}
                         for t in cfg.targets},
    }
    return StanceResult(stance=stance, report=report)


def _row(doc_id, target, label, scores, relevance, n_passages, n_mentions, detail) -> dict[str, Any]:
    values = dict.fromkeys(CLASSES) if scores is None else dict(zip(CLASSES, map(float, scores), strict=True))
    return {"doc_id": doc_id, "target": target, "label": label, **values,
            "relevance": None if relevance is None else round(relevance, SCORE_DECIMALS),
            "n_passages": n_passages, "n_mentions": n_mentions,
            "passage_scores": json.dumps(detail, sort_keys=True)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="zeroshot-news stance", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--input", default="data/processed/articles.parquet")
    ap.add_argument("--topics", default="data/predictions/topics.parquet")
    ap.add_argument("--out-dir", default="data/predictions")
    ap.add_argument("--report", default="metrics/stance.json")
    args = ap.parse_args(argv)
    cfg = load_config(args.params)
    model_cfg = cfg.stance_model()
    scorer = build_scorer(model_cfg)
    articles = read_parquet(args.input)
    if cfg.stance.restrict_to_topics:
        topics = read_parquet(args.topics)
        keep = topics.loc[topics["predicted"] & topics["label"].isin(cfg.stance.restrict_to_topics), "doc_id"]
        articles = articles[articles["doc_id"].isin(set(keep))].reset_index(drop=True)
    start = time.perf_counter()
    result = classify_stance(articles, scorer, cfg.stance, cfg.passages)
    elapsed = time.perf_counter() - start
    write_parquet(result.stance, Path(args.out_dir) / "stance.parquet")
    write_json(result.report, args.report)
    print(f"stance [{model_cfg.backend}]: {len(articles)} articles x {len(cfg.stance.targets)} targets in "
          f"{elapsed:.1f}s ({len(articles) / max(elapsed, 1e-9):.2f} articles/s)", file=sys.stderr)
    for target, counts in result.report["label_counts"].items():
        print(f"  {target:<22} {counts}", file=sys.stderr)
