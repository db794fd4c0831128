"""MiniLM + a second encoder (e.g. all-mpnet-base-v2) vs each alone, on the dev gold halves.

    python research/encoder_ensemble.py PATH_TO_SECOND_ENCODER

The label-free head (default self_train settings) on the bundled corpus's passages (split by
the default encoder), fitted on each encoder's vectors and on their concatenation (each half
scaled by 1/sqrt(2), so a dot product is the mean of the two cosines). Reads the pipeline's
outputs (`dvc repro clean` first); vectors come from / go to the score cache. Prints tune /
test macro-F1 (threshold 0.5) and mean AP; the tune half chooses.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.gold import matched_gold, split_tune_test
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.self_train import label_embeddings
from zeroshot_news.zeroshot.topic_head import contrast, fit_head

HALF = np.sqrt(0.5)


def concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a * HALF, b * HALF], axis=1)


def main() -> None:
    cfg = parse_config(compose_config("conf", []))
    articles = pd.read_parquet("data/processed/articles.parquet")
    first = build_encoder(cfg.model, cache=cfg.cache)
    second = build_encoder(replace(cfg.model, name_or_path=sys.argv[1]), cache=cfg.cache)
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    passages = split_articles(articles[["doc_id", "title", "body"]], first, hypotheses,
                              cfg.passages.overlap_sentences, False, mode=cfg.passages.mode)
    texts = list(passages["text"])
    gold = matched_gold(cfg.evaluation.gold_path, articles)
    split = split_tune_test(gold, cfg.evaluation.seed).to_numpy()
    names = [lab.name for lab in cfg.taxonomy.labels]
    y = gold[names].astype(int).to_numpy()
    st = cfg.self_train

    def run(name: str, vectors: np.ndarray, labels: list[np.ndarray], background: np.ndarray) -> None:
        head = fit_head(vectors, contrast(vectors, labels, background), names, "scratch", rounds=st.rounds,
                        positive_fraction=st.positive_fraction, negative_fraction=st.negative_fraction,
                        C=st.C, seed=st.seed, max_iter=st.max_iter)
        per_article = pd.DataFrame(head.predict_proba(vectors), columns=names).groupby(
            passages["doc_id"].to_numpy()).max()
        scores = per_article.loc[gold["doc_id"]].to_numpy()
        cells = []
        for part in ("tune", "test"):
            m = split == part
            f1 = f1_score(y[m], (scores[m] >= 0.5).astype(int), average="macro", zero_division=0)
            ap = np.mean([average_precision_score(y[m, j], scores[m, j]) for j in range(len(names))])
            cells.append(f"{part} F1 {f1:.3f} AP {ap:.3f}")
        print(f"{name:<24}", " | ".join(cells), flush=True)

    va, vb = (enc.embed(texts).astype(np.float64) for enc in (first, second))
    (la, ba), (lb, bb) = (label_embeddings(enc, cfg) for enc in (first, second))
    run("default encoder", va, la, ba)
    run("second encoder", vb, lb, bb)
    run("ensemble (mean cosine)", concat(va, vb), [concat(a, b) for a, b in zip(la, lb, strict=True)], concat(ba, bb))


if __name__ == "__main__":
    main()
