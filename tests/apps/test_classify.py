"""The classify CLI on each input kind, with bad records, exit codes and determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from zeroshot_news.cli import main


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
    assert rec["stance"]["ukrainian_government"] == {"label": "none", "scores": None, "margin": None,
                                                     "uncertain": False}
    assert set(rec["stance"]["taliban"]["scores"]) == {"favor", "against", "neutral"}
    taliban = rec["stance"]["taliban"]
    top = sorted(taliban["scores"].values(), reverse=True)
    assert taliban["margin"] == __import__("pytest").approx(top[0] - top[1], abs=1e-6)
    assert isinstance(taliban["uncertain"], bool)


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
        w.writerow(["c2", "Taliban talks resume in Moscow", ""])  # a headline alone: classified, flagged short
        w.writerow(["c3", "", ""])  # nothing: quarantined
    for path, expected in [(jsonl, ["j1"]), (csv_path, ["c1", "c2"])]:
        out = tmp_path / f"{path.stem}.out.jsonl"
        assert _run(["classify", str(path), "-o", str(out), *tiny_overrides]) == 0
        records = _read(out)
        assert [r["id"] for r in records] == expected
    assert [r.get("short") for r in records] == [False, True]


def test_classify_one_native_file_as_its_folder_would(seed_folder, tmp_path, tiny_overrides, capsys):
    one, folder = tmp_path / "one.jsonl", tmp_path / "folder.jsonl"
    seed = next(seed_folder.glob("*.txt"))
    assert _run(["classify", str(seed), "-o", str(one), *tiny_overrides]) == 0
    assert _run(["classify", str(seed_folder), "-o", str(folder), *tiny_overrides]) == 0
    got, want = _read(one), _read(folder)
    assert len(got) == 1
    assert {k: v for k, v in got[0].items() if k != "path"} == {k: v for k, v in want[0].items() if k != "path"}
    pdf = tmp_path / "article.pdf"
    pdf.write_bytes(b"%PDF")
    assert _run(["classify", str(pdf), "-o", str(tmp_path / "x.jsonl"), *tiny_overrides]) != 0
    assert "native-format .txt file" in capsys.readouterr().err


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
    assert "--output" in out and out.startswith("usage: python -m zeroshot_news classify ")


def test_help_names_the_program_as_it_was_called():
    script = Path(sys.executable).parent / "zeroshot-news"  # the console script of `pip install -e .`
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(script), "topic", "--help"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: zeroshot-news topic ")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    assert "Run `zeroshot-news COMMAND --help`" in out


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


@pytest.mark.parametrize("where", ["same_file", "inside_folder", "is_folder", "parent_is_file"])
def test_bad_outputs_are_refused_before_any_work(where, tmp_path, seed_folder, tiny_overrides, capsys):
    table = tmp_path / "in.jsonl"
    table.write_text('{"id": "a", "text": "Troops moved to the border."}\n', encoding="utf-8")
    before = table.read_bytes()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    src, out = {"same_file": (table, table), "inside_folder": (seed_folder, seed_folder / "out.jsonl"),
                "is_folder": (table, tmp_path), "parent_is_file": (table, tmp_path / "afile" / "o.jsonl")}[where]
    assert _run(["classify", str(src), "-o", str(out), *tiny_overrides]) == 2
    assert "--output" in capsys.readouterr().err
    assert table.read_bytes() == before
    assert not (seed_folder / "out.jsonl").exists()


def test_short_texts_are_classified_and_flagged(tmp_path, tiny_overrides):
    table = tmp_path / "in.jsonl"
    rows = [{"id": "headline", "text": "Russia and the Taliban hold talks in Moscow"},
            {"id": "repeat", "title": "NATO troops arrive in Poland", "body": "NATO troops arrive in Poland"}]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(table), "-o", str(out), *tiny_overrides]) == 0
    records = {r["id"]: r for r in _read(out)}
    assert set(records) == {"headline", "repeat"}
    assert all(r["short"] for r in records.values())


@pytest.mark.parametrize("override,message", [
    ("~stance.targets", "stance.targets: missing required key"),
    ("cache.path={afile}/cache.sqlite", "is a file"),
])
def test_bad_config_fails_at_start(override, message, tmp_path, seed_folder, capsys):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    code = _run(["classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"), "--config-dir", str(REPO / "conf"),
                 override.format(afile=tmp_path / "afile")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_output_format_follows_the_extension(tmp_path, seed_folder, tiny_overrides, capsys):
    import pandas as pd

    outs = {ext: tmp_path / f"o{ext}" for ext in (".jsonl", ".csv", ".parquet")}
    for out in outs.values():
        assert _run(["classify", str(seed_folder), "-o", str(out), *tiny_overrides]) == 0
    (record,) = _read(outs[".jsonl"])
    flat_csv, flat_pq = pd.read_csv(outs[".csv"]), pd.read_parquet(outs[".parquet"])
    for flat in (flat_csv, flat_pq):
        assert flat.loc[0, "id"] == record["id"]
        for label, score in record["topics"].items():
            assert flat.loc[0, f"topic.{label}"] == pytest.approx(score)
        assert {f"stance.{t}.label" for t in record["stance"]} <= set(flat.columns)
    capsys.readouterr()
    assert _run(["classify", str(seed_folder), "-o", "-", *tiny_overrides]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["id"] == record["id"]
    assert not (tmp_path / "-").exists()
    assert _run(["classify", str(seed_folder), "-o", str(tmp_path / "o.txt"), *tiny_overrides]) == 2


def test_classify_reads_the_pipelines_params_by_default(tmp_path, seed_folder):
    """No overrides: the project's params.yaml (what the pipeline last ran), not conf/."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(REPO / "conf", project / "conf")
    params = (REPO / "params.yaml").read_text(encoding="utf-8")
    # An experiment's params: zero-shot topics with a threshold no score reaches.
    params = params.replace("rounds: 1", "rounds: 0").replace("threshold: 0.5", "threshold: 1.0")
    params = params.replace("path: data/cache/scores.sqlite", f"path: {tmp_path / 'c.sqlite'}")
    (project / "params.yaml").write_text(params, encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(seed_folder), "-o", str(out), "--config-dir", str(project / "conf"),
                 "--no-progress"]) == 0
    (record,) = _read(out)
    assert record["topic_labels"] == []  # params.yaml's thresholds, not conf/'s 0.5


