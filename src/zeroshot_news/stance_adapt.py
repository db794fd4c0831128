"""Label-free adaptation of the trained stance model to a corpus (``adapt_stance``).

Self-training, one round: the stance model (``stance=trained``) reads the corpus's own
passages that mention a target (the stance stage's passages and aliases) with the
target's display name as topic. Pairs it calls favor or against with probability at
least ``stance_adaptation.confidence`` become pseudo-labels; the same number of each
(the most confident first, at most ``max_per_class``), because one-sided pseudo-labels
pull the model onto one class (EM prior re-estimation collapsed that way). VAST
training-topic items are mixed in (``replay_ratio`` per pseudo-label) so the model keeps
what VAST taught it, then a copy of the model is fine-tuned briefly with the
``train_stance`` loop and saved (fp16 safetensors) to ``stance_adaptation.output_dir``.

No gold label is read. Use the result with
``stance=trained stance.model.name_or_path=<output_dir>``; the README reports how it
compared on the dev gold's tune half.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import Config, ConfigError, StanceAdaptationConfig, StanceConfig, add_config_args, config_from_args
from .io import write_json
from .loading import select_device
from .scorers import PairScorer, build_scorer
from .scoring import class_scores
from .stance import CLASSES, mentions_of, scored_hypotheses, stance_passages
from .train_stance import Item, build_model, read_vast, split_by_topic, subsample, train
from .training import save_model

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["doc_id", "passage", "target", "topic", "text"]


def mentioning_pairs(articles: pd.DataFrame, scorer: PairScorer, cfg: Config, progress: bool = True) -> pd.DataFrame:
    """One row per (passage, target) where the passage mentions one of the target's aliases."""
    passages = stance_passages(articles, scorer, cfg.stance, cfg.passages, progress)
    frames = []
    for target in cfg.stance.targets:
        hit = passages[mentions_of(passages, target, cfg.stance.case_sensitive_aliases)]
        frames.append(pd.DataFrame({"doc_id": hit["doc_id"], "passage": hit["passage"], "target": target.name,
                                    "topic": target.display, "text": hit["text"]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIR_COLUMNS)


def pair_probabilities(scorer: PairScorer, pairs: pd.DataFrame, cfg: StanceConfig) -> np.ndarray:
    """[n, 3] favor / against / neutral per pair: the stance stage's hypotheses and class scores."""
    by_name = {t.name: t for t in cfg.targets}
    out = np.zeros((len(pairs), len(CLASSES)))
    for name, idx in pairs.groupby("target", sort=True).indices.items():
        classes, hyps = scored_hypotheses(cfg, by_name[name])
        out[idx] = class_scores(scorer.score(list(pairs["text"].iloc[idx]), hyps), classes, CLASSES)
    return out


def pseudo_labels(pairs: pd.DataFrame, probs: np.ndarray, confidence: float, max_per_class: int) -> list[Item]:
    """Balanced confident favor / against pairs (most confident first; ties by pair order)."""
    top = probs.argmax(axis=1)
    chosen: dict[str, np.ndarray] = {}
    for cls in ("favor", "against"):
        c = CLASSES.index(cls)
        idx = np.flatnonzero((top == c) & (probs[:, c] >= confidence))
        chosen[cls] = idx[np.argsort(-probs[idx, c], kind="stable")]
    n = min(max_per_class, *(len(v) for v in chosen.values()))
    keep = sorted((int(i), cls) for cls, idx in chosen.items() for i in idx[:n])
    return [Item(pairs["text"].iat[i], pairs["topic"].iat[i], cls) for i, cls in keep]


def replay_items(cfg: Config, n: int, seed: int) -> list[Item]:
    """``n`` seeded VAST items from train_stance's *training* topics (its held-out topics stay unseen)."""
    if n == 0:
        return []
    training = cfg.stance_training
    if training is None:
        raise ConfigError("stance_training: missing section (replay reads its data_path and topic split)")
    train_set, _ = split_by_topic(read_vast(training.data_path), training.holdout_topic_fraction, training.seed)
    return subsample(train_set, n, seed)


def adapt(cfg: Config, articles: pd.DataFrame, progress: bool = True) -> dict[str, Any]:
    """Pseudo-label, fine-tune and save; returns the report (counts, timings, loss)."""
    import torch

    model_cfg = cfg.stance_model()
    if model_cfg.backend != "stance":
        raise ConfigError(f"adapt_stance adapts the trained stance model (stance=trained); the stance backend is "
                          f"{model_cfg.backend!r}")
    adapt_cfg, training = cfg.stance_adaptation, cfg.stance_training
    if adapt_cfg is None or training is None:
        raise ConfigError("adapt_stance needs the stance_adaptation and stance_training sections")
    start = time.perf_counter()
    scorer = build_scorer(model_cfg, progress=progress, cache=cfg.cache)
    pairs = mentioning_pairs(articles, scorer, cfg, progress)
    probs = pair_probabilities(scorer, pairs, cfg.stance)
    labelled = pseudo_labels(pairs, probs, adapt_cfg.confidence, adapt_cfg.max_per_class)
    if not labelled:
        raise ValueError(f"no pseudo-labels: no favor and against pair reaches confidence {adapt_cfg.confidence} "
                         f"among {len(pairs)} target-mentioning passages (lower stance_adaptation.confidence)")
    replay = replay_items(cfg, round(adapt_cfg.replay_ratio * len(labelled)), adapt_cfg.seed)
    scoring_seconds = time.perf_counter() - start
    if training.num_threads:
        torch.set_num_threads(training.num_threads)
    torch.manual_seed(adapt_cfg.seed)
    device = select_device(training.device)
    model, tokenizer = build_model(model_cfg.name_or_path, training.freeze_word_embeddings)
    recipe = replace(training, epochs=adapt_cfg.epochs, learning_rate=adapt_cfg.learning_rate, seed=adapt_cfg.seed)
    result = train(model, tokenizer, labelled + replay, recipe, device, progress)
    report = {
        "base_model": model_cfg.name_or_path,
        "mentioning_pairs": len(pairs),
        "corpus_argmax": dict(sorted(Counter(CLASSES[i] for i in probs.argmax(axis=1)).items())),
        "pseudo_labels": dict(sorted(Counter(it.label for it in labelled).items())),
        "pseudo_labels_by_target": _by_target(pairs, labelled),
        "replay_items": len(replay),
        "replay_labels": dict(sorted(Counter(it.label for it in replay).items())),
        "steps": result.steps,
        "final_train_loss": round(result.final_loss, 4),
        "scoring_seconds": round(scoring_seconds, 1),
        "train_seconds": round(result.seconds, 1),
        "settings": {k: v for k, v in asdict(adapt_cfg).items() if k != "output_dir"},
    }
    save_model(model, tokenizer, adapt_cfg.output_dir, model_card(adapt_cfg, report))
    return report


def _by_target(pairs: pd.DataFrame, labelled: list[Item]) -> dict[str, dict[str, int]]:
    """Pseudo-label counts per target name (an Item's target is the target's display name)."""
    name_of = dict(zip(pairs["topic"], pairs["target"], strict=False))
    out: dict[str, dict[str, int]] = {}
    for (target, label), n in sorted(Counter((name_of[it.target], it.label) for it in labelled).items()):
        out.setdefault(target, {})[label] = n
    return out


def model_card(cfg: StanceAdaptationConfig, report: dict[str, Any]) -> str:
    return (
        "# Stance cross-encoder adapted to a corpus (label-free)\n\n"
        f"Base: `{report['base_model']}`. One round of self-training (`python -m zeroshot_news adapt_stance`): "
        f"{sum(report['pseudo_labels'].values())} pseudo-labels {report['pseudo_labels']} (favor / against "
        f"probability >= {cfg.confidence}, balanced, at most {cfg.max_per_class} per class) from "
        f"{report['mentioning_pairs']} target-mentioning passages, plus {report['replay_items']} VAST training-topic "
        f"items; {cfg.epochs} epoch(s), learning rate {cfg.learning_rate}, seed {cfg.seed}; "
        f"{report['train_seconds']} s. No gold label was read.\n"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="e.g. python -m zeroshot_news adapt_stance --articles "
                                        "data/processed/articles.parquet --report /tmp/adapt.json stance=trained")
    ap.add_argument("--articles", required=True, help="input: cleaned articles (parquet)")
    ap.add_argument("--report", required=True, help="output: pseudo-label counts, timings, loss (JSON)")
    ap.add_argument("--no-progress", action="store_true")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    cfg = config_from_args(args)
    articles = pd.read_parquet(args.articles, columns=["doc_id", "title", "body"])
    report = adapt(cfg, articles, not args.no_progress)
    write_json(report, args.report)
    log.info("adapt_stance: %d pseudo-labels %s + %d VAST items from %d mentioning passages; %d steps in %ss; "
             "model -> %s", sum(report["pseudo_labels"].values()), report["pseudo_labels"], report["replay_items"],
             report["mentioning_pairs"], report["steps"], report["train_seconds"],
             Path(cfg.stance_adaptation.output_dir))
