from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fakes import KeywordScorer, section
from zeroshot_news.config import PassageConfig, TaxonomyConfig, TopicConfig, TopicLabel
from zeroshot_news.zeroshot.scoring import combine_hypotheses
from zeroshot_news.zeroshot.topic import classify_topics

TAXONOMY = TaxonomyConfig(name="t", hypothesis_template="This text is about {}.", labels=[
    TopicLabel("military", ["troops", "weapons"], 0.5),
    TopicLabel("diplomacy", ["talks"], 0.5),
])


def _articles():
    return pd.DataFrame({"doc_id": ["a", "b"], "title": ["Troops", "Football"],
                         "body": ["Troops moved. Then talks began in Geneva.", "The match ended two all."]})


def test_topics_scores_labels_and_passages():
    scorer = KeywordScorer({"troops": "troops", "talks": "talks"})
    res = classify_topics(_articles(), scorer, TAXONOMY, section(TopicConfig, "topic", passage_aggregate="max"),
                          section(PassageConfig, "passages", overlap_sentences=0), progress=False)
    t = res.topics.set_index(["doc_id", "label"])
    assert t.loc[("a", "military"), "predicted"] and t.loc[("a", "diplomacy"), "predicted"]
    assert not t.loc[("b", "military"), "predicted"]
    assert t.loc[("a", "military"), "score"] == pytest.approx(0.9)
    assert len(t.loc[("a", "military"), "passage_scores"]) == t.loc[("a", "military"), "n_passages"]
    assert scorer.calls == [(len(res.passages), 3)]  # one batched call for the corpus
    assert res.report["predicted_share"] == {"military": 0.5, "diplomacy": 0.5}
    assert set(res.passages["doc_id"]) == {"a", "b"}


def test_mean_aggregation_dilutes_a_single_passage():
    scorer = KeywordScorer({"talks": "talks"}, budget=8)
    articles = _articles()
    articles.loc[0, "body"] = "Troops moved across the border. Then talks began in Geneva on Monday."
    res = classify_topics(articles, scorer, TAXONOMY, section(TopicConfig, "topic", passage_aggregate="mean"),
                          section(PassageConfig, "passages", overlap_sentences=0), progress=False)
    score = res.topics.set_index(["doc_id", "label"]).loc[("a", "diplomacy"), "score"]
    assert 0.1 < score < 0.9


def test_lead_mode_reads_one_passage_per_article_and_lets_pairs_truncate():
    scorer = KeywordScorer({"talks": "talks"}, budget=3)
    articles = _articles()
    articles.loc[0, "body"] = "Troops moved across the border. Then talks began in Geneva on Monday."
    res = classify_topics(articles, scorer, TAXONOMY, section(TopicConfig, "topic", passage_aggregate="max"),
                          section(PassageConfig, "passages", mode="lead"), progress=False)
    assert list(res.passages["doc_id"]) == ["a", "b"] and list(res.passages["passage"]) == [0, 0]
    assert res.passages.set_index("doc_id").loc["a", "text"] == "Troops\n\nTroops moved"
    assert res.passages["forced"].all() and scorer.truncated
    # "talks" comes after the lead: lead mode does not see it, split mode does.
    t = res.topics.set_index(["doc_id", "label"])
    assert not t.loc[("a", "diplomacy"), "predicted"]
    split = classify_topics(articles, KeywordScorer({"talks": "talks"}, budget=8), TAXONOMY,
                            section(TopicConfig, "topic", passage_aggregate="max"), section(PassageConfig, "passages"),
                            progress=False)
    assert split.topics.set_index(["doc_id", "label"]).loc[("a", "diplomacy"), "predicted"]


def test_combine_hypotheses():
    scores = np.array([[0.2, 0.8, 0.5]])
    assert combine_hypotheses(scores, ["m", "m", "d"], ["m", "d"], "max").tolist() == [[0.8, 0.5]]
    assert combine_hypotheses(scores, ["m", "m", "d"], ["m", "d"], "mean").tolist() == [[0.5, 0.5]]



