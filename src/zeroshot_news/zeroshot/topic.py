"""Topic stage: multi-label zero-shot topics over the configured taxonomy.

Each article is split into passages, every (passage, label hypothesis) pair is
scored, a label's hypotheses combine per passage (``topic.hypothesis_combine``) and
passages aggregate to the article (``topic.passage_aggregate``). A label is predicted
when its article score reaches the label's threshold (scaled by
``topic.short_threshold_scale`` for items under ``topic.short_words`` words, unless the head
was self-trained on mostly short texts: :func:`scales_short_items`). An article head's score
on such an item is blended with calibrated zero-shot (:func:`blend_short_items`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from zeroshot_news.config import (
    CacheConfig,
    Config,
    ConfigError,
    ModelConfig,
    PassageConfig,
    TaxonomyConfig,
    TopicConfig,
)
from zeroshot_news.scorers.base import PairScorer
from zeroshot_news.scorers.build import build_encoder, build_scorer
from zeroshot_news.zeroshot.scoring import SCORE_DECIMALS, aggregate, combine_hypotheses, score_passages, split_articles
from zeroshot_news.zeroshot.topic_head import TopicHead

log = logging.getLogger(__name__)

TOPIC_COLUMNS = ["doc_id", "label", "score", "threshold", "predicted", "n_passages", "best_passage",
                 "passage_scores"]


TOPIC_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("label", pa.string()), ("score", pa.float64()), ("threshold", pa.float64()),
    ("predicted", pa.bool_()), ("n_passages", pa.int64()), ("best_passage", pa.int64()),
    ("passage_scores", pa.list_(pa.float64())),
])
PASSAGE_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("passage", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("n_tokens", pa.int64()), ("forced", pa.bool_()), ("text", pa.string()),
])


class TopicReport:
    """Stage report accumulated chunk by chunk (so it never needs the whole table)."""

    def __init__(self, labels: list[str], n_hypotheses: int):
        self.labels, self.n_hypotheses = labels, n_hypotheses
        self.articles = self.passages = self.no_topic = 0
        self.predicted = dict.fromkeys(labels, 0)
        self.score_sum = dict.fromkeys(labels, 0.0)

    def update(self, results: dict[str, pd.DataFrame]) -> None:
        topics, passages = results["topics"], results["passages"]
        self.articles += topics["doc_id"].nunique()
        self.passages += len(passages)
        for label, group in topics.groupby("label"):
            self.predicted[label] += int(group["predicted"].sum())
            self.score_sum[label] += float(group["score"].sum())
        self.no_topic += int((~topics.groupby("doc_id")["predicted"].any()).sum())

    def to_dict(self) -> dict[str, Any]:
        n = max(self.articles, 1)
        return {
            "articles": self.articles,
            "passages": self.passages,
            "pairs_scored": self.passages * self.n_hypotheses,
            "predicted_share": {lab: round(self.predicted[lab] / n, 4) for lab in self.labels},
            "mean_score": {lab: round(self.score_sum[lab] / n, 4) for lab in self.labels},
            "no_topic_share": round(self.no_topic / n, 4),
        }


@dataclass
class TopicResult:
    topics: pd.DataFrame
    passages: pd.DataFrame
    report: dict[str, Any]


def check_head(head: TopicHead, labels: list[str], encoder_fingerprint: str, where: str = "topic head") -> None:
    """A head applies only to the labels and the encoder it was fitted on."""
    if list(head.labels) != labels:
        raise ConfigError(f"{where}: fitted for labels {list(head.labels)}, the taxonomy has {labels}; "
                          "re-run the self_train stage")
    if head.encoder != encoder_fingerprint:
        raise ConfigError(f"{where}: fitted on another encoder ({head.encoder}, model is {encoder_fingerprint}); "
                          "re-run the self_train stage")


def build_head_encoder(head: TopicHead, model: ModelConfig, labels: list[str], progress: bool = True,
                       cache: CacheConfig | None = None, base: PairScorer | None = None) -> PairScorer:
    """The encoder ``head`` scores with, checked against it: the configured model (``base``
    when given, else built), or the fine-tuned copy of it the head names (``encoder_dir``)."""
    if head.encoder_dir is None:
        encoder = base if base is not None else build_encoder(model, progress=progress, cache=cache)
    else:
        encoder = build_encoder(replace(model, name_or_path=str(head.encoder_dir)), progress=progress, cache=cache)
    check_head(head, labels, encoder.encoder_fingerprint)
    return encoder


def topic_scorers(cfg: Config, head: TopicHead | None, progress: bool = False) -> tuple[PairScorer, PairScorer | None]:
    """(the configured model's scorer, the encoder the head scores with): zero-shot pair
    scores without a head; with one, the embedding backend and the head's (checked) encoder,
    the same object unless the head has a fine-tuned encoder of its own."""
    if head is None:
        return build_scorer(cfg.model, progress=progress, cache=cfg.cache), None
    scorer = build_encoder(cfg.model, progress=progress, cache=cfg.cache)
    return scorer, build_head_encoder(head, cfg.model, [lab.name for lab in cfg.taxonomy.labels], progress,
                                      cfg.cache, base=scorer)


def is_short(articles: pd.DataFrame, topic: TopicConfig) -> list[bool]:
    """Which articles the short-item threshold applies to: fewer than ``topic.short_words``
    words, title included."""
    if not topic.short_words:
        return [False] * len(articles)
    titles = articles["title"] if "title" in articles else [""] * len(articles)
    return [len(f"{t or ''} {b or ''}".split()) < topic.short_words
            for t, b in zip(titles, articles["body"], strict=True)]


# A head whose pool was at least this share short texts was fitted on what short items look like.
SHORT_POOL_SHARE = 0.5


def scales_short_items(head: TopicHead | None) -> bool:
    """Whether short items are decided at the scaled threshold: the scale corrects the lower
    scores short texts get from a head fitted on article passages (and from zero-shot). A head
    self-trained on a pool of mostly short texts (a headline corpus) is not scaled: on the short
    gold's tune half such heads score 0.62-0.67 at their own threshold and 0.57-0.60 at half of
    it (docs/research/topic.md). Heads written before the pool's share was recorded are article
    heads."""
    return head is None or float(head.info.get("pool_short_share", 0.0)) < SHORT_POOL_SHARE


def zero_shot_label_scores(scorer: PairScorer, texts: list[str], taxonomy: TaxonomyConfig, topic: TopicConfig,
                           mode: str) -> np.ndarray:
    """[passages, labels] calibrated zero-shot scores: every hypothesis scored, combined per label."""
    pairs = taxonomy.hypotheses()
    return combine_hypotheses(score_passages(scorer, texts, [h for _, h in pairs], mode),
                              [lab for lab, _ in pairs], [lab.name for lab in taxonomy.labels],
                              topic.hypothesis_combine)


def blend_short_items(head_scores: np.ndarray, passages: pd.DataFrame, doc_ids: pd.Series, short_flags: list[bool],
                      scorer: PairScorer, taxonomy: TaxonomyConfig, topic: TopicConfig, mode: str) -> np.ndarray:
    """An article head's passage scores with the short items' passages blended with calibrated
    zero-shot, ``(1 - w) x head + w x zero-shot`` (``topic.short_zero_shot_weight``). The head,
    fitted on article passages, ranks one- or two-sentence items worse than it ranks articles;
    zero-shot errs elsewhere, and the mean of the two ranks the short gold's tune half better
    (mean AP 0.742 vs 0.728; docs/research/topic.md)."""
    weight = topic.short_zero_shot_weight
    short_docs = {d for d, short in zip(doc_ids, short_flags, strict=True) if short}
    if not weight or not short_docs:
        return head_scores
    rows = np.flatnonzero(passages["doc_id"].isin(short_docs).to_numpy())
    blended = head_scores.copy()
    zero_shot = zero_shot_label_scores(scorer, list(passages["text"].iloc[rows]), taxonomy, topic, mode)
    blended[rows] = (1 - weight) * head_scores[rows] + weight * zero_shot
    return blended


def classify_topics(articles: pd.DataFrame, scorer: PairScorer, taxonomy: TaxonomyConfig,
                    topic: TopicConfig, passages_cfg: PassageConfig, progress: bool = True,
                    head: TopicHead | None = None, head_encoder: PairScorer | None = None) -> TopicResult:
    """Topic scores of every article: zero-shot pair scores, or, with a ``head``, the
    self-trained head's probability on each passage's embedding (``scorer`` is then the
    embedding backend itself; ``head_encoder`` embeds for the head when it has a fine-tuned
    encoder of its own: :func:`build_head_encoder`)."""
    hypotheses = [h for _, h in taxonomy.hypotheses()]
    labels = [lab.name for lab in taxonomy.labels]
    thresholds = {lab.name: lab.threshold for lab in taxonomy.labels}
    passages = split_articles(articles, scorer, hypotheses, passages_cfg.overlap_sentences, progress,
                              mode=passages_cfg.mode)
    short_flags = is_short(articles, topic) if scales_short_items(head) else [False] * len(articles)
    if head is not None:
        texts = list(passages["text"])
        scores = head.predict_proba((head_encoder or scorer).embed(texts)) if texts else np.zeros((0, len(labels)))
        scores = blend_short_items(scores, passages, articles["doc_id"], short_flags, scorer, taxonomy, topic,
                                   passages_cfg.mode)
    else:
        scores = zero_shot_label_scores(scorer, list(passages["text"]), taxonomy, topic, passages_cfg.mode)
    scores = np.round(scores, SCORE_DECIMALS)
    rows = []
    bounds = passages.groupby("doc_id", sort=False).indices
    for doc_id, short in zip(articles["doc_id"], short_flags, strict=True):
        idx = bounds.get(doc_id, np.array([], dtype=int))
        doc_scores = scores[idx]
        article = (np.round(aggregate(doc_scores, topic.passage_aggregate, topic.top_k), SCORE_DECIMALS)
                   if len(idx) else np.zeros(len(labels)))
        for j, label in enumerate(labels):
            threshold = round(thresholds[label] * topic.short_threshold_scale, SCORE_DECIMALS) if short \
                else thresholds[label]
            rows.append({
                "doc_id": doc_id, "label": label, "score": float(article[j]),
                "threshold": threshold, "predicted": bool(article[j] >= threshold),
                "n_passages": len(idx),
                "best_passage": int(np.argmax(doc_scores[:, j])) if len(idx) else -1,
                "passage_scores": [float(x) for x in doc_scores[:, j]],
            })
    topics = pd.DataFrame(rows, columns=TOPIC_COLUMNS)
    report = TopicReport(labels, len(hypotheses))
    report.update({"topics": topics, "passages": passages})
    report = report.to_dict()
    return TopicResult(topics=topics, passages=passages, report=report)
