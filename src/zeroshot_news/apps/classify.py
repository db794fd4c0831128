"""``classify``: ingest -> clean -> topic -> stance on any articles, streamed in chunks.

The same functions as the DVC stages, composed from the same ``conf/`` (plus Hydra
overrides), so a file classified here gets the scores the pipeline would give it.
INPUT is a folder of native-format files, or a ``.csv`` / ``.jsonl`` file with an
``id`` column and either ``text`` or ``title`` + ``body``. Bad records are reported
with their reason as they come and skipped (``--rejected FILE`` lists them as JSON Lines);
the exit code is non-zero only for a bad config or an input with nothing usable in it.

**Streaming.** Records are read one at a time (a ``.jsonl`` / ``.csv`` file line by line,
see :class:`TableStream`), cleaned by one stateful :class:`~zeroshot_news.corpus.clean.Cleaner`
and classified ``--chunk-size`` kept articles at a time with models built once, so memory
does not grow with the input except for what duplicate detection remembers: 16 bytes per
record for exact duplicates (:class:`CompactMap`), and near-duplicate signatures for the
last ``--near-window`` kept articles only (``--dedup``). The records do not depend on the
chunk size.

**Resumable.** Each finished chunk's JSON Lines go to ``<output>.parts/part-NNNNNN.jsonl``
next to a manifest naming the input, the run's config digest and the chunk size. A rerun of
the same command after an interruption (even ``kill -9``) reads and cleans the input again
(to rebuild the duplicate state) but skips the model work of every finished chunk; a changed
input, config or chunk size starts over. The output is assembled from the parts at the end,
atomically, and the work folder removed. ``-o -`` streams JSON Lines to stdout chunk by
chunk (nothing to resume).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from zeroshot_news import __version__
from zeroshot_news.config import (
    DEFAULT_CONFIG_DIR,
    CleaningConfig,
    ColumnMapping,
    Config,
    ConfigError,
    CorpusConfig,
    NearDuplicateConfig,
    SourceConfig,
    add_config_args,
    anchor_paths,
    config_from_args,
    find_project,
)
from zeroshot_news.corpus.clean import Cleaner, NearDuplicateIndex, detect_language, language_uncertain
from zeroshot_news.corpus.ingest import Ingestor
from zeroshot_news.corpus.ingest.files import display_path, skip_reason
from zeroshot_news.corpus.ingest.records import ARTICLE_COLUMNS, Article, Reject, printable, sha256
from zeroshot_news.corpus.ingest.table import TABLE_SUFFIXES, csv_rows, jsonl_rows, parse_row
from zeroshot_news.decisions import STANCE_CLASSES
from zeroshot_news.engine import map_ordered
from zeroshot_news.io import atomic_path, write_json
from zeroshot_news.scorers.loading import resolve_model
from zeroshot_news.zeroshot.topic_head import PIPELINE_HEAD, TopicHead, read_head

log = logging.getLogger(__name__)

EXIT_NOTHING_USABLE = 3
DEFAULT_CHUNK_SIZE = 2000
# Near-duplicate signatures kept (MinHash + LSH entries: ~6.7 KB per kept article at the default
# 128 permutations, so ~70 MB at most); 0 = every kept article's, as the clean stage does.
DEFAULT_NEAR_WINDOW = 10_000
DEDUP_MODES = ("near", "exact", "none")


def input_source(path: Path) -> SourceConfig:
    """The ingest source for a CLI input path."""
    if not path.exists():
        raise ConfigError(f"INPUT: {str(path)!r} does not exist")
    if path.is_dir():
        return SourceConfig(name="input", format="native", path=str(path))
    if path.suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        return SourceConfig(name="input", format="table", path=str(path), columns=ColumnMapping())
    if path.suffix.lower() == ".txt":  # one article in the native format
        return SourceConfig(name="input", format="native", path=str(path))
    raise ConfigError(f"INPUT: expected a folder, a native-format .txt file, or a .csv / .jsonl file, "
                      f"got {path.name!r}")


# ---------------------------------------------------------------------------
# Duplicate state that stays small
# ---------------------------------------------------------------------------


class CompactMap:
    """64-bit keys -> 64-bit values in 16 bytes an entry: sorted numpy arrays, plus a dict of
    the latest inserts that is merged in whenever it holds ``buffer`` entries. What a stream
    must remember of every record (a hash and where it was first seen) and nothing more."""

    def __init__(self, buffer: int = 1 << 16):
        self._keys = np.empty(0, np.uint64)
        self._values = np.empty(0, np.uint64)
        self._recent: dict[int, int] = {}
        self._buffer = buffer

    def __len__(self) -> int:
        return len(self._keys) + len(self._recent)

    def get(self, key: int) -> int | None:
        value = self._recent.get(key)
        if value is not None or not len(self._keys):
            return value
        i = int(self._keys.searchsorted(np.uint64(key)))
        if i < len(self._keys) and int(self._keys[i]) == key:
            return int(self._values[i])
        return None

    def add(self, key: int, value: int) -> None:
        """Remember ``key`` (callers check ``get`` first: the first value stays)."""
        self._recent[key] = value
        if len(self._recent) >= self._buffer:
            self._merge()

    def _merge(self) -> None:
        keys = np.fromiter(self._recent, np.uint64, len(self._recent))
        values = np.fromiter(self._recent.values(), np.uint64, len(self._recent))
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        at = self._keys.searchsorted(keys)  # one insertion pass: the old arrays plus one new copy at a time
        self._keys = np.insert(self._keys, at, keys)
        self._values = np.insert(self._values, at, values)
        self._recent.clear()


def hash64(text: str) -> int:
    """A 64-bit hash of any text (lone surrogates included)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


