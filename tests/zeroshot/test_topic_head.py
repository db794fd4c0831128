"""The self-trained topic head: JSON round trip (no pickle), determinism, and label-free gains."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import average_precision_score

from tests.fakes import REPO, BagOfWordsEncoder, default_config
from zeroshot_news.config import ConfigError
from zeroshot_news.corpus.gold import load_gold, match_gold, split_tune_test
from zeroshot_news.zeroshot.self_train import gold_targets, train_few_shot_head, train_head, tune_half_of
from zeroshot_news.zeroshot.topic import classify_topics
from zeroshot_news.zeroshot.topic_head import (
    PIPELINE_HEAD,
    TopicHead,
    contrast,
    dump_head,
    fit_head,
    fit_head_on_labels,
    pseudo_labels,
    read_head,
    zero_shot_marker,
)

MILITARY = ["troops", "tanks", "artillery", "soldiers", "brigade", "shelling", "howitzers", "infantry"]
OTHER = ["football", "league", "market", "shares", "film", "album", "election", "court", "recipe", "weather"]


def synthetic_corpus(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Articles that are military (a third) or not. Only some military articles use the word
    the label's description uses ("troops"); the rest use its co-occurring vocabulary."""
    rng = np.random.default_rng(seed)
    rows, y = [], []
    for i in range(n):
        military = i % 3 == 0
        vocab = MILITARY[1:] if military else OTHER
        words = list(rng.choice(vocab, 12)) + list(rng.choice(OTHER, 4))
        if military and rng.random() < 0.4:
            words += ["troops"] * 3
        rng.shuffle(words)
        rows.append({"doc_id": f"d{i:03d}", "title": f"Item {i}", "body": " ".join(words) + "."})
        y.append(int(military))
    return pd.DataFrame(rows), np.array(y)


def _synthetic_overrides() -> tuple[str, ...]:
    return ("~taxonomy.labels", "+taxonomy.labels={military: {threshold: 0.5, descriptions: [troops]}}",
            "taxonomy.background=[football, market, film]",
            "self_train.positive_fraction=0.15", "self_train.negative_fraction=0.6", "self_train.C=3.0",
            "stance.restrict_to_topics=[]", "self_train.min_pool_passages=0",  # small synthetic pools
            "self_train.cap_at_zero_shot_share=false")  # the fake encoder has no zero-shot scores


def synthetic_config():
    return default_config(*_synthetic_overrides())


