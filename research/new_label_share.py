"""Does a new label's predicted share track its true share? (issue 25, item 3)

    .venv/bin/python research/new_label_share.py [--shares 0.02 0.05 0.1 0.2] [--seeds 0 1 2]

A user adds a label the shipped taxonomy does not have. Here the new label is ``technology``
(description written once, before any run; not in the taxonomy's background), and its gold is
the BBC folder of each bundled article (``category == "tech"``: 59 of the 381 articles). Pools
are the bundled corpus with its tech articles subsampled (seeded) so that tech makes up each
share in ``--shares``; every non-tech article stays. On each pool the head is self-trained as the
self_train stage does it (the configured taxonomy plus the new label) and the pool's own articles
are classified (what ``dvc repro`` does on a user's corpus). Printed per pool: the new label's gold
share, its predicted share, precision and recall, for

- ``fixed``: ``self_train.positive_fraction`` (0.08) of the passages for every label
  (``self_train.cap_at_zero_shot_share=false``, the default until 2026-12-06);
- ``capped``: each label's share capped at its zero-shot share of the pool, floor 0.02
  (``zeroshot.self_train.positive_fractions``, the default since; the ``fraction`` column is the
  new label's);
- ``zero-shot``: the calibrated zero-shot scores (``self_train.rounds=0``).

Criterion (the issue's): the new label's predicted share should follow its gold share.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.self_train import label_embeddings, positive_fractions
from zeroshot_news.zeroshot.topic import classify_topics
from zeroshot_news.zeroshot.topic_head import TopicHead, contrast, fit_head

NEW_LABEL = ("+taxonomy.labels.technology={threshold: 0.5, descriptions: "
             "['technology: computers, the internet, software, mobile phones and video games']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shares", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", [NEW_LABEL]))
    labels = [lab.name for lab in cfg.taxonomy.labels]
    new = labels.index("technology")
    st = cfg.self_train
    corpus = pd.read_parquet("data/processed/articles.parquet")
    is_tech = (corpus["category"] == "tech").to_numpy()
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    pairs = cfg.taxonomy.hypotheses()
    hypotheses = [h for _, h in pairs]
    descriptions, background = label_embeddings(encoder, cfg)
    print(f"bundled corpus: {len(corpus)} articles, {is_tech.sum()} tech; labels {labels}")
    print(f"{'tech share':>10s} {'seed':>4s} {'articles':>8s} | {'variant':10s} {'predicted':>9s} "
          f"{'precision':>9s} {'recall':>6s} {'fraction':>8s}")
    for share in args.shares:
        n_tech = int(np.rint(share * (~is_tech).sum() / (1 - share)))
        for seed in args.seeds:
            tech = corpus[is_tech].sample(n=min(n_tech, int(is_tech.sum())), random_state=seed)
            pool = pd.concat([corpus[~is_tech], tech]).sort_values("doc_id").reset_index(drop=True)
            gold = (pool["category"] == "tech").to_numpy()
            articles = pool[["doc_id", "title", "body"]]
            passages = split_articles(articles, encoder, hypotheses, cfg.passages.overlap_sentences, False,
                                      mode=cfg.passages.mode)
            texts = list(passages["text"])
            emb = encoder.embed(texts).astype(np.float64)
            signal = contrast(emb, descriptions, background)
            capped = positive_fractions(encoder, texts, cfg)

            def head_with(fractions, emb=emb, signal=signal) -> TopicHead:
                return fit_head(emb, signal, labels, encoder.encoder_fingerprint, rounds=st.rounds,
                                positive_fraction=fractions, negative_fraction=st.negative_fraction,
                                C=st.C, seed=st.seed, max_iter=st.max_iter)

            variants = {"fixed": (head_with(st.positive_fraction), st.positive_fraction),
                        "capped": (head_with(capped), float(capped[new])), "zero-shot": (None, float("nan"))}
            for name, (head, fraction) in variants.items():
                # The embedding encoder is also the zero-shot scorer: one model load.
                topics = classify_topics(articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                                         head=head).topics
                pred = (topics[topics["label"] == "technology"].set_index("doc_id")
                        .loc[articles["doc_id"], "predicted"].to_numpy(bool))
                precision = (pred & gold).sum() / max(pred.sum(), 1)
                recall = (pred & gold).sum() / max(gold.sum(), 1)
                print(f"{gold.mean():10.3f} {seed:4d} {len(pool):8d} | {name:10s} {pred.mean():9.3f} "
                      f"{precision:9.3f} {recall:6.3f} {fraction:8.3f}", flush=True)


if __name__ == "__main__":
    main()
