"""Does any scorer separate `against` from `neutral` on news? (issue 24, tried 2026-12-05)

Against recall is the stance gold's gap (tune half: 8 of 54 against rows found, 41 called
neutral). This measures, on the tune half only, how well each available signal ranks gold
`against` above gold `neutral` (ROC AUC; 0.5 = no signal):

- the default embedding templates' `against` score and `against - neutral` (rows the default
  does not call `none`),
- the project's NLI cross-encoder (`stance=nli`) and the VAST-trained stance cross-encoder
  (`stance=trained`) on the same units,
- VADER's sentence sentiment (a lexicon; ``pip install vaderSentiment==3.3.2``, not a project
  dependency), negated compound over the passage and over its most negative sentence.

Then the two signals with an AUC above 0.6 decide `against` by themselves: among the rows the
default calls favor / against / neutral, `against` when the signal is in its top (1 - q)
share, else the default's call with its `against` turned `neutral`; q on a grid, criterion (fixed
beforehand, the project's) the mean tune macro-F1 of the tuned targets.

    python research/stance_against_signal.py        # ~5 min on 2 cores (cross-encoders score ~1,200 rows)
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, "research")
from stance_gold_variants import predict

from zeroshot_news.evaluation.stance_gold import stance_gold_metrics

VARIANTS = {"embedding": [], "nli": ["stance=nli"], "trained": ["stance=trained"]}
QUANTILES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def vader_scores(items: pd.DataFrame) -> pd.DataFrame:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        sys.exit("this measurement needs VADER: pip install vaderSentiment==3.3.2")
    sia = SentimentIntensityAnalyzer()

    def sentences(text: str) -> list[str]:
        return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]

    return pd.DataFrame({
        "item_id": items["item_id"],
        "vader": [-sia.polarity_scores(t)["compound"] for t in items["text"]],
        "vader_min_sentence": [-min(sia.polarity_scores(s)["compound"] for s in sentences(t)) for t in items["text"]],
    })


def auc(frame: pd.DataFrame, column: str) -> float:
    return roc_auc_score(frame["gold"] == "against", frame[column])


def main() -> None:
    gold = pd.read_csv("data/gold/stance_gold.csv", dtype=str, keep_default_na=False)
    items = pd.read_csv("data/gold/stance/items.csv", dtype=str, keep_default_na=False)
    rows = gold.rename(columns={"label": "gold"}).merge(vader_scores(items), on="item_id", validate="many_to_one")
    predictions, tuned, cfg = {}, [], None
    for name, overrides in VARIANTS.items():
        predictions[name], tuned, cfg = predict(overrides)
    merged = rows.merge(predictions["embedding"], on=["item_id", "target"], validate="one_to_one")
    trained = predictions["trained"][["item_id", "target", "against"]].rename(columns={"against": "ce_against"})
    merged = merged.merge(trained, on=["item_id", "target"], validate="one_to_one")

    tune = merged[(merged["split"] == "tune") & merged["gold"].isin(["against", "neutral"])]
    counts = tune["gold"].value_counts()
    print(f"tune rows gold against / neutral: {counts.get('against', 0)} / {counts.get('neutral', 0)}")
    for column in ("vader", "vader_min_sentence"):
        print(f"{column:<28} AUC {auc(tune, column):.3f}  (all rows)")
    for name in VARIANTS:
        p = rows.merge(predictions[name], on=["item_id", "target"], validate="one_to_one")
        p = p[(p["split"] == "tune") & p["gold"].isin(["against", "neutral"]) & (p["label"] != "none")]
        p = p.assign(a_minus_n=p["against"] - p["neutral"])
        print(f"{name:<28} AUC against {auc(p, 'against'):.3f}  against-neutral {auc(p, 'a_minus_n'):.3f}"
              f"  ({len(p)} rows not called none)")

    evaluation = replace(cfg.evaluation, bootstrap_samples=10)  # only the point estimates are read

    def criterion(pred: pd.DataFrame) -> tuple[float, float]:
        report, _ = stance_gold_metrics(pred, gold, tuned, evaluation)
        return (float(np.mean([report["targets"][t]["tune"]["macro_f1"] for t in tuned])),
                report["pooled"]["tune"]["per_class"]["against"]["f1"])

    base = predictions["embedding"]
    mean, against_f1 = criterion(base)
    print(f"\ndefault: tune mean {mean:.4f}, pooled tune against F1 {against_f1:.3f}")
    signal = base[["item_id", "target"]].merge(merged[["item_id", "target", "ce_against", "vader"]],
                                               on=["item_id", "target"], how="left", validate="one_to_one")
    for column in ("ce_against", "vader"):
        for q in QUANTILES:
            pred = base.copy()
            decided = pred["label"] != "none"
            tau = signal.loc[decided, column].quantile(q)
            pred.loc[decided & (pred["label"] == "against"), "label"] = "neutral"
            pred.loc[decided & (signal[column] >= tau).to_numpy(), "label"] = "against"
            mean, against_f1 = criterion(pred)
            print(f"{column:<11} top {1 - q:.2f}: tune mean {mean:.4f}, pooled tune against F1 {against_f1:.3f},"
                  f" {int((pred['label'] == 'against').sum())} against calls")


if __name__ == "__main__":
    main()
