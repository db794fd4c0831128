"""Attributed speech (guidelines §2): reported speech and quoted mentions are not the author's view."""

from __future__ import annotations

import pytest

from zeroshot_news.zeroshot.attribution import is_attributed


def _spans(text: str, word: str) -> list[tuple[int, int]]:
    start = text.index(word)
    return [(start, start + len(word))]


@pytest.mark.parametrize("text", [
    "The opposition said the Kremlin had lied.",
    "According to Western officials, the Kremlin planned the attack.",
    "Kyiv accused the Kremlin of aggression.",
    "Lavrov told reporters that talks would go on.",
])
def test_reporting_verbs_attribute(text):
    assert is_attributed(text, _spans(text, "Kremlin" if "Kremlin" in text else "Lavrov"))


def test_a_mention_inside_quotes_is_attributed():
    text = 'Protesters carried signs reading "Down with the Kremlin regime" all day.'
    assert is_attributed(text, _spans(text, "Kremlin"))


@pytest.mark.parametrize("text", [
    "The Kremlin's brutal crackdown continued for a third day.",
    'The Kremlin sent troops while protesters chanted "freedom" outside.',
])
def test_the_authors_own_sentence_is_not_attributed(text):
    assert not is_attributed(text, _spans(text, "Kremlin"))
