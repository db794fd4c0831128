from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.fakes import KeywordScorer, count_words, cut_words, section
from zeroshot_news.config import PassageConfig, StanceConfig, StanceTarget
from zeroshot_news.corpus.passages import split_passages
from zeroshot_news.zeroshot.stance import alias_pattern, classify_stance, decide_none, target_hypotheses

TEMPLATES = {"favor": ["This text supports {}."], "against": ["This text criticizes {}."],
             "neutral": ["This text reports on {} neutrally."]}
TARGETS = [StanceTarget("russia", "the Russian government", ["Kremlin", "Moscow"]),
           StanceTarget("taliban", "the Taliban", ["Taliban"])]

NO_OVERLAP = section(PassageConfig, "passages", overlap_sentences=0)


def _cfg(**kw) -> StanceConfig:
    """The conf/ stance section on the test targets; passage units, no attribution rule and the
    mean unless a test asks otherwise (the tests of those options pass them)."""
    fields = {"targets": TARGETS, "templates": TEMPLATES, "unit": "passage", "attribution": "keep",
              "passage_aggregate": "mean", "none_rule": "alias_and_relevance", "uncertain_labels": []} | kw
    return section(StanceConfig, "stance", **fields)


def _articles():
    return pd.DataFrame({"doc_id": ["a", "b"], "title": ["Kremlin", "Weather"], "body": [
        "The Kremlin was condemned for the crackdown. Nothing else happened today.",
        "Rain is expected tomorrow across the region."]})


def test_alias_rule_none_and_passage_scores():
    scorer = KeywordScorer({"criticizes": "condemned", "supports": "praised", "neutrally": "reported"})
    res = classify_stance(_articles(), scorer, _cfg(none_rule="alias"), NO_OVERLAP, progress=False)
    s = res.stance.set_index(["doc_id", "target"])
    assert s.loc[("a", "russia"), "label"] == "against"
    assert s.loc[("a", "russia"), "against"] > s.loc[("a", "russia"), "favor"]
    assert s.loc[("a", "taliban"), "label"] == "none" and pd.isna(s.loc[("a", "taliban"), "favor"])
    assert s.loc[("b", "russia"), "label"] == "none"
    detail = json.loads(s.loc[("a", "russia"), "passage_scores"])
    assert detail and set(detail[0]) == {"passage", "favor", "against", "neutral"}
    assert sum(detail[0][c] for c in ("favor", "against", "neutral")) == pytest.approx(1.0, abs=1e-5)
    assert res.report["label_counts"]["russia"]["against"] == 1
    # Only passages mentioning an alias were scored, without a relevance hypothesis.
    assert all(h == 3 for _, h in scorer.calls)


def test_default_rule_needs_a_mention_and_relevance():
    # Mentioned *and* about the target (the default before roles; with roles the default is
    # role_or_relevant_alias, tested below).
    cfg = _cfg()
    assert (cfg.none_rule, cfg.relevance_threshold) == ("alias_and_relevance", 0.4)
    scorer = KeywordScorer({"about the Russian": "crackdown", "criticizes": "condemned"})
    s = classify_stance(_articles(), scorer, cfg, NO_OVERLAP, progress=False).stance.set_index(["doc_id", "target"])
    assert s.loc[("a", "russia"), "label"] == "against"  # mentioned, and a passage is about it
    off_topic = pd.DataFrame({"doc_id": ["c"], "title": [""], "body": ["Moscow weather: rain expected today."]})
    s = classify_stance(off_topic, scorer, cfg, NO_OVERLAP, progress=False).stance.set_index(["doc_id", "target"])
    assert s.loc[("c", "russia"), "label"] == "none"  # an alias, but nothing about the target


def test_relevance_rule_scores_all_passages():
    scorer = KeywordScorer({"about": "rain"})
    res = classify_stance(_articles(), scorer, _cfg(none_rule="relevance", relevance_threshold=0.5),
                          NO_OVERLAP, progress=False)
    s = res.stance.set_index(["doc_id", "target"])
    assert s.loc[("b", "russia"), "label"] != "none"  # 'about' hypothesis fired on the rain text
    assert s.loc[("a", "russia"), "label"] == "none"  # mentioned, but relevance 0.1 < 0.5
    assert s.loc[("b", "russia"), "relevance"] == pytest.approx(0.9)


