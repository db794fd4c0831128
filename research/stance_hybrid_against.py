"""Against-recall hybrid on the stance gold (tried 2026-12-05): the embedding default decides,
except that a row the trained cross-encoder calls `against` with article p(against) >= tau
becomes `against`. Both methods use the default's units (sentences naming the target,
attributed speech skipped) and none rule; tau is chosen on the tune half of the tuned targets
(criterion fixed beforehand: their mean tune macro-F1). The test half is printed only for
``--report-test TAU``.

    python research/stance_hybrid_against.py [--report-test TAU]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np
import pandas as pd

sys.path.insert(0, "research")
from stance_gold_variants import predict

from zeroshot_news.evaluation.stance_gold import stance_gold_metrics

GRID = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01)
TRAINED = ["stance=trained", "stance.unit=sentence", "stance.attribution=skip", "stance.passage_aggregate=max",
           "stance.none_rule=alias", "stance.neutral_margin=0"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report-test", type=float)
    args = ap.parse_args()
    gold = pd.read_csv("data/gold/stance_gold.csv", dtype=str, keep_default_na=False)
    base, tuned, cfg = predict(["stance.favor_lead=0"])  # the default as it was when this was measured
    trained, _, _ = predict(TRAINED)
    m = base.merge(trained[["item_id", "target", "label", "against"]].rename(
        columns={"label": "ce_label", "against": "ce_against"}), on=["item_id", "target"], validate="one_to_one")
    evaluation = replace(cfg.evaluation, bootstrap_samples=200)
    for tau in [args.report_test] if args.report_test is not None else GRID:
        pred = m.copy()
        flip = (pred["label"] != "none") & (pred["ce_label"] == "against") & (pred["ce_against"] >= tau)
        pred.loc[flip, "label"] = "against"
        report, _ = stance_gold_metrics(pred, gold, tuned, evaluation)
        tune = [report["targets"][t]["tune"]["macro_f1"] for t in tuned]
        print(f"tau {tau:<5} flipped {int(flip.sum()):>4}  tune mean {np.mean(tune):.4f}  "
              + "  ".join(f"{t[:8]} {v:.3f}" for t, v in zip(tuned, tune, strict=True)), flush=True)
        if args.report_test is not None:
            for t, e in report["targets"].items():
                print(f"  {t:<22} test {e['test']['macro_f1']:.3f}")
            print(f"  pooled test {report['pooled']['test']['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
