"""Ingest: raw sources -> one article table, a sentence table and a quarantine table.

Invariant, checked for every source: ``ingested + quarantined == records seen`` (a record
is a file, or a row of a table). The stage streams: rows are written in row groups as the
adapters yield them, into temp files renamed into place only when every source is done.
Names and ids go into log lines through ``printable``: a file name may hold a newline or
terminal escape codes, and must not forge or recolour lines of the log.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.bbc import iter_bbc
from zeroshot_news.corpus.ingest.native import iter_native
from zeroshot_news.corpus.ingest.records import (
    ARTICLE_COLUMNS,
    ARTICLE_SCHEMA,
    QUARANTINE_COLUMNS,
    QUARANTINE_SCHEMA,
    SENTENCE_COLUMNS,
    SENTENCE_SCHEMA,
    Article,
    Reject,
    printable,
)
from zeroshot_news.corpus.ingest.table import iter_table
from zeroshot_news.corpus.ingest.ukraine_news_bias import iter_ukraine_news_bias
from zeroshot_news.io import ParquetStreamWriter

log = logging.getLogger(__name__)

ADAPTERS: dict[str, Callable[[SourceConfig, CorpusConfig], Iterator[Article | Reject]]] = {
    "native": iter_native,
    "bbc": iter_bbc,
    "ukraine_news_bias": iter_ukraine_news_bias,
    "table": iter_table,
}


@dataclass
class IngestResult:
    articles: pd.DataFrame
    sentences: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any]


# (table name, row) as the stage produces them; tables: articles, sentences, quarantine.
Row = tuple[str, dict[str, Any]]
TABLES = {"articles": (ARTICLE_COLUMNS, ARTICLE_SCHEMA), "sentences": (SENTENCE_COLUMNS, SENTENCE_SCHEMA),
          "quarantine": (QUARANTINE_COLUMNS, QUARANTINE_SCHEMA)}


class Ingestor:
    """Runs every source's adapter as one stream of rows; the report is ready once it is exhausted.

    Only doc_ids are remembered across records (to quarantine duplicate content), so
    memory does not grow with article text however large the corpus.
    """

    def __init__(self, corpus: CorpusConfig, progress: bool = True):
        corpus.check_paths()
        self.corpus = corpus
        self.progress = progress
        self.report: dict[str, Any] | None = None

    def rows(self) -> Iterator[Row]:
        seen: dict[str, str] = {}
        per_source: dict[str, Any] = {}
        totals: Counter[str] = Counter()
        for source in self.corpus.sources:
            counts: Counter[str] = Counter()
            reasons: Counter[str] = Counter()
            warnings: Counter[str] = Counter()
            ids: dict[str, str] = {}  # source_id -> path: ids must be unique within a source
            records = ADAPTERS[source.format](source, self.corpus)
            desc = f"ingest {printable(source.name)}"
            for rec in tqdm(records, desc=desc, unit="rec", disable=not self.progress):
                counts["seen"] += 1
                invalid = rec.invalid_text() if isinstance(rec, Article) else None
                if invalid:  # first: the doc_id (a hash of the UTF-8 text) cannot even be computed
                    field, char = invalid
                    rec = Reject(source.name, rec.path, "bad_encoding",
                                 f"{field} holds a lone surrogate {char!r}: not valid Unicode text",
                                 rec.body_bytes(), rec.raw_sha256)
                elif isinstance(rec, Article) and rec.doc_id in seen:
                    rec = Reject(source.name, rec.path, "duplicate_content",
                                 f"same doc_id {rec.doc_id} as {seen[rec.doc_id]}", len(rec.body.encode()),
                                 rec.raw_sha256)
                elif isinstance(rec, Article) and rec.source_id in ids:
                    rec = Reject(source.name, rec.path, "duplicate_id",
                                 f"id {rec.source_id!r} already used by {ids[rec.source_id]}",
                                 len(rec.body.encode()), rec.raw_sha256)
                if isinstance(rec, Reject):
                    counts["quarantined"] += 1
                    reasons[rec.reason] += 1
                    log.debug("quarantined [%s] %s: %s (%s)", printable(source.name), printable(rec.path),
                              rec.reason, printable(rec.detail))
                    yield "quarantine", rec.row()
                    continue
                counts["ingested"] += 1
                warnings.update(w.split(":")[0] for w in rec.warnings)
                seen[rec.doc_id] = rec.path
                ids[rec.source_id] = rec.path
                yield "articles", rec.row()
                for sentence in rec.sentences:
                    totals["sentences"] += 1
                    yield "sentences", {"doc_id": rec.doc_id, **sentence}
            if counts["ingested"] + counts["quarantined"] != counts["seen"]:  # pragma: no cover
                raise AssertionError(f"ingest lost records in source {source.name}: {dict(counts)}")
            totals.update(counts)
            per_source[source.name] = {
                "format": source.format, "seen": counts["seen"], "ingested": counts["ingested"],
                "quarantined": counts["quarantined"], "quarantine_reasons": dict(sorted(reasons.items())),
                "warnings": dict(sorted(warnings.items())),
            }
        self.report = {
            "corpus": self.corpus.name,
            "seen": totals["seen"],
            "ingested": totals["ingested"],
            "quarantined": totals["quarantined"],
            "sentences": totals["sentences"],
            "sources": per_source,
        }


def ingest(corpus: CorpusConfig, progress: bool = True) -> IngestResult:
    """Run every source's adapter; duplicate content (same doc_id) goes to quarantine."""
    ingestor = Ingestor(corpus, progress)
    collected: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for table, row in ingestor.rows():
        collected[table].append(row)
    assert ingestor.report is not None
    return IngestResult(
        articles=pd.DataFrame(collected["articles"], columns=ARTICLE_COLUMNS),
        sentences=pd.DataFrame(collected["sentences"], columns=SENTENCE_COLUMNS),
        quarantine=pd.DataFrame(collected["quarantine"], columns=QUARANTINE_COLUMNS),
        report=ingestor.report,
    )


