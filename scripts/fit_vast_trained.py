"""Decision values of VAST for the trained stance model, fitted on VAST train's HELD-OUT topics.

The model never trained on these topics (train_stance held them out whole), so they are the
fair place to fit ``related_threshold`` (on 1 - p(neutral)) and ``neutral_margin`` (|pro - con|)
for `benchmark@benchmarks.vast=vast_trained`; VAST test is never read here.

    python scripts/fit_vast_trained.py      # prints the grid's best values and their held-out macro-F1
    python scripts/fit_vast_trained.py model.name_or_path=DIR   # another trained model (overrides appended)
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.evaluation.benchmarks.common import classification_metrics
from zeroshot_news.evaluation.benchmarks.vast import CLASSES, decide, load, score_items
from zeroshot_news.scorers.build import build_scorer
from zeroshot_news.training.stance import split_by_topic, vast_items

THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.0, 1.0001, 0.05))
MARGINS = tuple(round(x, 2) for x in np.arange(0.0, 0.6001, 0.05))


def main() -> None:
    cfg = parse_config(compose_config("conf", ["stance=trained", "benchmark@benchmarks.vast=vast_trained",
                                               "benchmarks.vast.max_items=null", *sys.argv[1:]]))
    bench, training = cfg.benchmarks["vast"], cfg.stance_training
    _, held = split_by_topic(vast_items(training.data_path), training.holdout_topic_fraction, training.seed)
    held_topics = {it.target for it in held}
    items = load(bench, "train")
    items = items[items["topic"].isin(held_topics)].reset_index(drop=True)
    scorer = build_scorer(cfg.stance_model(), progress=True, cache=cfg.cache)
    scored, _ = score_items(items, bench, scorer, cfg.passages.overlap_sentences, progress=True)
    rows = []
    for threshold, margin in itertools.product(THRESHOLDS, MARGINS):
        f1 = classification_metrics(list(scored["gold"]), decide(scored, threshold, margin), CLASSES)["macro_f1"]
        rows.append((f1, -threshold, -margin))  # ties: the smaller values
    best = max(rows)
    argmax = classification_metrics(list(scored["gold"]), decide(scored, 0.0, 0.0), CLASSES)["macro_f1"]
    print(f"held-out topics: {len(held_topics)}, items: {len(scored)}; argmax macro-F1 {argmax:.4f}")
    print(f"best: related_threshold {-best[1]}, neutral_margin {-best[2]}, macro-F1 {best[0]:.4f}")


if __name__ == "__main__":
    main()
