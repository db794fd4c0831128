"""``classify``: run ingest -> clean -> topic -> stance in memory on any articles.

The same functions as the DVC stages, composed from the same ``conf/`` (plus Hydra
overrides), so a file classified here gets the scores the pipeline would give it.
INPUT is a folder of native-format files, or a ``.csv`` / ``.jsonl`` file with an
``id`` column and either ``text`` or ``title`` + ``body``. Bad records are reported
with their reason and skipped; the exit code is non-zero only for a bad config or an
input with nothing usable in it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from zeroshot_news.config import (
    DEFAULT_CONFIG_DIR,
    ColumnMapping,
    Config,
    ConfigError,
    SourceConfig,
    add_config_args,
    anchor_paths,
    config_from_args,
    find_project,
)
from zeroshot_news.corpus.clean import clean, language_uncertain
from zeroshot_news.corpus.ingest import ingest
from zeroshot_news.corpus.ingest.records import printable
from zeroshot_news.decisions import STANCE_CLASSES
from zeroshot_news.io import atomic_path, write_jsonl
from zeroshot_news.scorers.build import build_encoder, build_scorer
from zeroshot_news.scorers.loading import resolve_model
from zeroshot_news.zeroshot.stance import classify_stance
from zeroshot_news.zeroshot.topic import check_head, classify_topics
from zeroshot_news.zeroshot.topic_head import PIPELINE_HEAD, TopicHead, read_head

log = logging.getLogger(__name__)

EXIT_NOTHING_USABLE = 3


def input_source(path: Path) -> SourceConfig:
    """The ingest source for a CLI input path."""
    if not path.exists():
        raise ConfigError(f"INPUT: {str(path)!r} does not exist")
    if path.is_dir():
        return SourceConfig(name="input", format="native", path=str(path))
    if path.suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        return SourceConfig(name="input", format="table", path=str(path), columns=ColumnMapping())
    raise ConfigError(f"INPUT: expected a folder, .csv or .jsonl file, got {path.name!r}")


OUTPUT_FORMATS = (".jsonl", ".json", ".csv", ".parquet")
# A CSV cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading ``'`` (CSV output only:
    ids and labels come from the user's input)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    return out


def flat_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per article, one column per number: ``topic.<label>``, ``topic_labels``
    (``;``-joined), ``stance.<target>.label`` and ``stance.<target>.<class>``."""
    rows = []
    for r in records:
        row = {"id": r["id"], "doc_id": r["doc_id"], "short": r.get("short", False),
               "language_uncertain": r.get("language_uncertain", False)}
        row.update({f"topic.{label}": score for label, score in r["topics"].items()})
        row["topic_labels"] = ";".join(r["topic_labels"])
        for target, st in r["stance"].items():
            row[f"stance.{target}.label"] = st["label"]
            for cls in STANCE_CLASSES:
                row[f"stance.{target}.{cls}"] = None if st["scores"] is None else st["scores"][cls]
            row[f"stance.{target}.margin"] = st["margin"]
            row[f"stance.{target}.uncertain"] = st["uncertain"]
        rows.append(row)
    return pd.DataFrame(rows)


def write_records(records: list[dict[str, Any]], output: Path) -> None:
    """By the output's extension: JSON Lines (nested; ``.jsonl``), one JSON array (``.json``),
    CSV or parquet (flat); ``-``: JSON Lines on stdout (a reader that stops early, like
    ``head``, ends the output quietly)."""
    if str(output) == "-":
        try:
            for rec in records:
                sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader closed the pipe: the rest is not wanted. Point stdout at devnull so
            # the interpreter's final flush does not raise again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    suffix = output.suffix.lower()
    if suffix == ".csv":
        with atomic_path(output) as tmp:
            neutralise_formulas(flat_records(records)).to_csv(tmp, index=False)
    elif suffix == ".json":
        with atomic_path(output) as tmp:
            tmp.write_text(json.dumps(records, ensure_ascii=False) + "\n", encoding="utf-8")
    elif suffix == ".parquet":
        with atomic_path(output) as tmp:
            flat_records(records).to_parquet(tmp, index=False)
    else:
        write_jsonl(records, output)


