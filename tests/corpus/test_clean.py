from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.fakes import section
from zeroshot_news.config import CleaningConfig, PatternRule, compose_config, parse_config
from zeroshot_news.corpus.clean import clean, clean_text, drop_repeated_lines, find_near_duplicates
from zeroshot_news.corpus.ingest.native import parse_native
from zeroshot_news.corpus.ingest.records import Decoded


@pytest.fixture(scope="module")
def cleaning() -> CleaningConfig:
    return parse_config(compose_config(REPO / "conf")).cleaning


def _seed(seed_text):
    return parse_native(Decoded(seed_text, "utf-8", []), "seed/000.txt", "sha")


def test_seed_caption_and_pull_quote_once_credit_gone(seed_text, cleaning):
    art = _seed(seed_text)
    assert art.body.count("A Taliban flag is seen") == 2  # the raw scrape repeats it
    title, body, edits = clean_text(art.title, art.body, cleaning)
    assert body.count("A Taliban flag is seen in a military position") == 1
    assert body.count("We do not expect any breakthroughs") == 1
    assert "REUTERS/Jorge Silva" not in body and "Jorge Silva" not in body
    assert edits["photo_credit"] == 2 and edits["repeated_lines"] == 2
    assert "\u00a0" not in body and "curb violence." in body
    assert title == art.title


@pytest.mark.parametrize("text, rule, expected", [
    ("MOSCOW, Oct 15 (Reuters) - Russia said talks would go on.", "wire_dateline", "Russia said talks would go on."),
    ("Russia said (Reuters) talks would go on.", "wire_marker", "Russia said talks would go on."),
    ("Photo: AFP\nTroops moved in.", "photo_line", "Troops moved in."),
    ("By John Smith\nTroops moved in.", "byline", "Troops moved in."),
    ("Troops moved in.\nReporting by Jane Doe; Editing by Sam Roe", "reporting_credit", "Troops moved in."),
    ("Troops moved in (Photo: Getty Images).", "photo_parenthetical", "Troops moved in."),
])
def test_default_patterns(text, rule, expected, cleaning):
    _, body, edits = clean_text("", text, cleaning)
    assert body == expected and edits[rule] >= 1


def test_patterns_are_configurable():
    cfg = section(CleaningConfig, "cleaning", patterns=[PatternRule("ad", "^SPONSORED", "drop_line")])
    _, body, edits = clean_text("", "SPONSORED content\nReal text.", cfg)
    assert body == "Real text." and edits == Counter(ad=1)


def test_unicode_repair_and_whitespace(cleaning):
    _, body, _ = clean_text("", "Caf\u00c3\u00a9   talks\u00a0here\r\n\r\n\r\n\r\nNext", cleaning)
    assert body == "Café talks here\n\nNext"


def test_repeated_lines_keep_first_ignoring_case_and_punctuation():
    edits = Counter()
    out = drop_repeated_lines('"A quote" he said\n\nOther.\n\n"A quote," he said.', edits)
    assert out == '"A quote" he said\n\nOther.' and edits["repeated_lines"] == 1


def _frame(rows):
    base = {"source_id": "s", "corpus": "c", "path": "p"}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_clean_removes_with_reasons_and_counts_add_up(cleaning, seed_text):
    story = " ".join(seed_text.split()[20:220])
    rows = [
        {"doc_id": "a", "title": "Talks", "body": story},
        {"doc_id": "b", "title": "Talks", "body": story + " Added by the syndicate."},
        {"doc_id": "c", "title": "Talks", "body": story},  # exact copy of a (after cleaning)
        {"doc_id": "d", "title": "Short", "body": "Too short."},
        {"doc_id": "e", "title": "Otro", "body": "Los ministros de exteriores se reunieron en Madrid para hablar " * 6},
    ]
    res = clean(_frame(rows), cleaning, progress=False)
    assert res.report["articles_in"] == 5 == res.report["kept"] + res.report["removed"]
    removed = res.removed.set_index("doc_id")
    assert removed.loc["d", "reason"] == "too_short"
    assert removed.loc["e", "reason"] == "language"
    assert removed.loc["c", "reason"] == "exact_duplicate" and removed.loc["c", "duplicate_of"] == "a"
    assert removed.loc["b", "reason"] == "near_duplicate" and removed.loc["b", "duplicate_of"] == "a"
    assert list(res.articles["doc_id"]) == ["a"]
    assert res.report["removed_by_reason"] == {"too_short": 1, "language": 1, "exact_duplicate": 1, "near_duplicate": 1}


def test_near_duplicates_are_deterministic_and_keep_first():
    shared = " ".join(f"token{j}" for j in range(200))
    texts = {str(i): f"story number {i} {shared}" for i in range(5)}
    texts["x"] = "a completely different report about football results and league tables " * 10
    cfg = section(CleaningConfig, "cleaning").near_duplicates
    assert cfg.threshold == 0.8
    first = find_near_duplicates(texts, cfg)
    assert first == find_near_duplicates(texts, cfg)
    assert set(first) == {"1", "2", "3", "4"} and all(v[0] == "0" for v in first.values())
