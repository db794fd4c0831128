"""Does the zero-shot blend also help a head self-trained on short texts? (issue 25; diagnostic)

The topic stage blends calibrated zero-shot into an *article* head's score on short items
(``topic.short_zero_shot_weight``); a head self-trained on a mostly-short pool decides short items
alone at its own threshold. Here heads are fitted on AG News short pools as in
``research/short_pool_head.py`` (labels never read), blended with zero-shot at head weights 1 /
0.75 / 0.5, and scored on the short gold's tune half only (mean AP, and macro-F1 at the best
single threshold 0.05..0.90). No test half is read.

    python -m zeroshot_news topic_short --gold data/gold/short_gold.csv --head models/topic_head.json \\
        --predictions /tmp/ens/ts_zs.parquet --report /tmp/ens/ts_zs.json self_train.rounds=0
    python research/short_pool_head_blend.py /tmp/ens/ts_zs.parquet     # ~2 min on 2 cores
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.self_train import train_head

sys.path.insert(0, str(Path(__file__).parent))
from short_pool_head import agnews_short_pool
from short_zero_shot_blend import best_threshold, mean_ap

LABELS = ["regional_security", "diplomacy", "military"]


def main(zero_shot_path: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    zero_shot = (pd.read_parquet(zero_shot_path).pivot(index="item_id", columns="label", values="score")
                 .loc[gold["item_id"], LABELS].to_numpy())
    vectors = encoder.embed(list(gold["text"]))
    pool = agnews_short_pool(set(gold["item_id"]))
    y = gold[LABELS].astype(int).to_numpy().astype(bool)
    tune = (gold["split"] == "tune").to_numpy()

    print(f"{'pool':>6} {'head weight':>11} {'tune AP':>8} {'best t':>6} {'tune F1':>8}")
    for n in (1000, 0):
        sample = pool if n == 0 else pool.sample(n=n, random_state=cfg.self_train.seed)
        head = train_head(sample, encoder, cfg, progress=False)
        order = [list(head.labels).index(lab) for lab in LABELS]
        probs = head.predict_proba(vectors)[:, order]
        for w in (1.0, 0.75, 0.5):
            scores = w * probs + (1 - w) * zero_shot
            ap = mean_ap(y[tune], scores[tune])
            t, f1 = best_threshold(y[tune], scores[tune], np.round(np.arange(0.05, 0.901, 0.05), 2))
            print(f"{len(sample):>6} {w:>11.2f} {ap:>8.4f} {t:>6.2f} {f1:>8.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
