from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fakes import section
from zeroshot_news.config import EvaluationConfig
from zeroshot_news.evaluation.evaluate import (
    bootstrap_ci,
    crowd_article_labels,
    crowd_sentence_labels,
    evaluate,
    headline,
    match_gold,
    split_tune_test,
    tune_thresholds,
)

CFG = section(EvaluationConfig, "evaluation", bootstrap_samples=200, seed=0)


def test_crowd_rules():
    sentences = pd.DataFrame({
        "doc_id": ["d"] * 4, "sentence_id": ["s1", "s2", "s3", "s4"],
        "votes_russia": [[-2, -1, 0, 0, 0], [0, 0, 0, 0, 1], [1, 2, 0, 0, 0], [-1, -2, 0, 0, 0]],
        "votes_ukraine": [[0] * 5] * 4, "votes_west": [[1, 1, -1, -1, 0], [0] * 5, [0] * 5, [0] * 5],
    })
    s = crowd_sentence_labels(sentences, min_votes=2).set_index(["sentence_id", "target"])["label"]
    assert s[("s1", "russian_government")] == "against"
    assert s[("s2", "russian_government")] == "neutral_or_none"
    assert s[("s3", "russian_government")] == "favor"
    assert s[("s1", "western_governments")] == "neutral_or_none"  # both signs reach 2
    strict = crowd_sentence_labels(sentences, min_votes=3)
    assert set(strict["label"]) == {"neutral_or_none"}
    art = crowd_article_labels(crowd_sentence_labels(sentences, 2)).set_index("target")["label"]
    assert art["russian_government"] == "against"  # 2 against vs 1 favor sentence
    assert art["ukrainian_government"] == "neutral_or_none"


def test_bootstrap_ci_is_seeded_and_brackets_the_value():
    y = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 1])
    metric = lambda i: float(y[i].mean())  # noqa: E731
    a = bootstrap_ci(metric, len(y), 500, 0.95, seed=3)
    assert a == bootstrap_ci(metric, len(y), 500, 0.95, seed=3)
    assert a[0] <= y.mean() <= a[1]
    assert bootstrap_ci(metric, len(y), 0, 0.95, 0) is None


def test_tune_thresholds_maximises_f1():
    y = np.array([[1], [1], [0], [0]])
    scores = np.array([[0.9], [0.6], [0.55], [0.1]])
    assert tune_thresholds(y, scores)[0] == pytest.approx(0.6)


def test_split_is_stratified_and_seeded():
    gold = pd.DataFrame({"stratum": ["a"] * 10 + ["b"] * 6})
    split = split_tune_test(gold, seed=1)
    assert split.equals(split_tune_test(gold, seed=1))
    assert (split[:10] == "tune").sum() == 5 and (split[10:] == "tune").sum() == 3


def test_match_gold_reports_missing_reasons():
    gold = pd.DataFrame({"item_id": ["x/a.txt", "x/b.txt", "x/c.txt", "x/d.txt"]})
    articles = pd.DataFrame({"path": ["x/a.txt"], "doc_id": ["A"]})
    removed = pd.DataFrame({"path": ["x/b.txt"], "reason": ["too_short"]})
    quarantine = pd.DataFrame({"path": ["x/c.txt"], "reason": ["binary"]})
    matched, missing = match_gold(gold, articles, removed, quarantine)
    assert matched["doc_id"].tolist() == ["A"]
    assert missing == {"binary": 1, "not_in_corpus": 1, "too_short": 1}


