"""Self-training: fit the label-free topic head on the corpus's own passages.

The pool is the cleaned corpus (``data/processed/articles.parquet``), split into the same
passages the topic stage reads. Every passage is embedded once; the zero-shot contrast
(:func:`~.topic_head.contrast`) picks pseudo-labels and :func:`~.topic_head.fit_head`
fits one logistic regression per label. With ``self_train.rounds: 0`` the stage writes a
zero-shot marker instead, and the topic stage scores zero-shot.

``self_train.labels_from: gold`` is the few-shot mode for users who annotate: the same
head, fitted on the dev gold's ``tune`` half (:func:`train_few_shot_head`; the split is
:mod:`~.gold`'s, the evaluate stage's), never on its test half; with ``self_train.encoder``
on, on the vectors of the encoder the label-free head fine-tunes
(:func:`few_shot_on_tuned_encoder`). Not the default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zeroshot_news.config import Config
from zeroshot_news.corpus.gold import matched_gold, tune_half
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.topic import build_head_encoder, is_short, zero_shot_label_scores
from zeroshot_news.zeroshot.topic_head import (
    COEF_DECIMALS,
    TopicHead,
    contrast,
    fit_head,
    fit_head_on_labels,
    pseudo_label_matrix,
    read_head,
    sharpened_targets,
    zero_shot_marker,
)

log = logging.getLogger(__name__)


def label_embeddings(encoder, cfg: Config) -> tuple[list[np.ndarray], np.ndarray]:
    """Each label's description embeddings (as hypotheses), and the background's."""
    tax = cfg.taxonomy
    labels = [encoder.embed([tax.hypothesis_template.format(d) for d in lab.descriptions]).astype(np.float64)
              for lab in tax.labels]
    background = [tax.hypothesis_template.format(d) for d in tax.background or []]
    dim = labels[0].shape[1]
    return labels, (encoder.embed(background).astype(np.float64) if background else np.zeros((0, dim)))


# The least share of a pool's passages taken as a label's pseudo-positives when its zero-shot
# share is lower still (a rare label must keep some positives to learn from).
MIN_POSITIVE_FRACTION = 0.02


def positive_fractions(scorer, texts: list[str], cfg: Config) -> np.ndarray:
    """Each label's share of pseudo-positives: ``self_train.positive_fraction``, capped (with
    ``self_train.cap_at_zero_shot_share``) at the share of pool passages whose calibrated
    zero-shot score reaches the label's threshold, floored at ``MIN_POSITIVE_FRACTION``.

    A fixed share made a rare new label fire on about a tenth of the corpus whatever its
    prevalence; the cap follows it down (research/new_label_share.py). Zero-shot over-calls the
    security labels, so their cap is above the fixed share and their head is unchanged
    (docs/research/topic.md)."""
    st, tax = cfg.self_train, cfg.taxonomy
    fixed = np.full(len(tax.labels), st.positive_fraction)
    if not st.cap_at_zero_shot_share or not texts:
        return fixed
    zero_shot = zero_shot_label_scores(scorer, texts, tax, cfg.topic, cfg.passages.mode)
    share = (zero_shot >= np.array([lab.threshold for lab in tax.labels])).mean(axis=0)
    return np.minimum(fixed, np.maximum(share, MIN_POSITIVE_FRACTION))


def train_head(articles: pd.DataFrame, encoder, cfg: Config, progress: bool = True,
               fine_tune: FineTuner | None = None) -> TopicHead | int:
    """Pool articles -> passages -> embeddings -> pseudo-labels -> head; the pool's passage
    count instead when it is under ``self_train.min_pool_passages``. With
    ``self_train.encoder.epochs`` and a ``fine_tune``, the head's encoder is then fine-tuned on
    the head's pseudo-labels (:func:`fine_tune_encoder`) when the pool has at least
    ``self_train.encoder.min_pool_passages`` passages."""
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    passages = split_articles(articles, encoder, hypotheses, cfg.passages.overlap_sentences, progress,
                              desc="split (self_train)", mode=cfg.passages.mode)
    texts = list(passages["text"])
    if len(texts) < cfg.self_train.min_pool_passages:
        return len(texts)
    emb = encoder.embed(texts).astype(np.float64) if texts else np.zeros((0, 1))
    labels, background = label_embeddings(encoder, cfg)
    signal = contrast(emb, labels, background)
    st = cfg.self_train
    fractions = positive_fractions(encoder, texts, cfg)
    names = [lab.name for lab in cfg.taxonomy.labels]
    head = fit_head(emb, signal, names, encoder.encoder_fingerprint,
                    rounds=st.rounds, positive_fraction=fractions,
                    negative_fraction=st.negative_fraction, C=st.C, seed=st.seed, max_iter=st.max_iter)
    head.info["positive_fraction"] = {lab: round(float(f), 4) for lab, f in zip(names, fractions, strict=True)}
    head.info["pool_articles"] = len(articles)
    # A head fitted mostly on short texts decides short items at its own threshold (topic.py).
    head.info["pool_short_share"] = round(float(np.mean(is_short(articles, cfg.topic))), 4) if len(articles) else 0.0
    if fine_tune is not None and st.tunes_encoder:
        assert st.encoder is not None
        if len(texts) >= st.encoder.min_pool_passages:
            return fine_tune_encoder(head, texts, emb, cfg, fine_tune, progress)
        why = (f"the pool has {len(texts)} passages, under self_train.encoder.min_pool_passages = "
               f"{st.encoder.min_pool_passages}: the head stays on frozen vectors")
        log.warning("self_train: %s (set self_train.encoder.min_pool_passages=0 to fine-tune anyway)", why)
        head.info["encoder_not_tuned"] = why
    return head


# What fine-tunes the encoder (training.topic_encoder.tune_encoder with its settings bound; the
# stage passes it in): (texts, targets, mask, coef, intercept, card, start=<a saved encoder to start
# from, or None for the configured model>) -> an object with the saved folder, the fine-tuned
# layer's coef and intercept, and info.
FineTuner = Callable[..., Any]


def training_rows(mask: np.ndarray, max_passages: int, seed: int) -> np.ndarray:
    """The passages with at least one pseudo-label, a seeded sample of ``max_passages`` of
    them when there are more (fine-tuning time grows with the rows; the head saw them all)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) > max_passages:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_passages, replace=False))
    return rows