def ingest_to_parquet(corpus: CorpusConfig, outputs: Mapping[str, Path | str], chunk_rows: int = 2048,
                      progress: bool = True) -> dict[str, Any]:
    """Stream the stage's three tables (``outputs``: table name -> parquet path, for every
    name in ``TABLES``) in row groups of ``chunk_rows``; returns the report.

    Rows are written in the order ``ingest()`` returns them, so both give the same tables.
    """
    if set(outputs) != set(TABLES):
        raise ValueError(f"outputs: expected paths for {sorted(TABLES)}, got {sorted(outputs)}")
    ingestor = Ingestor(corpus, progress)
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    with contextlib.ExitStack() as stack:
        writers = {name: stack.enter_context(ParquetStreamWriter(outputs[name], schema))
                   for name, (_, schema) in TABLES.items()}

        def flush(name: str) -> None:
            writers[name].write(pd.DataFrame(buffers[name], columns=TABLES[name][0]))
            buffers[name].clear()

        for table, row in ingestor.rows():
            buffers[table].append(row)
            if len(buffers[table]) >= chunk_rows:
                flush(table)
        for name in TABLES:
            flush(name)
    assert ingestor.report is not None
    return ingestor.report


def log_report(report: dict[str, Any]) -> None:
    log.info("ingest [%s]: seen %d = ingested %d + quarantined %d", printable(report["corpus"]), report["seen"],
             report["ingested"], report["quarantined"])
    for name, s in report["sources"].items():
        extra = f" reasons={s['quarantine_reasons']}" if s["quarantine_reasons"] else ""
        log.info("  %-20s seen %6d  ingested %6d  quarantined %5d%s", printable(name), s["seen"], s["ingested"],
                 s["quarantined"], extra)
