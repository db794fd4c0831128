"""Short items (issue 25): does fine-tuning the ENCODER on the committed head's own
pseudo-labels of the bundled pool rank short items better? A diagnostic; nothing in src/ uses it.

The analogue of `research/agnews_encoder_selftrain.py` for the pipeline's multi-label head: the
head (`models/topic_head.json`) was fitted on frozen MiniLM vectors of the bundled pool's
passages. Here a copy of all-MiniLM-L6-v2 with one linear layer per label on its normalised
mean-pooled vector (initialised as the head, so step 0 is the head) is fine-tuned on the
pseudo-labels a next self-training round would use (per label: the head's top
`positive_fraction` of pool passages positive, its bottom `negative_fraction` negative; the
head's own fractions), with a masked per-label binary cross-entropy. No gold label is read
while fitting.

Recipe, fixed before the first run: 1 epoch, lr 2e-5 linear with 10 % warm-up, batch 16, max 256
tokens, weight decay 0.01, seed 0, 2 threads. Criterion, fixed beforehand: short-gold TUNE mean
AP and best single-threshold tune macro-F1 (the head's scores alone, grid 0.05-0.95), with the
dev gold's tune-half mean AP (article score = max over its passages) not lower by more than
0.01. Test halves are not read.

    python research/short_encoder_selftrain.py      # ~10 min on 2 cores

Added after the first run had been read (it showed a ranking gain): the pipeline's rule on top
(each score blended 0.5 / 0.5 with calibrated zero-shot, as `topic.short_zero_shot_weight`
does, at the best tune threshold), a paired bootstrap on the tune half, per-label AP, and the
seed (fine-tuning varies with it); then, after that run too, head weights 0.75 and 0.25 in the
blend. Zero-shot scores come from a topic_short run:

    python -m zeroshot_news topic_short --gold data/gold/short_gold.csv --head models/topic_head.json \\
        --predictions /tmp/ens/ts_zs.parquet --report /tmp/ens/ts_zs.json self_train.rounds=0 \\
        topic.short_threshold_scale=0.5
    python research/short_encoder_selftrain.py --zero-shot /tmp/ens/ts_zs.parquet --seed 0
    python research/short_encoder_selftrain.py --zero-shot /tmp/ens/ts_zs.parquet --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score
from transformers import AutoModel

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.corpus.gold import matched_gold, split_tune_test
from zeroshot_news.metrics import bootstrap_ci
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.scorers.loading import load_tokenizer, load_weights, resolve_model
from zeroshot_news.training.topic_encoder import headed_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.topic_head import pseudo_labels, read_head

sys.path.insert(0, str(Path(__file__).parent))
from agnews_encoder_selftrain import fine_tune, predict
from short_zero_shot_blend import LABELS, best_threshold, blended, macro, mean_ap

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


def masked_bce(targets: np.ndarray, mask: np.ndarray):
    """Per-label binary cross-entropy over the labels each passage has a pseudo-label for."""
    targets, mask = torch.tensor(targets, dtype=torch.float32), torch.tensor(mask, dtype=torch.float32)

    def loss_of(logits, idx):
        m = mask[idx]
        per = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets[idx], reduction="none")
        return (per * m).sum() / m.sum()
    return loss_of


def report(name: str, short_scores, short_gold, dev_scores, dev_gold) -> tuple[float, float]:
    t, f1 = best_threshold(short_gold, short_scores, THRESHOLDS)
    per_label = " / ".join(f"{average_precision_score(short_gold[:, j], short_scores[:, j]):.3f}"
                           for j in range(short_gold.shape[1]))
    print(f"| {name} | {mean_ap(short_gold, short_scores):.4f} ({per_label}) | {t:.2f} | {f1:.4f} | "
          f"{mean_ap(dev_gold, dev_scores):.4f} |", flush=True)
    return t, f1


def with_zero_shot(short: pd.DataFrame, head_scores: np.ndarray, labels: list[str], zero_shot: pd.DataFrame,
                   weight: float = 0.5) -> np.ndarray:
    """The pipeline's short-item blend of ``head_scores`` (research/short_zero_shot_blend.py's rule)."""
    frame = short.set_index("item_id").copy()
    for j, lab in enumerate(labels):
        frame[f"{lab}_h"] = head_scores[:, j]
    z = zero_shot.pivot(index="item_id", columns="label", values="score")
    th = zero_shot.pivot(index="item_id", columns="label", values="threshold")
    frame = frame.join(z[LABELS].add_suffix("_z")).join(th[LABELS].add_suffix("_th"))
    return blended(frame, weight)[:, [LABELS.index(lab) for lab in labels]]


def paired(gold: np.ndarray, a: np.ndarray, t_a: float, b: np.ndarray, t_b: float, seed: int = 0) -> str:
    """Tune macro-F1 of a (at t_a) minus b (at t_b), 95 % interval over 1,000 item resamples."""
    def diff(i: np.ndarray) -> float:
        return macro(gold[i], a[i], t_a) - macro(gold[i], b[i], t_b)
    lo, hi = bootstrap_ci(diff, len(gold), 1000, 0.95, seed)
    return f"{diff(np.arange(len(gold))):+.4f} [{lo:+.4f}, {hi:+.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--zero-shot", help="a topic_short predictions file scored zero-shot (see above)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    cfg = parse_config(compose_config("conf", []))
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    head = read_head("models/topic_head.json")
    labels = list(head.labels)

    articles = pd.read_parquet("data/processed/articles.parquet")
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    passages = split_articles(articles, encoder, hypotheses, cfg.passages.overlap_sentences, False,
                              mode=cfg.passages.mode)
    texts = list(passages["text"])
    frozen_pool = head.predict_proba(encoder.embed(texts).astype(np.float64))
    targets = np.zeros((len(texts), len(labels)))
    mask = np.zeros((len(texts), len(labels)))
    for j, lab in enumerate(labels):
        idx, y = pseudo_labels(frozen_pool[:, j], head.info["positive_fraction"][lab], cfg.self_train.negative_fraction)
        targets[idx, j], mask[idx, j] = y, 1.0
    keep = np.flatnonzero(mask.any(axis=1))
    print(f"pool: {len(articles)} articles, {len(texts)} passages, {len(keep)} with a pseudo-label; "
          f"positives per label {dict(zip(labels, targets.sum(axis=0).astype(int).tolist(), strict=True))}")

    short = pd.read_csv("data/gold/short_gold.csv", dtype=str, keep_default_na=False)
    short = short[short["split"] == "tune"].reset_index(drop=True)
    short_gold = short[labels].astype(int).to_numpy()
    dev = matched_gold(cfg.evaluation.gold_path, articles)
    dev["split"] = split_tune_test(dev, cfg.evaluation.seed).to_numpy()
    dev = dev[dev["split"] == "tune"].reset_index(drop=True)
    dev_gold = dev[labels].astype(int).to_numpy()
    rows_of = passages.groupby("doc_id").indices

    def dev_scores(pool_scores: np.ndarray) -> np.ndarray:
        return np.stack([pool_scores[rows_of[d]].max(axis=0) for d in dev["doc_id"]])

    print("| encoder | short tune mean AP | best t | short tune macro-F1 | dev tune mean AP |")
    print("|---|---:|---:|---:|---:|")
    frozen_short = head.predict_proba(encoder.embed(list(short["text"])))
    t_frozen, _ = report("frozen (the committed head)", frozen_short, short_gold, dev_scores(frozen_pool), dev_gold)

    resolved = resolve_model(cfg.model.name_or_path)
    tokenizer = load_tokenizer(resolved)
    model = headed_encoder(load_weights(resolved, AutoModel, unused=("pooler.",)), head.coef, head.intercept)
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    started = time.perf_counter()
    fine_tune(model, tokenizer, [texts[i] for i in keep], masked_bce(targets[keep], mask[keep]), args)
    print(f"fine-tuned in {time.perf_counter() - started:.0f} s; recipe {vars(args)}")
    tuned_pool = sigmoid(predict(model, tokenizer, texts, args.max_length))
    tuned_short = sigmoid(predict(model, tokenizer, list(short["text"]), args.max_length))
    t_tuned, _ = report("fine-tuned on the head's pseudo-labels", tuned_short, short_gold, dev_scores(tuned_pool),
                        dev_gold)
    print(f"head alone, tuned minus frozen, each at its best t (tune; optimistic): "
          f"{paired(short_gold, tuned_short, t_tuned, frozen_short, t_frozen)}")
    if args.zero_shot:
        zero_shot = pd.read_parquet(args.zero_shot)
        blends = {name: with_zero_shot(short, s, labels, zero_shot)
                  for name, s in (("frozen", frozen_short), ("tuned", tuned_short))}
        best = {name: best_threshold(short_gold.astype(bool), b, THRESHOLDS) for name, b in blends.items()}
        for name, b in blends.items():
            print(f"blend 0.5 with zero-shot, {name}: tune AP {mean_ap(short_gold, b):.4f}, "
                  f"best t {best[name][0]:.2f}, tune F1 {best[name][1]:.4f}; "
                  f"at the default's t 0.45: {macro(short_gold.astype(bool), b, 0.45):.4f}")
        print(f"blend, tuned minus frozen (the default's rule, t 0.45): "
              f"{paired(short_gold.astype(bool), blends['tuned'], best['tuned'][0], blends['frozen'], 0.45)}")
        for name, s in (("frozen", frozen_short), ("tuned", tuned_short)):
            for w in (0.75, 0.25):  # head weight; 1 and 0.5 are above
                b = with_zero_shot(short, s, labels, zero_shot, w)
                t, f1 = best_threshold(short_gold.astype(bool), b, THRESHOLDS)
                print(f"head weight {w}, {name}: tune AP {mean_ap(short_gold, b):.4f}, best t {t:.2f}, "
                      f"tune F1 {f1:.4f}")


if __name__ == "__main__":
    main()
