"""A lede view in self-training (issue 25): does the label-free head get better on short items
when the pool's headline + first-sentence "ledes" are part of what it is fitted on?

    .venv/bin/python research/lede_view_head.py [--scales 0.5 0.75 1.0]

The pool is the self_train stage's (every cleaned article of ``data/processed/articles.parquet``;
``dvc repro clean`` first). A lede is the article's title and the first sentence of its body,
written the way the short gold's items are ("Title. First sentence."). Variants, all label-free:

- ``passages`` (the default head): passages only, as ``train_head`` fits it;
- ``+ledes (zero-shot labels)``: the ledes join the pool as passages of their own; their
  pseudo-labels come from the same zero-shot contrast and top / bottom fractions;
- ``+ledes (article labels)``: the default head classifies each pool article (the topic stage's
  decision); its lede is labelled with that article's predicted labels and added to the
  passages' final pseudo-labels (a lede is about what its article is about);
- ``lede head``: a second head fitted on the ledes only, labelled as above, for short items.

Each head classifies the short gold (every item, the topic stage's decision with
``topic.short_threshold_scale`` in ``--scales``) and the dev gold's articles. The criterion,
fixed beforehand: the short gold's tune-half macro-F1, with the dev gold's tune half not more
than 0.01 below the default head's. Test halves are printed but choose nothing.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from small_corpus_head import dev_gold_articles

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.passages import sentence_spans
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.self_train import label_embeddings, train_head
from zeroshot_news.zeroshot.topic import classify_topics
from zeroshot_news.zeroshot.topic_head import COEF_DECIMALS, TopicHead, contrast, fit_head, pseudo_labels


def lede_text(title: str, body: str) -> str:
    body = (body or "").strip()
    spans = sentence_spans(body) if body else []
    first = body[spans[0][0]:spans[0][1]].strip() if spans else ""
    title = (title or "").strip()
    if title and title[-1] not in ".!?":
        title += "."
    return f"{title} {first}".strip()


def macro(frame: pd.DataFrame, pred: pd.DataFrame, labels: list[str], key: str,
          drop: frozenset = frozenset()) -> dict[str, float]:
    out = {}
    for half in ("tune", "test"):
        g = frame[(frame["split"] == half) & ~frame[key].isin(drop)].set_index(key)
        out[half] = float(f1_score(g[labels].astype(int).to_numpy(), pred.loc[g.index, labels].to_numpy(),
                                   average="macro", zero_division=0))
    return out


def paired_bootstrap(gold: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame, labels: list[str],
                     samples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Tune-half macro-F1 of b minus a: the difference and its 95 % interval (items resampled)."""
    g = gold[gold["split"] == "tune"].set_index("doc_id")
    y, pa, pb = (g[labels].astype(int).to_numpy(), a.loc[g.index, labels].to_numpy(), b.loc[g.index, labels].to_numpy())
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(samples):
        i = rng.integers(0, len(y), len(y))
        diffs.append(f1_score(y[i], pb[i], average="macro", zero_division=0)
                     - f1_score(y[i], pa[i], average="macro", zero_division=0))
    point = f1_score(y, pb, average="macro", zero_division=0) - f1_score(y, pa, average="macro", zero_division=0)
    return float(point), float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))


def predicted(items: pd.DataFrame, encoder, cfg, head: TopicHead, scale: float) -> pd.DataFrame:
    # The head alone on short items, as when this study was run (before the zero-shot blend).
    topic = replace(cfg.topic, short_threshold_scale=scale, short_zero_shot_weight=0.0)
    topics = classify_topics(items, encoder, cfg.taxonomy, topic, cfg.passages, progress=False, head=head).topics
    return topics.pivot(index="doc_id", columns="label", values="predicted").astype(int)


def fit_on(X: np.ndarray, targets: list[tuple[np.ndarray, np.ndarray]], labels: list[str], encoder: str, cfg,
           info: dict) -> TopicHead:
    """One unweighted logistic regression per label, as fit_head's last round fits it."""
    st = cfg.self_train
    coef, intercept = np.zeros((len(labels), X.shape[1])), np.zeros(len(labels))
    for j, (idx, y) in enumerate(targets):
        clf = LogisticRegression(C=st.C, max_iter=st.max_iter, random_state=st.seed).fit(X[idx], y)
        coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
    return TopicHead(tuple(labels), encoder, np.round(coef, COEF_DECIMALS), np.round(intercept, COEF_DECIMALS), info)