_HEX16 = re.compile(r"[0-9a-f]{16}")


class ExactKeys:
    """``Cleaner.exact`` (normalised-text hash -> the first doc_id with it) in a
    :class:`CompactMap`: the hash's first 64 bits and the doc_id (16 hex digits) as numbers."""

    def __init__(self) -> None:
        self._map = CompactMap()
        self._other: dict[int, str] = {}  # doc_ids that are not 16 hex digits (never made by ingest)

    @staticmethod
    def _key(text_hash: str) -> int:
        return int(text_hash[:16], 16)

    def __contains__(self, text_hash: str) -> bool:
        return self._map.get(self._key(text_hash)) is not None

    def __getitem__(self, text_hash: str) -> str:
        key = self._key(text_hash)
        value = self._map.get(key)
        if value is None:
            raise KeyError(text_hash)
        return self._other.get(key, f"{value:016x}")

    def __setitem__(self, text_hash: str, doc_id: str) -> None:
        key = self._key(text_hash)
        if _HEX16.fullmatch(doc_id):
            self._map.add(key, int(doc_id, 16))
        else:
            self._other[key] = doc_id
            self._map.add(key, 0)


class NoKeys:
    """``Cleaner.exact`` for ``--dedup none``: remembers nothing, finds no duplicate."""

    def __contains__(self, text_hash: str) -> bool:
        return False

    def __setitem__(self, text_hash: str, doc_id: str) -> None:
        pass


class WindowedNearIndex(NearDuplicateIndex):
    """The clean stage's near-duplicate index over the last ``window`` kept articles only.

    A near-duplicate of an article more than ``window`` kept articles back is not found
    (copies of a story usually come close together); in exchange memory stops growing at
    ``window`` signatures. Among the candidates inside the window the earliest kept one is
    named, as in the clean stage."""

    def __init__(self, cfg: NearDuplicateConfig, window: int):
        super().__init__(cfg)
        self.window = window
        self._order: deque[str] = deque()
        self._added = 0

    def add(self, doc_id: str, text: str) -> tuple[str, float] | None:
        dup = super().add(doc_id, text)
        if dup is None:  # indexed: a position that keeps growing (the base class counts its entries)
            self.hashes[doc_id] = (self._added, self.hashes[doc_id][1])
            self._added += 1
            self._order.append(doc_id)
            if len(self._order) > self.window:
                oldest = self._order.popleft()
                self.lsh.remove(oldest)
                del self.hashes[oldest]
        return dup


def make_cleaner(cfg: CleaningConfig, dedup: str, near_window: int) -> Cleaner:
    """The clean stage's Cleaner with classify's duplicate state: ``near`` (exact duplicates,
    plus near-duplicates within the last ``near_window`` kept articles, 0 = all of them, when
    ``cleaning.near_duplicates.enabled``), ``exact`` or ``none``."""
    cleaner = Cleaner(cfg)
    cleaner.exact = NoKeys() if dedup == "none" else ExactKeys()  # type: ignore[assignment]
    if dedup != "near" or cleaner.near is None:
        cleaner.near = None
    elif near_window:
        cleaner.near = WindowedNearIndex(cfg.near_duplicates, near_window)
    return cleaner


# ---------------------------------------------------------------------------
# Reading a table line by line
# ---------------------------------------------------------------------------

# As records._CONTROL: controls that never occur in text files (a test keeps them equal).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
READ_BLOCK = 1 << 20
RowError = tuple[str, str]


