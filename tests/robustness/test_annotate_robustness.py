"""``annotate import`` on hostile Label Studio exports: what a user is promised (README "Reliability").

A bad export gets a clear error (``ConfigError``, exit code 2) or a task counted as skipped
with its reason logged; never a traceback, never a wrong gold row, never an overwritten file.
Each test here failed before the fix it guards (the issue's defect number is in its docstring).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import REPO
from zeroshot_news.apps import annotate
from zeroshot_news.apps.annotate import gold_rows, main
from zeroshot_news.config import ConfigError

LABELS = ["regional_security", "diplomacy", "military", "economy"]
OVERRIDES = ["+taxonomy.labels.economy={threshold: 0.5, descriptions: [the economy]}"]
WHEN = "2026-11-20T10:00:00.000000Z"


def _annotation(choices: Any, ann_id: Any = 1, when: Any = WHEN, **extra: Any) -> dict[str, Any]:
    return {"id": ann_id, "was_cancelled": False, "created_at": when, "updated_at": when,
            "result": [{"from_name": "topics", "to_name": "text", "type": "choices", "value": {"choices": choices}}],
            **extra}


def _task(item_id: Any, *annotations: dict[str, Any], task_id: Any = 1) -> dict[str, Any]:
    return {"id": task_id, "data": {"title": "t", "text": "x", "item_id": item_id, "stratum": "score_1_of_4"},
            "annotations": list(annotations)}


def _good(n: int = 0) -> dict[str, Any]:
    return _task(f"bbc/good{n}.txt", _annotation(["military"]), task_id=900 + n)


def _labels_of(rows: pd.DataFrame) -> dict[str, list[str]]:
    return {item: [lab for lab in LABELS if row[lab] == "1"] for item, row in rows.set_index("item_id").iterrows()}


def _import(tmp_path: Path, export: Any, *args: str) -> pd.DataFrame:
    """Run ``annotate import`` on ``export`` (JSON-dumped unless bytes); the gold CSV it wrote."""
    path = tmp_path / "export.json"
    path.write_bytes(export if isinstance(export, bytes) else json.dumps(export).encode())
    main(["import", str(path), "-o", str(tmp_path / "gold.csv"), *args, *OVERRIDES])
    return pd.read_csv(tmp_path / "gold.csv", dtype=str, keep_default_na=False)


# --- 1. duplicate item_ids -------------------------------------------------------------------------------------

def test_conflicting_answers_for_one_item_are_refused_naming_it():
    """Defect 1: two tasks of one item with different answers became two gold rows."""
    export = [_task("bbc/a1.txt", _annotation(["military"]), task_id=1),
              _task("bbc/a1.txt", _annotation(["economy"]), task_id=2), _good()]
    with pytest.raises(ConfigError, match=r"conflicting answers \(item 'bbc/a1\.txt': task 1 chose \['military'\], "
                                          r"task 2 chose \['economy'\]\)"):
        gold_rows(export, LABELS)


def test_identical_answers_for_one_item_collapse_to_one_row_and_are_counted():
    export = [_task("bbc/a1.txt", _annotation(["military"]), task_id=1),
              _task("bbc/a1.txt", _annotation(["military"]), task_id=2)]
    rows, skipped = gold_rows(export, LABELS)
    assert list(rows["item_id"]) == ["bbc/a1.txt"]
    (skip,) = skipped
    assert (skip.task, skip.reason) == ("task 2", "duplicate item, same answer") and "as task 1" in skip.detail


# --- 2. malformed tasks and files -----------------------------------------------------------------------------

MALFORMED = {
    "not_an_object": ("a task string", "task is not a JSON object"),
    "a_list": ([1, 2], "task is not a JSON object"),
    "data_not_object": ({"id": 5, "data": "bbc/x.txt", "annotations": []}, "data is not a JSON object"),
    "annotations_object": ({**_task("bbc/x.txt"), "annotations": _annotation(["military"])},
                           "annotations is not a list"),
    "annotation_not_object": (_task("bbc/x.txt", "military"), "an annotation is not a JSON object"),
    "result_not_list": (_task("bbc/x.txt", {**_annotation([]), "result": "military"}), "result is not a list"),
    "result_not_object": (_task("bbc/x.txt", {**_annotation([]), "result": ["military"]}),
                          "a result is not a JSON object"),
    "value_null": (_task("bbc/x.txt", {**_annotation([]), "result": [
        {"from_name": "topics", "to_name": "text", "type": "choices", "value": None}]}), "value is not a JSON object"),
    "choices_null": (_task("bbc/x.txt", _annotation(None)), "choices are not label names"),
    "nested_choices": (_task("bbc/x.txt", _annotation([["military"], "economy"])), "choices are not label names"),
    "number_choice": (_task("bbc/x.txt", _annotation([3])), "choices are not label names"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_task_is_a_counted_skip_with_its_reason_not_a_traceback(case, caplog):
    """Defect 2: each of these raised AttributeError / TypeError out of ``annotate import``."""
    task, reason = MALFORMED[case]
    rows, skipped = gold_rows([_good(), task, _good(1)], LABELS)
    assert list(rows["item_id"]) == ["bbc/good0.txt", "bbc/good1.txt"]  # the rest of the export still counts
    assert [s.reason for s in skipped] == [reason]
    assert reason in caplog.text  # logged, with the task it is about


def test_mixed_annotation_id_types_still_pick_the_latest():
    """Defect 2: annotation ids 7 and "9" at the same time compared an int with a str (TypeError)."""
    export = [_task("bbc/a1.txt", _annotation(["economy"], ann_id="9"), _annotation(["military"], ann_id=7))]
    rows, _ = gold_rows(export, LABELS)
    assert _labels_of(rows) == {"bbc/a1.txt": ["economy"]}  # the higher id wins a tie, as before


def test_mixed_task_id_types_are_named_in_messages():
    export = [_task("bbc/a1.txt", _annotation(["economy"]), task_id="t1"),
              _task("bbc/a1.txt", _annotation(["military"]), task_id=[2])]
    with pytest.raises(ConfigError, match=r"task t1 chose .*task at index 1 chose"):
        gold_rows(export, LABELS)


@pytest.mark.parametrize(("content", "message"), [
    (b"[{\"id\": 1,", "is not valid JSON"),
    (b"", "is not valid JSON"),
    (b"\xff\xfe[\x00]\x00", "is not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"id": 1}', "not a Label Studio JSON export"),
])
def test_an_export_that_is_not_a_json_list_is_a_config_error(tmp_path, content, message):
    """Defect 2: JSONDecodeError / UnicodeDecodeError / RecursionError tracebacks."""
    with pytest.raises(ConfigError, match=message):
        _import(tmp_path, content)
    assert not (tmp_path / "gold.csv").exists()


def test_a_missing_export_or_into_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"no such file"):
        main(["import", str(tmp_path / "missing.json"), "-o", str(tmp_path / "gold.csv"), *OVERRIDES])
    with pytest.raises(ConfigError, match=r"--into: .*no such file"):
        _import(tmp_path, [_good()], "--into", str(tmp_path / "missing.csv"))
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ConfigError, match=r"is a folder"):
        main(["import", str(tmp_path / "folder.json"), "-o", str(tmp_path / "gold.csv"), *OVERRIDES])
    assert not (tmp_path / "gold.csv").exists()


def test_an_into_file_without_item_ids_is_a_config_error(tmp_path):
    (tmp_path / "base.csv").write_text("id,military\nx,1\n")
    with pytest.raises(ConfigError, match=r"--into: .*has no item_id column"):
        _import(tmp_path, [_good()], "--into", str(tmp_path / "base.csv"))


# --- 3. a string of choices ------------------------------------------------------------------------------------

def test_a_string_of_choices_is_one_choice_not_letters():
    """Defect 3: "military" became the choices m, i, l, ... (an unknown-label error)."""
    rows, skipped = gold_rows([_task("bbc/a1.txt", _annotation("military"))], LABELS)
    assert _labels_of(rows) == {"bbc/a1.txt": ["military"]} and not skipped


# --- 4. which annotation is the latest -------------------------------------------------------------------------

@pytest.mark.parametrize(("earlier", "later"), [
    ("2026-11-20T12:00:00+02:00", "2026-11-20T11:00:00Z"),  # 10:00 UTC is before 11:00 UTC
    ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.500000Z"),  # "." sorts before "Z" as text
    ("2026-11-20T09:00:00", "2026-11-20T09:30:00Z"),  # no zone: read as UTC
    ("2026-11-21T01:00:00+05:00", "2026-11-20T21:00:00Z"),  # 20:00 UTC on the 20th
])
def test_the_latest_annotation_is_chosen_by_time_not_by_text(earlier, later):
    """Defect 4: timestamps compared as strings picked the wrong annotation."""
    task = _task("bbc/a1.txt", _annotation(["economy"], ann_id=2, when=later),
                 _annotation(["military"], ann_id=1, when=earlier))
    rows, _ = gold_rows([task], LABELS)
    assert _labels_of(rows) == {"bbc/a1.txt": ["economy"]}


def test_unparsable_times_fall_back_to_annotation_order_and_say_so(caplog):
    task = _task("bbc/a1.txt", _annotation(["military"], ann_id=2, when="yesterday"),
                 _annotation(["economy"], ann_id=1, when="2026-11-21T10:00:00Z"), task_id=7)
    rows, _ = gold_rows([task], LABELS)
    assert _labels_of(rows) == {"bbc/a1.txt": ["economy"]}  # the last one in the export's order
    assert "task 7" in caplog.text and "'yesterday'" in caplog.text and "export's order" in caplog.text


# --- 5. ids that are not paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("item_id", [None, ["bbc/a1.txt"], {"path": "x"}, 5, True, "", "   "])
def test_an_item_id_that_is_not_a_path_is_skipped_with_a_reason(item_id, caplog):
    """Defect 5: null and list ids were written as "" and "['bbc/a1.txt']"."""
    rows, skipped = gold_rows([_task(item_id, _annotation(["military"])), _good()], LABELS)
    assert list(rows["item_id"]) == ["bbc/good0.txt"]
    (skip,) = skipped
    assert skip.reason.startswith("item_id is ") and skip.reason in caplog.text


# --- 6. was_cancelled ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("flag", "cancelled"), [
    (True, True), ("true", True), ("TRUE", True), (" True ", True), ("1", True), (1, True),
    (False, False), ("false", False), ("False", False), ("0", False), (0, False), (None, False), ("no", False),
    ("", False),
])
def test_only_a_real_true_cancels_an_annotation(flag, cancelled):
    """Defect 6: "false" (a non-empty string) counted as cancelled."""
    rows, skipped = gold_rows([_task("bbc/a1.txt", _annotation(["military"], was_cancelled=flag))], LABELS)
    assert (len(rows), [s.reason for s in skipped]) == ((0, ["cancelled"]) if cancelled else (1, []))


# --- 7. the export is never overwritten ------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["same", "relative", "symlink", "hardlink"])
def test_an_output_that_is_the_export_is_refused_before_writing(tmp_path, monkeypatch, spelling):
    """Defect 7: ``-o export.json`` replaced the export with the gold CSV."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_good()]))
    before = export.read_bytes()
    output = {"same": export, "relative": Path("sub/../export.json"), "symlink": tmp_path / "link.json",
              "hardlink": tmp_path / "hard.json"}[spelling]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    if spelling == "symlink":
        output.symlink_to(export)
    if spelling == "hardlink":
        os.link(export, output)
    with pytest.raises(ConfigError, match=r"-o .* is the export"):
        main(["import", str(export), "-o", str(output), "--config-dir", str(REPO / "conf"), *OVERRIDES])
    assert export.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["export.json", "sub", *(["link.json"] if spelling == "symlink" else []),
         *(["hard.json"] if spelling == "hardlink" else [])])


