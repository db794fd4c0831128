"""The score store: pair scores, passage vectors and sentence spans on disk (SQLite).

``ScoreCache`` is one SQLite file of float64 scores keyed by (scorer fingerprint,
sha256(passage), sha256(hypothesis)). The fingerprint covers the weights and every
scoring setting (see ``base.model_fingerprint``), so a changed model never reuses a
stale score, while a changed threshold, aggregation rule or taxonomy reuses every
pair it still asks for.

Guarantees:

* exact: values are stored as REAL (IEEE float64) and come back bit for bit;
* crash safe: each ``put`` is one transaction, so a process killed mid-write (even
  ``kill -9``) leaves either all of that call's rows or none; WAL journal with
  ``synchronous=NORMAL`` keeps every committed transaction across a process crash
  (only an OS crash / power loss can drop the last few commits, never corrupt);
* shared: several processes may open the same file (WAL readers never block, writers
  wait up to ``timeout`` seconds); one instance may be used from several threads;
* never trusted blindly: a corrupt file is moved aside (``<name>.corrupt-<UTC time>``) and
  a fresh cache started; a cached value that is not a finite score in [0, 1] counts as a
  miss; a read-only cache still serves reads. Each of these logs one warning.

The same file remembers each paragraph's sentence spans (pysbd is the slow part of a
cached re-run), keyed by the splitter's id and version and the paragraph's hash.

:class:`~zeroshot_news.scorers.cached.CachedScorer` is the PairScorer that consults it.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import sqlite3
import stat
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zeroshot_news.config import ConfigError

SCHEMA_VERSION = 1
_CHUNK = 500  # rows per executemany into the temporary key tables
SQLITE_MAGIC = b"SQLite format 3\x00"

log = logging.getLogger(__name__)
READ_ONLY_WARNING = "score cache %s is read-only: cached scores are used, new scores are not saved"


def _retry(fn, timeout: float):
    """Run ``fn`` until SQLite stops answering "locked" (journal-mode switches ignore busy_timeout)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# On-disk caches this process has open, by real path. POSIX advisory locks belong to the
# process: closing *any* descriptor of a database file releases every lock the process
# holds on it, SQLite's included (its "how to corrupt" §2.2), and another process may then
# reset the WAL index under a live connection. So a file this process already has open is
# never opened with plain file I/O again (no header check, no move-aside): it opened fine.
_OPEN_PATHS: Counter[str] = Counter()


CACHE_TABLES = {"scores", "sentences", "embeddings"}


def _check_regular(path: Path) -> None:
    """An existing cache path must be a regular file: a FIFO blocks forever, /dev/null or a
    device holds nothing, a symlink loop never resolves."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"score cache {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"score cache {path} is not a regular file")


def _header_damage(path: Path) -> str | None:
    """Why ``path`` cannot be a whole SQLite file, judged from its 100-byte header; None if it may be."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError:
        return None  # absent (a new cache) or unreadable: sqlite3 reports that itself
    if size == 0:
        return None  # an empty file is a new database to SQLite
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    size_valid = header[24:28] == header[92:96]  # SQLite's own rule for trusting the page count
    wal = Path(f"{path}-wal")
    # Pages committed to a WAL not yet checkpointed may legitimately lie beyond the file's end.
    if size_valid and pages * page_size > size and not (wal.exists() and wal.stat().st_size):
        return f"truncated: {size} bytes, its header counts {pages} pages of {page_size} bytes"
    return None


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc) or "not a database" in str(exc)


def _is_read_only_error(exc: sqlite3.Error) -> bool:
    return "readonly" in str(exc) or "read-only" in str(exc)