def test_classify_runs_from_any_folder_with_the_projects_config_and_paths(tmp_path, seed_folder, tiny_encoder,
                                                                         monkeypatch):
    """Outside the repository: the project is found (this checkout), its conf/ composed, and
    relative config paths (cache, ONNX exports) land in the project, not the working folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = elsewhere / "o.jsonl"
    assert _run(["classify", str(seed_folder), "-o", str(out), "--no-progress", f"model.name_or_path={tiny_encoder}",
                 "model.max_length=128", f"cache.path={tmp_path / 'c.sqlite'}", "self_train.rounds=0"]) == 0
    assert len(_read(out)) == 1 and sorted(p.name for p in elsewhere.iterdir()) == ["o.jsonl"]


def test_a_project_without_conf_is_refused(tmp_path, seed_folder, capsys):
    assert _run(["classify", str(seed_folder), "-o", str(tmp_path / "o.jsonl"), "--project", str(tmp_path)]) == 2
    assert "--project" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_another_language_is_removed_with_a_hint_to_keep_it(tmp_path, tiny_overrides, seed_text, capsys):
    french = ("Les ministres des affaires étrangères se sont réunis mardi à Genève pour discuter de la frontière "
              "et des négociations de paix, a indiqué le porte-parole du gouvernement dans un communiqué publié "
              "après la réunion, qui a duré plus de six heures selon plusieurs diplomates présents sur place.")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"id": "en", "text": " ".join(seed_text.split()[20:120])}) + "\n"
                     + json.dumps({"id": "fr", "text": french}) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(jsonl), "-o", str(out), *tiny_overrides]) == 0
    assert [r["id"] for r in _read(out)] == ["en"]
    err = capsys.readouterr().err
    assert "1 records removed as another language" in err and "cleaning.languages=[]" in err
    kept = tmp_path / "all.jsonl"
    assert _run(["classify", str(jsonl), "-o", str(kept), *tiny_overrides, "cleaning.languages=[]"]) == 0
    assert [r["id"] for r in _read(kept)] == ["en", "fr"]


def test_rejected_lists_every_record_not_classified_with_its_reason(corrupted_corpus, tmp_path, tiny_overrides,
                                                                     capsys):
    out, rejected = tmp_path / "out.jsonl", tmp_path / "rejected.jsonl"
    assert _run(["classify", str(corrupted_corpus), "-o", str(out), "--rejected", str(rejected),
                 *tiny_overrides]) == 0
    rows = _read(rejected)
    by_path = {r["path"].split("/")[-1]: r for r in rows}
    assert {name: (r["stage"], r["reason"]) for name, r in by_path.items()} == {
        "002_empty.txt": ("ingest", "empty"), "003_whitespace.txt": ("ingest", "empty"),
        "004_binary.txt": ("ingest", "binary"),
        "005_truncated_header.txt": ("ingest", "no_body"), "008_huge.txt": ("ingest", "oversized"),
        "009_duplicate.txt": ("ingest", "duplicate_content"), "006_no_header.txt": ("clean", "near_duplicate"),
        "010_bad_date.txt": ("clean", "near_duplicate")}
    assert by_path["006_no_header.txt"]["id"] == "006_no_header"
    assert by_path["006_no_header.txt"]["duplicate_of"]  # the kept article it repeats
    assert len(_read(out)) + len(rows) == 10  # counts in = counts out + counts rejected
    assert f"listed in {rejected}" in capsys.readouterr().err


def test_rejected_is_written_when_nothing_is_usable(tmp_path, tiny_overrides):
    table = tmp_path / "in.csv"
    table.write_text("id,title,body\na,,\nb,,\n", encoding="utf-8")
    rejected = tmp_path / "rejected.jsonl"
    assert _run(["classify", str(table), "-o", str(tmp_path / "o.jsonl"), "--rejected", str(rejected),
                 *tiny_overrides]) == 3
    assert [(r["path"], r["stage"], r["reason"]) for r in _read(rejected)] == [
        (f"{table.name}:2", "ingest", "empty"), (f"{table.name}:3", "ingest", "empty")]


@pytest.mark.parametrize("name,message", [("rejected.csv", "one of .jsonl"), ("o.jsonl", "is also --output")])
def test_bad_rejected_paths_are_refused_before_any_work(name, message, tmp_path, seed_folder, tiny_overrides,
                                                        capsys):
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(seed_folder), "-o", str(out), "--rejected", str(tmp_path / name),
                 *tiny_overrides]) == 2
    err = capsys.readouterr().err
    assert "--rejected" in err and message in err
    assert not out.exists()
