"""Ingest stage: raw sources -> one article table, a sentence table and a quarantine table.

Invariant, checked for every source: ``ingested + quarantined == records seen`` (a record
is a file, or a row of a table). Rows stream into temp files renamed into place only when
every source is done (:func:`~zeroshot_news.corpus.ingest.ingest_to_parquet`).
"""

from __future__ import annotations

from zeroshot_news.corpus.ingest import TABLES, ingest_to_parquet, log_report
from zeroshot_news.io import write_json
from zeroshot_news.stages.common import stage_args


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={}, outputs={
        "articles": "one row per ingested article (parquet)",
        "sentences": "crowd-annotated sentences (parquet)",
        "quarantine": "every rejected record with its reason (parquet)",
        "report": "stage metrics (JSON)",
    })
    report = ingest_to_parquet(cfg.corpus, {name: getattr(args, name) for name in TABLES})
    write_json(report, args.report)
    log_report(report)
