"""The project's native article format (see ``data/raw/seed/``).

Line 1 `` date YYYY-MM-DD <title>`` (leading space), a blank line, the outlet, the
title again, then the body in paragraphs. A file whose header is missing or
malformed is still ingested, with a null date and a warning flag, because its body
is usually fine; a file with no body after the header is quarantined.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.files import iter_folder, list_files
from zeroshot_news.corpus.ingest.records import Article, Decoded, Reject

HEADER = re.compile(r"^ ?date (\S+) (.*\S)\s*$")
MAX_OUTLET_WORDS = 6


def parse_native(decoded: Decoded, path: str, raw_sha: str, source: str = "native") -> Article | Reject:
    lines = decoded.text.split("\n")
    warnings = list(decoded.warnings)
    date: str | None = None
    outlet: str | None = None
    match = HEADER.match(lines[0]) if lines else None
    if match:
        raw_date, title = match.group(1), match.group(2).strip()
        try:
            date = dt.date.fromisoformat(raw_date).isoformat()
        except ValueError:
            warnings.append("invalid_date")
        rest = _drop_leading_blank(lines[1:])
        # The outlet is a short line that is not the title itself.
        if rest and rest[0].strip() != title and len(rest[0].split()) <= MAX_OUTLET_WORDS:
            outlet = rest[0].strip()
            rest = _drop_leading_blank(rest[1:])
        else:
            warnings.append("missing_outlet")
        if rest and rest[0].strip() == title:
            rest = rest[1:]
    else:
        first = lines[0].strip() if lines else ""
        warnings.append("malformed_header" if first.startswith("date") else "missing_header")
        rest = _drop_leading_blank(lines)
        title = rest[0].strip() if rest else ""
        rest = rest[1:]
    body = "\n".join(rest).strip()
    if not body and (not title or "malformed_header" in warnings):  # a cut-off header is no headline
        return Reject(source, path, "no_body", "nothing after the header and title")
    if not body:  # a headline alone is a news item: kept, flagged; clean decides on its length
        warnings.append("title_only")
    return Article(
        source_id=Path(path).stem, corpus=source, format="native", title=title, body=body,
        path=path, raw_sha256=raw_sha, outlet=outlet, date=date,
        encoding=decoded.encoding, warnings=warnings,
    )


def _drop_leading_blank(lines: list[str]) -> list[str]:
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    return lines[i:]


def iter_native(source: SourceConfig, corpus: CorpusConfig) -> Iterator[Article | Reject]:
    def parse(decoded: Decoded, path: str, raw_sha: str) -> Article | Reject:
        return parse_native(decoded, path, raw_sha, source.name)

    root = Path(source.path)
    yield from iter_folder(source, corpus, parse, root, list_files(root, source.glob or "*.txt"))
