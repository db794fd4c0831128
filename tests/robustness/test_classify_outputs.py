"""classify's outputs: a closed pipe, spreadsheet formulas, unwritable places, .json."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO
from zeroshot_news.apps.classify import check_output, neutralise_formulas, write_records
from zeroshot_news.config import ConfigError

RECORD = {"id": "=HYPERLINK(\"http://x\")", "doc_id": "d1", "short": False, "topics": {"military": 0.9},
          "topic_labels": ["military"],
          "stance": {"taliban": {"label": "none", "scores": None, "margin": None, "uncertain": False}}}


def test_csv_cells_that_start_a_formula_are_neutralised(tmp_path):
    out = tmp_path / "o.csv"
    write_records([RECORD, {**RECORD, "id": "+1", "doc_id": "d2"}, {**RECORD, "id": "-x", "doc_id": "d3"},
                   {**RECORD, "id": "@cmd", "doc_id": "d4"}, {**RECORD, "id": "plain", "doc_id": "d5"}], out)
    ids = pd.read_csv(out, dtype=str)["id"].tolist()
    assert ids == ["'=HYPERLINK(\"http://x\")", "'+1", "'-x", "'@cmd", "plain"]
    frame = neutralise_formulas(pd.DataFrame({"n": [-1.5], "s": ["-1.5"]}))
    assert frame["n"].tolist() == [-1.5] and frame["s"].tolist() == ["'-1.5"]  # numbers stay numbers


def test_dot_json_is_one_json_document(tmp_path):
    out = tmp_path / "o.json"
    write_records([RECORD, RECORD], out)
    assert json.loads(out.read_text(encoding="utf-8")) == [RECORD, RECORD]


@pytest.mark.parametrize("target", ["/proc/zeroshot-news-out.jsonl", "/sys/out.csv"])
def test_an_output_nothing_can_be_created_in_is_refused_before_any_work(tmp_path, target):
    with pytest.raises(ConfigError, match="--output"):
        check_output(__import__("pathlib").Path(target), tmp_path)


def test_a_closed_pipe_ends_quietly():
    """`classify ... -o - | head -1`: no BrokenPipeError traceback."""
    code = ("import sys; sys.argv=['x']\n"
            "from zeroshot_news.apps.classify import write_records\n"
            f"rec = {RECORD!r}\n"
            "write_records([rec] * 20000, __import__('pathlib').Path('-'))\n")
    proc = subprocess.run(f"{sys.executable} -c \"$CODE\" | head -1", shell=True, capture_output=True, text=True,
                          env={"CODE": code, "PATH": "/usr/bin:/bin"}, cwd=REPO, timeout=120)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_hostile_file_names_are_logged_escaped_on_one_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "001_good.txt").write_text(" date 2021-01-01 Talks\n\nReuters\nTalks\nMinisters met for talks in "
                                         "Geneva about the border dispute.\n", encoding="utf-8")
    (folder / "002_bad\nERROR forged line \x1b[31m.txt").write_bytes(b"")  # empty: quarantined
    proc = subprocess.run([sys.executable, "-m", "zeroshot_news", "classify", str(folder), "-o",
                           str(tmp_path / "o.jsonl"), "--no-progress", f"cache.path={tmp_path / 'c.sqlite'}"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "002_bad" in line]
    assert len(lines) == 1 and "\\n" in lines[0] and "\\x1b" in lines[0] and "\x1b" not in proc.stderr
    assert not any(line.startswith("ERROR forged") for line in proc.stderr.splitlines())
