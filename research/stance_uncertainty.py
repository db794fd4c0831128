"""How sure is a stance decision? Accuracy of the configured stance method's decisions on the
stance gold's tune half (configured targets only), by margin and by predicted label: what
``stance.uncertain_margin`` and ``stance.uncertain_labels`` are chosen from (rule, fixed
beforehand: flag what is right less than half of the time).

    python research/stance_uncertainty.py [overrides...]
"""

from __future__ import annotations

import sys

import pandas as pd

sys.path.insert(0, "research")
from stance_gold_variants import predict

GRID = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)


def main() -> None:
    gold = pd.read_csv("data/gold/stance_gold.csv", dtype=str, keep_default_na=False)
    pred, tuned, _ = predict(sys.argv[1:])
    m = gold.merge(pred[["item_id", "target", "label", "margin"]].rename(columns={"label": "pred"}),
                   on=["item_id", "target"])
    t = m[(m["split"] == "tune") & m["target"].isin(tuned) & (m["pred"] != "none")].copy()
    t["right"] = t["label"] == t["pred"]
    print(f"decided (favor / against / neutral) on the tune half: {len(t)}, accuracy {t['right'].mean():.3f}")
    for tau in GRID:
        below, above = t[t["margin"] < tau], t[t["margin"] >= tau]
        acc_below = below["right"].mean() if len(below) else float("nan")
        acc_above = above["right"].mean() if len(above) else float("nan")
        print(f"margin < {tau:<6} n {len(below):>4} accuracy {acc_below:.3f}   >= : n {len(above):>4} "
              f"accuracy {acc_above:.3f}")
    for label, g in t.groupby("pred"):
        print(f"predicted {label:<8} n {len(g):>4} right {int(g['right'].sum()):>4} ({g['right'].mean():.3f})")


if __name__ == "__main__":
    main()
