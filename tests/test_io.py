"""Atomic writes: modes follow the umask, and temps of interrupted writes do not pile up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pandas as pd
import pyarrow as pa
import pytest

from tests.conftest import REPO
from zeroshot_news.io import ParquetStreamWriter, atomic_path, write_json, write_jsonl, write_parquet


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    write_json({"a": 1}, tmp_path / "a.json")
    write_jsonl([{"a": 1}], tmp_path / "a.jsonl")
    write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "a.parquet")
    with ParquetStreamWriter(tmp_path / "s.parquet", pa.schema([("a", pa.int64())])) as w:
        w.write(pd.DataFrame({"a": [1]}))
    for name in ("a.json", "a.jsonl", "a.parquet", "s.parquet"):
        assert _mode(tmp_path / name) == expected, name


def _interrupted_write(path) -> None:
    """A process killed in the middle of a write: its temp file stays behind."""
    code = textwrap.dedent(f"""
        import os
        from zeroshot_news.io import atomic_path
        with atomic_path({str(path)!r}) as tmp:
            tmp.write_text("half")
            os._exit(9)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 9


def _temps(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_next_write_removes_stale_temps_of_the_same_output_only(tmp_path):
    out = tmp_path / "out.json"
    _interrupted_write(out)
    (tmp_path / ".out.json.zz_12345.tmp").write_text("older leftover")
    other = tmp_path / ".other.json.abcdefgh.tmp"  # another output's temp
    other.write_text("x")
    mine_lookalike = tmp_path / ".out.json.not-a-temp.tmp"  # not a name atomic_path makes
    mine_lookalike.write_text("x")
    assert len(_temps(tmp_path)) == 4
    write_json({"a": 1}, out)
    assert _temps(tmp_path) == sorted([other.name, mine_lookalike.name])
    assert out.read_text() == '{\n  "a": 1\n}\n'


def test_a_live_writers_temp_is_not_removed(tmp_path):
    out = tmp_path / "out.json"
    with atomic_path(out) as live:
        live.write_text("in progress")
        write_json({"b": 2}, out)  # a second writer of the same output meanwhile
        assert live.exists()
    assert out.read_text() == "in progress"
    assert _temps(tmp_path) == []
