"""Ingest and clean stream in row groups: the files equal the in-memory tables whatever the chunk size."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO
from zeroshot_news.config import CorpusConfig, SourceConfig, compose_config, parse_config
from zeroshot_news.corpus.clean import Cleaner, clean, clean_parquet
from zeroshot_news.corpus.ingest import ingest, ingest_to_parquet
from zeroshot_news.io import write_parquet


@pytest.fixture(scope="module")
def cfg():
    return parse_config(compose_config(REPO / "conf"))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns with None for missing: parquet round trips turn None into NaN."""
    df = df.reset_index(drop=True).astype(object)
    return df.where(df.notna(), None)


def _tables(folder) -> dict:
    return {name: folder / f"{name}.parquet" for name in ("articles", "sentences", "quarantine")}


def _corpus(folder) -> CorpusConfig:
    return CorpusConfig(name="c", sources=[SourceConfig(name="c", format="native", path=str(folder))])


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_streamed_ingest_equals_in_memory(corrupted_corpus, tmp_path, chunk_rows):
    want = ingest(_corpus(corrupted_corpus), progress=False)
    report = ingest_to_parquet(_corpus(corrupted_corpus), _tables(tmp_path), chunk_rows=chunk_rows, progress=False)
    assert report == want.report
    assert report["seen"] == report["ingested"] + report["quarantined"] == 10
    for name, table in [("articles", want.articles), ("sentences", want.sentences),
                        ("quarantine", want.quarantine)]:
        got = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(got) == len(table)
        if name != "sentences":  # (the native format has none: an empty table)
            pd.testing.assert_frame_equal(_plain(got), _plain(table))
    if chunk_rows == 1:  # one row group per row: it really was written as it came
        assert pq.ParquetFile(tmp_path / "articles.parquet").num_row_groups == len(want.articles)


def test_failed_ingest_leaves_no_partial_tables(corrupted_corpus, tmp_path, monkeypatch):
    from zeroshot_news.corpus import ingest as ingest_module

    def broken(source, corpus):
        yield from ingest_module.iter_native(source, corpus)
        raise RuntimeError("disk gone")

    monkeypatch.setitem(ingest_module.ADAPTERS, "native", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest_to_parquet(_corpus(corrupted_corpus), _tables(tmp_path / "out"), chunk_rows=2, progress=False)
    assert not any((tmp_path / "out").glob("*.parquet")) and not any((tmp_path / "out").glob(".*"))


def _articles_with_duplicates(seed_text) -> pd.DataFrame:
    body = seed_text.split("\n\n", 2)[2]
    rows = []
    for i in range(9):
        text = body if i % 3 == 0 else body.replace("Taliban", f"Taliban{i}") if i % 3 == 1 else f"Short {i}."
        rows.append({"doc_id": f"d{i}", "source_id": f"s{i}", "corpus": "c", "format": "native", "outlet": None,
                     "date": None, "title": f"T{i % 3}", "body": text, "category": None, "path": f"p{i}",
                     "raw_sha256": "x", "encoding": "utf-8", "warnings": ""})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("chunk_rows", [1, 2, 4, 100])
def test_streamed_clean_is_independent_of_chunk_size(seed_text, cfg, tmp_path, chunk_rows):
    articles = _articles_with_duplicates(seed_text)
    want = clean(articles, cfg.cleaning, progress=False)
    assert want.report["removed_by_reason"]["exact_duplicate"] >= 2  # dedup crosses chunks
    assert want.report["removed_by_reason"]["too_short"] == 3
    write_parquet(articles, tmp_path / "in.parquet")
    report = clean_parquet(tmp_path / "in.parquet", tmp_path / "out" / "articles.parquet",
                           tmp_path / "out" / "removed.parquet", cfg.cleaning, chunk_rows=chunk_rows, progress=False)
    assert report == want.report and report["kept"] + report["removed"] == report["articles_in"] == 9
    pd.testing.assert_frame_equal(_plain(pd.read_parquet(tmp_path / "out" / "articles.parquet")),
                                  _plain(want.articles))
    removed = pd.read_parquet(tmp_path / "out" / "removed.parquet")
    assert list(removed["doc_id"]) == list(want.removed["doc_id"])  # input order, not chunk order
    assert list(removed["duplicate_of"].dropna()) == list(want.removed["duplicate_of"].dropna())


def test_cleaner_keeps_no_article_text(seed_text, cfg):
    cleaner = Cleaner(cfg.cleaning)
    cleaner.process(_articles_with_duplicates(seed_text))
    held = list(cleaner.exact) + list(cleaner.exact.values()) + list(cleaner.near.hashes)
    assert all(len(x) < 64 for x in held)  # hashes and ids only


def test_streamed_sentence_table_equals_in_memory(tmp_path):
    corpus = CorpusConfig(name="u", sources=[SourceConfig(
        name="ukraine_news_bias", format="ukraine_news_bias", path=str(REPO / "data/raw/ukraine_news_bias"))])
    want = ingest(corpus, progress=False)
    assert len(want.sentences) > 100
    ingest_to_parquet(corpus, _tables(tmp_path), chunk_rows=7, progress=False)
    got = pd.read_parquet(tmp_path / "sentences.parquet")
    assert pq.ParquetFile(tmp_path / "sentences.parquet").num_row_groups > 1
    pd.testing.assert_frame_equal(_plain(got.drop(columns=[c for c in got if c.startswith("votes_")])),
                                  _plain(want.sentences.drop(columns=[c for c in got if c.startswith("votes_")])))
    for column in [c for c in got if c.startswith("votes_")]:
        assert [list(v) if v is not None else None for v in got[column]] == \
            [list(v) if v is not None else None for v in want.sentences[column]]