def test_evaluate_end_to_end_small():
    docs = [f"d{i}" for i in range(8)]
    truth = [1, 1, 1, 0, 0, 0, 1, 0]
    score = [0.9, 0.8, 0.4, 0.6, 0.1, 0.2, 0.7, 0.3]
    topics = pd.DataFrame({"doc_id": docs, "label": "military", "score": score,
                           "predicted": [s >= 0.5 for s in score]})
    stance = pd.DataFrame({"doc_id": docs, "target": "taliban",
                           "label": ["none", "none", "neutral", "against", "none", "none", "none", "favor"]})
    gold = pd.DataFrame({"doc_id": docs, "item_id": docs, "stratum": ["s"] * 8,
                         "military": [str(t) for t in truth],
                         "stance_taliban": ["none", "none", "neutral", "against", "none", "neutral", "none", "none"]})
    crowd = pd.DataFrame({"doc_id": docs[:3], "target": "taliban", "label": ["neutral_or_none"] * 3})
    metrics, plots = evaluate(topics, stance, gold, crowd, ["military"], ["taliban"], CFG)
    m = metrics["topics"]["per_label"]["military"]
    assert (m["precision"], m["recall"], m["support"]) == (0.75, 0.75, 4)
    assert metrics["topics"]["macro_f1_ci"][0] <= 0.75 <= metrics["topics"]["macro_f1_ci"][1]
    assert metrics["stance"]["taliban"]["accuracy"] == 0.75
    assert metrics["stance"]["taliban"]["gold_distribution"]["none"] == 5
    assert metrics["stance_crowd"]["taliban"]["accuracy"] == 1.0
    assert set(plots) == {"confusion/topic_military.csv", "pr/military.csv", "confusion/stance_taliban.csv",
                          "confusion/crowd_taliban.csv"}
    assert metrics["topics_tuned"]["tune_items"] + metrics["topics_tuned"]["test_items"] == 8
    halves = metrics["stance"]["taliban"]["halves"]  # the topics' tune / test split, per stance target
    assert halves["tune"]["support"] == metrics["topics_tuned"]["tune_items"]
    assert halves["tune"]["support"] + halves["test"]["support"] == 8
    correct = sum(h["accuracy"] * h["support"] for h in halves.values())
    assert correct == pytest.approx(0.75 * 8)

    # The headline (what `dvc exp show` shows) is a handful of numbers taken from the report.
    top = headline(metrics)
    assert top["topics"] == {"macro_f1": metrics["topics"]["macro_f1"], "macro_f1_ci": metrics["topics"]["macro_f1_ci"],
                             "mean_ap": metrics["topics"]["mean_average_precision"], "f1": {"military": 0.75},
                             "test_half_macro_f1": metrics["topics_tuned"]["test_macro_f1_configured"],
                             "tune_half_macro_f1": metrics["topics_tuned"]["tune_macro_f1_configured"],
                             "tune_half_mean_ap": metrics["topics_tuned"]["tune_mean_ap"]}
    # The halves' F1 are the F1 of the configured predictions on each half.
    tuned = metrics["topics_tuned"]
    assert 0.0 <= tuned["tune_macro_f1_configured"] <= 1.0 and 0.0 < tuned["tune_mean_ap"] <= 1.0
    assert top["stance_dev_gold_small_sample"] == {
        "taliban": {"macro_f1": metrics["stance"]["taliban"]["macro_f1"], "tune_macro_f1": halves["tune"]["macro_f1"]}}
    assert top["stance_crowd"] == {"taliban": metrics["stance_crowd"]["taliban"]["macro_f1"]}


def test_a_gold_too_small_for_a_tune_half_still_evaluates():
    # One item per stratum: the seeded halves put it in `test`, the tune half is empty.
    topics = pd.DataFrame({"doc_id": ["a"], "label": "military", "score": [0.9], "predicted": [True]})
    stance = pd.DataFrame({"doc_id": ["a"], "target": "taliban", "label": ["none"]})
    gold = pd.DataFrame({"doc_id": ["a"], "item_id": ["a"], "stratum": ["s"], "military": ["1"],
                         "stance_taliban": ["none"]})
    crowd = pd.DataFrame({"doc_id": [], "target": [], "label": []})
    metrics, _ = evaluate(topics, stance, gold, crowd, ["military"], ["taliban"], CFG)
    tuned = metrics["topics_tuned"]
    assert tuned["tune_items"] == 0 and tuned["tune_macro_f1_configured"] is None and tuned["tune_mean_ap"] is None
    assert tuned["test_macro_f1_configured"] == 1.0
    assert headline(metrics)["topics"]["tune_half_macro_f1"] is None


