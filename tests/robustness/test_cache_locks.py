"""A second score cache on the same file must not drop the first one's SQLite locks.

POSIX advisory locks belong to the process and file: closing *any* descriptor of the file
releases every lock the process holds on it (SQLite's "how to corrupt" §2.2), and another
process may then reset the WAL index under a live connection. A second cache in one
process (the stance research driver built an encoder and a stance scorer, each with a
cache) read the file's header with a plain open() / close(), released the first cache's
locks, and a concurrent process left "database disk image is malformed" (seen in this
project on 2026-12-04). The cache now never opens a file it already has open with plain
file I/O.
"""

from __future__ import annotations

import builtins
import io
import os
import sqlite3

import pytest

from zeroshot_news.scorers import store
from zeroshot_news.scorers.store import ScoreCache


def test_a_second_cache_on_an_open_file_never_opens_it_with_plain_io(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    first = ScoreCache(path)
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == os.path.realpath(path):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    second = ScoreCache(path)  # e.g. the stance scorer's cache beside the encoder's
    second.put("fp", ["p"], ["h"], [[0.5]])
    second.close()
    assert opened == [], "a plain open() of an open database releases this process's SQLite locks"
    values, found = first.get("fp", ["p"], ["h"])
    assert found.all() and values[0, 0] == 0.5
    first.close()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_header_of_a_file_nobody_here_has_open_is_still_checked(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database at all" * 10)
    with ScoreCache(path) as cache:  # moved aside, a fresh cache started
        cache.put("fp", ["p"], ["h"], [[0.25]])
    assert [p.name.split(".corrupt-")[0] for p in tmp_path.iterdir() if ".corrupt-" in p.name] == ["c.sqlite"]
    assert store._OPEN_PATHS[os.path.realpath(path)] == 0


@pytest.mark.parametrize("n", [2, 3])
def test_open_counts_go_back_to_zero(tmp_path, n):
    path = tmp_path / "c.sqlite"
    caches = [ScoreCache(path) for _ in range(n)]
    assert store._OPEN_PATHS[os.path.realpath(path)] == n
    for c in caches:
        c.close()
        c.close()  # twice is harmless
    assert store._OPEN_PATHS[os.path.realpath(path)] == 0
