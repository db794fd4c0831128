"""Ingest stage: raw sources -> one article table, a sentence table and a quarantine table.

Invariant, checked before anything is written: for every source,
``ingested + quarantined == records seen`` (a record is a file, or a row of a table).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ..config import CorpusConfig, SourceConfig, load_config
from ..io import write_json, write_parquet
from .bbc import iter_bbc
from .native import iter_native
from .records import ARTICLE_COLUMNS, QUARANTINE_COLUMNS, SENTENCE_COLUMNS, Article, Reject
from .table import iter_table
from .ukraine_news_bias import iter_ukraine_news_bias

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


def ingest(corpus: CorpusConfig, progress: bool = True) -> IngestResult:
    """Run every source's adapter; duplicate content (same doc_id) goes to quarantine."""
    corpus.check_paths()
    articles: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    per_source: dict[str, Any] = {}
    for source in corpus.sources:
        counts: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        warnings: Counter[str] = Counter()
        records = ADAPTERS[source.format](source, corpus)
        for rec in tqdm(records, desc=f"ingest {source.name}", unit="rec", disable=not progress):
            counts["seen"] += 1
            if isinstance(rec, Article) and rec.doc_id in seen:
                rec = Reject(source.name, rec.path, "duplicate_content",
                             f"same doc_id {rec.doc_id} as {seen[rec.doc_id]}", len(rec.body.encode()), rec.raw_sha256)
            if isinstance(rec, Reject):
                counts["quarantined"] += 1
                reasons[rec.reason] += 1
                rejects.append(rec.row())
                continue
            counts["ingested"] += 1
            warnings.update(w.split(":")[0] for w in rec.warnings)
            seen[rec.doc_id] = rec.path
            articles.append(rec.row())
            sentences += [{"doc_id": rec.doc_id, **s} for s in rec.sentences]
        if counts["ingested"] + counts["quarantined"] != counts["seen"]:  # pragma: no cover
            raise AssertionError(f"ingest lost records in source {source.name}: {dict(counts)}")
        per_source[source.name] = {
            "format": source.format, "seen": counts["seen"], "ingested": counts["ingested"],
            "quarantined": counts["quarantined"], "quarantine_reasons": dict(sorted(reasons.items())),
            "warnings": dict(sorted(warnings.items())),
        }
    report = {
        "corpus": corpus.name,
        "seen": sum(s["seen"] for s in per_source.values()),
        "ingested": len(articles),
        "quarantined": len(rejects),
        "sentences": len(sentences),
        "sources": per_source,
    }
    return IngestResult(
        articles=pd.DataFrame(articles, columns=ARTICLE_COLUMNS),
        sentences=pd.DataFrame(sentences, columns=SENTENCE_COLUMNS),
        quarantine=pd.DataFrame(rejects, columns=QUARANTINE_COLUMNS),
        report=report,
    )


def print_report(report: dict[str, Any], out=sys.stderr) -> None:
    print(f"ingest [{report['corpus']}]: seen {report['seen']} = ingested {report['ingested']}"
          f" + quarantined {report['quarantined']}", file=out)
    for name, s in report["sources"].items():
        extra = f" reasons={s['quarantine_reasons']}" if s["quarantine_reasons"] else ""
        print(f"  {name:<20} seen {s['seen']:>6}  ingested {s['ingested']:>6}  "
              f"quarantined {s['quarantined']:>5}{extra}", file=out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="zeroshot-news ingest", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out-dir", default="data/interim")
    ap.add_argument("--report", default="metrics/ingest.json")
    args = ap.parse_args(argv)
    cfg = load_config(args.params)
    result = ingest(cfg.corpus)
    out = Path(args.out_dir)
    write_parquet(result.articles, out / "articles.parquet")
    write_parquet(result.sentences, out / "sentences.parquet")
    write_parquet(result.quarantine, out / "quarantine.parquet")
    write_json(result.report, args.report)
    print_report(result.report)