def fine_tune_encoder(head: TopicHead, texts: list[str], embeddings: np.ndarray, cfg: Config, fine_tune: FineTuner,
                      progress: bool = True) -> TopicHead:
    """The head on a fine-tuned copy of its encoder: the encoder and a linear layer started as
    the head are fine-tuned on the pseudo-labels the head's next round would take (its own
    ``positive_fraction`` per label; :func:`~.topic_head.pseudo_label_matrix`), the encoder is
    saved beside the head and the layer becomes the head, its intercepts set so that each
    label keeps the frozen head's share of the pool at p >= 0.5 (:func:`intercepts_for_shares`).
    Each of ``self_train.encoder.soft_rounds`` then starts from the last round's encoder and
    layer and fits every passage's :func:`sharpened_targets`."""
    st = cfg.self_train
    assert st.encoder is not None
    fractions = [head.info["positive_fraction"][lab] for lab in head.labels]
    shares = [head.info["pool_predicted_share"][lab] for lab in head.labels]
    targets, mask = pseudo_label_matrix(head.predict_proba(embeddings), fractions, st.negative_fraction)
    tuned, embeddings, first = tuning_round(head, texts, targets, mask, shares, cfg, fine_tune, progress, None)
    info = {**head.info, "encoder_tuning": {**first, "base_encoder": head.encoder,
                                            "pseudo_labelled_passages": int(mask.any(axis=1).sum())}}
    soft = []
    for _ in range(st.encoder.soft_rounds):
        targets = sharpened_targets(tuned.predict_proba(embeddings))
        tuned, embeddings, done = tuning_round(tuned, texts, targets, np.ones_like(targets), shares, cfg, fine_tune,
                                               progress, tuned.encoder_dir)
        soft.append(done)
    if soft:
        info["encoder_tuning"]["soft_rounds"] = soft
    info["pool_predicted_share"] = tuned.info["pool_predicted_share"]
    return replace(tuned, info=info)