def plain_utf8(path: Path, corpus: CorpusConfig) -> bool:
    """Whether ingest would read ``path`` as UTF-8 text (``records.decode_bytes``: not blank, no
    UTF-16 byte-order mark, no NUL byte in the first 8 KiB, strict UTF-8, few control
    characters); checked in blocks, so then the file can be read line by line instead of
    whole with the same result."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    chars = controls = 0
    blank = True
    with path.open("rb") as fh:
        head = fh.read(8192)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
            return False
        fh.seek(0)
        while True:
            block = fh.read(READ_BLOCK)
            blank = blank and not block.strip()
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                return False
            chars += len(text)
            controls += len(CONTROL_CHARS.findall(text))
            if not block:
                break
    return not blank and controls / max(chars, 1) <= corpus.max_control_char_ratio


Row = tuple[str, dict[str, Any]]  # ("articles" | "quarantine", row), as Ingestor.rows()


class TableStream:
    """Ingest of one UTF-8 ``.jsonl`` / ``.csv`` file (``plain_utf8``), line by line.

    The same records as ``Ingestor.rows()`` with the table adapter (a test compares them on
    hostile tables), but that adapter reads and splits the whole file and both remember every
    id and doc_id as strings with their paths; here only a 64-bit hash and a line number are
    kept per record (:class:`CompactMap`)."""

    def __init__(self, source: SourceConfig, corpus: CorpusConfig):
        self.source, self.corpus = source, corpus
        self.path = Path(source.path)

    @staticmethod
    def applies(source: SourceConfig, corpus: CorpusConfig) -> bool:
        path = Path(source.path)
        return (source.format == "table" and path.is_file() and path.suffix.lower() in TABLE_SUFFIXES
                and skip_reason(path, path) is None and plain_utf8(path, corpus))

    def rows(self) -> Iterator[Row]:
        name, cols, path = self.source.name, self.source.columns, self.path
        display = display_path(path, path)
        ids = CompactMap()  # the adapter's duplicate_id: hash of the id -> its line
        docs = CompactMap()  # the ingestor's duplicate_content: doc_id -> its line
        # Universal newlines: "\r\n" and "\r" become "\n", as decode_bytes does; utf-8-sig drops a BOM.
        with path.open(encoding="utf-8-sig", newline=None) as fh:
            lines = csv_rows(fh) if path.suffix.lower() == ".csv" else jsonl_rows(fh)
            for lineno, row in lines:
                where = f"{display}:{lineno}"
                rec: Article | Reject
                if isinstance(row, tuple):
                    rec = Reject(name, where, *row)
                else:
                    row_sha = sha256(json.dumps(row, sort_keys=True, default=str).encode("utf-8"))
                    rec = parse_row(row, cols, where, row_sha, name, f"{path.stem}:{lineno}",
                                    self.corpus.max_file_bytes)
                if isinstance(rec, Article):
                    rec.encoding = "utf-8"
                    first = ids.get(key := hash64(rec.source_id))
                    if first is not None:
                        rec = Reject(name, where, "duplicate_id",
                                     f"id {rec.source_id!r} already used at {display}:{first}")
                    else:
                        ids.add(key, lineno)
                if isinstance(rec, Article):  # the Ingestor's checks (its duplicate_id cannot fire on one file)
                    invalid = rec.invalid_text()
                    if invalid:
                        field, char = invalid
                        rec = Reject(name, rec.path, "bad_encoding",
                                     f"{field} holds a lone surrogate {char!r}: not valid Unicode text",
                                     rec.body_bytes(), rec.raw_sha256)
                    else:
                        doc_id = rec.doc_id
                        first = docs.get(int(doc_id, 16))
                        if first is not None:
                            rec = Reject(name, rec.path, "duplicate_content",
                                         f"same doc_id {doc_id} as {display}:{first}", len(rec.body.encode()),
                                         rec.raw_sha256)
                        else:
                            docs.add(int(doc_id, 16), lineno)
                yield ("articles", rec.row()) if isinstance(rec, Article) else ("quarantine", rec.row())


def input_rows(source: SourceConfig, corpus: CorpusConfig) -> Iterator[Row]:
    """Articles and quarantine rows of the input, in ingest's order: a plain UTF-8 table line by
    line, anything else (a folder, another encoding) through ingest itself."""
    if TableStream.applies(source, corpus):
        yield from TableStream(source, corpus).rows()
        return
    for table, row in Ingestor(corpus, progress=False).rows():
        if table != "sentences":
            yield table, row


# ---------------------------------------------------------------------------
# Ingest + clean as a stream of chunks
# ---------------------------------------------------------------------------


REJECTED_FORMATS = (".jsonl",)


def rejected_record(stage: str, row: dict[str, Any]) -> dict[str, Any]:
    """One line of ``--rejected``: where the record was (``path``, for a table ``file:line``), its
    ``id`` when it was read, the stage that rejected it (``ingest``: quarantined, unreadable;
    ``clean``: removed) and why, as the pipeline's quarantine and removed tables say it."""
    def text(key: str) -> str | None:
        value = row.get(key)
        return value if isinstance(value, str) and value else None  # NaN / None / "" -> null

    return {"path": text("path"), "id": text("source_id"), "stage": stage, "reason": text("reason"),
            "detail": text("detail"), "duplicate_of": text("duplicate_of")}


