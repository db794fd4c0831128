"""Property-based: parsers never raise on arbitrary bytes; they return an Article or a Reject."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zeroshot_news.config import ColumnMapping
from zeroshot_news.corpus.ingest.bbc import parse_bbc
from zeroshot_news.corpus.ingest.native import parse_native
from zeroshot_news.corpus.ingest.records import Article, Decoded, Reject, decode_bytes
from zeroshot_news.corpus.ingest.table import parse_row
from zeroshot_news.corpus.ingest.ukraine_news_bias import parse_ukraine_news_bias

PARSERS = (parse_native, parse_bbc, parse_ukraine_news_bias)


def _through(data: bytes):
    decoded = decode_bytes(data, ["cp1252", "latin-1"], 0.01)
    if isinstance(decoded, tuple):
        assert decoded[0] in {"empty", "binary", "undecodable"}
        return []
    return [parse(decoded, "cat/file.txt", "sha") for parse in PARSERS]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_parsers_never_raise_on_arbitrary_bytes(data):
    for result in _through(data):
        assert isinstance(result, Article | Reject)


@settings(max_examples=200)
@given(st.text(max_size=500))
def test_parsers_never_raise_on_arbitrary_text(text):
    for parse in PARSERS:
        result = parse(Decoded(text, "utf-8", []), "cat/file.txt", "sha")
        assert isinstance(result, Article | Reject)
        if isinstance(result, Article):  # some text, and a missing body is flagged
            assert result.body.strip() or (result.title.strip() and "title_only" in result.warnings)


@settings(max_examples=200)
@given(st.text(max_size=200), st.text(max_size=60))
def test_native_like_text_never_raises(body, title):
    text = f" date 2021-10-15 {title}\n\nReuters\n{title}\n\n{body}"
    assert isinstance(parse_native(Decoded(text, "utf-8", []), "f.txt", "s"), Article | Reject)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["id", "title", "body", "text", "date", "source", "x"]),
                       st.one_of(st.none(), st.text(max_size=50), st.integers(), st.floats())))
def test_table_rows_never_raise(row):
    assert isinstance(parse_row(row, ColumnMapping(), "f:1", "s", "t", "f:1", 10_000), Article | Reject)