def tuning_round(head: TopicHead, texts: list[str], targets: np.ndarray, mask: np.ndarray, shares: Sequence[float],
                 cfg: Config, fine_tune: FineTuner, progress: bool,
                 start: Path | None) -> tuple[TopicHead, np.ndarray, dict[str, Any]]:
    """One fine-tuning of ``head``'s layer with its encoder (``start``; None: the configured
    model) on ``targets`` where ``mask`` is 1: (the head on the saved encoder, the pool's
    vectors from it, the round's info)."""
    assert cfg.self_train.encoder is not None
    rows = training_rows(mask, cfg.self_train.encoder.max_passages, cfg.self_train.seed)
    tuned = fine_tune([texts[i] for i in rows], targets[rows], mask[rows], head.coef, head.intercept,
                      encoder_card(cfg, head, len(rows), len(texts)), start=start)
    encoder = build_encoder(replace(cfg.model, name_or_path=str(tuned.folder)), progress=progress, cache=cfg.cache)
    coef = np.round(tuned.coef, COEF_DECIMALS)
    embeddings = encoder.embed(texts).astype(np.float64)
    z = embeddings @ coef.T
    intercept = np.round(intercepts_for_shares(z, shares), COEF_DECIMALS)
    info = {"pool_predicted_share": {lab: round(float((z[:, j] + intercept[j] >= 0).mean()), 4)
                                     for j, lab in enumerate(head.labels)}}
    round_info = {**tuned.info, "fitted_intercept": [round(float(b), 4) for b in tuned.intercept]}
    folder = Path(tuned.folder)
    return (TopicHead(head.labels, encoder.encoder_fingerprint, coef, intercept, info, folder.name, folder),
            embeddings, round_info)


def intercepts_for_shares(z: np.ndarray, shares: Sequence[float]) -> np.ndarray:
    """Per label, the intercept at which ``shares[j]`` of the pool's passages score p >= 0.5 (z:
    [P, L] logits without intercept). Fine-tuning sharpens the scores: at its own intercepts the
    fine-tuned head put 0.14-0.21 of the bundled pool at >= 0.5 against the frozen head's
    0.11-0.15, and the article decision over-called (dev-gold tune macro-F1 0.739 vs 0.819).
    Matching the frozen head's pool shares keeps its calibration and the fine-tuned ranking
    (0.815; docs/research/topic.md). Label-free: only the pool's own scores are read."""
    return np.array([-float(np.quantile(z[:, j], 1 - share)) for j, share in enumerate(shares)])


def encoder_card(cfg: Config, head: TopicHead, rows: int, pool: int) -> str:
    """The fine-tuned encoder's README: what it is, what it was fitted on, how to remake it."""
    enc = cfg.self_train.encoder
    assert enc is not None
    return (f"# Topic encoder: {cfg.model.name_or_path}, fine-tuned on the topic head's pseudo-labels\n\n"
            "Written by the self_train stage (`dvc repro self_train`; "
            "src/zeroshot_news/training/topic_encoder.py) with the head beside it, which names this folder "
            "(`encoder_model`) and scores on its vectors. Use the two together.\n\n"
            f"- labels: {', '.join(head.labels)}\n"
            f"- pool: {pool} passages of the corpus, {rows} with a pseudo-label trained on "
            "(no gold label read)\n"
            f"- recipe: {enc.epochs} epoch(s), lr {enc.learning_rate} ({enc.lr_schedule}, warm-up {enc.warmup_ratio}), "
            f"batch {enc.batch_size}, max {enc.max_length} tokens, weight decay {enc.weight_decay}, "
            f"seed {cfg.self_train.seed}\n"
            f"- rounds: 1 on hard pseudo-labels, then {enc.soft_rounds} on sharpened soft targets of every "
            "passage, each from the last (this folder is the last round)\n"
            f"- this round started from the encoder with fingerprint {head.encoder}\n"
            "- weights: fp16 safetensors (loads upcast to float32)\n")