class RejectedWriter:
    """``--rejected``: the quarantined and removed records as JSON Lines, written to a temp file
    as they come and renamed into place when the run ends (a resumed run reads the input again,
    so it rewrites the whole list). ``path`` None: nothing is written."""

    def __init__(self, path: Path | None):
        self.path = path
        self._stack = contextlib.ExitStack()
        self._fh = None
        self.count = 0

    def __enter__(self) -> RejectedWriter:
        if self.path is not None:
            tmp = self._stack.enter_context(atomic_path(self.path))
            self._fh = self._stack.enter_context(tmp.open("w", encoding="utf-8"))
        return self

    def write(self, record: dict[str, Any]) -> None:
        self.count += 1
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def __exit__(self, *exc: Any) -> bool:
        return self._stack.__exit__(*exc)  # renames on success, removes the temp on an error


@dataclass
class Counts:
    seen: int = 0
    quarantined: int = 0
    removed: int = 0
    kept: int = 0
    removed_language: int = 0  # of removed: not in cleaning.languages (the summary says how to keep them)


class ArticleStream:
    """Ingest -> clean, yielding the kept articles in chunks of exactly ``chunk_size`` (the last
    may be shorter). Quarantined and removed records are logged and counted as they come."""

    def __init__(self, cfg: Config, source: SourceConfig, chunk_size: int, dedup: str = "near",
                 near_window: int = DEFAULT_NEAR_WINDOW, on_record: Callable[[], None] | None = None,
                 ready: Callable[[], Any] | None = None,
                 on_reject: Callable[[dict[str, Any]], None] | None = None):
        self.corpus = replace(cfg.corpus, name="input", sources=[source])
        # Short texts (headlines, ledes, wire alerts) are classified and flagged `short`:
        # cleaning.min_words is a corpus rule, not a reason to drop what a user asked about.
        self.cleaner = make_cleaner(replace(cfg.cleaning, min_words=0), dedup, near_window)
        self.chunk_size = chunk_size
        self.clean_rows = min(chunk_size, 1024)
        self.counts = Counts()
        self.on_record = on_record
        self.ready = ready  # called once before the first clean (the language model warming up)
        self.on_reject = on_reject  # gets each quarantined or removed record (rejected_record)

    def _quarantined(self, row: dict[str, Any]) -> None:
        self.counts.quarantined += 1
        log.warning("quarantined %s: %s (%s)", printable(row["path"]), row["reason"], printable(row["detail"]))
        if self.on_reject is not None:
            self.on_reject(rejected_record("ingest", row))

    def _clean(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        if self.ready is not None:
            self.ready()
            self.ready = None
        kept, removed = self.cleaner.process(pd.DataFrame(rows, columns=ARTICLE_COLUMNS))
        for row in removed.itertuples():
            log.warning("removed %s: %s (%s)", printable(row.path), row.reason, printable(row.detail))
            if self.on_reject is not None:
                self.on_reject(rejected_record("clean", row._asdict()))
        self.counts.removed += len(removed)
        self.counts.removed_language += int((removed["reason"] == "language").sum()) if len(removed) else 0
        self.counts.kept += len(kept)
        return kept

    def chunks(self) -> Iterator[pd.DataFrame]:
        pending: list[dict[str, Any]] = []
        kept: list[pd.DataFrame] = []
        n_kept = 0

        def take(n: int) -> pd.DataFrame:
            nonlocal kept, n_kept
            frame = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0].reset_index(drop=True)
            chunk, rest = frame.iloc[:n].reset_index(drop=True), frame.iloc[n:]
            kept, n_kept = ([rest] if len(rest) else []), len(rest)
            return chunk

        for table, row in input_rows(self.source_of(), self.corpus):
            self.counts.seen += 1
            if self.on_record is not None:
                self.on_record()
            if table == "quarantine":
                self._quarantined(row)
                continue
            pending.append(row)
            if len(pending) >= self.clean_rows:
                frame = self._clean(pending)
                pending = []
                if len(frame):
                    kept.append(frame)
                    n_kept += len(frame)
                while n_kept >= self.chunk_size:
                    yield take(self.chunk_size)
        if pending:
            frame = self._clean(pending)
            if len(frame):
                kept.append(frame)
                n_kept += len(frame)
        while n_kept:
            yield take(min(n_kept, self.chunk_size))

    def source_of(self) -> SourceConfig:
        return self.corpus.sources[0]


