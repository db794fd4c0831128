"""Atomic, deterministic writers: a killed stage never leaves a half-written output."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


def current_umask() -> int:
    """The process umask, read from /proc where possible: setting it to read it races with threads."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _lock(fd: int, blocking: bool = True) -> bool:
    """flock ``fd``; False when another process holds it (a live writer)."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_stale_temps(path: Path) -> None:
    """Delete the temp files that interrupted writes of ``path`` left behind.

    Only names atomic_path makes for this very output; a temp whose writer is still
    running holds a lock on it and is kept.
    """
    own = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    for old in path.parent.iterdir():
        if not own.fullmatch(old.name) or not old.is_file() or old.is_symlink():
            continue
        try:
            fd = os.open(old, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd, blocking=False):
                old.unlink(missing_ok=True)
        finally:
            os.close(fd)


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it over the target on success.

    The result gets the usual mode for a new file (0666 minus the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _lock(fd)  # marks the temp as live until this write ends
        os.chmod(tmp, 0o666 & ~current_umask())
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def write_parquet(df: pd.DataFrame, path: Path | str, schema: pa.Schema | None = None) -> None:
    """Write a DataFrame without its index; same frame -> same bytes."""
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=4096)


def read_parquet(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the stage that produces it first")
    return pd.read_parquet(path)


def write_json(data: Any, path: Path | str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(records: list[dict[str, Any]], path: Path | str) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")


def iter_parquet(path: Path | str, batch_size: int, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Read a parquet file as DataFrames of at most ``batch_size`` rows: memory stays flat."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the stage that produces it first")
    reader = pq.ParquetFile(path)
    for batch in reader.iter_batches(batch_size=batch_size, columns=columns):
        yield batch.to_pandas()


class ParquetStreamWriter:
    """Append DataFrames as row groups to one parquet file with a fixed schema.

    Written to a temp file and renamed on ``close()``: an interrupted stage leaves no
    partial output. Same frames in the same order -> same bytes.
    """

    def __init__(self, path: Path | str, schema: pa.Schema):
        self.path = Path(path)
        self.schema = schema
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        if len(df):
            table = pa.Table.from_pandas(df[self.schema.names], schema=self.schema, preserve_index=False)
            self._writer.write_table(table, row_group_size=4096)
            self.rows += len(df)

    def close(self) -> None:
        self._writer.close()
        self._ctx.__exit__(None, None, None)

    def abort(self) -> None:
        self._writer.close()
        self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> ParquetStreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
