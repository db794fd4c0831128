"""VAST (issue 24): does a small stacker on the trained model's probabilities plus topic-post
relatedness features beat the fitted decision values? A diagnostic, fitted on VAST train's
HELD-OUT topics only (the items `scripts/fit_vast_trained.py` fits the decision values on; the
stance model never trained on them).

Design, fixed before the first run:
* features per (post, topic) item: the trained cross-encoder's p(pro), p(con), p(neutral) on
  the post's clearest passage (what `vast_trained` decides on); `overlap`, the share of the
  topic's content words (lower-cased, stop words dropped, first 5 letters as a crude stem)
  found in the post; `emb_relevance`, the MiniLM embedding backend's calibrated relevance of
  "This text is about {topic}." (the template benchmark's relevance);
* models: multinomial logistic regression on standardised features, C in {0.1, 1, 10};
  variants: the CE probabilities alone (a recalibration), + overlap, + emb_relevance, + both;
* criterion: macro-F1 over 5 folds grouped by topic (seeded) on the held-out items, against
  the decision values (related_threshold / neutral_margin) re-fitted inside each training fold;
  adopt (build into the benchmark) only if the best variant's cross-fitted macro-F1 beats the
  decision values' by a paired-bootstrap interval that excludes zero;
* VAST test is scored once, for the decision values and the best variant, after the choice
  (`--read-test`), and chooses nothing.

    python research/vast_stacker.py              # cross-fitted table on the held-out topics
    python research/vast_stacker.py --read-test  # + the chosen variant on VAST test, once
"""

from __future__ import annotations

import argparse
import itertools
import re

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.evaluation.benchmarks.common import classification_metrics
from zeroshot_news.evaluation.benchmarks.vast import CLASSES, decide, load, score_items
from zeroshot_news.metrics import bootstrap_ci
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.training.stance import split_by_topic, vast_items

STOP = frozenset((
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "at", "from", "as", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "not", "no", "do",
    "does", "did", "have", "has", "had", "will", "would", "should", "can", "could", "may", "might", "must",
    "about", "into", "over", "under", "than", "then", "so", "such", "their", "there", "they", "them", "he",
    "she", "his", "her", "we", "our", "you", "your", "i", "my", "me", "us", "who", "whom", "which", "what",
    "when", "where", "why", "how", "all", "any", "some", "more", "most", "other", "own", "same", "very",
    "just", "also", "only",
))
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.0, 1.0001, 0.05))
MARGINS = tuple(round(x, 2) for x in np.arange(0.0, 0.6001, 0.05))
VARIANTS = {
    "ce": ["pro", "con", "neutral"],
    "ce+overlap": ["pro", "con", "neutral", "overlap"],
    "ce+emb": ["pro", "con", "neutral", "emb_relevance"],
    "ce+overlap+emb": ["pro", "con", "neutral", "overlap", "emb_relevance"],
}
CS = (0.1, 1.0, 10.0)
SEED = 0


def stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP and len(w) > 1}


def overlap(topic: str, post: str) -> float:
    wanted = stems(topic)
    return len(wanted & stems(post)) / len(wanted) if wanted else 0.0


def build_scorers(trained) -> tuple:
    """The trained cross-encoder (``trained``'s VAST setup) and the default embedding backend, each
    with the config it is scored under; built once, whatever is scored with them."""
    default = parse_config(compose_config("conf", []))
    return ((trained, build_scorer(trained.stance_model(), progress=True, cache=trained.cache)),
            (default, build_scorer(default.model, progress=True, cache=default.cache)))


def features(items: pd.DataFrame, scorers) -> pd.DataFrame:
    """Score ``items`` with the trained model and the embedding backend; one row per item."""
    (ce_cfg, ce_scorer), (emb_cfg, emb_scorer) = scorers
    ce, _ = score_items(items, ce_cfg.benchmarks["vast"], ce_scorer, ce_cfg.passages.overlap_sentences)
    emb, _ = score_items(items, emb_cfg.benchmarks["vast"], emb_scorer, emb_cfg.passages.overlap_sentences)
    out = ce[["item_id", "gold", "seen", "topic", "pro", "con", "neutral", "relevance"]].copy()
    out["emb_relevance"] = emb["relevance"].to_numpy()
    out["overlap"] = [overlap(t, p) for t, p in zip(items["topic"], items["post"], strict=True)]
    return out