def test_an_output_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "export.json").write_text(json.dumps([_good()]))
    (tmp_path / "out").mkdir()
    with pytest.raises(ConfigError, match=r"-o .* is a folder"):
        main(["import", str(tmp_path / "export.json"), "-o", str(tmp_path / "out"), *OVERRIDES])


# --- 8. spreadsheet formula injection --------------------------------------------------------------------------

def test_cells_that_a_spreadsheet_would_run_are_neutralised_in_the_csv(tmp_path, caplog):
    """Defect 8: ids (and any text cell) starting with = + - @ tab CR were written as-is."""
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1)", "\tx.txt",
               "\rx.txt"]
    export = [_task(item, _annotation(["military"]), task_id=i) for i, item in enumerate(hostile)] + [_good()]
    base = tmp_path / "base.csv"
    pd.DataFrame({"item_id": ["old.txt", "=old()"], "stratum": ["=1+1", "s"], "military": ["1", "0"],
                  "score": ["-0.5", "+3"]}).to_csv(base, index=False)
    caplog.set_level(logging.INFO)
    gold = _import(tmp_path, export, "--into", str(base))
    assert list(gold["item_id"]) == ["old.txt", "'=old()", *("'" + item for item in hostile), "bbc/good0.txt"]
    assert list(gold["stratum"][:2]) == ["'=1+1", "s"]
    assert list(gold["score"][:2]) == ["-0.5", "+3"]  # plain numbers are not formulas: left as they are
    assert "formula" in caplog.text and "no longer matches" in caplog.text
    again = tmp_path / "again.csv"  # neutralising is idempotent: a second import adds no second quote
    (tmp_path / "more.json").write_text(json.dumps([_good(5)]))
    main(["import", str(tmp_path / "more.json"), "-o", str(again), "--into", str(tmp_path / "gold.csv"), *OVERRIDES])
    assert list(pd.read_csv(again, dtype=str, keep_default_na=False)["item_id"][:3]) == [
        "old.txt", "'=old()", "'" + hostile[0]]
    assert "formula injection" in annotate.__doc__ and "single quote" in annotate.__doc__


