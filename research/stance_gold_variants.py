"""Stance variants on the stance gold: the numbers that choose (tune half, tuned targets only).

Each variant is a set of Hydra overrides; the stance_gold stage's computation runs in this
process on the gold's passages (the score cache keeps every pair already scored) and the
evaluate stage's stance-gold metrics are computed on its predictions. Printed per variant:
the mean of the tuned targets' tune-half macro-F1 (the criterion, fixed beforehand), the
pooled tune macro-F1 of the tuned targets, and each tuned target's tune macro-F1. The
untuned targets (us_government, uk_government, islamic_state) and every test half stay
unread unless ``--report-test`` is given (for the final table, after the choice).

    python research/stance_gold_variants.py 'base:' 'sent:stance.unit=sentence' ...
    python research/stance_gold_variants.py --report-test 'chosen:stance.unit=sentence ...'
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.stance_gold import gold_targets, load_stance_gold
from zeroshot_news.evaluation.stance_gold import stance_gold_metrics
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.zeroshot.stance import classify_stance

GOLD = Path("data/gold")


def predict(overrides: list[str]) -> tuple[pd.DataFrame, list[str], object]:
    cfg = parse_config(compose_config("conf", overrides))
    gold = load_stance_gold(GOLD / "stance_gold.csv", GOLD / "stance/items.csv")
    stance_cfg = replace(cfg.stance, targets=gold_targets(gold.targets, cfg.stance.targets,
                                                          GOLD / "stance/targets.yaml"), restrict_to_topics=[])
    articles = pd.DataFrame({"doc_id": gold.items["item_id"], "title": "", "body": gold.items["text"]})
    scorer = build_scorer(cfg.stance_model(), progress=False, cache=cfg.cache)
    stance = classify_stance(articles, scorer, stance_cfg, cfg.passages, progress=False).stance
    predictions = stance.rename(columns={"doc_id": "item_id"})
    return predictions, [t.name for t in cfg.stance.targets], cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help="NAME:OVERRIDES (shell-split)")
    ap.add_argument("--report-test", action="store_true", help="also print test halves and untuned targets")
    ap.add_argument("--json", help="write every variant's full report here")
    args = ap.parse_args()
    gold = pd.read_csv(GOLD / "stance_gold.csv", dtype=str, keep_default_na=False)
    out = {}
    for spec in args.variants:
        name, _, rest = spec.partition(":")
        predictions, tuned, cfg = predict(shlex.split(rest))
        report, _ = stance_gold_metrics(predictions, gold, tuned, replace(cfg.evaluation, bootstrap_samples=200))
        tune = {t: report["targets"][t]["tune"]["macro_f1"] for t in tuned}
        line = (f"{name:<28} tune mean {np.mean(list(tune.values())):.4f}  pooled "
                f"{report['pooled_tuned']['tune']['macro_f1']:.4f}  " + "  ".join(f"{t[:8]} {v:.3f}"
                                                                               for t, v in tune.items()))
        if args.report_test:
            test = {t: e["test"]["macro_f1"] for t, e in report["targets"].items()}
            line += "\n" + " " * 29 + "TEST " + "  ".join(f"{t[:8]} {v:.3f}" for t, v in test.items()) + (
                f"  pooled {report['pooled']['test']['macro_f1']:.4f} worst {report['worst_test_macro_f1']:.4f}")
        print(line, flush=True)
        out[name] = report
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
