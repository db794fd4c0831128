"""Pseudo-positive share per label: the fixed `self_train.positive_fraction` against a share
estimated from the zero-shot scores (issue 25: a new label fired on a fixed share of articles
whatever its true prevalence). Scored on the dev gold's tune half; test printed, not used.

    .venv/bin/python research/prevalence_head.py

The pool is the whole cleaned bundled corpus (``data/processed/articles.parquet``), as in the
self_train stage. For each label, the estimate is the share of pool passages whose calibrated
zero-shot score (the topic stage's zero-shot path: hypotheses combined per label) reaches the
label's threshold, clipped to [0.02, 0.30]; the head is then fitted per label with that share
as its positive fraction (negatives and C as configured). Printed per variant: tune / test
macro-F1 and, per label, the predicted share of dev-gold articles next to the gold share.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.gold import matched_gold, split_tune_test
from zeroshot_news.scorers.build import build_encoder, build_scorer
from zeroshot_news.zeroshot.scoring import combine_hypotheses, score_passages, split_articles
from zeroshot_news.zeroshot.self_train import label_embeddings
from zeroshot_news.zeroshot.topic import classify_topics
from zeroshot_news.zeroshot.topic_head import TopicHead, contrast, fit_head


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    labels = [lab.name for lab in cfg.taxonomy.labels]
    thresholds = np.array([lab.threshold for lab in cfg.taxonomy.labels])
    articles = pd.read_parquet("data/processed/articles.parquet")
    gold = matched_gold(cfg.evaluation.gold_path, articles)
    gold["split"] = split_tune_test(gold, cfg.evaluation.seed).to_numpy()
    articles = articles[["doc_id", "title", "body"]]
    gold_articles = articles[articles["doc_id"].isin(set(gold["doc_id"]))]

    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    pairs = cfg.taxonomy.hypotheses()
    hypotheses = [h for _, h in pairs]
    passages = split_articles(articles, encoder, hypotheses, cfg.passages.overlap_sentences, False,
                              mode=cfg.passages.mode)
    texts = list(passages["text"])
    emb = encoder.embed(texts).astype(np.float64)
    signal = contrast(emb, *label_embeddings(encoder, cfg))
    scorer = build_scorer(cfg.model, progress=False, cache=cfg.cache)
    zero_shot = combine_hypotheses(score_passages(scorer, texts, hypotheses, cfg.passages.mode),
                                   [lab for lab, _ in pairs], labels, cfg.topic.hypothesis_combine)
    estimate = (zero_shot >= thresholds).mean(axis=0)
    st = cfg.self_train
    print(f"pool: {len(articles)} articles, {len(texts)} passages; zero-shot passage share at each label's "
          f"threshold: {dict(zip(labels, estimate.round(3), strict=True))}")

    def head_with(fractions: np.ndarray) -> TopicHead:
        parts = [fit_head(emb, signal[:, [j]], [lab], encoder.encoder_fingerprint, rounds=st.rounds,
                          positive_fraction=float(fractions[j]), negative_fraction=st.negative_fraction,
                          C=st.C, seed=st.seed, max_iter=st.max_iter) for j, lab in enumerate(labels)]
        return TopicHead(tuple(labels), encoder.encoder_fingerprint, np.vstack([p.coef for p in parts]),
                         np.concatenate([p.intercept for p in parts]))

    variants = {
        f"fixed {st.positive_fraction} (default)": np.full(len(labels), st.positive_fraction),
        "zero-shot estimate, clipped [0.02, 0.30]": np.clip(estimate, 0.02, 0.30),
        "half the estimate, clipped": np.clip(estimate / 2, 0.02, 0.30),
    }
    for name, fractions in variants.items():
        topics = classify_topics(gold_articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                                 head=head_with(fractions)).topics
        pred = topics.pivot(index="doc_id", columns="label", values="predicted").astype(int)
        line = [f"{name:<42} fractions {np.round(fractions, 3).tolist()}"]
        for part in ("tune", "test"):
            g = gold[gold["split"] == part].set_index("doc_id")
            y, p = g[labels].astype(int).to_numpy(), pred.loc[g.index, labels].to_numpy()
            line.append(f"{part} {f1_score(y, p, average='macro', zero_division=0):.4f}")
        tune = gold[gold["split"] == "tune"].set_index("doc_id")
        shares = ", ".join(f"{lab} {pred.loc[tune.index, lab].mean():.2f}/{tune[lab].astype(int).mean():.2f}"
                           for lab in labels)
        print(" | ".join(line) + f" | tune predicted/gold share: {shares}", flush=True)


if __name__ == "__main__":
    main()
