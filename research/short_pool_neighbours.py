"""Short items scored through their nearest pool passages (issue 25; a diagnostic, tune AP only).

A short item's neighbours among the bundled pool's article passages carry the head's scores on
text it ranks well. Score = the mean head score of the item's k nearest pool passages (cosine),
alone or averaged with the head and zero-shot scores. Label-free; the tune half's mean AP and
best single-threshold macro-F1 (0.05..0.60, every item scored the same way) are printed, no test
half: they say whether the idea is worth building.

    dvc repro topic            # data/predictions/topic_passages.parquet: the pool's passages
    python -m zeroshot_news topic_short --gold data/gold/short_gold.csv --head models/topic_head.json \\
        --predictions /tmp/ens/ts_zs.parquet --report /tmp/ens/ts_zs.json self_train.rounds=0
    python research/short_pool_neighbours.py /tmp/ens/ts_zs.parquet
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.topic_head import read_head

sys.path.insert(0, str(Path(__file__).parent))
from short_zero_shot_blend import best_threshold, mean_ap


def main(zero_shot_path: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    head = read_head("models/topic_head.json")
    labels = list(head.labels)
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    pool = pd.read_parquet("data/predictions/topic_passages.parquet")
    items, passages = encoder.embed(list(gold["text"])), encoder.embed(list(pool["text"]))
    item_head, pool_head = head.predict_proba(items), head.predict_proba(passages)
    zero_shot = (pd.read_parquet(zero_shot_path).pivot(index="item_id", columns="label", values="score")
                 .loc[gold["item_id"], labels].to_numpy())
    y = gold[labels].astype(int).to_numpy()
    tune = (gold["split"] == "tune").to_numpy()

    def tune_ap(scores: np.ndarray) -> float:
        return mean_ap(y[tune], scores[tune])

    def best_f1(scores: np.ndarray) -> str:
        t, f1 = best_threshold(y[tune].astype(bool), scores[tune], np.round(np.arange(0.05, 0.601, 0.025), 3))
        return f"best-t tune F1 {f1:.4f} at {t}"

    blend = (item_head + zero_shot) / 2
    print(f"tune mean AP: head {tune_ap(item_head):.4f}, zero-shot {tune_ap(zero_shot):.4f}, "
          f"head + zero-shot (the default blend) {tune_ap(blend):.4f}, {best_f1(blend)}")
    nearest = np.argsort(-(items @ passages.T), axis=1)
    for k in (5, 10, 20, 50):
        neighbours = pool_head[nearest[:, :k]].mean(axis=1)
        print(f"k {k:>2}: neighbours {tune_ap(neighbours):.4f}, head + neighbours "
              f"{tune_ap((item_head + neighbours) / 2):.4f}, head + zero-shot + neighbours "
              f"{tune_ap((item_head + zero_shot + neighbours) / 3):.4f}, "
              f"{best_f1((item_head + zero_shot + neighbours) / 3)}")


if __name__ == "__main__":
    main(sys.argv[1])