# ---------------------------------------------------------------------------
# The models: a chunk of cleaned articles -> its JSON Lines
# ---------------------------------------------------------------------------


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


def record_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


class ClassifyWorker:
    """The models of one run, built once (in this process or in a Ray actor): topic scorer (or
    encoder + topic head), and the stance scorer only when stance has a model of its own."""

    WORKER_COLUMNS: ClassVar[list[str]] = ["doc_id", "source_id", "title", "body", "n_words", "language"]

    def __init__(self, cfg: Config, head: TopicHead | None, min_words: int, progress: bool = False):
        from zeroshot_news.scorers.build import build_scorer
        from zeroshot_news.zeroshot.topic import topic_scorers

        self.cfg, self.head, self.min_words, self.progress = cfg, head, min_words, progress
        # With a head, the embedding backend: stance scores pairs with the same (cached) model.
        self.topic_scorer, self.head_encoder = topic_scorers(cfg, head, progress)
        self.stance_scorer = (self.topic_scorer if cfg.stance.model is None
                              else build_scorer(cfg.stance.model, progress, cache=cfg.cache))

    def __call__(self, articles: pd.DataFrame) -> str:
        from zeroshot_news.zeroshot.stance import classify_stance
        from zeroshot_news.zeroshot.topic import classify_topics

        cfg = self.cfg
        topics = classify_topics(articles, self.topic_scorer, cfg.taxonomy, cfg.topic, cfg.passages, self.progress,
                                 head=self.head, head_encoder=self.head_encoder).topics
        stance_articles = articles
        if cfg.stance.restrict_to_topics:
            keep = topics.loc[topics["predicted"] & topics["label"].isin(cfg.stance.restrict_to_topics), "doc_id"]
            stance_articles = articles[articles["doc_id"].isin(set(keep))].reset_index(drop=True)
        stance = classify_stance(stance_articles, self.stance_scorer, cfg.stance, cfg.passages, self.progress).stance
        records = build_records(articles, topics, stance)
        for record, n_words, language in zip(records, articles["n_words"], articles["language"], strict=True):
            record["short"] = bool(n_words < self.min_words)
            record["language_uncertain"] = language_uncertain(language, cfg.cleaning)
        return "".join(record_line(r) for r in records)


