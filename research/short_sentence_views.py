"""Short items read sentence by sentence (issue 25): does the head rank short items better when
their headline and lede are also scored on their own?

    .venv/bin/python research/short_sentence_views.py [--head models/topic_head.json] [overrides ...]

A short-gold item is "Headline. First sentence." (or a headline alone). The topic stage scores it
as one passage. Variants, all label-free (the committed head, no gold label fits anything):

- ``whole`` (the default): the item as one passage;
- ``max sentences``: the highest probability over the item's sentences;
- ``max(whole, sentences)``: the highest over the whole item and each sentence;
- ``mean(whole, max sentences)``: their mean;
- ``headline``: the first sentence alone.

Each variant's items are decided at one threshold for all labels, t in 0.10..0.50 (the default's
rule is one threshold, 0.25 = 0.5 x ``topic.short_threshold_scale``). Criterion, fixed beforehand:
the best tune-half macro-F1 over t; the tune-half mean AP is printed as the threshold-free view.
The test half is printed for the chosen variant (and the default) only.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.passages import sentence_spans
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.topic_head import read_head

THRESHOLDS = np.round(np.arange(0.10, 0.501, 0.05), 2)


def sentences(text: str) -> list[str]:
    spans = sentence_spans(text)
    out = [text[a:b].strip() for a, b in spans if text[a:b].strip()]
    return out or [text]


def macro_f1(y: np.ndarray, s: np.ndarray, t: float) -> float:
    return float(f1_score(y, (s >= t).astype(int), average="macro", zero_division=0))


def mean_ap(y: np.ndarray, s: np.ndarray) -> float:
    return float(np.mean([average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1])]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--head", default="models/topic_head.json")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", args.overrides))
    head = read_head(args.head)
    labels = list(head.labels)
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)

    views = [sentences(t) for t in gold["text"]]
    flat = [s for v in views for s in v]
    owner = np.repeat(np.arange(len(views)), [len(v) for v in views])
    whole = head.predict_proba(encoder.embed(list(gold["text"])))
    per_sentence = head.predict_proba(encoder.embed(flat))
    max_sent = np.full_like(whole, -np.inf)
    np.maximum.at(max_sent, owner, per_sentence)
    first = per_sentence[np.searchsorted(owner, np.arange(len(views)))]
    variants = {
        "whole (default)": whole,
        "max sentences": max_sent,
        "max(whole, sentences)": np.maximum(whole, max_sent),
        "mean(whole, max sentences)": (whole + max_sent) / 2,
        "headline": first,
    }
    y = gold[labels].astype(int).to_numpy()
    halves = {h: (gold["split"] == h).to_numpy() for h in ("tune", "test")}
    multi = sum(len(v) > 1 for v in views)
    print(f"short gold: {len(gold)} items, {multi} with more than one sentence; labels {labels}")
    print(f"{'variant':28s} {'tune AP':>8s} {'best t':>7s} {'tune F1':>8s} {'tune F1 @0.25':>14s}")
    chosen = []
    for name, s in variants.items():
        m = halves["tune"]
        f1s = {t: macro_f1(y[m], s[m], t) for t in THRESHOLDS}
        t_best = max(f1s, key=f1s.get)
        chosen.append((f1s[t_best], name, t_best))
        print(f"{name:28s} {mean_ap(y[m], s[m]):8.4f} {t_best:7.2f} {f1s[t_best]:8.4f} {f1s[0.25]:14.4f}")
    _, best, t_best = max(chosen)
    m = halves["test"]
    print(f"chosen on tune: {best} at t={t_best}; test macro-F1 {macro_f1(y[m], variants[best][m], t_best):.4f}, "
          f"AP {mean_ap(y[m], variants[best][m]):.4f}; default at 0.25: "
          f"{macro_f1(y[m], whole[m], 0.25):.4f}, AP {mean_ap(y[m], whole[m]):.4f}")


if __name__ == "__main__":
    main()