def test_labels_and_targets_without_gold_are_reported_not_dropped(caplog):
    docs = [f"d{i}" for i in range(4)]
    topics = pd.concat([
        pd.DataFrame({"doc_id": docs, "label": "military", "score": [0.9, 0.1, 0.8, 0.2],
                      "predicted": [True, False, True, False]}),
        pd.DataFrame({"doc_id": docs, "label": "economy", "score": [0.9, 0.1, 0.1, 0.1],
                      "predicted": [True, False, False, False]})])
    stance = pd.DataFrame({"doc_id": docs, "target": "imf", "label": ["none", "favor", "none", "none"]})
    gold = pd.DataFrame({"doc_id": docs, "item_id": docs, "stratum": ["s"] * 4, "military": ["1", "0", "1", "0"]})
    crowd = pd.DataFrame(columns=["doc_id", "target", "label"])
    with caplog.at_level("WARNING"):
        metrics, _ = evaluate(topics, stance, gold, crowd, ["military", "economy"], ["imf"], CFG)
    assert metrics["unevaluated"] == {
        "topic:economy": {"reason": "no gold column", "predicted_share": 0.25},
        "stance:imf": {"reason": "no gold column", "discussed_share": 0.25}}
    assert "economy" in caplog.text and "imf" in caplog.text
    assert list(metrics["topics"]["per_label"]) == ["military"]


def _two_docs():
    topics = pd.DataFrame({"doc_id": ["a", "a", "b", "b"], "label": ["military", "diplomacy"] * 2,
                           "score": [0.9, 0.1, 0.2, 0.8], "predicted": [True, False, False, True]})
    stance = pd.DataFrame({"doc_id": ["a", "b"], "target": "taliban", "label": ["neutral", "none"]})
    return topics, stance


def test_a_corpus_without_gold_items_is_evaluated_without_failing():
    """A researcher's own corpus: no dev-gold item matches; evaluate says so and goes on."""
    topics, stance = _two_docs()
    gold = pd.DataFrame({"item_id": ["x"], "doc_id": ["not-in-corpus"], "military": ["1"], "diplomacy": ["0"],
                         "stance_taliban": ["none"]})
    metrics, plots = evaluate(topics, stance, gold, pd.DataFrame(columns=["doc_id", "target", "label"]),
                              ["military", "diplomacy"], ["taliban"], CFG)
    assert metrics["dev_gold"] == {"skipped": "no gold item is in the corpus"}
    assert "topics" not in metrics and metrics["stance"] == {} and plots == {}
    assert "unevaluated" not in metrics
    headline(metrics)  # renders


def test_topic_only_and_stance_only_rows_count_only_for_what_they_label():
    topics, stance = _two_docs()
    gold = pd.DataFrame({"item_id": ["a", "b"], "doc_id": ["a", "b"], "military": ["1", ""],
                         "diplomacy": ["0", ""], "stance_taliban": ["", "none"]})
    metrics, _ = evaluate(topics, stance, gold, pd.DataFrame(columns=["doc_id", "target", "label"]),
                          ["military", "diplomacy"], ["taliban"], CFG)
    assert metrics["topics"]["items"] == 1  # b labels stance only
    assert metrics["stance"]["taliban"]["support"] == 1  # a labels topics only


def test_summary_logs_a_stance_gold_target_missing_from_one_half(caplog):
    from zeroshot_news.evaluation.evaluate import log_summary

    half = {"macro_f1": 0.5, "macro_f1_ci": [0.4, 0.6]}
    metrics = {"gold": {"matched": 0, "missing": {}}, "topics": {}, "stance": {}, "stance_crowd": {},
               "stance_gold": {"targets": {"nato": {"test": None, "tune": half}},
                               "pooled": {"test": half, "tune": None}}}
    with caplog.at_level("INFO", logger="zeroshot_news.evaluation.evaluate"):
        log_summary(metrics)
    assert "nato" in caplog.text and "test macro-F1 None" in caplog.text and "(tune 0.5)" in caplog.text