class Prefetched:
    """Runs ``build`` in a thread (loading the models while the first chunk is read and cleaned);
    calling it waits for the result (and raises what ``build`` raised)."""

    def __init__(self, build: Callable[[], Any], name: str = "classify-models", daemon: bool = False):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(build,), name=name, daemon=daemon)
        self._thread.start()

    def _run(self, build: Callable[[], Any]) -> None:
        try:
            self._value = build()
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def __call__(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------

OUTPUT_FORMATS = (".jsonl", ".json", ".csv", ".parquet")
# A CSV cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Records per block when a flat format is written: the output's bytes depend on this, never on --chunk-size.
ASSEMBLY_ROWS = 4096


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


def flat_schema(columns: list[str]):
    """The parquet schema of :func:`flat_records`' columns: fixed, so a block whose stance scores
    are all null is still typed as numbers."""
    import pyarrow as pa

    def kind(column: str):
        if column in ("id", "doc_id", "topic_labels") or column.endswith(".label"):
            return pa.string()
        if column in ("short", "language_uncertain") or column.endswith(".uncertain"):
            return pa.bool_()
        return pa.float64()

    return pa.schema([(c, kind(c)) for c in columns])


def _blocks(lines: Iterable[str], size: int) -> Iterator[list[dict[str, Any]]]:
    block: list[dict[str, Any]] = []
    for line in lines:
        block.append(json.loads(line))
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def write_lines(lines: Iterable[str], output: Path) -> None:
    """Records given as JSON Lines (each ending in a newline), written by the output's extension:
    JSON Lines (``.jsonl``, nested), one JSON array (``.json``), CSV or parquet (flat columns),
    atomically. Streams: flat formats go in blocks of :data:`ASSEMBLY_ROWS` records."""
    suffix = output.suffix.lower()
    with atomic_path(output) as tmp:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                for i, block in enumerate(_blocks(lines, ASSEMBLY_ROWS)):
                    neutralise_formulas(flat_records(block)).to_csv(fh, index=False, header=i == 0)
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            try:
                for block in _blocks(lines, ASSEMBLY_ROWS):
                    frame = flat_records(block)
                    if writer is None:
                        schema = flat_schema(list(frame.columns))
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
                if writer is None:
                    pq.write_table(pa.table({}), tmp)
            finally:
                if writer is not None:
                    writer.close()
        elif suffix == ".json":  # what json.dumps(records) gives, one record at a time
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write("[")
                for i, line in enumerate(lines):
                    fh.write(line[:-1] if i == 0 else ", " + line[:-1])
                fh.write("]\n")
        else:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.writelines(lines)


def write_records(records: list[dict[str, Any]], output: Path) -> None:
    """By the output's extension (see :func:`write_lines`); ``-``: JSON Lines on stdout (a reader
    that stops early, like ``head``, ends the output quietly)."""
    if str(output) == "-":
        with contextlib.suppress(ReaderGone):
            write_stdout("".join(record_line(r) for r in records))
        return
    write_lines((record_line(r) for r in records), output)


class ReaderGone(Exception):
    """The reader of stdout closed the pipe: the rest is not wanted."""


def write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise ReaderGone from None


def check_output(output: Path, input_path: Path, option: str = "--output") -> None:
    """Refuse, before any work, an output that would overwrite the input or cannot be written.
    ``option`` names the flag in the messages; ``--rejected`` takes JSON Lines only."""
    if str(output) == "-" and option == "--output":
        return
    formats = OUTPUT_FORMATS if option == "--output" else REJECTED_FORMATS
    if output.suffix.lower() not in (*formats, ".ndjson"):
        stdout = " (or - for JSON Lines on stdout)" if option == "--output" else ""
        raise ConfigError(f"{option}: {output.name!r}: the format follows the extension, one of "
                          f"{', '.join(formats)}{stdout}")
    out, src = output.resolve(), input_path.resolve()
    if out == src or (src.is_dir() and out.is_relative_to(src)):
        raise ConfigError(f"{option}: {output} is {'the input' if out == src else 'inside the input folder'}; "
                          "write the results elsewhere")
    if out.is_dir():
        raise ConfigError(f"{option}: {output} is a folder; give a file name")
    if not out.parent.is_dir():
        raise ConfigError(f"{option}: the folder {output.parent} does not exist (or is a file)")
    if not os.access(out.parent, os.W_OK):
        raise ConfigError(f"{option}: the folder {output.parent} is not writable")
    try:  # os.access says yes to root everywhere; /proc, a read-only mount or a full disk say no here
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise ConfigError(f"{option}: cannot create a file in {output.parent}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------
# The work folder: finished chunks, resumed after an interruption
# ---------------------------------------------------------------------------

MANIFEST = "manifest.json"
LOCK = "lock"
_PART = re.compile(r"(?:part-\d{6}\.jsonl|\.part-\d{6}\.jsonl\.[a-z0-9_]{8}\.tmp)")


def input_digest(path: Path) -> str:
    """A file's content; a folder's listing with each entry's size and modification time."""
    h = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as fh:
            while block := fh.read(READ_BLOCK):
                h.update(block)
        return h.hexdigest()
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            st = full.lstat()
            h.update(f"{full.relative_to(path).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode(
                "utf-8", "surrogateescape"))
    return h.hexdigest()


def run_digest(cfg: Config, head_path: Path | None, dedup: str, near_window: int) -> str:
    """What the records depend on: the configuration (not the engine or the score cache), the
    topic head's bytes, the duplicate settings and this package's version."""
    data = {k: v for k, v in asdict(cfg).items() if k not in ("engine", "cache")}
    data["_run"] = {"dedup": dedup, "near_window": near_window, "version": __version__,
                    "head": sha256(head_path.read_bytes()) if head_path is not None else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class WorkFolder:
    """``<output>.parts/``: the manifest, one part per finished chunk, and a lock held while
    this run writes them (a second run on the same output is refused)."""

    def __init__(self, output: Path, manifest: dict[str, Any]):
        self.output = output
        self.path = output.with_name(output.name + ".parts")
        self.manifest = manifest
        self.done: set[int] = set()
        self._lock_fd: int | None = None

    def part(self, index: int) -> Path:
        return self.path / f"part-{index:06d}.jsonl"

    def open(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--output: {self.path} (the work folder of {self.output.name}) is not a folder")
        self.path.mkdir(exist_ok=True)
        self._lock_fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise ConfigError(f"--output: another classify is writing {self.output} (its work folder {self.path} "
                              "is locked)") from None
        try:
            old = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old == self.manifest:
            self.done = {int(p.name[5:11]) for p in self.path.iterdir() if re.fullmatch(r"part-\d{6}\.jsonl", p.name)}
            if self.done:
                log.info("resuming: %d finished chunks in %s are reused (their model work is skipped)",
                         len(self.done), self.path)
            return
        if old is not None:
            changed = [k for k in self.manifest if not isinstance(old, dict) or old.get(k) != self.manifest[k]]
            log.warning("work folder %s was made by another run (%s changed): starting over", self.path,
                        ", ".join(changed) or "its format")
        self._remove_parts()
        write_json(self.manifest, self.path / MANIFEST)

    def _remove_parts(self) -> None:
        for p in self.path.iterdir():
            if _PART.fullmatch(p.name) or p.name == MANIFEST:
                p.unlink(missing_ok=True)

    def write(self, index: int, text: str) -> None:
        with atomic_path(self.part(index)) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
        self.done.add(index)

    def lines(self, n_chunks: int) -> Iterator[str]:
        for index in range(n_chunks):
            with self.part(index).open(encoding="utf-8", newline="\n") as fh:  # lines end at "\n" only
                yield from fh

    def remove(self) -> None:
        self._remove_parts()
        (self.path / LOCK).unlink(missing_ok=True)
        self.close()
        try:
            self.path.rmdir()
        except OSError as exc:
            log.warning("work folder %s not removed: %s", self.path, exc.strerror or exc)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


@dataclass
class RunResult:
    counts: Counts
    classified: int
    chunks: int
    seconds: float
    label_counts: Counter[str]


def classify_stream(cfg: Config, source: SourceConfig, output: Path, head: TopicHead | None = None,
                    head_path: Path | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, dedup: str = "near",
                    near_window: int = DEFAULT_NEAR_WINDOW, progress: bool = True,
                    ready: Callable[[], Any] | None = None, rejected: Path | None = None) -> RunResult:
    """Classify ``source`` into ``output`` (a file, or ``-`` for stdout) chunk by chunk; resumes
    from ``<output>.parts/`` when an earlier run of the same input and config was interrupted.
    Nothing is written to ``output`` when nothing is usable (``RunResult.classified == 0``);
    ``rejected`` (JSON Lines) lists every quarantined and removed record whenever the run ends
    without an error."""
    with RejectedWriter(rejected) as rejects:
        return _classify_stream(cfg, source, output, head, head_path, chunk_size, dedup, near_window, progress,
                                ready, rejects.write)


def _classify_stream(cfg: Config, source: SourceConfig, output: Path, head: TopicHead | None,
                     head_path: Path | None, chunk_size: int, dedup: str, near_window: int, progress: bool,
                     ready: Callable[[], Any] | None, on_reject: Callable[[dict[str, Any]], None]) -> RunResult:
    from tqdm import tqdm

    to_stdout = str(output) == "-"
    work = None
    if not to_stdout:
        manifest = {"format": 1, "input": os.fsencode(Path(source.path).resolve()).decode("utf-8", "backslashreplace"),
                    "input_sha256": input_digest(
            Path(source.path)), "config_digest": run_digest(cfg, head_path, dedup, near_window),
            "chunk_size": chunk_size}
        work = WorkFolder(output, manifest)
        work.open()
    bar = tqdm(desc="classify", unit="rec", disable=not progress)
    stream = ArticleStream(cfg, source, chunk_size, dedup, near_window, on_record=lambda: bar.update(), ready=ready,
                           on_reject=on_reject)
    make_worker = partial(ClassifyWorker, cfg, head, cfg.cleaning.min_words)
    if cfg.engine.name == "local" and not (work and work.done):
        make_worker = Prefetched(make_worker)  # the models load while the first chunk is read and cleaned
    n_chunks = classified = 0
    labels: Counter[str] = Counter()
    start = time.perf_counter()

    def todo() -> Iterator[tuple[int, pd.DataFrame]]:
        nonlocal n_chunks, classified
        for index, chunk in enumerate(stream.chunks()):
            n_chunks, classified = index + 1, classified + len(chunk)
            if work is None or index not in work.done:
                yield index, chunk[ClassifyWorker.WORKER_COLUMNS]

    try:
        for index, text in map_ordered(todo(), make_worker, cfg.engine):
            if work is None:
                write_stdout(text)
            else:
                work.write(index, text)
            # split("\n"), not splitlines(): an id may hold U+2028 or U+0085, which JSON leaves as they are
            labels.update(lab for line in text.split("\n") if line for lab in json.loads(line)["topic_labels"])
    except ReaderGone:
        log.info("the reader of stdout closed it after %d chunks: stopped", n_chunks)
        bar.close()
        return RunResult(stream.counts, classified, n_chunks, time.perf_counter() - start, labels)
    except BaseException:
        bar.close()
        if work is not None and work.done:
            work.close()
            log.warning("stopped: %d finished chunks are kept in %s; run the same command again to resume",
                        len(work.done), work.path)
        elif work is not None:  # nothing to resume: leave nothing behind
            work.remove()
        raise
    bar.close()
    seconds = time.perf_counter() - start
    counts = stream.counts
    if counts.seen != classified + counts.quarantined + counts.removed:  # pragma: no cover - a bug
        raise AssertionError(f"classify lost records: {counts}, classified {classified}")
    if work is not None:
        if classified:
            if len(work.done) < n_chunks:  # pragma: no cover - every chunk was written above
                raise AssertionError(f"missing parts: {sorted(set(range(n_chunks)) - work.done)}")
            write_lines(work.lines(n_chunks), output)
        work.remove()
    return RunResult(counts, classified, n_chunks, seconds, labels)


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


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Classify a folder of native-format articles or a .csv/.jsonl file.",
        epilog="Overrides use Hydra syntax, e.g. model=nli taxonomy=security stance.none_rule=relevance",
    )
    ap.add_argument("input", type=Path,
                    help="folder of native-format .txt files, one such .txt file, or a .csv / .jsonl file")
    ap.add_argument("--output", "-o", type=Path, required=True,
                    help="output file, format by extension: .jsonl (nested), .json (one array), .csv or .parquet "
                         "(flat columns); - writes JSON Lines to stdout as chunks finish")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument("--head", type=Path,
                    help=f"the self-trained topic head (default: the pipeline's, {PIPELINE_HEAD} in the "
                         "project); ignored with self_train.rounds=0 or a non-embedding model")
    ap.add_argument("--project", type=Path,
                    help="the project folder (conf/, params.yaml, models/, the score cache); default: the "
                         "nearest one at or above the working directory, else this package's checkout. "
                         "Relative paths in the config are read against it, so classify runs from anywhere")
    ap.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK_SIZE,
                    help="kept articles classified (and saved to the work folder <output>.parts/) at a time; "
                         "the records do not depend on it (default: %(default)s)")
    ap.add_argument("--dedup", choices=DEDUP_MODES, default="near",
                    help="duplicates removed by cleaning: near = exact duplicates of anything earlier plus "
                         "near-duplicates (MinHash, cleaning.near_duplicates) of the last --near-window kept "
                         "articles; exact = exact duplicates only; none = neither (default: %(default)s)")
    ap.add_argument("--near-window", type=non_negative_int, default=DEFAULT_NEAR_WINDOW,
                    help="kept articles whose near-duplicate signatures are remembered (~7 KB each); 0 = all, "
                         "as the clean stage (memory then grows with the input) (default: %(default)s)")
    ap.add_argument("--rejected", type=Path,
                    help="also write every record that was not classified to this .jsonl file, one line each: "
                         "path, id, stage (ingest: quarantined; clean: removed), reason, detail, duplicate_of")
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    # The language identifier loads (~0.5 s, mostly LZMA, which lets other threads run) while the
    # config is read and the models are built; cleaning waits for it.
    language_model = Prefetched(partial(detect_language, "warm up"), name="classify-langid", daemon=True)
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
    if args.rejected is not None:
        check_output(args.rejected, args.input, option="--rejected")
        if str(args.output) != "-" and args.rejected.resolve() == args.output.resolve():
            raise ConfigError(f"--rejected: {args.rejected} is also --output; give another file")

    resolve_model(cfg.model.name_or_path)  # a bad or unsafe model fails before anything else is read
    head_path = (args.head or root / PIPELINE_HEAD) if cfg.uses_topic_head else None
    head = read_head(head_path) if head_path is not None else None
    result = classify_stream(cfg, source, args.output, head=head, head_path=head_path, chunk_size=args.chunk_size,
                             dedup=args.dedup, near_window=args.near_window, progress=not args.no_progress,
                             ready=language_model, rejected=args.rejected)
    counts = result.counts
    if counts.removed_language:
        log.warning("%d records removed as another language than cleaning.languages=%s; to keep them, add their "
                    "codes (e.g. cleaning.languages=[en,fr]) or keep every language with 'cleaning.languages=[]'",
                    counts.removed_language, list(cfg.cleaning.languages))
    rejected_to = (f"; listed in {args.rejected}" if args.rejected is not None else
                   "; --rejected FILE lists them" if counts.quarantined + counts.removed else "")
    if not result.classified:
        log.error("nothing usable in %s: %d records seen, %d quarantined, %d removed by cleaning%s", args.input,
                  counts.seen, counts.quarantined, counts.removed, rejected_to)
        return EXIT_NOTHING_USABLE
    rate = result.classified / max(result.seconds, 1e-9)
    log.info("classified %d of %d records -> %s (%d quarantined, %d removed%s; %d chunks; %.2f articles/s, model "
             "loading included)", result.classified, counts.seen, args.output, counts.quarantined, counts.removed,
             rejected_to, result.chunks, rate)
    log.info("topic labels: %s", ", ".join(f"{k} {v}" for k, v in result.label_counts.most_common()) or "none")
    return 0
