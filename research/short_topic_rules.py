"""Length-aware topic decision for short items (issue 25): every variant scored on the short
gold's tune half; the test half is printed for the chosen one only.

    python -m zeroshot_news topic_short --gold data/gold/short_gold.csv --head models/topic_head.json \
        --predictions /tmp/ts.parquet --report /tmp/ts.json
    .venv/bin/python research/short_topic_rules.py /tmp/ts.parquet

Variants (all label-free except the choice among them on tune):
- fixed: the configured article threshold (0.5) for every item;
- global t: one threshold for short items, t in 0.10..0.50;
- prevalence: per label, the threshold at which the share of short items called positive
  equals the head's predicted share on the article pool (reports/stages/self_train.json),
  computed on the unlabeled short items (labels not read);
- rank top-q: each label's top q of short items (q in 0.10..0.30). Reported, not eligible:
  q is a predicted share fitted to this gold's composition (stratified towards positives), which
  a researcher's corpus does not share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

LABELS = ["military", "diplomacy", "regional_security"]


def macro(gold: pd.DataFrame, pred: dict[str, np.ndarray]) -> float:
    return float(np.mean([f1_score(gold[lab].astype(int), pred[lab].astype(int), zero_division=0) for lab in LABELS]))


def main(path: str) -> None:
    gold = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    pred = pd.read_parquet(path).pivot(index="item_id", columns="label", values="score")
    gold = gold.set_index("item_id").join(pred.add_suffix("_score"))
    for lab in LABELS:
        gold[lab] = gold[lab].astype(int)
    pool_share = json.loads(Path("reports/stages/self_train.json").read_text())["pool_predicted_share"]
    halves = {h: gold[gold["split"] == h] for h in ("tune", "test")}
    scores = {h: {lab: d[f"{lab}_score"].to_numpy() for lab in LABELS} for h, d in halves.items()}
    allscores = {lab: gold[f"{lab}_score"].to_numpy() for lab in LABELS}  # unlabeled: labels not read
    variants = {"fixed 0.5": lambda s: {lab: s[lab] >= 0.5 for lab in LABELS}}
    for t in np.arange(0.10, 0.51, 0.05):
        variants[f"global {t:.2f}"] = lambda s, t=t: {lab: s[lab] >= t for lab in LABELS}
    prev = {lab: float(np.quantile(allscores[lab], 1 - pool_share[lab])) for lab in LABELS}
    variants["prevalence (pool share)"] = lambda s: {lab: s[lab] >= prev[lab] for lab in LABELS}
    for q in (0.10, 0.15, 0.20, 0.25, 0.30):
        qt = {lab: float(np.quantile(allscores[lab], 1 - q)) for lab in LABELS}
        variants[f"rank top {q:.2f}"] = lambda s, qt=qt: {lab: s[lab] >= qt[lab] for lab in LABELS}
    rows = [(name, macro(halves["tune"], rule(scores["tune"]))) for name, rule in variants.items()]
    print(f"short gold: tune {len(halves['tune'])}, test {len(halves['test'])}; prevalence thresholds "
          + ", ".join(f"{k} {v:.3f}" for k, v in prev.items()))
    print(f"{'variant':28s} tune macro-F1")
    for name, f1 in rows:
        print(f"{name:28s} {f1:.4f}")
    best = max((r for r in rows if not r[0].startswith("rank")), key=lambda r: r[1])[0]
    base = macro(halves["test"], variants["fixed 0.5"](scores["test"]))
    print(f"chosen on tune: {best}; test macro-F1 {macro(halves['test'], variants[best](scores['test'])):.4f} "
          f"(fixed 0.5: {base:.4f})")


if __name__ == "__main__":
    main(sys.argv[1])
