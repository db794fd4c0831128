"""The project's first acceptance case: the seed gets all three topics with the default config."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.clean import clean
from zeroshot_news.corpus.ingest import ingest
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.zeroshot.topic import classify_topics

pytestmark = pytest.mark.slow


def test_seed_gets_all_three_topics_with_default_config():
    cfg = parse_config(compose_config(REPO / "conf"))
    seed_source = next(s for s in cfg.corpus.sources if s.name == "seed")
    from dataclasses import replace

    corpus = replace(cfg.corpus, sources=[replace(seed_source, path=str(REPO / seed_source.path))])
    articles = clean(ingest(corpus, progress=False).articles, cfg.cleaning, progress=False).articles
    assert len(articles) == 1
    result = classify_topics(articles, build_scorer(cfg.model, progress=False), cfg.taxonomy, cfg.topic,
                             cfg.passages, progress=False)
    predicted = set(result.topics.loc[result.topics["predicted"], "label"])
    assert predicted == {"regional_security", "diplomacy", "military"}