def check_output(output: Path, input_path: Path) -> None:
    """Refuse, before any work, an output that would overwrite the input or cannot be written."""
    if str(output) == "-":
        return
    if output.suffix.lower() not in (*OUTPUT_FORMATS, ".ndjson"):
        raise ConfigError(f"--output: {output.name!r}: the format follows the extension, one of "
                          f"{', '.join(OUTPUT_FORMATS)} (or - for JSON Lines on stdout)")
    out, src = output.resolve(), input_path.resolve()
    if out == src or (src.is_dir() and out.is_relative_to(src)):
        raise ConfigError(f"--output: {output} is {'the input' if out == src else 'inside the input folder'}; "
                          "write the results elsewhere")
    if out.is_dir():
        raise ConfigError(f"--output: {output} is a folder; give a file name")
    if not out.parent.is_dir():
        raise ConfigError(f"--output: the folder {output.parent} does not exist (or is a file)")
    if not os.access(out.parent, os.W_OK):
        raise ConfigError(f"--output: the folder {output.parent} is not writable")
    try:  # os.access says yes to root everywhere; /proc, a read-only mount or a full disk say no here
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise ConfigError(f"--output: cannot create a file in {output.parent}: {exc.strerror or exc}") from None


def build_records(articles: pd.DataFrame, topics: pd.DataFrame, stance: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready record per article, in input order."""
    # Plain dicts and lists, not per-document DataFrame groups: a short input's records cost
    # milliseconds, not most of a second.
    topic_scores: dict[str, dict[str, float]] = {}
    topic_labels: dict[str, list[str]] = {}
    for doc_id, label, score, predicted in zip(topics["doc_id"], topics["label"], topics["score"],
                                               topics["predicted"], strict=True):
        topic_scores.setdefault(doc_id, {})[label] = score
        if predicted:
            topic_labels.setdefault(doc_id, []).append(label)
    stances: dict[str, dict[str, Any]] = {}
    for row in stance[["doc_id", "target", "label", *STANCE_CLASSES, "margin", "uncertain"]].itertuples(index=False):
        scores = None if row.label == "none" else {"favor": row.favor, "against": row.against,
                                                    "neutral": row.neutral}
        margin = None if pd.isna(row.margin) else row.margin
        stances.setdefault(row.doc_id, {})[row.target] = {"label": row.label, "scores": scores, "margin": margin,
                                                           "uncertain": bool(row.uncertain)}
    return [{"id": source_id, "doc_id": doc_id, "topics": topic_scores.get(doc_id, {}),
             "topic_labels": topic_labels.get(doc_id, []), "stance": stances.get(doc_id, {})}
            for doc_id, source_id in zip(articles["doc_id"], articles["source_id"], strict=True)]


def run_classify(cfg: Config, source: SourceConfig, progress: bool = True,
                 head: TopicHead | None = None) -> dict[str, Any]:
    """Classify one input; returns records plus the quarantine/removal tables and timings."""
    corpus = replace(cfg.corpus, name="input", sources=[source])
    ingested = ingest(corpus, progress=False)
    # Short texts (headlines, ledes, wire alerts) are classified, and flagged `short`:
    # cleaning.min_words is a corpus rule, not a reason to drop what a user asked about.
    min_words = cfg.cleaning.min_words
    cleaning = replace(cfg.cleaning, min_words=0)
    cleaned = clean(ingested.articles, cleaning, progress=False) if len(ingested.articles) else None
    articles = cleaned.articles if cleaned is not None else ingested.articles.iloc[:0]
    removed = cleaned.removed if cleaned is not None else pd.DataFrame(columns=["path", "reason", "detail"])
    result: dict[str, Any] = {"quarantine": ingested.quarantine, "removed": removed, "records": [],
                              "seen": ingested.report["seen"], "seconds": 0.0}
    if articles.empty:
        return result
    start = time.perf_counter()
    if head is None:
        topic_scorer = build_scorer(cfg.model, progress=progress, cache=cfg.cache)
        shared = topic_scorer
    else:  # the head reads the encoder's vectors; stance scores pairs with the same (cached) model
        topic_scorer = build_encoder(cfg.model, progress=progress, cache=cfg.cache)
        check_head(head, [lab.name for lab in cfg.taxonomy.labels], topic_scorer.encoder_fingerprint)
        shared = topic_scorer
    topics = classify_topics(articles, topic_scorer, cfg.taxonomy, cfg.topic, cfg.passages, progress,
                             head=head).topics
    stance_scorer = shared if cfg.stance.model is None else build_scorer(cfg.stance.model, progress, cache=cfg.cache)
    stance_articles = articles
    if cfg.stance.restrict_to_topics:
        keep = topics.loc[topics["predicted"] & topics["label"].isin(cfg.stance.restrict_to_topics), "doc_id"]
        stance_articles = articles[articles["doc_id"].isin(set(keep))].reset_index(drop=True)
    stance = classify_stance(stance_articles, stance_scorer, cfg.stance, cfg.passages, progress).stance
    result["seconds"] = time.perf_counter() - start
    result["records"] = build_records(articles, topics, stance)
    for record, n_words, language in zip(result["records"], articles["n_words"], articles["language"], strict=True):
        record["short"] = bool(n_words < min_words)
        record["language_uncertain"] = language_uncertain(language, cfg.cleaning)
    return result


def project_root(args: argparse.Namespace) -> Path:
    """The project whose configuration, models, head and cache are used: --project, else the
    folder of --params, else the folder above --config-dir, else the nearest folder with
    conf/config.yaml at or above the working directory, else this package's own checkout."""
    if args.project:
        root = Path(args.project)
        if not (root / "conf" / "config.yaml").is_file():
            raise ConfigError(f"--project: {str(root)!r} has no conf/config.yaml")
        return root.resolve()
    if args.params:
        return Path(args.params).resolve().parent
    if args.config_dir != str(DEFAULT_CONFIG_DIR):
        return Path(args.config_dir).resolve().parent
    found = find_project()
    if found is None:
        raise ConfigError("no project found (no conf/config.yaml here or above, and this package is not a "
                          "checkout); pass --project DIR or --params FILE")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Classify a folder of native-format articles or a .csv/.jsonl file.",
        epilog="Overrides use Hydra syntax, e.g. model=nli taxonomy=security stance.none_rule=relevance",
    )
    ap.add_argument("input", type=Path, help="folder of native-format .txt files, or a .csv / .jsonl file")
    ap.add_argument("--output", "-o", type=Path, required=True,
                    help="output file, format by extension: .jsonl (nested), .csv or .parquet (flat columns); "
                         "- writes JSON Lines to stdout")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument("--head", type=Path,
                    help=f"the self-trained topic head (default: the pipeline's, {PIPELINE_HEAD} in the "
                         "project); ignored with self_train.rounds=0 or a non-embedding model")
    ap.add_argument("--project", type=Path,
                    help="the project folder (conf/, params.yaml, models/, the score cache); default: the "
                         "nearest one at or above the working directory, else this package's checkout. "
                         "Relative paths in the config are read against it, so classify runs from anywhere")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    root = project_root(args)
    if args.config_dir == str(DEFAULT_CONFIG_DIR):
        args.config_dir = str(root / DEFAULT_CONFIG_DIR)
    # The pipeline's current configuration (params.yaml, what `dvc repro` / `dvc exp apply`
    # left) when no overrides are given; overrides compose conf/ instead.
    default_params = root / "params.yaml"
    if not args.params and not args.overrides and default_params.exists():
        args.params = str(default_params)
    # Config first: a bad config fails here, before any model or data is loaded.
    cfg = anchor_paths(config_from_args(args, compose_by_default=True), root)
    log.info("config: %s", args.params or f"{args.config_dir} composed with {args.overrides}")
    source = input_source(args.input)
    check_output(args.output, args.input)

    resolve_model(cfg.model.name_or_path)  # a bad or unsafe model fails before anything else is read
    head = read_head(args.head or root / PIPELINE_HEAD) if cfg.uses_topic_head else None
    result = run_classify(cfg, source, progress=not args.no_progress, head=head)
    records = result["records"]
    for row in result["quarantine"].itertuples():
        log.warning("quarantined %s: %s (%s)", printable(row.path), row.reason, printable(row.detail))
    for row in result["removed"].itertuples():
        log.warning("removed %s: %s (%s)", printable(row.path), row.reason, printable(row.detail))
    if not records:
        log.error("nothing usable in %s: %d records seen, %d quarantined, %d removed by cleaning", args.input,
                  result["seen"], len(result["quarantine"]), len(result["removed"]))
        return EXIT_NOTHING_USABLE
    write_records(records, args.output)
    label_counts = pd.Series([lab for r in records for lab in r["topic_labels"]], dtype=object).value_counts()
    rate = len(records) / max(result["seconds"], 1e-9)
    log.info("classified %d of %d records -> %s (%d quarantined, %d removed; %.2f articles/s, model loading "
             "included)", len(records), result["seen"], args.output, len(result["quarantine"]),
             len(result["removed"]), rate)
    log.info("topic labels: %s", ", ".join(f"{k} {v}" for k, v in label_counts.items()) or "none")
    return 0

