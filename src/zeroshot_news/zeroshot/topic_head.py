"""A topic head fitted without labels: self-training on frozen passage embeddings.

Zero-shot signal per passage and label (the *contrast*): the best cosine between the
passage and the label's descriptions minus the best cosine to the taxonomy's
``background`` descriptions (what the guidelines say gets no topic: domestic politics,
crime, economy, sport, ...). Ranking by the contrast is far better than by the raw
similarity (dev-gold tune half mean AP 0.84 vs 0.66), but it has no natural threshold.
So, per label and one-vs-rest (multi-label: most passages have no security topic), the
passages of the unlabeled pool with the highest contrast become pseudo-positives, those
with the lowest pseudo-negatives, and a logistic regression on the frozen embeddings
learns the label from them (Gera et al. 2022, "Zero-shot text classification with
self-training"). Its probability is the passage score; 0.5 is a threshold that needs no
gold. Further rounds re-label the pool with the head's own probabilities.

The head is plain arrays in JSON (no pickle), tied to the encoder's fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zeroshot_news.config import ConfigError

HEAD_FORMAT = 1
# Where the pipeline's self_train stage writes its head (dvc.yaml; a test keeps them equal):
# `classify` uses it by default.
PIPELINE_HEAD = Path("models/topic_head.json")
COEF_DECIMALS = 7  # rounding keeps the head file byte-stable across BLAS thread schedules


@dataclass(frozen=True)
class TopicHead:
    """One logistic regression per label over L2-normalised passage embeddings."""

    labels: tuple[str, ...]
    encoder: str  # fingerprint of the embedding model the head was fitted on
    coef: np.ndarray  # [labels, dim]
    intercept: np.ndarray  # [labels]
    info: dict[str, Any] = field(default_factory=dict)
    # A fine-tuned copy of the encoder the head scores with (self_train.encoder), as a folder
    # relative to the head file's; None: the configured model itself.
    encoder_model: str | None = None
    # That folder resolved against the head file's location (set by read_head; not written).
    encoder_dir: Path | None = field(default=None, compare=False)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """[P, dim] embeddings -> [P, labels] probabilities."""
        embeddings = np.asarray(embeddings, dtype=np.float64)
        if embeddings.ndim == 2 and len(embeddings) and embeddings.shape[1] != self.coef.shape[1]:
            raise ConfigError(f"topic head: fitted on {self.coef.shape[1]}-wide embeddings, the encoder gives "
                              f"{embeddings.shape[1]}; re-run the self_train stage for this model")
        z = embeddings @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        data = {"format": HEAD_FORMAT, "kind": "self_trained", "labels": list(self.labels),
                "encoder": self.encoder, "info": self.info,
                "intercept": [round(float(b), COEF_DECIMALS) for b in self.intercept],
                "coef": [[round(float(w), COEF_DECIMALS) for w in row] for row in self.coef]}
        if self.encoder_model is not None:
            data["encoder_model"] = self.encoder_model
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "head", folder: Path | None = None) -> TopicHead:
        """``folder``: where the head file lies (its ``encoder_model`` is resolved against it)."""
        if data.get("format") != HEAD_FORMAT or data.get("kind") != "self_trained":
            raise ValueError(f"{where}: not a self-trained topic head of format {HEAD_FORMAT}")
        coef = np.asarray(data["coef"], dtype=np.float64)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        labels = tuple(str(x) for x in data["labels"])
        if coef.ndim != 2 or coef.shape[0] != len(labels) or intercept.shape != (len(labels),):
            raise ValueError(f"{where}: coef/intercept shapes do not match its {len(labels)} labels")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError(f"{where}: non-finite weights")
        encoder_model = data.get("encoder_model")
        if encoder_model is not None and (not isinstance(encoder_model, str) or not encoder_model
                                          or Path(encoder_model).is_absolute() or ".." in Path(encoder_model).parts):
            raise ValueError(f"{where}: encoder_model must be a folder beside the head, got {encoder_model!r}")
        encoder_dir = None if encoder_model is None else (folder or Path(".")) / encoder_model
        return cls(labels, str(data["encoder"]), coef, intercept, dict(data.get("info", {})), encoder_model,
                   encoder_dir)


def zero_shot_marker(info: dict[str, Any]) -> dict[str, Any]:
    """What the self_train stage writes when ``rounds`` is 0: the topic stage scores zero-shot."""
    return {"format": HEAD_FORMAT, "kind": "zero_shot", "info": info}


def dump_head(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def read_head(path: Path | str) -> TopicHead | None:
    """The head at ``path``; None for a zero-shot marker. Fails clearly on anything else."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"topic head {path} does not exist: run `dvc repro self_train` (or zero-shot: "
                          "self_train.rounds=0)") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"topic head {path}: unreadable ({exc})") from exc
    if isinstance(data, dict) and data.get("kind") == "zero_shot":
        return None
    try:
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a topic head")
        head = TopicHead.from_dict(data, str(path), path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"topic head {path}: {exc}") from exc
    if head.encoder_dir is not None and not (head.encoder_dir / "config.json").is_file():
        raise ConfigError(f"topic head {path}: its fine-tuned encoder {head.encoder_dir} is missing (it is written "
                          "with the head by the self_train stage: re-run it)")
    return head


