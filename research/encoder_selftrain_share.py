"""Issue 25, second variant of ``self_train.encoder`` (added after the first had been read: it
ranked better but decided worse): the fine-tuned head's intercepts shifted, label-free, so that
each label's share of pool passages at p >= 0.5 equals the frozen head's (the committed head's
``pool_predicted_share``). Fine-tuning sharpens the scores (pool share at 0.5: 0.14-0.21 against
0.11-0.15 frozen), and the article decision (max over passages >= 0.5) then over-calls; the
shift keeps the frozen head's calibration and the fine-tuned ranking. No gold label is read.

    python research/encoder_selftrain_share.py /tmp/exp/models /tmp/exp2/models
    # then topic_short and topic with --head /tmp/exp2/models/topic_head.json, and
    python research/encoder_selftrain_tune.py data/predictions /tmp/exp2/predictions
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from zeroshot_news.config import load_config
from zeroshot_news.io import read_parquet
from zeroshot_news.scorers.build import build_encoder
from zeroshot_news.zeroshot.scoring import split_articles
from zeroshot_news.zeroshot.topic_head import COEF_DECIMALS, dump_head, read_head


def main(source: str, target: str) -> None:
    cfg = load_config()
    frozen = read_head("models/topic_head.json")
    tuned = read_head(Path(source) / "topic_head.json")
    base = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    articles = read_parquet("data/processed/articles.parquet")[["doc_id", "title", "body"]]
    passages = split_articles(articles, base, [h for _, h in cfg.taxonomy.hypotheses()],
                              cfg.passages.overlap_sentences, False, mode=cfg.passages.mode)
    encoder = build_encoder(replace(cfg.model, name_or_path=str(tuned.encoder_dir)), progress=False, cache=cfg.cache)
    z = encoder.embed(list(passages["text"])).astype(np.float64) @ tuned.coef.T
    intercept = tuned.intercept.copy()
    for j, lab in enumerate(tuned.labels):
        share = frozen.info["pool_predicted_share"][lab]
        # p >= 0.5 <=> z + b >= 0: b = minus the (1 - share) quantile of z keeps `share` of the pool above.
        intercept[j] = -float(np.quantile(z[:, j], 1 - share))
        print(f"{lab}: intercept {tuned.intercept[j]:+.3f} -> {intercept[j]:+.3f}; pool share at 0.5 "
              f"{np.mean(z[:, j] + tuned.intercept[j] >= 0):.4f} -> {np.mean(z[:, j] + intercept[j] >= 0):.4f} "
              f"(frozen {share})")
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tuned.encoder_dir, out / tuned.encoder_model, dirs_exist_ok=True)
    info = {**tuned.info, "intercept_shift": "pool share at 0.5 matched to the frozen head's"}
    shifted = replace(tuned, intercept=np.round(intercept, COEF_DECIMALS), info=info)
    (out / "topic_head.json").write_text(dump_head(shifted.to_dict()), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
