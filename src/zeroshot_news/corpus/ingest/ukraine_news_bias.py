"""Färber et al.'s Ukraine-crisis news-bias corpus: one JSON file per article.

The body is the article's sentences joined in order (sentence 0 is the headline and
becomes the title); each sentence with its five crowd framing votes per government
goes to a second table, the source of the crowd stance gold.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.files import iter_folder, list_files
from zeroshot_news.corpus.ingest.records import Article, Decoded, Reject

GOVERNMENTS = ("russia", "ukraine", "west")
_MAX_FLOAT = int(sys.float_info.max)  # a larger JSON int makes float() raise OverflowError


def parse_ukraine_news_bias(
    decoded: Decoded, path: str, raw_sha: str, source: str = "ukraine_news_bias"
) -> Article | Reject:
    try:
        data = json.loads(decoded.text)
    except json.JSONDecodeError as exc:
        return Reject(source, path, "invalid_json", str(exc))
    except RecursionError:
        return Reject(source, path, "invalid_json", "nested too deeply")
    except ValueError as exc:  # an integer with more digits than sys.get_int_max_str_digits()
        return Reject(source, path, "invalid_json", str(exc).split(";")[0])  # not the advice after ;
    if not isinstance(data, dict) or not isinstance(data.get("sentences"), list):
        return Reject(source, path, "bad_schema", "expected an object with a 'sentences' list")
    sentences: list[tuple[int, str, dict[str, Any]]] = []
    for i, sent in enumerate(data["sentences"]):
        if not isinstance(sent, dict) or not isinstance(sent.get("content"), str):
            return Reject(source, path, "bad_schema", f"sentence {i} has no text 'content'")
        pos = sent.get("position_in_article", i)
        sentences.append((pos if _is_position(pos) else i, sent["content"].strip(), sent))
    sentences.sort(key=lambda s: s[0])
    texts = [s[1] for s in sentences if s[1]]
    if len(texts) < 2:
        return Reject(source, path, "no_body", "fewer than two non-empty sentences")
    if isinstance(data.get("id"), dict | list):
        return Reject(source, path, "bad_field_type", f"'id' is a {type(data['id']).__name__}, expected text")
    article_id = str(data.get("id") or Path(path).stem)
    records = []
    for pos, text, sent in sentences:
        votes = sent.get("framing", {}).get("judgements", {}) if isinstance(sent.get("framing"), dict) else {}
        records.append({
            "source_id": article_id,
            "sentence_id": f"{article_id}/{sent.get('id', pos)}",
            "position": pos,
            "text": text,
            **{f"votes_{g}": _votes(votes.get(g)) for g in GOVERNMENTS},
        })
    return Article(
        source_id=article_id, corpus=source, format="ukraine_news_bias", title=texts[0],
        body=" ".join(texts[1:]), path=path, raw_sha256=raw_sha,
        encoding=decoded.encoding, warnings=list(decoded.warnings), sentences=records,
    )


def _is_position(value: Any) -> bool:
    """An int the sentence table's int64 column can hold (JSON ints have no bound)."""
    return isinstance(value, int) and -(2**63) <= value < 2**63


def _votes(raw: Any) -> list[float]:
    """The numeric votes; like a non-number, an int too large for a float is left out."""
    if not isinstance(raw, list):
        return []
    return [float(v) for v in raw
            if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _MAX_FLOAT)]


def iter_ukraine_news_bias(source: SourceConfig, corpus: CorpusConfig) -> Iterator[Article | Reject]:
    def parse(decoded: Decoded, path: str, raw_sha: str) -> Article | Reject:
        return parse_ukraine_news_bias(decoded, path, raw_sha, source.name)

    root = Path(source.path)
    yield from iter_folder(source, corpus, parse, root, list_files(root, source.glob or "*.json"))