def test_short_items_are_decided_at_the_scaled_threshold():
    from zeroshot_news.zeroshot.topic import is_short

    docs = pd.DataFrame({"doc_id": ["headline", "article"], "title": ["Troops cross the border", "Talks"],
                         "body": ["", " ".join(["Troops moved."] * 40)]})
    on, off = section(TopicConfig, "topic"), section(TopicConfig, "topic", short_words=0)
    assert (on.short_words, on.short_threshold_scale) == (60, 0.8)  # conf/config.yaml
    assert is_short(docs, on) == [True, False] and is_short(docs, off) == [False, False]

    class Flat(KeywordScorer):  # every pair scores 0.47: between the short and the article threshold
        def score(self, texts, hypotheses, **kw):
            return np.full((len(texts), len(hypotheses)), 0.47)

    split = section(PassageConfig, "passages", overlap_sentences=0)
    for cfg, thresholds, predicted in [(on, [0.4, 0.5], [True, False]), (off, [0.5, 0.5], [False, False])]:
        t = classify_topics(docs, Flat({}), TAXONOMY, cfg, split, progress=False).topics
        t = t[t["label"] == "military"]
        assert list(t["threshold"]) == thresholds and list(t["predicted"]) == predicted


def test_a_head_fitted_on_short_texts_decides_them_at_its_own_threshold():
    from tests.fakes import BagOfWordsEncoder
    from zeroshot_news.zeroshot.topic import scales_short_items
    from zeroshot_news.zeroshot.topic_head import TopicHead

    encoder = BagOfWordsEncoder()
    dim = encoder.embed(["troops"]).shape[1]
    docs = pd.DataFrame({"doc_id": ["headline"], "title": ["Troops cross the border"], "body": [""]})
    cfg, split = section(TopicConfig, "topic"), section(PassageConfig, "passages", overlap_sentences=0)

    def threshold(info):
        head = TopicHead(("military", "diplomacy"), "bag-of-words", np.zeros((2, dim)), np.zeros(2), info)
        t = classify_topics(docs, encoder, TAXONOMY, cfg, split, progress=False, head=head).topics
        return t.set_index("label").loc["military", "threshold"]

    # A head from an article pool, and one written before the share was recorded: scaled.
    assert threshold({"pool_short_share": 0.0}) == threshold({}) == 0.4
    # A head self-trained on a headline corpus: its own threshold.
    assert threshold({"pool_short_share": 0.8}) == 0.5
    assert scales_short_items(None)  # zero-shot scores are scaled as before


def test_an_article_heads_score_on_a_short_item_is_blended_with_zero_shot():
    from tests.fakes import BagOfWordsEncoder
    from zeroshot_news.zeroshot.topic_head import TopicHead

    encoder = BagOfWordsEncoder()
    encoder.keywords = {"troops": "troops"}  # zero-shot: military 0.9 where "troops" occurs, else 0.1
    dim = encoder.embed(["troops"]).shape[1]
    docs = pd.DataFrame({"doc_id": ["headline", "article"], "title": ["Troops cross the border", "Troops"],
                         "body": ["", " ".join(["Troops moved."] * 40)]})
    split = section(PassageConfig, "passages", overlap_sentences=0)

    def scores(weight, pool_short_share=0.0):
        # Zero coefficients: the head says 0.5 for every label and passage.
        head = TopicHead(("military", "diplomacy"), "bag-of-words", np.zeros((2, dim)), np.zeros(2),
                         {"pool_short_share": pool_short_share})
        cfg = section(TopicConfig, "topic", short_zero_shot_weight=weight)
        t = classify_topics(docs, encoder, TAXONOMY, cfg, split, progress=False, head=head).topics
        return t.set_index(["doc_id", "label"])["score"]

    blended = scores(0.5)  # the default
    assert blended[("headline", "military")] == pytest.approx(0.5 * 0.5 + 0.5 * 0.9)
    assert blended[("headline", "diplomacy")] == pytest.approx(0.5 * 0.5 + 0.5 * 0.1)
    assert blended[("article", "military")] == blended[("article", "diplomacy")] == 0.5  # articles: the head alone
    assert scores(0.25)[("headline", "military")] == pytest.approx(0.75 * 0.5 + 0.25 * 0.9)
    assert scores(0.0)[("headline", "military")] == 0.5  # weight 0: the head alone
    assert scores(0.5, pool_short_share=0.8)[("headline", "military")] == 0.5  # a headline-corpus head: alone
