"""CSV / JSON Lines tables with a configurable column mapping (``corpus.sources[].columns``).

One row is one article. A row that cannot be read (bad JSON, a number with more digits
than Python reads, no text) is quarantined with its line number; the other rows of the
file still go through.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from zeroshot_news.config import ColumnMapping, CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.files import display_path, list_files, skip_reason
from zeroshot_news.corpus.ingest.records import Article, Reject, decode_bytes, sha256

TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")


RowError = tuple[str, str]  # (quarantine reason, detail)


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line number, row mapping) or (line number, (reason, detail)) for CSV lines: a whole
    text's ``io.StringIO`` or an open file (classify streams one line at a time)."""
    reader = csv.DictReader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit(); the reader goes on after it
            reason = "field_too_large" if "field limit" in str(exc) else "invalid_row"
            yield reader.reader.line_num, (reason, f"CSV: {exc}")  # DictReader's own count lags on errors
            continue
        if None in row:  # DictReader keeps values beyond the header under the key None
            yield reader.line_num, ("extra_fields", f"{len(row[None])} more fields than the header")
            continue
        yield reader.line_num, row


def jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """As :func:`csv_rows` for JSON Lines; a line may keep its final newline."""
    for lineno, line in enumerate(lines, start=1):
        line = line[:-1] if line.endswith("\n") else line
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, ("invalid_row", f"invalid JSON: {exc.msg}")
            continue
        except RecursionError:
            yield lineno, ("invalid_row", "invalid JSON: nested too deeply")
            continue
        except ValueError as exc:  # an integer with more digits than sys.get_int_max_str_digits()
            yield lineno, ("invalid_row", f"invalid JSON: {str(exc).split(';')[0]}")  # not the advice after ;
            continue
        yield lineno, obj if isinstance(obj, dict) else ("invalid_row", f"expected an object, got {type(obj).__name__}")


def _rows(text: str, suffix: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """(line number, row mapping) or (line number, (reason, detail))."""
    if suffix == ".csv":
        return csv_rows(io.StringIO(text))
    return jsonl_rows(text.split("\n"))


def _field(row: dict[str, Any], column: str | None) -> str:
    if column is None:
        return ""
    value = row.get(column)
    return "" if value is None else str(value).strip()


def _structured_column(row: dict[str, Any], cols: ColumnMapping) -> str | None:
    """The first mapped column holding a list or an object: stringifying it would invent text or ids."""
    for column in (cols.id, cols.title, cols.body, cols.text, cols.date, cols.source):
        if column is not None and isinstance(row.get(column), dict | list):
            return column
    return None


def parse_row(
    row: dict[str, Any], cols: ColumnMapping, where: str, raw_sha: str, source: str,
    fallback_id: str, max_bytes: int,
) -> Article | Reject:
    structured = _structured_column(row, cols)
    if structured:
        kind = type(row[structured]).__name__
        return Reject(source, where, "bad_field_type", f"column {structured!r} is a {kind}, expected text")
    text = _field(row, cols.text)
    title = _field(row, cols.title)
    body = _field(row, cols.body)
    if text and not body:
        body = text
    if not body and not title:
        return Reject(source, where, "empty", f"no text in columns {cols.title!r}/{cols.body!r}/{cols.text!r}")
    size = len(f"{title}{body}".encode("utf-8", "surrogatepass"))  # a lone surrogate is quarantined later
    if size > max_bytes:
        return Reject(source, where, "oversized", f"{size} bytes > max_file_bytes={max_bytes}", size)
    # A headline alone is a news item (wire alerts, RSS): kept, flagged; clean decides on its length.
    warnings: list[str] = [] if body else ["title_only"]
    date = None
    raw_date = _field(row, cols.date)
    if raw_date:
        try:
            date = dt.date.fromisoformat(raw_date[:10]).isoformat()
        except ValueError:
            warnings.append("invalid_date")
    return Article(
        source_id=_field(row, cols.id) or fallback_id, corpus=source, format="table",
        title=title, body=body, path=where, raw_sha256=raw_sha,
        outlet=_field(row, cols.source) or None, date=date, warnings=warnings,
    )


def iter_table(source: SourceConfig, corpus: CorpusConfig) -> Iterator[Article | Reject]:
    root = Path(source.path)
    files = [root] if root.is_file() else [
        p for p in list_files(root, source.glob or "*") if p.suffix.lower() in TABLE_SUFFIXES
    ]
    seen_ids: dict[str, str] = {}
    for path in files:
        display = display_path(path, root)
        if path.suffix.lower() not in TABLE_SUFFIXES:
            yield Reject(source.name, display, "unsupported_table", f"suffix {path.suffix!r}")
            continue
        skipped = skip_reason(path, root)
        if skipped:
            yield Reject(source.name, display, *skipped)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Reject(source.name, display, "unreadable", str(exc))
            continue
        decoded = decode_bytes(data, corpus.fallback_encodings, corpus.max_control_char_ratio)
        if isinstance(decoded, tuple):
            yield Reject(source.name, display, decoded[0], decoded[1], len(data), sha256(data))
            continue
        for lineno, row in _rows(decoded.text, path.suffix.lower()):
            where = f"{display}:{lineno}"
            if isinstance(row, tuple):
                yield Reject(source.name, where, *row)
                continue
            row_sha = sha256(json.dumps(row, sort_keys=True, default=str).encode("utf-8"))
            result = parse_row(row, source.columns, where, row_sha, source.name,
                               f"{path.stem}:{lineno}", corpus.max_file_bytes)
            if isinstance(result, Article):
                result.warnings = decoded.warnings + result.warnings
                result.encoding = decoded.encoding
                if result.source_id in seen_ids:
                    yield Reject(source.name, where, "duplicate_id",
                                 f"id {result.source_id!r} already used at {seen_ids[result.source_id]}")
                    continue
                seen_ids[result.source_id] = where
            yield result
