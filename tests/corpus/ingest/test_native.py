from __future__ import annotations

from zeroshot_news.corpus.ingest.native import parse_native
from zeroshot_news.corpus.ingest.records import Decoded, Reject


def _parse(text: str):
    return parse_native(Decoded(text, "utf-8", []), "x/001_abc.txt", "sha")


def test_seed_header_date_outlet_title(seed_text):
    art = _parse(seed_text)
    assert art.date == "2021-10-15"
    assert art.outlet == "Reuters"
    assert art.title == "Russia says it doesn't expect breakthrough at talks with Taliban"
    assert art.warnings == []
    assert art.body.startswith('"We do not expect any breakthroughs,"')
    assert "Russia says it doesn't expect" not in art.body  # the repeated title is not body
    assert art.body.count("\n\n") >= 8  # paragraphs kept
    assert art.source_id == "001_abc"


def test_missing_header_is_ingested_with_a_warning(seed_text):
    art = _parse(seed_text.split("\n", 2)[2])
    assert art.date is None and "missing_header" in art.warnings
    assert art.title == "Reuters"  # first line becomes the title: documented behaviour


def test_malformed_header_and_invalid_date(seed_text):
    art = _parse(seed_text.replace(" date 2021-10-15", " date 2021-13-45"))
    assert art.date is None and "invalid_date" in art.warnings
    assert art.outlet == "Reuters"
    bad = _parse(" date\n\nReuters\nTitle\n\nBody text here.")
    assert "malformed_header" in bad.warnings


def test_a_headline_alone_is_kept_and_flagged_but_a_cut_off_header_is_not():
    art = _parse(" date 2021-10-15 Talks resume in Geneva\n\nReuters\nTalks resume in Geneva\n")
    assert not isinstance(art, Reject)
    assert (art.title, art.body, art.outlet) == ("Talks resume in Geneva", "", "Reuters")
    assert "title_only" in art.warnings
    rej = _parse(" date 2021-1")
    assert isinstance(rej, Reject) and rej.reason == "no_body"


def test_no_outlet_line():
    art = _parse(" date 2021-10-15 Title\n\nTitle\n\nA body paragraph that is long enough to be a body.")
    assert art.outlet is None and "missing_outlet" in art.warnings
    assert art.body.startswith("A body paragraph")