def test_description_is_the_relevance_topic_and_display_the_stance_topic():
    described = StanceTarget("west", "Western governments", ["UK"], description="the US or UK government")
    classes, texts = target_hypotheses(_cfg(), described)
    assert classes[-1] == "relevance" and texts[-1] == "This text is about the US or UK government."
    assert texts[:-1] == ["This text supports Western governments.", "This text criticizes Western governments.",
                          "This text reports on Western governments neutrally."]
    assert target_hypotheses(_cfg(), TARGETS[0])[1][-1] == "This text is about the Russian government."
    # The description decides relevance: a passage about the UK government is relevant to it.
    scorer = KeywordScorer({"about the US or UK": "ministers"})
    arts = pd.DataFrame({"doc_id": ["d"], "title": [""], "body": ["UK ministers met today."]})
    cfg = section(StanceConfig, "stance", targets=[described], templates=TEMPLATES)
    s = classify_stance(arts, scorer, cfg, NO_OVERLAP, progress=False).stance
    assert s.loc[0, "label"] != "none" and s.loc[0, "relevance"] == pytest.approx(0.9)


def test_a_description_sizes_passages_only_under_a_relevance_rule():
    from zeroshot_news.zeroshot.stance import stance_passages

    long = StanceTarget("russia", "the Russian government", ["Kremlin"], description=" ".join(["officials"] * 40))
    arts = pd.DataFrame({"doc_id": ["a"], "title": [""], "body": [" ".join(["The Kremlin spoke today."] * 30)]})
    split = section(PassageConfig, "passages", overlap_sentences=0)

    class PairBudgetScorer(KeywordScorer):  # a cross-encoder's window: passage + hypothesis
        def split(self, text, hypotheses, overlap, segment=None):
            room = self.budget - max(self.count_tokens(hypotheses))
            return split_passages(text, room, count_words, cut_words, overlap, segment)

    def n_passages(target, rule):
        cfg = _cfg(targets=[target], none_rule=rule)
        return len(stance_passages(arts, PairBudgetScorer({}, budget=64), cfg, split, progress=False))

    plain = StanceTarget("russia", "the Russian government", ["Kremlin"])
    assert n_passages(long, "alias") == n_passages(plain, "alias")  # never asked: no effect
    assert n_passages(long, "alias_and_relevance") > n_passages(plain, "alias_and_relevance")


@pytest.mark.parametrize("rule, mentioned, relevance, none", [
    ("alias", False, None, True), ("alias", True, None, False),
    ("relevance", True, 0.2, True), ("relevance", False, 0.7, False),
    ("alias_or_relevance", False, 0.7, False), ("alias_or_relevance", False, 0.2, True),
    ("alias_and_relevance", True, 0.2, True), ("alias_and_relevance", True, 0.7, False),
])
def test_decide_none(rule, mentioned, relevance, none):
    assert decide_none(_cfg(none_rule=rule), mentioned, relevance) is none


def test_alias_pattern_whole_words_and_case():
    pat = alias_pattern(StanceTarget("w", "the West", ["US", "U.S.", "the West"]), case_sensitive=True)
    assert pat.search("the U.S. said") and pat.search("US troops") and pat.search("the West")
    assert not pat.search("used by us") and not pat.search("the Westminster vote")
    insensitive = alias_pattern(TARGETS[0], case_sensitive=False)
    assert insensitive.search("the kremlin said")


# --- sentence units, attributed speech, roles, votes, margins (issues 23 and 24) ----------


def _russia_doc(body: str) -> pd.DataFrame:
    return pd.DataFrame({"doc_id": ["d"], "title": [""], "body": [body]})


SIDE_WORDS = KeywordScorer({"criticizes": "brutal", "supports": "praised", "neutrally": "visited"})


def test_sentence_units_score_only_sentences_that_name_the_target():
    body = ("The Kremlin visited the region. The weather was brutal all week. "
            "Farmers praised the rain.")
    cfg = _cfg(none_rule="alias", unit="sentence")
    s = classify_stance(_russia_doc(body), SIDE_WORDS, cfg, NO_OVERLAP, progress=False).stance.set_index("target")
    # One mentioning sentence ("visited": neutral); the brutal weather and the praise are not about it.
    assert s.loc["russia", "label"] == "neutral" and s.loc["russia", "n_mentions"] == 1
    passage_mode = classify_stance(_russia_doc(body), SIDE_WORDS, _cfg(none_rule="alias"), section(
        PassageConfig, "passages", overlap_sentences=0), progress=False).stance.set_index("target")
    assert passage_mode.loc["russia", "n_mentions"] == 1  # one passage holds all three sentences


