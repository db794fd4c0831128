"""stance_gold stage: the configured stance classifier on the stance gold's passages.

Every passage of ``data/gold/stance_gold.csv`` is classified as a document of its own toward
the gold's targets, with the configured stance method (templates, none rule, aggregation,
model); a target the pipeline does not configure takes its definition from the gold's
``targets.yaml``. Only the gold's (item, target) pairs are written; ``evaluate`` scores them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pandas as pd

from zeroshot_news.corpus.stance_gold import gold_targets, load_stance_gold
from zeroshot_news.io import write_json, write_parquet
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.stages.common import stage_args
from zeroshot_news.zeroshot.stance import STANCE_COLUMNS, classify_stance

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "gold": "the stance gold's labels (CSV: item_id, target, label, split)",
        "items": "the stance gold's passages (CSV: item_id, text)",
        "targets": "definitions of the gold targets the pipeline does not configure (YAML)",
    }, outputs={"predictions": "one row per gold (item, target) (parquet)", "report": "stage metrics (JSON)"})
    gold = load_stance_gold(args.gold, args.items)
    stance_cfg = replace(cfg.stance, targets=gold_targets(gold.targets, cfg.stance.targets, args.targets),
                         restrict_to_topics=[])
    articles = pd.DataFrame({"doc_id": gold.items["item_id"], "title": "", "body": gold.items["text"]})
    start = time.perf_counter()
    scorer = build_scorer(cfg.stance_model(), cache=cfg.cache)
    result = classify_stance(articles, scorer, stance_cfg, cfg.passages)
    pairs = gold.labels[["item_id", "target"]].rename(columns={"item_id": "doc_id"})
    predictions = pairs.merge(result.stance, on=["doc_id", "target"], how="left", validate="one_to_one")
    predictions = predictions[STANCE_COLUMNS].rename(columns={"doc_id": "item_id"})
    write_parquet(predictions, args.predictions)
    counts = predictions.groupby(["target", "label"]).size()
    report = {"items": len(articles), "pairs": len(predictions),
              "label_counts": {t: {lab: int(n) for lab, n in counts[t].items()} for t in gold.targets},
              "uncertain": int(predictions["uncertain"].sum())}
    write_json(report, args.report)
    log.info("stance_gold [%s]: %d passages, %d (item, target) pairs in %.1fs; %s", cfg.stance_model().backend,
             len(articles), len(predictions), time.perf_counter() - start, report["label_counts"])