def fit_rule(frame: pd.DataFrame) -> tuple[float, float]:
    best = max((classification_metrics(list(frame["gold"]), decide(frame, t, m), CLASSES)["macro_f1"], -t, -m)
               for t, m in itertools.product(THRESHOLDS, MARGINS))
    return -best[1], -best[2]


def stacker(c: float):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))


def cross_fit(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Out-of-fold predictions of the rule and of every (variant, C), folds grouped by topic."""
    folds = GroupKFold(n_splits=5, shuffle=True, random_state=SEED)
    preds: dict[str, np.ndarray] = {"rule": np.empty(len(frame), dtype=object)}
    preds |= {f"{v} C={c}": np.empty(len(frame), dtype=object) for v in VARIANTS for c in CS}
    for train_idx, test_idx in folds.split(frame, groups=frame["topic"]):
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        t, m = fit_rule(train)
        preds["rule"][test_idx] = decide(test, t, m)
        for (name, cols), c in itertools.product(VARIANTS.items(), CS):
            model = stacker(c).fit(train[cols], train["gold"])
            preds[f"{name} C={c}"][test_idx] = model.predict(test[cols])
    return preds


def paired_bootstrap(gold: np.ndarray, a: np.ndarray, b: np.ndarray, n: int = 1000) -> tuple[float, float, float]:
    """Macro-F1 of a minus b on the same items, and its 95 % interval over ``n`` item resamples."""
    def diff(i: np.ndarray) -> float:
        return (classification_metrics(list(gold[i]), list(a[i]), CLASSES)["macro_f1"]
                - classification_metrics(list(gold[i]), list(b[i]), CLASSES)["macro_f1"])
    lo, hi = bootstrap_ci(diff, len(gold), n, 0.95, SEED)
    return diff(np.arange(len(gold))), lo, hi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--read-test", action="store_true", help="score VAST test once with the chosen variant")
    args = ap.parse_args()
    cfg = parse_config(compose_config("conf", ["stance=trained", "benchmark@benchmarks.vast=vast_trained"]))
    training, bench = cfg.stance_training, cfg.benchmarks["vast"]
    _, held = split_by_topic(vast_items(training.data_path), training.holdout_topic_fraction, training.seed)
    held_topics = {it.target for it in held}
    train_items = load(bench, "train")
    held_items = train_items[train_items["topic"].isin(held_topics)].reset_index(drop=True)
    scorers = build_scorers(cfg)
    frame = features(held_items, scorers)
    print(f"held-out topics {len(held_topics)}, items {len(frame)}; gold {frame['gold'].value_counts().to_dict()}")
    preds = cross_fit(frame)
    gold = frame["gold"].to_numpy()
    scores = {k: classification_metrics(list(gold), list(p), CLASSES) for k, p in preds.items()}
    print("| decision (5 folds by topic, held-out VAST-train topics) | macro-F1 | pro / con / neutral F1 |")
    print("|---|---:|---|")
    for k, s in scores.items():
        pc = s["per_class_f1"]
        print(f"| {k} | {s['macro_f1']:.4f} | {pc['pro']:.3f} / {pc['con']:.3f} / {pc['neutral']:.3f} |")
    best = max((k for k in scores if k != "rule"), key=lambda k: scores[k]["macro_f1"])
    diff, lo, hi = paired_bootstrap(gold, preds[best], preds["rule"])
    print(f"best: {best}; minus the rule {diff:+.4f} [{lo:+.4f}, {hi:+.4f}] (paired bootstrap, 1,000)")
    if not args.read_test:
        return
    test_items = load(bench, "test")
    test = features(test_items, scorers)
    zs = test["seen"].to_numpy() == 0
    t, m = fit_rule(frame)
    rule_pred = np.array(decide(test, t, m), dtype=object)
    name, c = best.split(" C=")
    cols = VARIANTS[name]
    stack_pred = stacker(float(c)).fit(frame[cols], frame["gold"]).predict(test[cols])
    for label, pred in (("rule (as configured)", rule_pred), (best, stack_pred)):
        z = classification_metrics(list(test["gold"][zs]), list(pred[zs]), CLASSES)
        a = classification_metrics(list(test["gold"]), list(pred), CLASSES)
        print(f"VAST test, {label}: zero-shot macro-F1 {z['macro_f1']:.4f} {z['per_class_f1']}, "
              f"all {a['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