def test_attributed_criticism_is_neutral_when_skipped_and_a_side_when_kept():
    body = 'Critics said the Kremlin was brutal. The Kremlin visited the region.'
    kept = _cfg(none_rule="alias", unit="sentence", passage_aggregate="max")
    skip = _cfg(none_rule="alias", unit="sentence", passage_aggregate="max", attribution="skip")
    s_keep = classify_stance(_russia_doc(body), SIDE_WORDS, kept, NO_OVERLAP, progress=False).stance
    s_skip = classify_stance(_russia_doc(body), SIDE_WORDS, skip, NO_OVERLAP, progress=False).stance
    assert s_keep.set_index("target").loc["russia", "label"] == "against"
    row = s_skip.set_index("target").loc["russia"]
    assert row["label"] == "neutral"
    weights = [u["weight"] for u in json.loads(row["passage_scores"])]
    assert sorted(weights) == [0.0, 1.0]  # the attributed sentence still counts as a mention


def test_everything_attributed_is_neutral_not_none():
    body = 'Critics said the Kremlin was brutal.'
    cfg = _cfg(none_rule="alias", unit="sentence", attribution="skip")
    row = classify_stance(_russia_doc(body), SIDE_WORDS, cfg, NO_OVERLAP, progress=False).stance.set_index(
        "target").loc["russia"]
    assert row["label"] == "neutral"


def test_vote_takes_the_side_most_sentences_take():
    body = ("The Kremlin was brutal. The Kremlin was brutal again. The Kremlin was praised once. "
            "The Kremlin visited.")
    cfg = _cfg(none_rule="alias", unit="sentence", passage_aggregate="vote")
    row = classify_stance(_russia_doc(body), SIDE_WORDS, cfg, NO_OVERLAP, progress=False).stance.set_index(
        "target").loc["russia"]
    assert row["label"] == "against"
    tie = "The Kremlin was brutal. The Kremlin was praised."
    row = classify_stance(_russia_doc(tie), SIDE_WORDS, cfg, NO_OVERLAP, progress=False).stance.set_index(
        "target").loc["russia"]
    assert row["label"] == "neutral"  # a tie takes no side


def test_a_role_alone_means_discussed_under_the_role_rule():
    targets = [StanceTarget("russia", "the Russian government", ["Russia"], roles=["Kremlin"])]
    cfg = _cfg(targets=targets, none_rule="role_or_relevant_alias")
    scorer = KeywordScorer({"about": "sanctions", "neutrally": "visited"})  # relevance: only 'sanctions'
    docs = pd.DataFrame({"doc_id": ["role", "alias", "alias_rel"], "title": "", "body": [
        "The Kremlin visited.", "Russia has snow.", "Russia faces sanctions."]})
    s = classify_stance(docs, scorer, cfg, NO_OVERLAP, progress=False).stance.set_index("doc_id")["label"]
    assert s["role"] != "none"  # a role: discussed without relevance
    assert s["alias"] == "none"  # a country name alone, not about the target
    assert s["alias_rel"] != "none"  # a country name in a passage about the target


def test_every_decision_carries_its_margin_and_low_margins_are_flagged():
    body = "The Kremlin was brutal."
    loose = _cfg(none_rule="alias", uncertain_margin=0.0)
    strict = _cfg(none_rule="alias", uncertain_margin=1.0)
    row = classify_stance(_russia_doc(body), SIDE_WORDS, loose, NO_OVERLAP, progress=False).stance.set_index(
        "target")
    r = row.loc["russia"]
    top = sorted([r["favor"], r["against"], r["neutral"]], reverse=True)
    assert r["margin"] == pytest.approx(top[0] - top[1], abs=1e-6) and not r["uncertain"]
    assert pd.isna(row.loc["taliban", "margin"]) and not row.loc["taliban", "uncertain"]  # none: no margin
    r = classify_stance(_russia_doc(body), SIDE_WORDS, strict, NO_OVERLAP, progress=False).stance.set_index(
        "target").loc["russia"]
    assert r["uncertain"]


def test_a_side_call_needs_its_lead_over_neutral():
    # Mean of the sentences' scores: favor leads neutral by about 0.36 (praised / praised and visited).
    def label(body: str, **lead) -> str:
        cfg = _cfg(none_rule="alias", unit="sentence", **lead)
        return classify_stance(_russia_doc(body), SIDE_WORDS, cfg, NO_OVERLAP, progress=False).stance.set_index(
            "target").loc["russia", "label"]

    mixed = "The Kremlin was praised. The Kremlin was praised and visited."
    assert label(mixed, favor_lead=0.0) == "favor"
    assert label(mixed, favor_lead=0.25) == "favor"
    assert label(mixed, favor_lead=0.5) == "neutral"  # neutral, not the other side
    assert label("The Kremlin was praised.", favor_lead=0.5) == "favor"  # a clear call passes
    against = "The Kremlin was brutal. The Kremlin was brutal and visited."
    assert label(against, favor_lead=0.5) == "against"  # the favor lead leaves against alone
    assert label(against, against_lead=0.5) == "neutral"
