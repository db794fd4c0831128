"""The label-free topic head on small corpora (issue 25): from what pool size does it beat
calibrated zero-shot? Scored on the dev gold's tune half (the test half is printed, not read
for the choice).

    .venv/bin/python research/small_corpus_head.py [--sizes 10 30 100 300] [--seeds 0 1 2]

For each pool size n and seed, n articles of the cleaned bundled corpus
(``data/processed/articles.parquet``; ``dvc repro clean`` first) are drawn (seeded, without the
dev gold's test half, so no test article trains a head), the head is fitted on their passages
exactly as the self_train stage does (:func:`train_head`), and every dev-gold article is
classified with it (:func:`classify_topics`, the topic stage's decision). Zero-shot
(``self_train.rounds=0``) needs no pool and is scored once. Also printed: how many passages the
pool had and how many pseudo-positives per label the head was fitted on.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.gold import matched_gold, split_tune_test
from zeroshot_news.scorers.build import build_encoder, build_scorer
from zeroshot_news.zeroshot.self_train import train_head
from zeroshot_news.zeroshot.topic import classify_topics


def half_f1(topics: pd.DataFrame, gold: pd.DataFrame, labels: list[str]) -> dict[str, float]:
    pred = topics.pivot(index="doc_id", columns="label", values="predicted").astype(int)
    out = {}
    for part in ("tune", "test"):
        g = gold[gold["split"] == part].set_index("doc_id")
        y, p = g[labels].astype(int).to_numpy(), pred.loc[g.index, labels].to_numpy()
        out[part] = float(f1_score(y, p, average="macro", zero_division=0))
    return out


def dev_gold_articles(cfg) -> tuple[list[str], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(the taxonomy's labels, the cleaned bundled corpus, the dev gold with its tune/test split
    column, the gold's articles) as the evaluate stage matches and splits them."""
    labels = [lab.name for lab in cfg.taxonomy.labels]
    articles = pd.read_parquet("data/processed/articles.parquet")
    gold = matched_gold(cfg.evaluation.gold_path, articles)
    gold["split"] = split_tune_test(gold, cfg.evaluation.seed).to_numpy()
    gold_articles = articles[articles["doc_id"].isin(set(gold["doc_id"]))][["doc_id", "title", "body"]]
    return labels, articles, gold, gold_articles


def without_test_half(articles: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """The pool these scripts draw from: the corpus less the dev gold's test half."""
    return articles[~articles["doc_id"].isin(set(gold.loc[gold["split"] == "test", "doc_id"]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100, 300])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", ["self_train.min_pool_passages=0"]))  # measure every pool
    labels, articles, gold, gold_articles = dev_gold_articles(cfg)
    pool = without_test_half(articles, gold)
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)

    zs = classify_topics(gold_articles, build_scorer(cfg.model, progress=False, cache=cfg.cache), cfg.taxonomy,
                         cfg.topic, cfg.passages, progress=False).topics
    f = half_f1(zs, gold, labels)
    print(f"pool of {len(pool)} articles (bundled corpus less the dev gold's test half); "
          f"dev gold tune {int((gold['split'] == 'tune').sum())}, test {int((gold['split'] == 'test').sum())}")
    print(f"{'variant':<26} {'passages':>8} {'positives/label':>16} {'tune':>6} {'test':>6}")
    print(f"{'zero-shot (rounds=0)':<26} {'-':>8} {'-':>16} {f['tune']:>6.3f} {f['test']:>6.3f}")
    for n in [*(s for s in args.sizes if s < len(pool)), len(pool)]:
        rows = []
        for seed in args.seeds if n < len(pool) else [0]:
            sample = pool.sample(n=min(n, len(pool)), random_state=seed)[["doc_id", "title", "body"]]
            head = train_head(sample, encoder, cfg, progress=False)
            topics = classify_topics(gold_articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages,
                                     progress=False, head=head).topics
            f = half_f1(topics, gold, labels)
            pos = "/".join(str(c["positive"]) for c in head.info["pseudo_labels"].values())
            rows.append((head.info.get("pool_passages", "?"), pos, f["tune"], f["test"]))
            print(f"{f'head, n={n}, seed={seed}':<26} {rows[-1][0]!s:>8} {pos:>16} "
                  f"{f['tune']:>6.3f} {f['test']:>6.3f}", flush=True)
        tune = np.array([r[2] for r in rows])
        print(f"{f'  mean n={n}':<26} {'':>8} {'':>16} {tune.mean():>6.3f} {np.mean([r[3] for r in rows]):>6.3f}"
              f"   (tune min {tune.min():.3f})", flush=True)


if __name__ == "__main__":
    main()
