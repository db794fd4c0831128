"""Self-train stage: fit the topic head on the corpus's own passages, label-free
(:mod:`zeroshot_news.zeroshot.self_train`); ``self_train.rounds: 0`` writes the zero-shot marker.
A pool under ``self_train.min_pool_passages`` gets the shipped head (or zero-shot). With
``self_train.encoder.epochs`` the head's encoder is fine-tuned too and written beside the head;
otherwise that folder holds only a README saying why there is none."""

from __future__ import annotations

import logging
import shutil
import time
from functools import partial
from pathlib import Path

from zeroshot_news.config import Config, ConfigError
from zeroshot_news.io import atomic_path, read_parquet, write_json
from zeroshot_news.stages.common import stage_args
from zeroshot_news.training.topic_encoder import tune_encoder
from zeroshot_news.zeroshot.self_train import fit_topic_head
from zeroshot_news.zeroshot.topic_head import dump_head

log = logging.getLogger(__name__)


def write_no_encoder(folder: Path, cfg: Config, why: str | None = None) -> None:
    """The encoder output when the head uses the configured encoder itself: a README only
    (DVC tracks the folder either way; stale weights are removed). ``why``: the head's own
    reason, when it has one (a pool too small to fine-tune on)."""
    why = why or ("self_train.encoder is off (epochs 0 or null)" if not cfg.self_train.tunes_encoder
                  else "the stage wrote no self-trained head (zero-shot, the shipped head or a few-shot head)")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(
        f"# No fine-tuned topic encoder\n\nWhy: {why}.\n\nThe topic head beside this folder scores with the "
        f"configured model ({cfg.model.name_or_path}).\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args, cfg = stage_args(argv, __doc__, inputs={
        "articles": "the unlabeled pool, cleaned articles (parquet)",
        "shipped-head": "the head fitted on the bundled corpus, for a pool too small to self-train on (JSON)",
    }, outputs={"head": "the topic head (JSON)",
                "encoder": "the head's fine-tuned encoder (a folder beside the head)",
                "report": "stage metrics (JSON)"})
    head_path, encoder_dir = Path(args.head), Path(args.encoder)
    if encoder_dir.resolve().parent != head_path.resolve().parent:
        raise ConfigError(f"--encoder {encoder_dir}: must be a folder beside --head {head_path} (the head names it "
                          "by its folder name)")
    start = time.perf_counter()
    articles = read_parquet(args.articles) if cfg.uses_topic_head else None
    fine_tune = partial(tune_encoder, model_cfg=cfg.model, cfg=cfg.self_train.encoder, seed=cfg.self_train.seed,
                        output_dir=encoder_dir) if cfg.self_train.tunes_encoder else None
    data, report = fit_topic_head(articles, cfg, args.shipped_head, fine_tune)
    if "encoder_model" not in data:
        write_no_encoder(encoder_dir, cfg, data.get("info", {}).get("encoder_not_tuned"))
    with atomic_path(head_path) as tmp:
        tmp.write_text(dump_head(data), encoding="utf-8")
    write_json(report, args.report)  # no timings: metrics stay byte-identical across runs
    log.info("self_train: %s in %.1fs", report, time.perf_counter() - start)
