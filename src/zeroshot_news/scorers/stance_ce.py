"""The ``stance`` backend: a trained 3-way stance cross-encoder (models/stance-minilm).

The model reads ``[CLS] passage [SEP] target [SEP]`` and gives favor / against / neutral
(softmax over its three logits). It fits the :class:`~.base.PairScorer` contract through
tagged hypotheses: ``"[favor] the Kremlin"`` scores p(favor | passage, "the Kremlin"),
likewise ``[against]`` and ``[neutral]``; ``"[relevant] X"`` scores 1 - p(neutral), the
model's view of whether the passage takes a position on X (for relevance rules and the
VAST benchmark's best passage). ``conf/stance/trained.yaml`` writes the stance
templates this way, so the stance stage's rule becomes: the three probabilities per
mentioning passage, their mean over passages, argmax. Each distinct (passage, target)
pair runs once however many tags ask for it, and scores go through the score cache
like any backend's. Everything else (token-id assembly, length-sorted batches, ONNX
Runtime on the CPU) is the ``nli`` backend's (:class:`~.fast_nli.FastNLIScorer`).
A model whose config lacks the labels favor, against and neutral is refused at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from zeroshot_news.config import ConfigError
from zeroshot_news.decisions import STANCE_CLASSES
from zeroshot_news.scorers.fast_nli import FastNLIScorer

CLASSES = STANCE_CLASSES
TAGGED = re.compile(r"\[(favor|against|neutral|relevant)\] (.+)", re.DOTALL)


def stance_ids(label2id: dict[str, int], key: str = "model.name_or_path") -> list[int]:
    """Head ids of favor, against, neutral (by name, case-insensitive)."""
    by_name = {name.lower(): int(i) for name, i in label2id.items()}
    missing = [c for c in CLASSES if c not in by_name]
    if missing:
        raise ConfigError(f"{key}: the stance backend needs a model with the labels favor, against, neutral "
                          f"(labels: {sorted(label2id)}); train one with `python -m zeroshot_news train_stance`")
    return [by_name[c] for c in CLASSES]


def parse_hypothesis(hypothesis: str) -> tuple[str, str]:
    """(tag, target) of a tagged hypothesis such as ``"[favor] the Kremlin"``."""
    m = TAGGED.fullmatch(hypothesis)
    if m is None:
        raise ValueError(f"stance backend: hypothesis {hypothesis!r} is not tagged '[favor|against|neutral|relevant] "
                         "TARGET' (use conf/stance/trained.yaml's templates)")
    return m.group(1), m.group(2)


class StanceScorer(FastNLIScorer):
    """:class:`~.base.PairScorer` for ``backend: stance`` (tagged hypotheses; see the module docstring)."""

    RULE = "stance-3way-softmax"

    def _read_labels(self, label2id: dict[str, int]) -> None:
        self.class_ids = stance_ids(label2id)

    MEMO_SIZE = 50_000  # recent (passage, target, truncate) probabilities kept in memory

    def probabilities(self, passages: Sequence[str], targets: Sequence[str], truncate: bool = False) -> np.ndarray:
        """[P, T, 3] favor / against / neutral probabilities of every (passage, target) pair.

        Recent pairs are remembered, so a relevance call and the class call that follows
        it on the same passage (the VAST benchmark's pattern) run the model once."""
        memo = self.__dict__.setdefault("_memo", {})
        keys = [(p, t, truncate) for p in passages for t in targets]
        todo = list(dict.fromkeys(k for k in keys if k not in memo))
        if todo:
            logits = self.logits([k[0] for k in todo], [k[1] for k in todo], desc="stance",
                                 truncate=truncate).astype(np.float64)
            logits = logits[:, self.class_ids]
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            if len(memo) + len(todo) > self.MEMO_SIZE:
                memo.clear()
            memo.update(zip(todo, probs, strict=True))
            found = dict(zip(todo, probs, strict=True))
        else:
            found = {}
        out = np.array([found[k] if k in found else memo[k] for k in keys]).reshape(-1, len(CLASSES))
        return out.reshape(len(passages), len(targets), len(CLASSES))

    def score(self, passages: Sequence[str], hypotheses: Sequence[str], truncate: bool = False) -> np.ndarray:
        parsed = [parse_hypothesis(h) for h in hypotheses]
        targets = sorted({t for _, t in parsed})
        column = {t: j for j, t in enumerate(targets)}
        probs = self.probabilities(passages, targets, truncate)
        out = np.zeros((len(passages), len(hypotheses)))
        for j, (tag, target) in enumerate(parsed):
            p = probs[:, column[target]]
            out[:, j] = 1.0 - p[:, 2] if tag == "relevant" else p[:, CLASSES.index(tag)]
        return out