def text_key(text: str) -> bytes:
    """sha256 of the UTF-8 text: the 32-byte key of a passage or a hypothesis."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


# Passage embeddings of bi-encoders (float32 bytes), keyed by (encoder fingerprint, sha256(text)).
EMBEDDINGS_TABLE = ("CREATE TABLE IF NOT EXISTS embeddings (fp TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL,"
                    " PRIMARY KEY (fp, k)) WITHOUT ROWID")


class ScoreCache:
    """SQLite store of float64 scores keyed by (fingerprint, passage hash, hypothesis hash)."""

    VALUE_RANGE = (0.0, 1.0)  # every PairScorer returns probabilities

    def __init__(self, path: str | Path, timeout: float = 60.0):
        self.path = Path(path)
        on_disk = str(path) != ":memory:"
        if on_disk:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._hits = 0
        self._misses = 0
        self._writes = 0
        self._warned: set[str] = set()
        self._con: sqlite3.Connection | None = None
        if on_disk:
            _check_regular(self.path)
        self.read_only = on_disk and not self._writable()
        self._key = os.path.realpath(self.path) if on_disk else None
        already_open = self._key is not None and _OPEN_PATHS[self._key] > 0
        damage = _header_damage(self.path) if on_disk and not already_open else None
        if damage and not self.read_only:
            self._move_aside(damage)
        try:
            self._open(timeout)
        except sqlite3.DatabaseError as exc:
            if not (on_disk and not self.read_only and not already_open and _is_corruption(exc)):
                raise
            self.close()
            self._move_aside(str(exc))
            self._open(timeout)
        if self._key is not None:
            _OPEN_PATHS[self._key] += 1

    def _writable(self) -> bool:
        folder_ok = os.access(self.path.parent, os.W_OK)
        return folder_ok and (not self.path.exists() or os.access(self.path, os.W_OK))

    def _warn_once(self, kind: str, message: str, *args: object) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning(message, *args)

    def _move_aside(self, why: str) -> None:
        """Rename a corrupt cache (and its WAL, which belongs to it) out of the way; a fresh one follows."""
        import fcntl

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        with self.path.open("rb") as fh:
            # Processes opening the same corrupt file at once: the first moves it, the others see it moved.
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            if not self.path.exists() or not os.path.samestat(os.fstat(fh.fileno()), self.path.stat()):
                return
            os.replace(self.path, aside)
            wal = Path(f"{self.path}-wal")
            if wal.exists():
                os.replace(wal, f"{aside}-wal")
            Path(f"{self.path}-shm").unlink(missing_ok=True)
        log.warning("score cache %s is corrupt (%s): moved to %s, starting a fresh cache", self.path, why, aside.name)

    def _open(self, timeout: float) -> None:
        if self.read_only:
            self._open_read_only(timeout)
            return
        # Autocommit mode: transactions are opened explicitly below.
        self._con = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                    check_same_thread=False)
        con = self._con
        con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        try:
            self._check_ownership(con)
            self._create_tables(con, timeout)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self.close()
                raise ConfigError(f"score cache {self.path} is locked by another process (waited {timeout:.0f} s); "
                                  "let it finish, or use another cache.path / cache.enabled=false") from None
            raise

    def _check_ownership(self, con: sqlite3.Connection) -> None:
        """Refuse, before altering anything, a SQLite file that is not this cache: another
        application's tables, or a cache schema this version does not know."""
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        foreign = sorted(tables - CACHE_TABLES)
        if foreign:
            self.close()
            raise ConfigError(f"score cache {self.path} is another application's SQLite database (tables "
                              f"{foreign[:5]}); it is left untouched: set cache.path to a new file")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            self.close()
            raise ConfigError(f"score cache {self.path} has schema version {version}, this version reads "
                              f"{SCHEMA_VERSION}; move or delete the file to start a fresh cache")

    def _create_tables(self, con: sqlite3.Connection, timeout: float) -> None:
        _retry(lambda: con.execute("PRAGMA journal_mode = WAL"), timeout)
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("PRAGMA temp_store = MEMORY")
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS scores ("
                " fp TEXT NOT NULL, p BLOB NOT NULL, h BLOB NOT NULL, v REAL NOT NULL,"
                " PRIMARY KEY (fp, p, h)) WITHOUT ROWID"
            )
            # Sentence spans of a paragraph, keyed by sha256(segmenter id + paragraph).
            con.execute("CREATE TABLE IF NOT EXISTS sentences (k BLOB PRIMARY KEY, spans TEXT NOT NULL) WITHOUT ROWID")
            con.execute(EMBEDDINGS_TABLE)
            if con.execute("PRAGMA user_version").fetchone()[0] == 0:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _open_read_only(self, timeout: float) -> None:
        """Serve reads; WAL mode needs a writable -shm, else the file is read as immutable."""
        self._warn_once("read_only", READ_ONLY_WARNING, self.path)
        uri = self.path.resolve().as_uri()
        for mode in ("mode=ro", "immutable=1"):
            con = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=timeout, isolation_level=None,
                                  check_same_thread=False)
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError:  # cannot open it this way, or it is damaged
                con.close()
                continue
            if {"scores", "sentences"} <= tables:
                self._con = con
                return
            con.close()
            break
        # No usable file: an empty in-memory cache keeps the run going.
        self._con = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._con.execute("CREATE TABLE scores (fp TEXT NOT NULL, p BLOB NOT NULL, h BLOB NOT NULL, "
                          "v REAL NOT NULL, PRIMARY KEY (fp, p, h)) WITHOUT ROWID")
        self._con.execute("CREATE TABLE sentences (k BLOB PRIMARY KEY, spans TEXT NOT NULL) WITHOUT ROWID")
        self._con.execute(EMBEDDINGS_TABLE)

    # -- lookups and inserts ------------------------------------------------------------

    def get(self, fingerprint: str, passages: Sequence[str], hypotheses: Sequence[str],
            ) -> tuple[np.ndarray, np.ndarray]:
        """(values, found) for the grid passages x hypotheses; values are NaN where not found."""
        return self.get_keys(fingerprint, [text_key(p) for p in passages], [text_key(h) for h in hypotheses])

    def get_keys(self, fingerprint: str, p_keys: Sequence[bytes], h_keys: Sequence[bytes],
                 ) -> tuple[np.ndarray, np.ndarray]:
        values = np.full((len(p_keys), len(h_keys)), np.nan, dtype=np.float64)
        found = np.zeros(values.shape, dtype=bool)
        if not p_keys or not h_keys:
            return values, found
        p_index = {k: i for i, k in enumerate(p_keys)}
        h_index = {k: j for j, k in enumerate(h_keys)}
        bad: list[tuple[str, bytes, bytes]] = []
        with self._lock:
            # Plain SELECTs only (no temp-table writes inside a read transaction): a
            # reader never has to upgrade its lock, so concurrent writers cannot make
            # it fail with "database is locked".
            keys = list(p_index)
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start:start + _CHUNK]
                rows = self._con.execute(
                    f"SELECT p, h, v FROM scores WHERE fp = ? AND p IN ({','.join('?' * len(chunk))})",
                    (fingerprint, *chunk),
                ).fetchall()
                for p, h, v in rows:
                    j = h_index.get(h)
                    if j is None:
                        continue
                    if not self._valid(v):
                        bad.append((fingerprint, p, h))
                        continue
                    i = p_index[p]
                    values[i, j] = v
                    found[i, j] = True
            n_found = int(found.sum())
            self._hits += n_found
            self._misses += found.size - n_found
        if bad:
            self._drop_invalid(bad)
        return values, found

    def _valid(self, v: Any) -> bool:
        low, high = self.VALUE_RANGE
        return type(v) is float and low <= v <= high  # False for NaN and inf too

    def _drop_invalid(self, keys: list[tuple[str, bytes, bytes]]) -> None:
        """Forget invalid cached values, so the recomputed scores can take their place."""
        self._warn_once("invalid", "score cache %s: %d cached values are not finite or outside [%s, %s]; "
                        "treating them as missing and recomputing them (further ones are not reported)",
                        self.path, len(keys), *self.VALUE_RANGE)
        self._insert_many("DELETE FROM scores WHERE fp = ? AND p = ? AND h = ?", keys)

    def put(self, fingerprint: str, passages: Sequence[str], hypotheses: Sequence[str],
            values: np.ndarray) -> int:
        """Store the grid passages x hypotheses in one transaction; returns rows offered."""
        return self.put_keys(fingerprint, [text_key(p) for p in passages], [text_key(h) for h in hypotheses],
                             values)

    def put_keys(self, fingerprint: str, p_keys: Sequence[bytes], h_keys: Sequence[bytes],
                 values: np.ndarray) -> int:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(p_keys), len(h_keys)):
            raise ValueError(f"values shape {values.shape} != ({len(p_keys)}, {len(h_keys)})")
        rows = [(fingerprint, pk, hk, float(v))
                for pk, row in zip(p_keys, values.tolist(), strict=True)
                for hk, v in zip(h_keys, row, strict=True)
                if self._valid(v)]  # NaN/inf (SQLite has no NaN) and non-scores are never cached
        return self._insert(rows)

    def put_pairs(self, fingerprint: str, pairs: Iterable[tuple[str, str, float]]) -> int:
        """Store aligned (passage, hypothesis, value) triples in one transaction."""
        rows = [(fingerprint, text_key(p), text_key(h), float(v)) for p, h, v in pairs if self._valid(float(v))]
        return self._insert(rows)

    def _insert(self, rows: list[tuple[str, bytes, bytes, float]]) -> int:
        if not rows or not self._insert_many("INSERT OR IGNORE INTO scores (fp, p, h, v) VALUES (?, ?, ?, ?)", rows):
            return 0
        with self._lock:
            self._writes += len(rows)
        return len(rows)

    def _insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> bool:
        """All rows in one transaction: after a crash, all of them or none. False when read-only."""
        with self._lock:
            if self.read_only:
                return False
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    con.executemany(sql, rows)
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:  # SQLite may have rolled back already (disk full)
                        con.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if "disk is full" in str(exc):
                    raise OSError(errno.ENOSPC, f"no space left on device: {self.path}", str(self.path)) from exc
                if not _is_read_only_error(exc):
                    raise
                self.read_only = True  # it became read-only while open
                self._warn_once("read_only", READ_ONLY_WARNING, self.path)
                return False
            return True

    # -- remembered sentence segmentations -------------------------------------------------

    def get_spans(self, keys: Sequence[bytes]) -> dict[bytes, list[tuple[int, int]]]:
        found: dict[bytes, list[tuple[int, int]]] = {}
        with self._lock:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start:start + _CHUNK]
                rows = self._con.execute(
                    f"SELECT k, spans FROM sentences WHERE k IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for k, spans in rows:
                    try:
                        found[k] = [(int(s), int(e)) for s, e in json.loads(spans)]
                    except (ValueError, TypeError):  # damaged: segment again
                        self._warn_once("bad_spans", "score cache %s: ignoring damaged sentence spans", self.path)
        return found

    def put_spans(self, items: dict[bytes, list[tuple[int, int]]]) -> None:
        if not items:
            return
        rows = [(k, json.dumps([list(span) for span in spans])) for k, spans in items.items()]
        self._insert_many("INSERT OR IGNORE INTO sentences (k, spans) VALUES (?, ?)", rows)

    # -- passage embeddings (the topic head's input) -----------------------------------

    def get_vectors(self, fingerprint: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Cached unit vectors by key; a damaged vector (non-finite, not unit length) is a miss."""
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start:start + _CHUNK]
                try:
                    rows = self._con.execute(
                        f"SELECT k, v FROM embeddings WHERE fp = ? AND k IN ({','.join('?' * len(chunk))})",
                        [fingerprint, *chunk]).fetchall()
                except sqlite3.OperationalError:  # a read-only cache from before this table existed
                    return found
                for k, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.size and np.isfinite(vec).all() and abs(float(np.dot(vec, vec)) - 1.0) < 1e-3:
                        found[k] = vec
                    else:
                        self._warn_once("bad_vector", "score cache %s: ignoring damaged cached embeddings",
                                        self.path)
        return found

    def put_vectors(self, fingerprint: str, items: dict[bytes, np.ndarray]) -> None:
        rows = [(fingerprint, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        if rows:
            self._insert_many("INSERT OR IGNORE INTO embeddings (fp, k, v) VALUES (?, ?, ?)", rows)

    # -- bookkeeping ---------------------------------------------------------------------

    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            if fingerprint is None:
                return int(self._con.execute("SELECT count(*) FROM scores").fetchone()[0])
            return int(self._con.execute("SELECT count(*) FROM scores WHERE fp = ?", (fingerprint,)).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def stats(self) -> dict[str, int]:
        """Pairs found / not found by ``get`` and rows offered to ``put`` by this instance."""
        return {"hits": self._hits, "misses": self._misses, "writes": self._writes}

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None  # type: ignore[assignment]
                if self._key is not None and _OPEN_PATHS[self._key] > 0:
                    _OPEN_PATHS[self._key] -= 1

    def __enter__(self) -> ScoreCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