def contrast(passages: np.ndarray, label_descriptions: Sequence[np.ndarray], background: np.ndarray) -> np.ndarray:
    """[P, L]: best cosine to each label's descriptions minus best cosine to the background.

    All inputs are L2-normalised embeddings; without background descriptions the raw best
    cosine is returned."""
    best = np.stack([(passages @ d.T).max(axis=1) for d in label_descriptions], axis=1).astype(np.float64)
    if len(background):
        best -= (passages @ background.T).max(axis=1, keepdims=True)
    return best


def pseudo_labels(signal: np.ndarray, positive_fraction: float, negative_fraction: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Indices and 0/1 targets: the top ``positive_fraction`` of ``signal`` positive, the
    bottom ``negative_fraction`` negative (ties broken by position: deterministic)."""
    n = len(signal)
    order = np.argsort(-signal, kind="stable")
    n_pos = max(1, int(positive_fraction * n))
    n_neg = max(1, min(int(negative_fraction * n), n - n_pos))
    idx = np.concatenate([order[:n_pos], order[n - n_neg:]])
    return idx, np.concatenate([np.ones(n_pos), np.zeros(n_neg)])


def pseudo_label_matrix(proba: np.ndarray, positive_fraction: Sequence[float], negative_fraction: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """[P, L] 0/1 targets and [P, L] mask: per label, :func:`pseudo_labels` on ``proba[:, j]``
    (its top ``positive_fraction[j]`` positive, bottom ``negative_fraction`` negative); the
    other passages are unlabelled for that label (mask 0)."""
    targets = np.zeros(proba.shape)
    mask = np.zeros(proba.shape)
    for j in range(proba.shape[1]):
        idx, y = pseudo_labels(proba[:, j], float(positive_fraction[j]), negative_fraction)
        targets[idx, j], mask[idx, j] = y, 1.0
    return targets, mask


def fit_head(embeddings: np.ndarray, signal: np.ndarray, labels: Sequence[str], encoder: str, *,
             rounds: int, positive_fraction: float | Sequence[float], negative_fraction: float, C: float,
             seed: int, max_iter: int = 2000) -> TopicHead:
    """Self-train one logistic regression per label on the pool's passage embeddings.

    ``signal`` [P, L] ranks the pool for the first round; later rounds rank by the
    previous round's probabilities. ``positive_fraction``: one share for every label, or one
    per label."""
    from sklearn.linear_model import LogisticRegression

    if rounds < 1:
        raise ValueError("rounds must be >= 1 to fit a head")
    X = np.asarray(embeddings, dtype=np.float64)
    if len(X) < 4:
        raise ValueError(f"self-training needs a pool of passages, got {len(X)}")
    coef = np.zeros((len(labels), X.shape[1]))
    intercept = np.zeros(len(labels))
    counts: dict[str, dict[str, int]] = {}
    fractions = np.broadcast_to(np.asarray(positive_fraction, dtype=np.float64), (len(labels),))
    for _ in range(rounds):
        for j, label in enumerate(labels):
            idx, y = pseudo_labels(signal[:, j], float(fractions[j]), negative_fraction)
            clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(X[idx], y)
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
            counts[label] = {"positive": int(y.sum()), "negative": int(len(y) - y.sum())}
        coef, intercept = np.round(coef, COEF_DECIMALS), np.round(intercept, COEF_DECIMALS)
        head = TopicHead(tuple(labels), encoder, coef.copy(), intercept.copy())
        signal = head.predict_proba(X)
    pool_share = {lab: round(float((signal[:, j] >= 0.5).mean()), 4) for j, lab in enumerate(labels)}
    info = {"pool_passages": len(X), "rounds": rounds, "pseudo_labels": counts,
            "pool_predicted_share": pool_share}
    return TopicHead(tuple(labels), encoder, coef, intercept, info)


def fit_head_on_labels(embeddings: np.ndarray, targets: dict[str, tuple[np.ndarray, np.ndarray]], encoder: str, *,
                       C: float, seed: int, max_iter: int = 2000) -> TopicHead:
    """One logistic regression per label on given (passage indices, 0/1 targets): the
    few-shot head (``self_train.labels_from: gold``), fitted on annotated items."""
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(embeddings, dtype=np.float64)
    labels = list(targets)
    coef = np.zeros((len(labels), X.shape[1]))
    intercept = np.zeros(len(labels))
    counts: dict[str, dict[str, int]] = {}
    for j, label in enumerate(labels):
        idx, y = targets[label]
        if len(np.unique(y)) < 2:
            raise ValueError(f"few-shot head: label {label!r} needs annotated positives and negatives, "
                             f"got {int(y.sum())} positive of {len(y)} passages")
        # Balanced: one passage per positive article against every passage of the negative
        # ones; unweighted, 0.5 would sit far out in the positives' tail.
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed, class_weight="balanced").fit(X[idx], y)
        coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        counts[label] = {"positive": int(y.sum()), "negative": int(len(y) - y.sum())}
    info = {"labels_from": "gold", "training_passages": counts}
    return TopicHead(tuple(labels), encoder, np.round(coef, COEF_DECIMALS), np.round(intercept, COEF_DECIMALS), info)


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardise each column over the rows (a label's scores over the pool)."""
    return (x - x.mean(axis=0)) / np.clip(x.std(axis=0), 1e-12, None)


def self_train_single_label(embeddings: np.ndarray, signal: np.ndarray, *, rounds: int, top_fraction: float,
                            C: float, seed: int, max_iter: int = 2000):
    """Single-label self-training (Gera et al. 2022): per predicted class, the items with the
    largest margin (best minus second-best z-scored signal) become pseudo-labelled; a
    multinomial logistic regression on the embeddings re-labels the pool; ``rounds`` times.
    Returns the fitted classifier (in memory only)."""
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(embeddings, dtype=np.float64)
    current = zscore(np.asarray(signal, dtype=np.float64))
    clf = None
    for _ in range(rounds):
        predicted = current.argmax(axis=1)
        top2 = np.sort(current, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        chosen = []
        for k in range(current.shape[1]):
            members = np.flatnonzero(predicted == k)
            order = members[np.argsort(-margin[members], kind="stable")]
            chosen.extend(order[: max(1, int(top_fraction * len(members)))])
        idx = np.array(sorted(chosen))
        if len(np.unique(predicted[idx])) < 2:
            raise ValueError("self-training needs pseudo-labels of at least two classes")
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(X[idx], predicted[idx])
        proba = np.zeros_like(current)
        proba[:, clf.classes_] = clf.predict_proba(X)
        current = proba
    return clf


def sharpened_targets(p: np.ndarray) -> np.ndarray:
    """LOTClass's self-training targets (Meng et al. 2020), per label as a binary distribution:
    q = (p^2 / f) / (p^2 / f + (1 - p)^2 / (1 - f)), f the label's mean p over the pool.
    Confident passages are pulled further and a frequent label is held back; unlike hard
    pseudo-labels (which a fine-tuned model already fits: a second hard round started at loss
    0.001 and barely moved), every passage carries a target the model does not yet meet."""
    f = np.clip(p.mean(axis=0, keepdims=True), 1e-6, 1 - 1e-6)
    positive, negative = p**2 / f, (1 - p) ** 2 / (1 - f)
    return positive / np.maximum(positive + negative, 1e-12)


def sharpened_distribution(p: np.ndarray) -> np.ndarray:
    """:func:`sharpened_targets` for single-label data (AG News' folds): LOTClass's
    q_ic = (p_ic^2 / f_c) / sum_c' (p_ic'^2 / f_c'), f_c class c's mean p over the texts;
    p: [texts, classes] rows summing to 1."""
    f = np.clip(p.mean(axis=0, keepdims=True), 1e-6, None)
    q = p**2 / f
    return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