def final_targets(X: np.ndarray, signal: np.ndarray, cfg, labels: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pseudo-labels of fit_head's last round (the previous round's probabilities rank)."""
    st = cfg.self_train
    targets = []
    for _ in range(st.rounds):
        targets = [pseudo_labels(signal[:, j], st.positive_fraction, st.negative_fraction) for j in range(len(labels))]
        head = fit_on(X, targets, labels, "x", cfg, {})
        signal = head.predict_proba(X)
    return targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.5, 0.75, 1.0])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    labels, articles, gold, gold_articles = dev_gold_articles(cfg)
    short = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    short_items = pd.DataFrame({"doc_id": short["item_id"], "title": "", "body": short["text"]})
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)

    pool = articles[["doc_id", "title", "body"]]
    ledes = [lede_text(t, b) for t, b in zip(pool["title"], pool["body"], strict=True)]
    overlap = set(ledes) & set(short["text"])
    in_pool = frozenset(short.loc[short["text"].isin(overlap), "item_id"])
    print(f"pool {len(pool)} articles; short-gold items that are a pool article's lede: {len(in_pool)} "
          "(column 'tune w/o': the tune half without them)")

    base = train_head(pool, encoder, cfg, progress=False)
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    passages = split_articles(pool, encoder, hypotheses, cfg.passages.overlap_sentences, False,
                              desc="split", mode=cfg.passages.mode)
    P = encoder.embed(list(passages["text"])).astype(np.float64)
    L = encoder.embed(ledes).astype(np.float64)
    descriptions, background = label_embeddings(encoder, cfg)
    fp = encoder.encoder_fingerprint

    # +ledes, zero-shot labels: the joint pool through the stage's own fit.
    st = cfg.self_train
    X = np.vstack([P, L])
    joint = fit_head(X, contrast(X, descriptions, background), labels, fp, rounds=st.rounds,
                     positive_fraction=st.positive_fraction, negative_fraction=st.negative_fraction,
                     C=st.C, seed=st.seed, max_iter=st.max_iter)

    # Ledes labelled by the default head's article decisions.
    article_pred = predicted(pool, encoder, cfg, base, 1.0).loc[pool["doc_id"], labels].to_numpy()
    passage_targets = final_targets(P, contrast(P, descriptions, background), cfg, labels)
    offset = len(P)
    lede_idx = np.arange(offset, offset + len(L))
    distilled_targets = [(np.concatenate([idx, lede_idx]), np.concatenate([y, article_pred[:, j]]))
                         for j, (idx, y) in enumerate(passage_targets)]
    distilled = fit_on(X, distilled_targets, labels, fp, cfg, {})
    lede_targets = [(np.arange(len(L)), article_pred[:, j]) for j in range(len(labels))]
    lede_head = fit_on(L, lede_targets, labels, fp, cfg, {})
    positives = dict(zip(labels, article_pred.sum(axis=0).tolist(), strict=True))
    print("pool articles predicted positive per label:", positives)

    heads = {"passages (default head)": base, "+ledes (zero-shot labels)": joint,
             "+ledes (article labels)": distilled, "lede head (short items only)": lede_head}
    print(f"{'variant':<30} {'scale':>5} {'short tune':>10} {'tune w/o':>9} {'short test':>10} {'dev tune':>9} "
          f"{'dev test':>9}")
    short_gold = short.rename(columns={"item_id": "doc_id"})
    short_pred = {}
    for name, head in heads.items():
        dev = macro(gold, predicted(gold_articles, encoder, cfg, base if name.startswith("lede") else head, 1.0),
                    labels, "doc_id")
        for scale in args.scales:
            short_pred[name, scale] = pred = predicted(short_items, encoder, cfg, head, scale)
            s, w = macro(short_gold, pred, labels, "doc_id"), macro(short_gold, pred, labels, "doc_id", in_pool)
            print(f"{name:<30} {scale:>5.2f} {s['tune']:>10.4f} {w['tune']:>9.4f} {s['test']:>10.4f} "
                  f"{dev['tune']:>9.4f} {dev['test']:>9.4f}", flush=True)
    for name in list(heads)[1:]:
        base_pred = short_pred["passages (default head)", 0.5]
        d, lo, hi = paired_bootstrap(short_gold, base_pred, short_pred[name, 0.5], labels)
        print(f"short tune, scale 0.5, {name} minus the default head: {d:+.4f} [{lo:+.4f}, {hi:+.4f}]")


if __name__ == "__main__":
    main()
