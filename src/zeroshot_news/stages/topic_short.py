"""topic_short stage: the configured topic classifier on the short-item gold's items.

Every item of ``data/gold/short_gold.csv`` (a headline with its lede, or a headline alone)
is classified as a document of its own with the pipeline's topic method and head; ``evaluate``
scores the predictions (``topics_short``).
"""

from __future__ import annotations

import logging

import pandas as pd

from zeroshot_news.io import write_json, write_parquet
from zeroshot_news.stages.common import stage_args
from zeroshot_news.zeroshot.topic import classify_topics, topic_scorers
from zeroshot_news.zeroshot.topic_head import read_head

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "gold": "the short-item gold (CSV: item_id, text, split and one 0/1 column per topic)",
        "head": "the self_train stage's topic head (JSON)",
    }, outputs={"predictions": "one row per item x label (parquet)", "report": "stage metrics (JSON)"})
    gold = pd.read_csv(args.gold, dtype=str, keep_default_na=False)
    articles = pd.DataFrame({"doc_id": gold["item_id"], "title": "", "body": gold["text"]})
    head = read_head(args.head) if cfg.uses_topic_head else None
    scorer, head_encoder = topic_scorers(cfg, head, progress=True)
    result = classify_topics(articles, scorer, cfg.taxonomy, cfg.topic, cfg.passages, head=head,
                             head_encoder=head_encoder)
    predictions = result.topics[["doc_id", "label", "score", "threshold", "predicted", "n_passages"]].rename(
        columns={"doc_id": "item_id"})
    write_parquet(predictions, args.predictions)
    write_json(result.report, args.report)
    log.info("topic_short: %d items; predicted share %s", len(gold), result.report["predicted_share"])
