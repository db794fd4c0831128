"""Issue 25, deliverable 3 re-checked after the encoder fine-tuning was adopted (2026-12-07): does
fine-tuning the head's encoder on a small pool's own pseudo-labels (``self_train.encoder``, round 1
+ the soft round) hold up on small corpora, or does it collapse where the frozen head does not?

``research/small_corpus_head.py`` (2026-12-05) chose ``self_train.min_pool_passages: 200`` with the
frozen head only. Since then every pool of 200 passages or more (about 75 bundled articles) also
fine-tunes the whole encoder on its pseudo-labels: 15-18 pseudo-positives per label at that size.
Here, per pool size n and seed, n articles of the cleaned bundled corpus less the dev gold's test
half are drawn (seeded, as small_corpus_head.py draws them), and two heads are fitted exactly as
the self_train stage fits them: the frozen head (``train_head`` without a fine-tuner) and the
head on its fine-tuned encoder (``train_head`` with the stage's fine-tuner). Every dev-gold
article is classified with each (``classify_topics``, the topic stage's decision).

Criterion, written before the first run (tune half only; the test half is printed, not read):
fine-tuning holds at a pool size when the fine-tuned head's dev-tune macro-F1, mean over seeds, is
not below the frozen head's by more than 0.01. If every measured size holds, nothing changes. If
not, the encoder is fine-tuned only on pools of at least the passages of the smallest size from
which every larger measured size holds (a new ``self_train.encoder`` minimum), and the frozen head
is used below it.

    dvc repro clean   # data/processed/articles.parquet
    python research/small_corpus_encoder.py /tmp/sce --sizes 75 100 150 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import time
from functools import partial
from pathlib import Path

import numpy as np
from small_corpus_head import dev_gold_articles, half_f1, without_test_half

from zeroshot_news.config import compose_config, parse_config
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.training.topic_encoder import tune_encoder
from zeroshot_news.zeroshot.self_train import train_head
from zeroshot_news.zeroshot.topic import build_head_encoder, classify_topics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work_dir", help="scratch folder for the fine-tuned encoders (removed per run)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[75, 100, 150])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = parse_config(compose_config("conf", []))
    labels, articles, gold, gold_articles = dev_gold_articles(cfg)
    pool = without_test_half(articles, gold)
    encoder = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    work = Path(args.work_dir)

    def scored(head) -> dict[str, float]:
        head_encoder = build_head_encoder(head, cfg.model, labels, progress=False, cache=cfg.cache, base=encoder)
        topics = classify_topics(gold_articles, encoder, cfg.taxonomy, cfg.topic, cfg.passages, progress=False,
                                 head=head, head_encoder=head_encoder).topics
        return half_f1(topics, gold, labels)

    print(f"pool of {len(pool)} articles (bundled corpus less the dev gold's test half); self_train.encoder: "
          f"{dataclasses.asdict(cfg.self_train.encoder)}")
    print(f"{'pool':<18} {'passages':>8} {'frozen tune':>11} {'tuned tune':>10} {'frozen test':>11} "
          f"{'tuned test':>10} {'seconds':>7}")
    for n in [*(s for s in args.sizes if s < len(pool)), len(pool)]:
        rows = []
        for seed in args.seeds if n < len(pool) else [0]:
            started = time.perf_counter()
            sample = pool.sample(n=min(n, len(pool)), random_state=seed)[["doc_id", "title", "body"]]
            frozen = train_head(sample, encoder, cfg, progress=False)
            if isinstance(frozen, int):
                print(f"n={n} seed={seed}: {frozen} passages, under min_pool_passages (the stage falls back)")
                continue
            folder = work / f"n{n}_s{seed}" / "topic_encoder"
            shutil.rmtree(folder.parent, ignore_errors=True)
            fine_tune = partial(tune_encoder, model_cfg=cfg.model, cfg=cfg.self_train.encoder,
                                seed=cfg.self_train.seed, output_dir=folder, progress=False)
            tuned = train_head(sample, encoder, cfg, progress=False, fine_tune=fine_tune)
            tuned = dataclasses.replace(tuned, encoder_dir=folder)  # as read_head resolves it beside the head file
            f, t = scored(frozen), scored(tuned)
            rows.append((f["tune"], t["tune"], f["test"], t["test"]))
            passages = frozen.info.get("pool_passages", "?")
            print(f"{f'n={n} seed={seed}':<18} {passages!s:>8} {f['tune']:>11.3f} {t['tune']:>10.3f} "
                  f"{f['test']:>11.3f} {t['test']:>10.3f} {time.perf_counter() - started:>7.0f}", flush=True)
            shutil.rmtree(folder.parent, ignore_errors=True)
        if rows:
            m = np.array(rows).mean(axis=0)
            low = np.array(rows).min(axis=0)
            verdict = "holds" if m[1] >= m[0] - 0.01 else "FAILS"
            print(f"{f'  mean n={n}':<18} {'':>8} {m[0]:>11.3f} {m[1]:>10.3f} {m[2]:>11.3f} {m[3]:>10.3f}"
                  f"   (tune min {low[0]:.3f} / {low[1]:.3f}; criterion: {verdict})", flush=True)


if __name__ == "__main__":
    main()
