"""Short English text is not removed as another language (issue 25): the identifier is unsure
of headlines, so a short text leaves only when it is sure."""

from __future__ import annotations

import pandas as pd

from tests.conftest import REPO
from tests.fakes import section
from zeroshot_news.config import CleaningConfig
from zeroshot_news.corpus.clean import clean, detect_language, language_uncertain

HEADLINES = [  # English headlines py3langid calls another language (AG News / FNC-1 style)
    "Gunmen kill 10 in Chechnya", "Pistons 88, Nets 79", "Kerry slams Bush on Iraq",
    "Arafat in coma, aides say", "Nokia, Siemens ink pact",
]


def _articles(texts: list[str]) -> pd.DataFrame:
    n = len(texts)
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)], "source_id": [f"s{i}" for i in range(n)],
                         "corpus": "c", "path": [f"p{i}" for i in range(n)], "title": texts, "body": [""] * n,
                         "date": None, "outlet": None})


def test_short_headlines_the_identifier_is_unsure_of_are_kept_and_flagged():
    cfg = section(CleaningConfig, "cleaning", min_words=0)
    result = clean(_articles(HEADLINES), cfg, progress=False)
    assert len(result.articles) == len(HEADLINES) and result.removed.empty
    flagged = [language_uncertain(lang, cfg) for lang in result.articles["language"]]
    assert any(flagged)  # at least one of them was called another language, and kept


def test_a_confident_short_foreign_text_still_goes():
    cfg = section(CleaningConfig, "cleaning", min_words=0)
    french = "Le président de la République a annoncé une réforme des retraites."
    assert detect_language(french)[1] >= cfg.language_min_prob
    result = clean(_articles([french]), cfg, progress=False)
    assert result.articles.empty and list(result.removed["reason"]) == ["language"]


def test_no_english_agnews_headline_is_removed_as_another_language():
    """The measurement behind language_min_prob, on the first 1,000 AG News headlines."""
    frame = pd.read_csv(REPO / "data/external/benchmarks/agnews/test.csv", header=None, names=["l", "t", "d"])
    cfg = section(CleaningConfig, "cleaning", ("cleaning.near_duplicates.enabled=false",), min_words=0)
    titles = [t for t in frame["t"].head(1000) if "AMD et Chartered" not in t]  # the one French item
    result = clean(_articles(titles), cfg, progress=False)
    assert "language" not in set(result.removed["reason"])