def test_two_ids_that_neutralise_to_one_are_refused(tmp_path):
    """The ids =x.txt and '=x.txt are one id once prefixed: two gold rows for it would be written."""
    export = [_task("=x.txt", _annotation(["military"]), task_id=1), _task("'=x.txt", _annotation([]), task_id=2)]
    with pytest.raises(ConfigError, match=r"\[\"'=x\.txt\"\] would be written twice"):
        _import(tmp_path, export)
    assert not (tmp_path / "gold.csv").exists()


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row(tmp_path):
    """pandas leaves a bare CR unquoted and CSV readers (spreadsheets too) start a row there: a
    row injected mid-cell, with a formula that the prefix rule never sees at a cell's start."""
    export = [_task("a.txt\r=1+cmd", _annotation(["military"])), _good()]
    gold = _import(tmp_path, export)
    assert list(gold["item_id"]) == ["a.txt\r=1+cmd", "bbc/good0.txt"]
    assert (tmp_path / "gold.csv").read_bytes().count(b"\n") == 3  # header and two rows


def test_a_neutralised_duplicate_is_still_caught_by_into(tmp_path):
    """An id neutralised by an earlier import is the same item when the export has it again."""
    base = tmp_path / "base.csv"
    pd.DataFrame({"item_id": ["'=x.txt"], "stratum": ["s"], "military": ["1"]}).to_csv(base, index=False)
    with pytest.raises(ConfigError, match="already gold"):
        _import(tmp_path, [_task("=x.txt", _annotation(["military"]))], "--into", str(base))


