"""Clean stage: repair text, strip boilerplate, drop short, non-English and duplicate articles
(:mod:`zeroshot_news.corpus.clean`), streaming row groups from parquet to parquet."""

from __future__ import annotations

from zeroshot_news.corpus.clean import clean_parquet, log_report
from zeroshot_news.io import write_json
from zeroshot_news.stages.common import stage_args


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={"input": "ingested articles (parquet)"}, outputs={
        "articles": "kept articles (parquet)",
        "removed": "removed articles with the reason (parquet)",
        "report": "stage metrics (JSON)",
    })
    report = clean_parquet(args.input, args.articles, args.removed, cfg.cleaning)
    write_json(report, args.report)
    log_report(report)