class RecordingEncoder(BagOfWordsEncoder):
    """BagOfWordsEncoder that remembers every text it embedded."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return super().embed(texts)


def test_self_training_beats_the_zero_shot_signal_without_labels():
    articles, y = synthetic_corpus()
    cfg, encoder = synthetic_config(), BagOfWordsEncoder()
    head = train_head(articles, encoder, cfg, progress=False)
    with_head = classify_topics(articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                                head=head).topics
    labels, background = [encoder.embed(["This text is about troops."]).astype(float)], \
        encoder.embed(["This text is about football.", "This text is about market."]).astype(float)
    texts = [f"{t}\n\n{b}" for t, b in zip(articles.title, articles.body, strict=True)]
    zero_shot = contrast(encoder.embed(texts).astype(float), labels, background)[:, 0]
    ap_zero, ap_head = average_precision_score(y, zero_shot), average_precision_score(y, with_head["score"])
    print(f"AP zero-shot {ap_zero:.3f}, self-trained head {ap_head:.3f}")
    assert ap_head > ap_zero + 0.1, (ap_zero, ap_head)
    assert ap_head > 0.9
    assert with_head["predicted"].to_numpy().astype(int).tolist().count(1) >= 0.5 * y.sum()


def test_head_round_trips_as_plain_json(tmp_path):
    articles, _ = synthetic_corpus(90)
    head = train_head(articles, BagOfWordsEncoder(), synthetic_config(), progress=False)
    path = tmp_path / "head.json"
    path.write_text(dump_head(head.to_dict()), encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON: no pickle anywhere
    back = read_head(path)
    x = BagOfWordsEncoder().embed(["troops and tanks", "football league"])
    assert back.labels == head.labels and back.encoder == "bag-of-words"
    np.testing.assert_allclose(back.predict_proba(x), head.predict_proba(x), atol=1e-12)


def test_zero_shot_marker_and_bad_heads(tmp_path):
    marker = tmp_path / "zs.json"
    marker.write_text(dump_head(zero_shot_marker({"reason": "test"})), encoding="utf-8")
    assert read_head(marker) is None
    bad = TopicHead(("a", "b"), "enc", np.zeros((2, 3)), np.zeros(2)).to_dict()
    bad["coef"] = [[0.0, 1.0]]
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ConfigError, match="shapes"):
        read_head(tmp_path / "bad.json")
    bad["coef"] = [[float("nan")] * 3] * 2
    (tmp_path / "nan.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ConfigError, match="non-finite"):
        read_head(tmp_path / "nan.json")
    with pytest.raises(ConfigError, match="does not exist"):
        read_head(tmp_path / "missing.json")


def test_training_is_deterministic():
    articles, _ = synthetic_corpus(120)
    a = dump_head(train_head(articles, BagOfWordsEncoder(), synthetic_config(), progress=False).to_dict())
    b = dump_head(train_head(articles, BagOfWordsEncoder(), synthetic_config(), progress=False).to_dict())
    assert a == b


def test_pseudo_labels_take_the_extremes():
    idx, y = pseudo_labels(np.array([0.1, 0.9, 0.5, 0.3, 0.7]), 0.2, 0.4)
    assert idx.tolist() == [1, 3, 0] and y.tolist() == [1, 0, 0]


def test_fit_head_needs_a_round_and_a_pool():
    with pytest.raises(ValueError):
        fit_head(np.eye(8), np.zeros((8, 1)), ["a"], "e", rounds=0, positive_fraction=0.1,
                 negative_fraction=0.5, C=1.0, seed=0)


def test_nli_backend_keeps_topics_zero_shot():
    assert default_config().uses_topic_head
    assert not default_config("model=nli").uses_topic_head
    assert not default_config("self_train.rounds=0").uses_topic_head


def test_pipeline_head_path_is_the_self_train_stage_output():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert f"--head {PIPELINE_HEAD.as_posix()}" in stages["self_train"]["cmd"]
    assert f"--head {PIPELINE_HEAD.as_posix()}" in stages["topic"]["cmd"]
    assert {PIPELINE_HEAD.as_posix(): {"cache": False, "persist": True}} in stages["self_train"]["outs"]


def test_a_new_label_never_re_encodes_a_passage(tmp_path):
    from zeroshot_news.scorers.cached import CachedScorer
    from zeroshot_news.scorers.store import ScoreCache

    articles, _ = synthetic_corpus(60)
    inner = BagOfWordsEncoder()
    with ScoreCache(tmp_path / "cache.sqlite") as cache:
        encoder = CachedScorer(inner, cache)
        cfg = synthetic_config()
        head = train_head(articles, encoder, cfg, progress=False)
        classify_topics(articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False, head=head)
        first = inner.encoded
        assert first > len(articles)  # passages + descriptions were encoded once
        wider = default_config(
            "~taxonomy.labels", "+taxonomy.labels={military: {threshold: 0.5, descriptions: [troops]},"
            " sport: {threshold: 0.5, descriptions: [football league]}}",
            "taxonomy.background=[football, market, film]", "stance.restrict_to_topics=[]",
            "self_train.min_pool_passages=0")
        head2 = train_head(articles, encoder, wider, progress=False)
        classify_topics(articles, encoder, wider.taxonomy, wider.topic, wider.passages, progress=False, head=head2)
        assert inner.encoded - first == 1  # only the new label's one description
    with ScoreCache(tmp_path / "cache.sqlite") as cache:  # and across processes
        train_head(articles, CachedScorer(inner, cache), wider, progress=False)
        assert inner.encoded - first == 1


# ---------------------------------------------------------------------------
# Few-shot head (self_train.labels_from=gold)
# ---------------------------------------------------------------------------


def _gold_for(articles: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """A dev-gold-like table for the synthetic corpus (item_id = the raw path, as in the corpus)."""
    return pd.DataFrame({"item_id": articles["path"], "stratum": np.where(y == 1, "mil", "other"),
                         "military": [str(v) for v in y]})


def test_gold_targets_take_the_best_passage_of_positives_and_every_passage_of_negatives():
    passages = pd.DataFrame({"doc_id": ["a", "a", "a", "b", "b", "c"]})
    signal = np.array([[0.1], [0.9], [0.3], [0.8], [0.2], [0.5]])
    gold = pd.DataFrame({"doc_id": ["a", "b", "z"], "military": ["1", "0", "1"]})  # z: no passages
    idx, y = gold_targets(passages, signal, gold, ["military"])["military"]
    assert idx.tolist() == [1, 3, 4] and y.tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="no column 'diplomacy'"):
        gold_targets(passages, signal, gold, ["diplomacy"])


def test_few_shot_head_fits_on_the_tune_half_only(tmp_path):
    articles, y = synthetic_corpus(120)
    articles["path"] = [f"raw/{d}.txt" for d in articles["doc_id"]]
    gold_path = tmp_path / "gold.csv"
    _gold_for(articles, y).to_csv(gold_path, index=False)
    cfg = default_config(*_synthetic_overrides(), f"evaluation.gold_path={gold_path}", "self_train.labels_from=gold")
    tune = tune_half_of(articles, cfg)
    # Exactly the evaluate stage's tune half of the same matched gold.
    matched, _ = match_gold(load_gold(gold_path), articles, articles.iloc[:0].assign(reason=""),
                            articles.iloc[:0].assign(reason=""))
    assert set(tune["doc_id"]) == set(matched.loc[split_tune_test(matched, cfg.evaluation.seed) == "tune", "doc_id"])
    encoder = RecordingEncoder()
    head = train_few_shot_head(articles, tune, encoder, cfg, progress=False)
    test_docs = set(articles["doc_id"]) - set(tune["doc_id"])
    test_texts = {b for d, b in zip(articles["doc_id"], articles["body"], strict=True) if d in test_docs}
    assert not any(any(b in t for b in test_texts) for t in encoder.seen)  # no test-half text was read
    assert head.info["training_articles"] == len(tune) == 60
    assert head.info["pool_short_share"] == 1.0  # the synthetic items are short: their head decides them unscaled
    # It generalises to the held-out half.
    test = articles[articles["doc_id"].isin(test_docs)]
    scores = classify_topics(test, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                             head=head).topics["score"]
    assert average_precision_score(y[articles["doc_id"].isin(test_docs)], scores) > 0.9


def test_few_shot_head_needs_positives_and_negatives():
    X = np.eye(4)
    with pytest.raises(ValueError, match="label 'military' needs annotated positives and negatives"):
        fit_head_on_labels(X, {"military": (np.arange(4), np.zeros(4))}, "enc", C=1.0, seed=0)


def test_labels_from_is_checked():
    with pytest.raises(ConfigError, match=r"self_train\.labels_from"):
        default_config("self_train.labels_from=human")


def test_a_small_pool_falls_back_to_the_shipped_head_or_zero_shot(monkeypatch, tmp_path):
    """Under self_train.min_pool_passages the stage writes the shipped head when it fits the
    taxonomy and encoder, else the zero-shot marker, with the reason either way (a head on a
    few pseudo-positives gave no article any topic); at or over it, a head of its own."""
    import zeroshot_news.zeroshot.self_train as self_train

    monkeypatch.setattr(self_train, "build_encoder", lambda *a, **k: BagOfWordsEncoder())
    articles, _ = synthetic_corpus(60)
    overrides = [o for o in _synthetic_overrides() if "min_pool_passages" not in o]
    small = default_config(*overrides, "self_train.min_pool_passages=61")
    assert train_head(articles, BagOfWordsEncoder(), small, progress=False) == 60
    data, report = self_train.fit_topic_head(articles, small)  # no shipped head
    assert data["kind"] == "zero_shot" and "60 passages" in data["info"]["reason"]
    assert report["fallback"] == "zero_shot" and report["rounds"] == 0

    enough = default_config(*overrides, "self_train.min_pool_passages=60")
    own, report = self_train.fit_topic_head(articles, enough)
    assert TopicHead.from_dict(own).labels == ("military",) and "fallback" not in report

    shipped = tmp_path / "shipped.json"
    shipped.write_text(dump_head(own))
    data, report = self_train.fit_topic_head(articles, small, shipped)
    head = TopicHead.from_dict(data)
    assert report["fallback"] == "shipped_head" and "60 passages" in head.info["fallback"]
    assert np.array_equal(head.coef, TopicHead.from_dict(own).coef)
    wider = default_config(*[o for o in overrides if not o.startswith("+taxonomy.labels")],
                           "+taxonomy.labels={military: {threshold: 0.5, descriptions: [troops]},"
                           " sport: {threshold: 0.5, descriptions: [football]}}", "self_train.min_pool_passages=61")
    data, report = self_train.fit_topic_head(articles, wider, shipped)  # a label the shipped head lacks
    assert data["kind"] == "zero_shot" and "covers ['military']" in data["info"]["reason"]


def test_min_pool_passages_is_checked():
    with pytest.raises(ConfigError, match="min_pool_passages"):
        default_config("self_train.min_pool_passages=-1")


def test_the_head_records_how_much_of_its_pool_was_short():
    articles, _ = synthetic_corpus(90)  # ~20 words each: every item is short
    cfg = synthetic_config()
    assert train_head(articles, BagOfWordsEncoder(), cfg, progress=False).info["pool_short_share"] == 1.0
    long = articles.assign(body=articles["body"].map(lambda b: " ".join([b] * 4)))  # ~70 words
    assert train_head(long, BagOfWordsEncoder(), cfg, progress=False).info["pool_short_share"] == 0.0


def test_a_label_rarer_than_the_fixed_share_gets_fewer_pseudo_positives():
    from zeroshot_news.zeroshot.self_train import MIN_POSITIVE_FRACTION, positive_fractions

    class Scores:  # zero-shot: label k's first hits[k] of 100 passages reach the 0.5 threshold
        def __init__(self, hits):
            self.hits = hits

        def score(self, texts, hypotheses, **kw):
            out = np.full((len(texts), len(hypotheses)), 0.1)
            for k, n in enumerate(self.hits):
                out[:n, k] = 0.9
            return out

    overrides = ("~taxonomy.labels", "+taxonomy.labels={common: {threshold: 0.5, descriptions: [a]}, "
                 "rare: {threshold: 0.5, descriptions: [b]}, absent: {threshold: 0.5, descriptions: [c]}}")
    texts = [f"passage {i}" for i in range(100)]
    capped = positive_fractions(Scores([40, 3, 0]), texts, default_config(*overrides))
    assert capped.tolist() == [0.08, 0.03, MIN_POSITIVE_FRACTION]  # fixed share, zero-shot share, floor
    fixed = positive_fractions(Scores([40, 3, 0]), texts,
                               default_config(*overrides, "self_train.cap_at_zero_shot_share=false"))
    assert fixed.tolist() == [0.08, 0.08, 0.08]

