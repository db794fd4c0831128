"""FNC-1 with the news stance stage's decision rule (issue 24): does a side have to lead discuss?

The stance stage calls favor / against only when that class's normalised score leads
neutral's by ``stance.favor_lead`` / ``stance.against_lead`` (chosen on the stance gold's tune
half: news, where neutral = reported without taking a side). FNC-1's ``discuss`` is the same
notion (the body reports the claim without taking a position), so this script re-decides a
finished FNC-1 run's pairs with that rule (agree = favor, disagree = against, discuss =
neutral) and prints the FNC score beside the configured rule's. Relatedness is untouched.

The rule's values come from conf/stance (``--favor-lead`` / ``--against-lead`` override
them); nothing here is chosen on FNC-1: a grid, when asked for, is printed for the record.

    python -m zeroshot_news benchmark --name fnc1 --metrics /tmp/fnc/m.json \
        --details /tmp/fnc/d.json --predictions /tmp/fnc/p.parquet --plots-dir /tmp/fnc/plots \
        'benchmark@benchmarks.fnc1=fnc1'
    python research/fnc1_decision_rule.py /tmp/fnc/p.parquet [--grid]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from zeroshot_news.config.load import load_params, parse_config
from zeroshot_news.decisions import margin_decision
from zeroshot_news.evaluation.benchmarks.common import FNC_RELATED, classification_metrics, fnc_summary


def lead_stance(pred: pd.DataFrame, favor_lead: float, against_lead: float) -> np.ndarray:
    """Every pair's stance-step label under the lead rule (agree, disagree, discuss: side, side, neutral)."""
    scores = pred[list(FNC_RELATED)].to_numpy(dtype=float)
    return np.asarray(FNC_RELATED)[margin_decision(scores, 0.0, lead=(favor_lead, against_lead))]


def summary(pred: pd.DataFrame, stance: np.ndarray) -> dict:
    """FNC score, macro-F1 and shares of ``stance`` behind the run's own relatedness, and the
    stance step's accuracy on the pairs the gold calls related."""
    labels = np.where(pred["predicted"] == "unrelated", "unrelated", stance)
    gold = pred["gold"].to_numpy()
    related = pred["gold"].isin(FNC_RELATED).to_numpy()
    classes = [*FNC_RELATED, "unrelated"]
    return {"fnc_relative_score": fnc_summary(list(gold), list(labels))["relative_score"],
            "macro_f1": classification_metrics(list(gold), list(labels), classes)["macro_f1"],
            "predicted_share": {c: round(float(np.mean(labels == c)), 4) for c in classes},
            "stance_on_gold_related_accuracy": round(float(np.mean(stance[related] == gold[related])), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", help="data/predictions/benchmark/fnc1.parquet of a finished run")
    parser.add_argument("--favor-lead", type=float, default=None)
    parser.add_argument("--against-lead", type=float, default=None)
    parser.add_argument("--grid", action="store_true", help="also print a grid of leads (for the record only)")
    args = parser.parse_args()
    stance = parse_config(load_params()).stance
    favor_lead = stance.favor_lead if args.favor_lead is None else args.favor_lead
    against_lead = stance.against_lead if args.against_lead is None else args.against_lead
    pred = pd.read_parquet(args.predictions)
    out = {"n": len(pred),
           "as_run": summary(pred, pred["stance_only"].to_numpy()),
           f"stance leads favor {favor_lead} / against {against_lead}": summary(
               pred, lead_stance(pred, favor_lead, against_lead))}
    if args.grid:
        for lead in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0):
            out[f"grid: both leads {lead}"] = summary(pred, lead_stance(pred, lead, lead))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
