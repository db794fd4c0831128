"""classify streams: chunk-size-independent bytes in every format, resume after an interruption,
a line-by-line table reader equal to ingest's, bounded duplicate state."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.apps.test_classify import _run
from tests.conftest import REPO
from zeroshot_news.apps import classify as cl
from zeroshot_news.cli import main
from zeroshot_news.config import ColumnMapping, CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest import Ingestor
from zeroshot_news.corpus.ingest.records import ARTICLE_COLUMNS


@pytest.fixture
def tiny(tiny_encoder, tmp_path) -> list[str]:
    """A tiny encoder, zero-shot topics, no score cache: every run does its model work."""
    return ["--config-dir", str(REPO / "conf"), "--no-progress", f"model.name_or_path={tiny_encoder}",
            "model.max_length=128", "cache.enabled=false", "self_train.rounds=0"]


@pytest.fixture
def items(tmp_path, seed_text) -> Path:
    """~30 short and long items with a bad row, an exact copy, a reused id and a near-duplicate."""
    words = seed_text.split()
    rows = []
    for i in range(26):  # overlapping windows of the seed, 8 to 38 words: none a near-duplicate of another
        body = " ".join(words[i * 11: i * 11 + 8 + (i % 4) * 10])
        rows.append(json.dumps({"id": f"i{i:02d}", "title": f"Item {i} on the Taliban and NATO troops", "body": body}))
    rows.insert(5, "{not json")
    rows.insert(9, rows[3].replace('"i03"', '"copy"'))  # same text: duplicate_content
    rows.insert(12, json.dumps({"id": "i01", "text": "an id used twice"}))
    rows[20] = rows[20].replace('"i17"', '"i17\\u2028line\\u0085sep\\r"')  # JSON keeps U+2028 and U+0085 raw
    near = json.loads(rows[-1])
    rows.append(json.dumps({**near, "id": "near", "body": near["body"] + " Officials said so."}))
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


FORMATS = [".jsonl", ".json", ".csv", ".parquet", "-"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_chunk_size_gives_the_same_bytes(fmt, items, tmp_path, tiny, capsys):
    outputs = []
    for chunk_size in (1, 7, 10**6):
        if fmt == "-":
            capsys.readouterr()
            assert _run(["classify", str(items), "-o", "-", "--chunk-size", str(chunk_size), *tiny]) == 0
            outputs.append(capsys.readouterr().out.encode())
        else:
            out = tmp_path / f"o{chunk_size}{fmt}"
            assert _run(["classify", str(items), "-o", str(out), "--chunk-size", str(chunk_size), *tiny]) == 0
            assert not out.with_name(out.name + ".parts").exists()  # the work folder is removed at the end
            outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) > 1000


def test_counts_add_up_and_rejects_are_logged(items, tmp_path, tiny, capsys):
    assert _run(["classify", str(items), "-o", str(tmp_path / "o.jsonl"), "--chunk-size", "4", *tiny]) == 0
    err = capsys.readouterr().err
    assert "quarantined items.jsonl:6: invalid_row" in err
    assert "quarantined items.jsonl:10: duplicate_content (same doc_id" in err and "as items.jsonl:4)" in err
    assert "quarantined items.jsonl:13: duplicate_id (id 'i01' already used at items.jsonl:2)" in err
    assert "removed items.jsonl:30: near_duplicate" in err
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").split("\n") if line]
    summary = "(3 quarantined, 1 removed; --rejected FILE lists them; 7 chunks;"
    assert "classified 26 of 30 records" in err and summary in err, err[-600:]
    assert len(records) == 26 and records[0]["id"] == "i00"


def test_the_streamed_outputs_equal_the_whole_table_writers(tmp_path, monkeypatch):
    """Blocks of any size give what pandas writes for the whole table (CSV) and the same JSON."""
    base = {"doc_id": "d", "short": False, "language_uncertain": False, "topics": {"a": 0.5, "b": 1.0},
            "topic_labels": ["b"]}
    records = []
    for i in range(9):
        scores = None if i % 3 else {"favor": 0.1 * i, "against": 1e-06, "neutral": 0.25}
        records.append({**base, "id": f"=x{i}" if i == 4 else f"r{i}", "doc_id": f"d{i}",
                        "stance": {"t": {"label": "none" if scores is None else "favor", "scores": scores,
                                         "margin": None if scores is None else 0.123456, "uncertain": i == 3}}})
    lines = [cl.record_line(r) for r in records]
    written = {}
    for rows in (1, 2, 4096):
        monkeypatch.setattr(cl, "ASSEMBLY_ROWS", rows)
        for fmt in (".csv", ".json", ".parquet", ".jsonl"):
            out = tmp_path / f"b{rows}{fmt}"
            cl.write_lines(iter(lines), out)
            written.setdefault(fmt, set()).add(out.read_bytes())
    # Text formats: the same bytes whatever the blocks; parquet: one row group per block, the same table.
    assert all(len(written[fmt]) == 1 for fmt in (".csv", ".json", ".jsonl"))
    frames = [pd.read_parquet(tmp_path / f"b{rows}.parquet") for rows in (1, 2, 4096)]
    assert all(f.equals(frames[0]) for f in frames)
    whole = tmp_path / "whole.csv"
    cl.neutralise_formulas(cl.flat_records(records)).to_csv(whole, index=False)
    assert written[".csv"] == {whole.read_bytes()}
    assert json.loads(next(iter(written[".json"]))) == records
    table = pd.read_parquet(tmp_path / "b1.parquet")
    assert table["stance.t.favor"].dtype == np.float64 and table["stance.t.favor"].isna().sum() == 6


# --- resume -------------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def _interrupt_after(monkeypatch, k: int) -> None:
    original = cl.WorkFolder.write
    calls = {"n": 0}

    def write(self, index, text):
        original(self, index, text)
        calls["n"] += 1
        if calls["n"] == k:
            raise Interrupted(f"after {k} chunks")

    monkeypatch.setattr(cl.WorkFolder, "write", write)


def _count_model_calls(monkeypatch) -> list[int]:
    sizes: list[int] = []
    original = cl.ClassifyWorker.__call__

    def call(self, articles):
        sizes.append(len(articles))
        return original(self, articles)

    monkeypatch.setattr(cl.ClassifyWorker, "__call__", call)
    return sizes


@pytest.mark.parametrize("fmt", [".jsonl", ".parquet"])
def test_an_interrupted_run_resumes_without_redoing_finished_chunks(fmt, items, tmp_path, tiny, monkeypatch, capsys):
    reference, reference_rejected = tmp_path / f"ref{fmt}", tmp_path / "ref_rejected.jsonl"
    assert _run(["classify", str(items), "-o", str(reference), "--chunk-size", "5", "--rejected",
                 str(reference_rejected), *tiny]) == 0
    out, rejected = tmp_path / f"o{fmt}", tmp_path / "rejected.jsonl"
    with monkeypatch.context() as m:
        _interrupt_after(m, 3)
        with pytest.raises(Interrupted):
            main(["classify", str(items), "-o", str(out), "--chunk-size", "5", "--rejected", str(rejected), *tiny])
    parts = out.with_name(out.name + ".parts")
    assert not out.exists() and sorted(p.name for p in parts.glob("part-*")) == [
        "part-000000.jsonl", "part-000001.jsonl", "part-000002.jsonl"]
    assert not rejected.exists() and not list(tmp_path.glob(".rejected.jsonl.*"))  # no partial list left
    assert "3 finished chunks are kept" in capsys.readouterr().err
    sizes = _count_model_calls(monkeypatch)
    assert _run(["classify", str(items), "-o", str(out), "--chunk-size", "5", "--rejected", str(rejected),
                 *tiny]) == 0
    assert "resuming: 3 finished chunks" in capsys.readouterr().err
    assert sizes == [5, 5, 1]  # 26 kept articles: chunks 3, 4 and 5 only
    assert out.read_bytes() == reference.read_bytes()
    assert not parts.exists()
    # The resumed run read the whole input again: the full list, as the uninterrupted run wrote it.
    assert rejected.read_bytes() == reference_rejected.read_bytes()
    reasons = [json.loads(line)["reason"] for line in rejected.read_text(encoding="utf-8").splitlines()]
    assert reasons == ["invalid_row", "duplicate_content", "duplicate_id", "near_duplicate"]


@pytest.mark.parametrize("change", ["config", "input", "chunk_size"])
def test_a_changed_run_does_not_reuse_parts(change, items, tmp_path, tiny, monkeypatch, capsys):
    out = tmp_path / "o.jsonl"
    with monkeypatch.context() as m:
        _interrupt_after(m, 2)
        with pytest.raises(Interrupted):
            main(["classify", str(items), "-o", str(out), "--chunk-size", "5", *tiny])
    args = ["classify", str(items), "-o", str(out), "--chunk-size", "5", *tiny]
    if change == "config":
        args.append("taxonomy.labels.military.threshold=0.01")
    elif change == "input":
        items.write_text(items.read_text(encoding="utf-8") + json.dumps({"id": "new", "text": "More news."}) + "\n",
                         encoding="utf-8")
    else:
        args[5] = "6"
    capsys.readouterr()
    sizes = _count_model_calls(monkeypatch)
    assert _run(args) == 0
    err = capsys.readouterr().err
    key = {"config": "config_digest", "input": "input_sha256", "chunk_size": "chunk_size"}[change]
    assert "was made by another run" in err and key in err and "starting over" in err
    assert sum(sizes) == (27 if change == "input" else 26)  # every chunk classified again
    fresh = tmp_path / "fresh.jsonl"
    assert _run([*args[:3], str(fresh), *args[4:]]) == 0
    assert out.read_bytes() == fresh.read_bytes()


def test_kill_9_then_rerun_gives_the_uninterrupted_output(tmp_path, tiny, seed_text):
    """A real SIGKILL between chunks; the rerun reuses the finished parts."""
    words = seed_text.split()
    rows = [json.dumps({"id": f"k{i}", "title": f"Report {i}", "text": " ".join(words[i % 300:(i % 300) + 40])})
            for i in range(400)]
    items = tmp_path / "many.jsonl"
    items.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out, reference = tmp_path / "o.csv", tmp_path / "ref.csv"
    argv = [sys.executable, "-m", "zeroshot_news", "classify", str(items), "--chunk-size", "2", *tiny]
    subprocess.run([*argv, "-o", str(reference)], check=True, cwd=REPO, timeout=600, capture_output=True)
    proc = subprocess.Popen([*argv, "-o", str(out)], cwd=REPO, stderr=subprocess.DEVNULL)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 300
    while len(list(parts.glob("part-*.jsonl"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL or out.exists():
        pytest.skip("the run finished before it could be killed")
    done = len(list(parts.glob("part-*.jsonl")))
    assert 3 <= done < 200
    rerun = subprocess.run([*argv, "-o", str(out)], cwd=REPO, timeout=600, capture_output=True,
                           text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming: {done} finished chunks" in rerun.stderr
    assert out.read_bytes() == reference.read_bytes() and not parts.exists()


def test_a_second_run_on_the_same_output_is_refused(items, tmp_path, tiny, capsys):
    out = tmp_path / "o.jsonl"
    parts = out.with_name(out.name + ".parts")
    parts.mkdir()
    fd = os.open(parts / "lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert _run(["classify", str(items), "-o", str(out), *tiny]) == 2
        assert "another classify is writing" in capsys.readouterr().err
    finally:
        os.close(fd)
    assert _run(["classify", str(items), "-o", str(out), *tiny]) == 0 and not parts.exists()


def test_nothing_usable_leaves_no_output_and_no_work_folder(tmp_path, tiny):
    table = tmp_path / "bad.jsonl"
    table.write_text("{broken\n[1, 2]\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert _run(["classify", str(table), "-o", str(out), *tiny]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


# --- the table reader ---------------------------------------------------------------------------

DIGITS = 5000
HOSTILE_TABLES = {
    "jsonl": ("\n".join([json.dumps({"id": "a", "text": "Body a."}), "{bad", "[1, 2]", "[" * 5000,
                         '{"id": "x\\ud800", "text": "Body x."}', '{"id": "y", "text": "Body \\udc00 y."}',
                         json.dumps({"id": ["l"], "text": "structured"}), '{"id": ' + "1" * DIGITS + "}",
                         json.dumps({"id": "a", "text": "id reused"}), json.dumps({"id": "c", "text": "Body a."}),
                         "", "   ", json.dumps({"id": 7, "title": "T", "body": "Seven.", "date": "2021-13-01"}),
                         json.dumps({"text": "no id, so the line is the id"}), json.dumps({"id": "e", "text": ""}),
                         json.dumps({"id": "big", "text": "x" * 3_000_000}),
                         json.dumps({"id": "u", "text": "Caf\u00e9 \u2014 \U0001f600 ok"})]),
              ".jsonl"),
    "jsonl_crlf_bom_no_final_newline": ("\ufeff" + "\r\n".join(
        [json.dumps({"id": "a", "text": "A."}), json.dumps({"id": "b", "text": "B."}), "\r",
         json.dumps({"id": "c", "text": "C."})]), ".jsonl"),
    "csv": ('id,title,body\na,T,"multi\nline\r\nbody"\nb,T,too,many\nc,T,' + "x" * 200_000
            + '\nd,T,Body d.\na,T,again\ne,,\nf,T,"unterminated\n', ".csv"),
    "csv_crlf_bom": ("\ufeffid,text\r\na,Body a.\r\nb,Body b.\rc,Body c.", ".csv"),
    "ndjson": (json.dumps({"id": "n", "text": "Body n."}) + "\n", ".ndjson"),
}


def _stream_rows(path: Path) -> tuple[list, list, bool]:
    source = SourceConfig(name="input", format="table", path=str(path), columns=ColumnMapping())
    corpus = CorpusConfig(name="input", sources=[source])
    expected = [(t, r) for t, r in Ingestor(corpus, progress=False).rows() if t != "sentences"]
    return list(cl.input_rows(source, corpus)), expected, cl.TableStream.applies(source, corpus)


@pytest.mark.parametrize("name", list(HOSTILE_TABLES))
def test_the_line_by_line_reader_equals_ingest(name, tmp_path):
    text, suffix = HOSTILE_TABLES[name]
    path = tmp_path / f"in{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    got, expected, streamed = _stream_rows(path)
    assert streamed and got and got == expected


@pytest.mark.parametrize("content", [
    "id,text\n1,Caf\xe9 talks.\n".encode("cp1252"),  # not UTF-8: ingest's fallback decoding
    "id,text\n1,Talks.\n".encode("utf-16"),
    b"  \n\t\n",
    b"id,text\n1,a\x01\x02\x03\x04b\n",  # too many control characters: binary
    b"id,text\n1,\x00\n",
])
def test_other_tables_go_through_ingest_itself(content, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    got, expected, streamed = _stream_rows(path)
    assert not streamed and got == expected


def test_control_characters_are_ingests():
    from zeroshot_news.corpus.ingest import records

    assert cl.CONTROL_CHARS.pattern == records._CONTROL.pattern


# --- duplicate state ----------------------------------------------------------------------------


def test_compact_map_equals_a_dict_and_stays_16_bytes_an_entry():
    rng = np.random.default_rng(0)
    keys = [int(k) for k in rng.integers(0, 2**64, size=5000, dtype=np.uint64)]
    m, reference = cl.CompactMap(buffer=64), {}
    for i, key in enumerate(keys):
        if m.get(key) is None:
            m.add(key, i)
            reference.setdefault(key, i)
        assert m.get(key) == reference[key]
    assert len(m) == len(reference)
    assert all(m.get(k) == v for k, v in reference.items())
    assert m.get(12345) is None and m.get(2**64 - 1) is None
    assert m._keys.nbytes + m._values.nbytes == 16 * len(m._keys) and len(m._recent) < 64
    assert np.all(np.diff(m._keys.astype(np.float64)) >= 0)


def _articles(texts: list[str]) -> pd.DataFrame:
    rows = [{c: "" for c in ARTICLE_COLUMNS} | {"doc_id": f"{i:016x}", "source_id": f"s{i}", "title": "Talks",
                                                "body": t, "path": f"p{i}"} for i, t in enumerate(texts)]
    return pd.DataFrame(rows, columns=ARTICLE_COLUMNS)


BASE = ("Foreign ministers met in Geneva on Tuesday to discuss the ceasefire, the exchange of prisoners and "
        "the reopening of the border crossings between the two countries after months of fighting")


@pytest.mark.parametrize("dedup,window,removed", [
    ("near", 0, {"exact_duplicate", "near_duplicate"}),
    ("near", 2, {"exact_duplicate", "near_duplicate"}),
    ("near", 1, {"exact_duplicate"}),  # the near-duplicate's original is two kept articles back
    ("exact", 0, {"exact_duplicate"}),
    ("none", 0, set()),
])
def test_dedup_modes(dedup, window, removed):
    from tests.fakes import default_config

    cfg = dataclasses.replace(default_config().cleaning, min_words=0)  # as classify cleans
    texts = [BASE, "A different story about troops in the north and the weather in the mountains this week",
             BASE + " Officials said.", "Yet another text: the budget, taxes and the central bank's decision today",
             "A different story about troops in the north and the weather in the mountains this week"]
    cleaner = cl.make_cleaner(cfg, dedup, window)
    kept, gone = [], []
    for i in range(len(texts)):  # one article at a time: the stream's worst case
        k, r = cleaner.process(_articles(texts).iloc[i:i + 1])
        kept += list(k["doc_id"])
        gone += list(r["reason"])
    assert set(gone) == removed
    assert len(kept) + len(gone) == len(texts)
    if "exact_duplicate" in removed:  # the first of the copies is named
        assert cleaner.exact[_key(texts[1], cfg)] == f"{1:016x}"


def _key(text: str, cfg) -> str:
    import hashlib

    from zeroshot_news.corpus.clean import clean_text, line_key

    title, body, _ = clean_text("Talks", text, cfg)
    return hashlib.sha1(line_key(f"{title}\n{body}").encode()).hexdigest()


def test_the_near_window_forgets_the_oldest_signatures():
    from tests.fakes import default_config

    cfg = default_config().cleaning.near_duplicates
    index = cl.WindowedNearIndex(cfg, window=3)
    for i in range(10):
        assert index.add(f"d{i}", f"story number {i} " + " ".join(f"w{i}x{j}" for j in range(30))) is None
    assert len(index.hashes) == 3 and sorted(index.hashes) == ["d7", "d8", "d9"]
    assert sorted(p for p, _ in index.hashes.values()) == [7, 8, 9]


# --- Ray ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_engine_gives_the_local_bytes(items, tmp_path, tiny):
    local, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert _run(["classify", str(items), "-o", str(local), "--chunk-size", "4", *tiny]) == 0
    assert _run(["classify", str(items), "-o", str(ray_out), "--chunk-size", "4", *tiny, "engine=ray",
                 "engine.num_actors=2", "engine.cpus_per_actor=0.5"]) == 0
    assert ray_out.read_bytes() == local.read_bytes()


def test_map_ordered_builds_the_worker_once_and_only_when_needed():
    from zeroshot_news.config import ConfigError, EngineConfig
    from zeroshot_news.engine import check_actor_resources, map_ordered

    local = EngineConfig(name="local", chunk_size=1, num_actors=1, cpus_per_actor=1.0, gpus_per_actor=0.0)
    built = []

    def make():
        built.append(1)
        return lambda chunk: chunk * 2

    assert list(map_ordered(iter([]), make, local)) == [] and built == []
    assert list(map_ordered(((k, k + 1) for k in range(5)), make, local)) == [(k, 2 * (k + 1)) for k in range(5)]
    assert built == [1]
    ray = EngineConfig(name="ray", chunk_size=1, num_actors=3, cpus_per_actor=1.0, gpus_per_actor=0.0)
    with pytest.raises(ConfigError, match="need 3 CPUs"):
        check_actor_resources(ray, {"CPU": 2.0})
    check_actor_resources(ray, {"CPU": 3.0})
