"""Paired bootstrap of two stance runs on the dev gold's tune half (mean macro-F1 over the
three government targets), and of two train_stance runs on VAST train's held-out topics.

    python research/stance_paired_bootstrap.py gold A/stance.parquet B/stance.parquet IN_DIR
    python research/stance_paired_bootstrap.py heldout A/confusion.csv B/confusion.csv

IN_DIR holds the pipeline's articles, removed and quarantine parquet files. Prints the
difference A - B and its 95 % interval (2,000 resamples, seed 0). Chooses nothing by itself.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from zeroshot_news.config import load_config
from zeroshot_news.evaluation.evaluate import load_gold, match_gold, split_tune_test

TARGETS = ["russian_government", "ukrainian_government", "western_governments"]
CLASSES = ["favor", "against", "neutral", "none"]


def interval(stat, n: int, resamples: int = 2000) -> tuple[float, np.ndarray]:
    rng = np.random.default_rng(0)
    draws = [stat(rng.integers(0, n, n)) for _ in range(resamples)]
    return stat(np.arange(n)), np.percentile(draws, [2.5, 97.5])


def main() -> None:
    warnings.filterwarnings("ignore")
    kind, a_path, b_path = sys.argv[1:4]
    if kind == "heldout":
        a, b = pd.read_csv(a_path), pd.read_csv(b_path)
        assert (a["actual"] == b["actual"]).all(), "not the same held-out items"

        def stat(i):
            return (f1_score(a["actual"].iloc[i], a["predicted"].iloc[i], average="macro")
                    - f1_score(b["actual"].iloc[i], b["predicted"].iloc[i], average="macro"))
        n = len(a)
    else:
        inp = sys.argv[4]
        cfg = load_config("params.yaml")
        gold, _ = match_gold(load_gold(cfg.evaluation.gold_path), pd.read_parquet(f"{inp}/articles.parquet"),
                             pd.read_parquet(f"{inp}/removed.parquet"), pd.read_parquet(f"{inp}/quarantine.parquet"))
        tune = gold[split_tune_test(gold, cfg.evaluation.seed).to_numpy() == "tune"].set_index("doc_id")
        runs = [pd.read_parquet(p).pivot(index="doc_id", columns="target", values="label").loc[tune.index]
                for p in (a_path, b_path)]

        def mean_f1(pred, i):
            return np.mean([f1_score(tune[f"stance_{t}"].iloc[i], pred[t].iloc[i], average="macro", labels=CLASSES)
                            for t in TARGETS])

        def stat(i):
            return mean_f1(runs[0], i) - mean_f1(runs[1], i)
        n = len(tune)
    diff, ci = interval(stat, n)
    print(f"{kind}: A - B = {diff:+.4f}, 95% interval [{ci[0]:+.4f}, {ci[1]:+.4f}] over {n} items")


if __name__ == "__main__":
    main()
