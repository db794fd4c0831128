from __future__ import annotations

import json

from tests.conftest import REPO
from zeroshot_news.config import ColumnMapping, CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest import ingest
from zeroshot_news.corpus.ingest.bbc import parse_bbc
from zeroshot_news.corpus.ingest.records import Decoded, Reject
from zeroshot_news.corpus.ingest.ukraine_news_bias import parse_ukraine_news_bias


def _corpus(*sources: SourceConfig, **kw) -> CorpusConfig:
    return CorpusConfig(name="t", sources=list(sources), **kw)


def test_bbc_keeps_category_and_title():
    art = parse_bbc(Decoded("Labour plans\n\nMaternity pay rises.\n\nMore.", "utf-8", []),
                    "bbc/politics/001.txt", "sha")
    assert (art.category, art.title, art.outlet) == ("politics", "Labour plans", "BBC")
    assert art.body == "Maternity pay rises.\n\nMore."
    assert art.source_id == "bbc/politics/001"
    assert isinstance(parse_bbc(Decoded("Only a title\n", "utf-8", []), "bbc/x/1.txt", "s"), Reject)


def test_bbc_sampling_is_stable_and_per_category():
    src = SourceConfig(name="bbc", format="bbc", path=str(REPO / "data/raw/bbc"),
                       categories=["politics", "sport"], sample_per_category=5, sample_seed=0)
    first = ingest(_corpus(src), progress=False).articles
    second = ingest(_corpus(src), progress=False).articles
    assert list(first["source_id"]) == list(second["source_id"])
    assert first["category"].value_counts().to_dict() == {"politics": 5, "sport": 5}


def test_ukraine_body_and_sentence_votes():
    path = REPO / "data/raw/ukraine_news_bias/article_0.json"
    art = parse_ukraine_news_bias(Decoded(path.read_text(encoding="utf-8"), "utf-8", []),
                                  "ukraine_news_bias/article_0.json", "sha")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert art.title == data["sentences"][0]["content"]
    assert art.body.startswith(data["sentences"][1]["content"])
    assert len(art.sentences) == len(data["sentences"])
    assert all(len(s["votes_russia"]) == 5 for s in art.sentences)


def test_ukraine_bad_json_is_quarantined():
    for text, reason in [("{not json", "invalid_json"), ('{"id": 1}', "bad_schema"),
                         ('{"sentences": [{"content": "only one"}]}', "no_body")]:
        rej = parse_ukraine_news_bias(Decoded(text, "utf-8", []), "a.json", "s")
        assert isinstance(rej, Reject) and rej.reason == reason


def test_table_csv_and_jsonl_with_column_mapping(tmp_path):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("uid,headline,content,when\n1,T1,Body one.,2020-01-02\n2,T2,,2020-01-03\n"
                        "1,T3,Body three.,bad\n", encoding="utf-8")
    cols = ColumnMapping(id="uid", title="headline", body="content", text=None, date="when", source=None)
    res = ingest(_corpus(SourceConfig(name="t", format="table", path=str(csv_path), columns=cols)), progress=False)
    # Row 2 is a headline alone: kept and flagged (clean decides on its length).
    assert list(res.articles["source_id"]) == ["1", "2"]
    assert res.articles["date"].tolist() == ["2020-01-02", "2020-01-03"]
    assert list(res.articles["warnings"]) == ["", "title_only"]
    assert sorted(res.quarantine["reason"]) == ["duplicate_id"]
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text('{"id": "x", "text": "Some text."}\n[1, 2]\n{broken\n', encoding="utf-8")
    res = ingest(_corpus(SourceConfig(name="t", format="table", path=str(jsonl))), progress=False)
    assert res.articles["body"].tolist() == ["Some text."]
    assert res.report["seen"] == 3 and res.report["quarantined"] == 2
