"""Headlines and ledes through the real `classify` path, scored on the dev gold's halves.

    python research/lede_eval.py OUT_DIR [overrides...]

Builds a headline + first-sentence ("lede") version of every matched dev-gold article and of
every article of the cleaned corpus (the unlabeled pool), runs `python -m zeroshot_news
classify` on both (with `cleaning.min_words=1`: ledes are short on purpose, and the
overrides given), and prints macro-F1 / mean AP / per-label precision and recall per half:

* `configured`: the topics `classify` predicts (the head's 0.5, or the labels' thresholds);
* `prevalence-matched`: a label-free variant for short items: per label, the threshold at
  which the pool's ledes are predicted positive as often as the pool's *articles* are
  (`data/predictions/topics.parquet`), since a lede is about what its article is about.

Reads the pipeline's outputs (`dvc repro topic` first). The tune half chooses; test is reported.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from zeroshot_news.corpus.gold import matched_gold, split_tune_test


def lede(title: str, body: str) -> dict:
    first = body.strip().split("\n")[0]
    m = re.match(r"(.+?[.!?])(\s|$)", first)
    return {"title": title, "text": m.group(1) if m else first[:300]}


def classify(items: pd.DataFrame, out: Path, name: str, overrides: list[str]) -> pd.DataFrame:
    src = out / f"{name}.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for d, t, b in zip(items["doc_id"], items["title"], items["body"], strict=True):
            fh.write(json.dumps({"id": d, **lede(t, b)}) + "\n")
    dst = out / f"{name}_topics.csv"
    subprocess.run([sys.executable, "-m", "zeroshot_news", "-q", "classify", str(src), "-o", str(dst),
                    "--no-progress", "cleaning.min_words=1", *overrides], check=True)
    return pd.read_csv(dst).set_index("id")


def report(name: str, gold: pd.DataFrame, scores: np.ndarray, pred: np.ndarray, labels: list[str]) -> None:
    y = gold[labels].astype(int).to_numpy()
    for part in ("tune", "test"):
        m = (gold["split"] == part).to_numpy()
        ap = np.mean([average_precision_score(y[m, j], scores[m, j]) for j in range(len(labels))])
        print(f"{name:<20} {part}: macro-F1 {f1_score(y[m], pred[m], average='macro', zero_division=0):.3f} "
              f"AP {ap:.3f} P {[round(precision_score(y[m, j], pred[m, j], zero_division=0), 2) for j in range(3)]} "
              f"R {[round(recall_score(y[m, j], pred[m, j], zero_division=0), 2) for j in range(3)]} "
              f"predicted share {pred[m].mean(0).round(2).tolist()} gold share {y[m].mean(0).round(2).tolist()}")


def main() -> None:
    out = Path(sys.argv[1])
    overrides = sys.argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    articles = pd.read_parquet("data/processed/articles.parquet")
    gold = matched_gold("data/gold/gold.csv", articles)
    gold["split"] = split_tune_test(gold, 0).to_numpy()
    topics = pd.read_parquet("data/predictions/topics.parquet")
    labels = list(dict.fromkeys(topics["label"]))
    pool = classify(articles, out, "pool_ledes", overrides)
    gold_ledes = classify(articles.set_index("doc_id").loc[gold["doc_id"]].reset_index(), out, "gold_ledes", overrides)
    scores = gold_ledes.loc[gold["doc_id"], [f"topic.{lab}" for lab in labels]].to_numpy()
    configured = np.array([[lab in str(x).split(";") for lab in labels]
                           for x in gold_ledes.loc[gold["doc_id"], "topic_labels"]], dtype=int)
    report("configured", gold, scores, configured, labels)
    share = topics.groupby("label")["predicted"].mean()
    thresholds = np.array([np.quantile(pool[f"topic.{lab}"], 1 - share[lab]) for lab in labels])
    print("pool article predicted share", share[labels].round(3).tolist(), "-> lede thresholds",
          thresholds.round(3).tolist())
    report("prevalence-matched", gold, scores, (scores >= thresholds).astype(int), labels)


if __name__ == "__main__":
    main()