def gold_targets(passages: pd.DataFrame, signal: np.ndarray, gold: pd.DataFrame,
                 labels: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Few-shot training passages per label from annotated articles (``gold``: doc_id and
    0/1 label columns). A positive article contributes the passage where the label's
    zero-shot contrast is highest (articles mix topics: the one that carries it), a
    negative article every passage (the topic stage takes the max over passages, so no
    passage of it may look positive)."""
    doc = passages["doc_id"].to_numpy()
    targets = {}
    for j, label in enumerate(labels):
        if label not in gold.columns:
            raise ValueError(f"self_train.labels_from=gold: the gold has no column {label!r}")
        annotated = gold[gold[label].isin(["0", "1"])]
        idx, y = [], []
        for doc_id, value in zip(annotated["doc_id"], annotated[label], strict=True):
            rows = np.flatnonzero(doc == doc_id)
            if not len(rows):
                continue
            if value == "1":
                idx.append(rows[np.argmax(signal[rows, j])])
                y.append(1)
            else:
                idx.extend(rows)
                y.extend([0] * len(rows))
        targets[label] = (np.array(idx, dtype=int), np.array(y, dtype=float))
    return targets


def train_few_shot_head(articles: pd.DataFrame, gold_tune: pd.DataFrame, encoder, cfg: Config,
                        progress: bool = True, fit_encoder=None) -> TopicHead:
    """The few-shot head: passages of the annotated (tune-half) articles only. ``encoder`` (the
    configured model) splits them and its zero-shot contrast picks a positive article's passage;
    the head is fitted on ``fit_encoder``'s vectors (a fine-tuned copy; None: ``encoder``'s)."""
    annotated = articles[articles["doc_id"].isin(set(gold_tune["doc_id"]))]
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    passages = split_articles(annotated[["doc_id", "title", "body"]], encoder, hypotheses,
                              cfg.passages.overlap_sentences, progress, desc="split (few-shot)", mode=cfg.passages.mode)
    emb = encoder.embed(list(passages["text"])).astype(np.float64)
    signal = contrast(emb, *label_embeddings(encoder, cfg))
    fit_encoder = fit_encoder or encoder
    if fit_encoder is not encoder:
        emb = fit_encoder.embed(list(passages["text"])).astype(np.float64)
    names = [lab.name for lab in cfg.taxonomy.labels]
    st = cfg.self_train
    head = fit_head_on_labels(emb, gold_targets(passages, signal, gold_tune, names), fit_encoder.encoder_fingerprint,
                              C=st.C, seed=st.seed, max_iter=st.max_iter)
    head.info["training_articles"] = int(annotated["doc_id"].nunique())
    # Annotated headlines make a head fitted on short texts: it decides them at its own threshold.
    head.info["pool_short_share"] = round(float(np.mean(is_short(annotated, cfg.topic))), 4) if len(annotated) else 0.0
    return head


def tune_half_of(articles: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The dev gold's tune half, matched to ``articles`` exactly as the evaluate stage does."""
    return tune_half(matched_gold(cfg.evaluation.gold_path, articles), cfg.evaluation.seed)