# --- the promise end to end ------------------------------------------------------------------------------------

def test_every_task_of_a_hostile_export_is_accounted_for(tmp_path, caplog):
    """One export with every kind of bad task: the good ones become gold, the rest are counted by reason."""
    export = [_good(0), *(task for task, _ in MALFORMED.values()), _task(None, _annotation(["military"])),
              _task("bbc/c.txt", _annotation(["military"], was_cancelled="true")), _task("bbc/n.txt"), _good(1),
              _good(1)]
    caplog.set_level(logging.INFO)
    gold = _import(tmp_path, export)
    assert list(gold["item_id"]) == ["bbc/good0.txt", "bbc/good1.txt"]
    summary = next(r.getMessage() for r in caplog.records if "gold rows" in r.getMessage())
    assert f"{len(export)} tasks = 2 gold rows + {len(export) - 2} skipped" in summary
    assert "not annotated: 1" in summary and "cancelled: 1" in summary and "task is not a JSON object: 2" in summary


def test_the_cli_answers_a_bad_export_with_exit_code_2_and_no_traceback(tmp_path):
    (tmp_path / "export.json").write_text("this is not JSON")
    proc = subprocess.run([sys.executable, "-m", "zeroshot_news", "annotate", "import", str(tmp_path / "export.json"),
                           "-o", str(tmp_path / "gold.csv"), *OVERRIDES], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "is not valid JSON" in proc.stderr
    assert not (tmp_path / "gold.csv").exists()
