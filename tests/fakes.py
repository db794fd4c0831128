"""A transparent PairScorer for stage tests: scores come from keywords, not a model."""

from __future__ import annotations

import numpy as np

from zeroshot_news.passages import lead_passage, split_passages

from .test_passages import count_words, cut_words


class KeywordScorer:
    """score = 0.9 when a hypothesis keyword occurs in the passage, else 0.1."""

    fingerprint = "keyword-scorer"

    def __init__(self, keywords: dict[str, str], budget: int = 30):
        self.keywords = keywords  # hypothesis substring -> passage keyword
        self.budget = budget
        self.calls: list[tuple[int, int]] = []

    def split(self, text, hypotheses, overlap):
        return split_passages(text, self.budget, count_words, cut_words, overlap)

    def lead(self, text, hypotheses):
        return lead_passage(text, self.budget, count_words, cut_words)

    def score(self, passages, hypotheses, truncate=False):
        self.calls.append((len(passages), len(hypotheses)))
        self.truncated = truncate
        out = np.full((len(passages), len(hypotheses)), 0.1)
        for j, hyp in enumerate(hypotheses):
            for marker, keyword in self.keywords.items():
                if marker in hyp:
                    out[:, j] = [0.9 if keyword in p.lower() else 0.1 for p in passages]
        return out