def fit_topic_head(articles: pd.DataFrame | None, cfg: Config, shipped_head: Path | str | None = None,
                   fine_tune: FineTuner | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the head file's content, the report): the label-free head, the few-shot head
    (``labels_from: gold``), or the zero-shot marker when the config uses no head
    (``articles`` is then not read and may be None). A pool under
    ``self_train.min_pool_passages`` gets ``shipped_head`` (the head fitted on the bundled
    corpus) when it covers the taxonomy's labels with this encoder, else zero-shot. With
    ``self_train.encoder.epochs`` and a ``fine_tune``, the label-free head's encoder is
    fine-tuned too."""
    report: dict[str, Any] = {"rounds": cfg.self_train.rounds, "labels_from": cfg.self_train.labels_from}
    if not cfg.uses_topic_head:
        why = "self_train.rounds is 0" if cfg.self_train.rounds == 0 else f"model.backend is {cfg.model.backend}"
        report["rounds"] = 0
        return zero_shot_marker({"reason": why}), report
    assert articles is not None
    encoder = build_encoder(cfg.model, cache=cfg.cache)
    if cfg.self_train.labels_from == "gold":
        head = few_shot_on_tuned_encoder(articles, encoder, cfg, fine_tune) if fine_tune is not None else \
            train_few_shot_head(articles, tune_half_of(articles, cfg), encoder, cfg)
    else:
        head = train_head(articles[["doc_id", "title", "body"]], encoder, cfg, fine_tune=fine_tune)
        if isinstance(head, int):
            return small_pool_fallback(head, len(articles), cfg, encoder.encoder_fingerprint, shipped_head, report)
    report.update(head.info)
    return head.to_dict(), report


def few_shot_on_tuned_encoder(articles: pd.DataFrame, encoder, cfg: Config, fine_tune: FineTuner) -> TopicHead:
    """The few-shot head fitted on the encoder the label-free head fine-tunes (on the whole
    pool's pseudo-labels; no gold label read for it), and naming it. On the short gold, held out
    from the dev-gold articles it is fitted on, its tune half gains 0.034 macro-F1 and 0.047 mean
    AP over the few-shot head on frozen vectors (research/few_shot_encoder.py). A pool too small
    to fine-tune on keeps the frozen vectors."""
    label_free = train_head(articles[["doc_id", "title", "body"]], encoder, cfg, fine_tune=fine_tune)
    gold_tune = tune_half_of(articles, cfg)
    if not isinstance(label_free, TopicHead) or label_free.encoder_dir is None:
        head = train_few_shot_head(articles, gold_tune, encoder, cfg)
        why = (label_free.info.get("encoder_not_tuned") if isinstance(label_free, TopicHead)
               else f"the pool has {label_free} passages, too few to self-train on")
        head.info["encoder_not_tuned"] = why
        return head
    names = [lab.name for lab in cfg.taxonomy.labels]
    tuned = build_head_encoder(label_free, cfg.model, names, True, cfg.cache, base=encoder)
    head = train_few_shot_head(articles, gold_tune, encoder, cfg, fit_encoder=tuned)
    head.info["encoder_tuning"] = {**label_free.info["encoder_tuning"],
                                   "labels": "pseudo-labels of the label-free head"}
    return replace(head, encoder_model=label_free.encoder_model, encoder_dir=label_free.encoder_dir)


def small_pool_fallback(passages: int, articles: int, cfg: Config, fingerprint: str,
                        shipped_head: Path | str | None, report: dict[str, Any]
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shipped head when it fits this taxonomy and encoder (it beat zero-shot on both golds'
    tune halves, items from other sources included), else the zero-shot marker; why, logged."""
    why = (f"the pool has {passages} passages ({articles} articles), under self_train.min_pool_passages "
           f"= {cfg.self_train.min_pool_passages}: too few to self-train on")
    report.update(pool_passages=passages, pool_articles=articles)
    labels = tuple(lab.name for lab in cfg.taxonomy.labels)
    shipped = read_head(shipped_head) if shipped_head is not None and Path(shipped_head).is_file() else None
    if shipped is not None and shipped.labels == labels and shipped.encoder == fingerprint:
        log.warning("self_train: %s; the shipped head %s is used (set self_train.min_pool_passages=0 to fit "
                    "one anyway)", why, shipped_head)
        report.update(fallback="shipped_head")
        return {**shipped.to_dict(), "info": {**shipped.info, "fallback": why}}, report
    unfit = ("no shipped head" if shipped is None else
             f"the shipped head covers {list(shipped.labels)}" if shipped.labels != labels
             else "the shipped head was fitted with another encoder")
    log.warning("self_train: %s, and %s; the topic stage scores calibrated zero-shot (set "
                "self_train.min_pool_passages=0 to fit a head anyway)", why, unfit)
    report.update(rounds=0, fallback="zero_shot")
    return zero_shot_marker({"reason": f"{why}; {unfit}"}), report
