"""The classify CLI on each input kind, with bad records, exit codes and determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zeroshot_news.cli import main

from .conftest import REPO


def _run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def tiny_overrides(tiny_encoder, tmp_path) -> list[str]:
    # The pipeline's topic head belongs to the default encoder: a tiny model classifies zero-shot.
    return ["--config-dir", str(REPO / "conf"), "--no-progress", f"model.name_or_path={tiny_encoder}",
            "model.max_length=128", f"cache.path={tmp_path / 'cache.sqlite'}", "self_train.rounds=0"]


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_classify_native_folder_with_bad_files(corrupted_corpus, tmp_path, tiny_overrides, capsys):
    out = tmp_path / "out.jsonl"
    assert _run(["classify", str(corrupted_corpus), "--output", str(out), *tiny_overrides]) == 0
    records = _read(out)
    err = capsys.readouterr().err
    for reason in ("002_empty.txt: empty", "004_binary.txt: binary", "005_truncated_header.txt: no_body",
                   "008_huge.txt: oversized", "009_duplicate.txt: duplicate_content"):
        assert f"quarantined corrupted/{reason}" in err
    # Both are the seed with small changes: near-duplicates of 001_good, reported, not lost.
    assert "removed corrupted/006_no_header.txt: near_duplicate" in err
    assert "removed corrupted/010_bad_date.txt: near_duplicate" in err
    assert "classified 2 of 10 records" in err
    assert [r["id"] for r in records] == ["001_good", "007_latin1"]
    rec = next(r for r in records if r["id"] == "001_good")
    assert set(rec["topics"]) == {"regional_security", "diplomacy", "military"}
    assert all(0 <= v <= 1 for v in rec["topics"].values())
    assert set(rec["stance"]) == {"russian_government", "ukrainian_government", "western_governments", "taliban"}
    assert rec["stance"]["taliban"]["label"] in {"favor", "against", "neutral"}
    assert rec["stance"]["ukrainian_government"] == {"label": "none", "scores": None}
    assert set(rec["stance"]["taliban"]["scores"]) == {"favor", "against", "neutral"}


def test_classify_jsonl_and_csv(tmp_path, tiny_overrides, seed_text):
    body = " ".join(seed_text.split()[20:120])
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"id": "j1", "text": body}) + "\n" + "{broken\n", encoding="utf-8")
    csv_path = tmp_path / "in.csv"
    import csv

    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "body"])
        w.writerow(["c1", "Talks with the Taliban", body])
        w.writerow(["c2", "Empty", ""])
    for path, expected in [(jsonl, ["j1"]), (csv_path, ["c1"])]:
        out = tmp_path / f"{path.stem}.out.jsonl"
        assert _run(["classify", str(path), "-o", str(out), *tiny_overrides]) == 0
        assert [r["id"] for r in _read(out)] == expected


def test_classify_is_deterministic(seed_folder, tmp_path, tiny_overrides):
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for out in outs:
        assert _run(["classify", str(seed_folder), "-o", str(out), *tiny_overrides]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_nothing_usable_exits_nonzero(tmp_path, tiny_overrides, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"")
    (folder / "b.txt").write_bytes(b"\x00\x01\x02" * 10)
    assert _run(["classify", str(folder), "-o", str(tmp_path / "o.jsonl"), *tiny_overrides]) == 3
    assert "nothing usable" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_bad_config_fails_fast_with_the_key(seed_folder, tmp_path, capsys):
    code = _run(["classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"), "--config-dir",
                 str(REPO / "conf"), "model.batch_size=0"])
    assert code == 2 and "model.batch_size" in capsys.readouterr().err
    code = _run(["classify", str(tmp_path / "missing"), "-o", str(tmp_path / "o.jsonl"), "--config-dir",
                 str(REPO / "conf")])
    assert code == 2


def test_module_help_runs():
    out = subprocess.run([sys.executable, "-m", "zeroshot_news", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "classify" in out and "compose" in out
    out = subprocess.run([sys.executable, "-m", "zeroshot_news", "classify", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--output" in out


def test_a_head_for_another_encoder_is_refused(seed_folder, tmp_path, tiny_overrides, capsys):
    code = _run(["classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"), *tiny_overrides[:-1]])
    assert code == 2
    assert "fitted on another encoder" in capsys.readouterr().err


def test_default_classify_uses_the_pipelines_head_and_keeps_the_seeds_topics(seed_folder, tmp_path):
    """The committed head with the default encoder, from outside the project folder."""
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(seed_folder), "-o", str(out), "--config-dir", str(REPO / "conf"),
                 "--no-progress", f"cache.path={tmp_path / 'cache.sqlite'}"]) == 0
    (record,) = _read(out)
    assert sorted(record["topic_labels"]) == ["diplomacy", "military", "regional_security"]
