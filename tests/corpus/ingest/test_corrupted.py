"""The counts invariant on a corpus of every kind of bad file: nothing is silently lost."""

from __future__ import annotations

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest import ingest


def test_corrupted_corpus_counts_and_reasons(corrupted_corpus):
    corpus = CorpusConfig(name="c", sources=[SourceConfig(name="c", format="native", path=str(corrupted_corpus))],
                          max_file_bytes=1_000_000)
    res = ingest(corpus, progress=False)
    files = sorted(p.name for p in corrupted_corpus.iterdir())
    assert res.report["seen"] == len(files) == 10
    assert res.report["ingested"] + res.report["quarantined"] == res.report["seen"]
    assert len(res.articles) + len(res.quarantine) == len(files)
    reasons = dict(zip(res.quarantine["path"].map(lambda p: p.split("/")[-1]), res.quarantine["reason"], strict=True))
    assert reasons == {
        "002_empty.txt": "empty",
        "003_whitespace.txt": "empty",
        "004_binary.txt": "binary",
        "005_truncated_header.txt": "no_body",
        "008_huge.txt": "oversized",
        "009_duplicate.txt": "duplicate_content",
    }
    by_file = res.articles.set_index(res.articles["path"].map(lambda p: p.split("/")[-1]))
    assert by_file.loc["007_latin1.txt", "encoding"] == "cp1252"
    assert "fallback_encoding:cp1252" in by_file.loc["007_latin1.txt", "warnings"]
    assert "Café" in by_file.loc["007_latin1.txt", "title"]
    assert "missing_header" in by_file.loc["006_no_header.txt", "warnings"]
    assert "invalid_date" in by_file.loc["010_bad_date.txt", "warnings"]
    assert res.report["sources"]["c"]["quarantine_reasons"]["empty"] == 2


def test_missing_corpus_path_fails_at_start(tmp_path):
    import pytest

    from zeroshot_news.config import ConfigError

    corpus = CorpusConfig(name="c", sources=[SourceConfig(name="c", format="native", path=str(tmp_path / "x"))])
    with pytest.raises(ConfigError, match="does not exist"):
        ingest(corpus, progress=False)
