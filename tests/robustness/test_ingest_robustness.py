"""One hostile record must not kill, hang or forge the log of an ingest run.

Each bad file or row gets a quarantine record with its reason, the others are ingested,
``seen == ingested + quarantined`` per source, and every path and id written to the
tables is valid UTF-8. The tables are written with ``ingest_to_parquet`` and read back:
pyarrow is where text that is not valid Unicode used to raise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal

import pandas as pd
import pytest

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest import TABLES, ingest_to_parquet

DIGITS = 5000  # more than Python reads into an int (sys.get_int_max_str_digits() is 4300)


def _ingest(path, fmt, tmp_path):
    """The stage's tables, read back from parquet, and its report; checks the counts invariant."""
    corpus = CorpusConfig(name="t", sources=[SourceConfig(name="t", format=fmt, path=str(path))],
                          max_file_bytes=1_000_000)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    report = ingest_to_parquet(corpus, {name: out / f"{name}.parquet" for name in TABLES}, progress=False)
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}
    source = report["sources"]["t"]
    assert source["seen"] == source["ingested"] + source["quarantined"]
    assert len(tables["articles"]) + len(tables["quarantine"]) == source["seen"]
    for table in tables.values():  # every text written is valid UTF-8: no lone surrogate left in it
        for column in table.columns:
            for value in table[column]:
                if isinstance(value, str):
                    value.encode("utf-8")
    return tables, report


def _reasons(tables) -> dict[str, str]:
    quarantine = tables["quarantine"]
    return dict(zip(quarantine["path"], quarantine["reason"], strict=True))


def _article(title: str, body: str) -> str:
    return f" date 2021-10-15 {title}\n\nReuters\n{title}\n\n{body}\n"


def _write_bytes_name(folder, name: bytes, text: str) -> None:
    """Write ``text`` to a file whose name is raw bytes (not necessarily UTF-8)."""
    with open(os.path.join(os.fsencode(folder), name), "wb") as f:
        f.write(text.encode("utf-8"))


class Blocked(Exception):
    """Not an OSError (as TimeoutError is): ingest quarantines OSErrors as unreadable files."""


@contextlib.contextmanager
def _deadline(seconds: int):
    """Raise :class:`Blocked` if the block runs longer than ``seconds``: a read that blocks (a
    FIFO) then fails the test instead of hanging the suite."""

    def expired(signum, frame):
        raise Blocked(f"still running after {seconds} s: something blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- 1a: a file name that is not valid UTF-8 -------------------------------------------------


NATIVE_BODY = "A different story about talks that resumed in the capital on Friday."


@pytest.mark.parametrize("fmt", ["native", "bbc", "ukraine_news_bias", "table"])
def test_file_name_not_utf8_is_quarantined_with_an_escaped_path(tmp_path, seed_text, fmt):
    root = tmp_path / "in"
    folder = root / "politics" if fmt == "bbc" else root
    folder.mkdir(parents=True)
    suffix, good, bad = {
        "native": (".txt", seed_text, _article("Other", NATIVE_BODY)),
        "bbc": (".txt", "Good title\n\nA good body.\n", "Bad title\n\nAnother body.\n"),
        "ukraine_news_bias": (".json", *(json.dumps({"sentences": [{"content": f"Headline {n}."},
                                                                   {"content": f"Body {n} here."}]})
                                         for n in (1, 2))),
        "table": (".jsonl", json.dumps({"id": "a", "text": "Body a."}) + "\n",
                  json.dumps({"id": "b", "text": "Body b."}) + "\n"),
    }[fmt]
    (folder / f"001_good{suffix}").write_text(good, encoding="utf-8")
    _write_bytes_name(folder, b"002_bad\xff\xfe" + suffix.encode(), bad)
    tables, report = _ingest(root, fmt, tmp_path)
    prefix = "in/politics/" if fmt == "bbc" else "in/"
    assert _reasons(tables) == {f"{prefix}002_bad\\xff\\xfe{suffix}": "bad_encoding"}
    assert "not valid UTF-8" in tables["quarantine"]["detail"].iloc[0]
    assert len(tables["articles"]) == 1 and report["sources"]["t"]["seen"] == 2


def test_folder_name_not_utf8_quarantines_its_files(tmp_path):
    root = tmp_path / "bbc"
    (root / "sport").mkdir(parents=True)
    (root / "sport" / "001.txt").write_text("Good title\n\nA good body.\n", encoding="utf-8")
    os.mkdir(os.path.join(os.fsencode(root), b"tech\x80"))
    _write_bytes_name(os.path.join(os.fsencode(root), b"tech\x80"), b"001.txt", "Bad title\n\nAnother body.\n")
    tables, _ = _ingest(root, "bbc", tmp_path)
    assert _reasons(tables) == {"bbc/tech\\x80/001.txt": "bad_encoding"}
    assert list(tables["articles"]["category"]) == ["sport"]


# --- 1b: a lone surrogate (a JSON "\ud800" escape) in an id or a text -------------------------


def test_jsonl_lone_surrogate_in_id_or_text_is_quarantined(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": "Body a."}),
             '{"id": "x\\ud800", "text": "Body x."}',
             '{"id": "y", "text": "Body \\udc00 y."}',
             '{"id": "z", "title": "Title \\udfff", "text": "Body z."}',
             '{"id": "e", "text": "A smile \\ud83d\\ude00 is a valid pair."}',  # a surrogate pair is fine
             json.dumps({"id": "b", "text": "Body b."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tables, _ = _ingest(path, "table", tmp_path)
    assert list(tables["articles"]["source_id"]) == ["a", "e", "b"]
    assert tables["articles"]["body"].iloc[1] == "A smile \U0001f600 is a valid pair."
    assert _reasons(tables) == {f"in.jsonl:{n}": "bad_encoding" for n in (2, 3, 4)}
    details = list(tables["quarantine"]["detail"])
    assert ["source_id" in details[0], "body" in details[1], "title" in details[2]] == [True] * 3
    assert all("\\ud" in d and "surrogate" in d for d in details)


def test_ukraine_lone_surrogate_in_a_sentence_or_id_is_quarantined(tmp_path):
    root = tmp_path / "ukr"
    root.mkdir()
    good = {"id": "a", "sentences": [{"content": "Headline a."}, {"content": "The body of a."}]}
    (root / "a.json").write_text(json.dumps(good), encoding="utf-8")
    (root / "b.json").write_text('{"id": "b", "sentences": [{"content": "Headline b."},'
                                 ' {"content": "Body \\ud800 of b."}]}', encoding="utf-8")
    (root / "c.json").write_text('{"id": "c\\udc80", "sentences": [{"content": "Headline c."},'
                                 ' {"content": "The body of c."}]}', encoding="utf-8")
    (root / "d.json").write_text('{"id": "d", "sentences": [{"content": "Headline d."},'
                                 ' {"content": "The body of d.", "id": "s\\udbff"}]}', encoding="utf-8")
    tables, _ = _ingest(root, "ukraine_news_bias", tmp_path)
    assert list(tables["articles"]["source_id"]) == ["a"]
    assert _reasons(tables) == {f"ukr/{n}.json": "bad_encoding" for n in "bcd"}
    assert set(tables["sentences"]["source_id"]) == {"a"}


# --- 1c: an integer with more digits than Python reads ---------------------------------------


def test_jsonl_integer_over_the_digit_limit_is_quarantined(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": "Body a."}),
             '{"id": ' + "1" * DIGITS + ', "text": "Body x."}',
             '{"id": "y", "text": "Body y.", "views": -' + "2" * DIGITS + "}",
             '{"id": "z", "text": "Body z.", "meta": {"n": [' + "3" * DIGITS + "]}}",
             json.dumps({"id": 10**30, "text": "A big id that Python still reads."}),
             json.dumps({"id": "b", "text": "Body b."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tables, _ = _ingest(path, "table", tmp_path)
    assert list(tables["articles"]["source_id"]) == ["a", str(10**30), "b"]
    assert _reasons(tables) == {f"in.jsonl:{n}": "invalid_row" for n in (2, 3, 4)}
    assert all("4300 digits" in d for d in tables["quarantine"]["detail"])


def test_csv_integer_over_the_digit_limit_is_kept_as_text(tmp_path):
    """CSV fields are text: a long number is never parsed, so the row is an ordinary row."""
    path = tmp_path / "in.csv"
    path.write_text("id,text,views\na,Body a.,1\n" + "1" * DIGITS + ",Body x.," + "2" * DIGITS + "\n",
                    encoding="utf-8")
    tables, _ = _ingest(path, "table", tmp_path)
    assert list(tables["articles"]["source_id"]) == ["a", "1" * DIGITS]
    assert tables["quarantine"].empty


def test_ukraine_integer_over_the_digit_limit_or_out_of_range_does_not_kill_the_run(tmp_path):
    root = tmp_path / "ukr"
    root.mkdir()

    def doc(name, **sentence_extra):
        return {"id": name, "sentences": [{"content": f"Headline {name}."},
                                          {"content": f"The body of {name}.", **sentence_extra}]}

    (root / "a.json").write_text(json.dumps(doc("a")), encoding="utf-8")
    (root / "b.json").write_text(json.dumps(doc("b"))[:-1] + ', "n": ' + "9" * DIGITS + "}", encoding="utf-8")
    (root / "c.json").write_text(json.dumps(doc("c", position_in_article=10**30)), encoding="utf-8")
    (root / "d.json").write_text(json.dumps(doc("d", framing={"judgements": {"russia": [3, 10**400]}})),
                                 encoding="utf-8")
    (root / "e.json").write_text("[" * 200_000, encoding="utf-8")
    tables, _ = _ingest(root, "ukraine_news_bias", tmp_path)
    assert list(tables["articles"]["source_id"]) == ["a", "c", "d"]
    assert _reasons(tables) == {"ukr/b.json": "invalid_json", "ukr/e.json": "invalid_json"}
    sentences = tables["sentences"].set_index("sentence_id")
    assert sentences.loc["c/1", "position"] == 1  # out of int64's range: the sentence's index, as for a non-int
    assert list(sentences.loc["d/1", "votes_russia"]) == [3.0]  # a vote no float can hold is dropped


# --- 3: FIFOs in the input folder --------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("native", ".txt"), ("table", ".jsonl")])
def test_fifo_and_symlink_to_fifo_are_quarantined_never_opened(tmp_path, seed_text, fmt, suffix):
    root = tmp_path / "in"
    root.mkdir()
    good = seed_text if fmt == "native" else json.dumps({"id": "a", "text": "Body a."}) + "\n"
    (root / f"001_good{suffix}").write_text(good, encoding="utf-8")
    os.mkfifo(root / f"002_pipe{suffix}")
    (root / f"003_link{suffix}").symlink_to(f"002_pipe{suffix}")
    with _deadline(30):
        tables, report = _ingest(root, fmt, tmp_path)
    assert report["sources"]["t"]["seen"] == 3
    assert _reasons(tables) == {f"in/002_pipe{suffix}": "not_regular_file",
                                f"in/003_link{suffix}": "not_regular_file"}
    assert all("FIFO" in d for d in tables["quarantine"]["detail"])


def test_bbc_fifo_is_quarantined_never_opened(tmp_path):
    root = tmp_path / "bbc"
    (root / "tech").mkdir(parents=True)
    (root / "tech" / "001.txt").write_text("Good title\n\nA good body.\n", encoding="utf-8")
    os.mkfifo(root / "tech" / "002.txt")
    with _deadline(30):
        tables, _ = _ingest(root, "bbc", tmp_path)
    assert _reasons(tables) == {"bbc/tech/002.txt": "not_regular_file"}


# --- 4: control characters in names must not forge log lines -----------------------------------


def test_file_name_with_newline_and_ansi_codes_is_logged_on_one_escaped_line(tmp_path, caplog):
    root = tmp_path / "in"
    root.mkdir()
    evil = "002_evil\n2026-01-01 INFO forged line \x1b[31mred\x1b[0m.txt"
    (root / "001_good.txt").write_text(_article("Good", NATIVE_BODY), encoding="utf-8")
    (root / evil).write_text("", encoding="utf-8")  # empty: quarantined, so its path is logged
    with caplog.at_level(logging.DEBUG, logger="zeroshot_news.corpus.ingest"):
        tables, _ = _ingest(root, "native", tmp_path)
    assert _reasons(tables) == {f"in/{evil}": "empty"}  # the table keeps the real name
    messages = [r.getMessage() for r in caplog.records if "002_evil" in r.getMessage()]
    assert messages, "the quarantined file is named in the log"
    for message in messages:
        assert "\n" not in message and "\x1b" not in message
        assert "002_evil\\n2026-01-01 INFO forged line \\x1b[31mred\\x1b[0m.txt" in message


def test_ids_and_details_with_control_characters_are_logged_escaped(tmp_path, caplog):
    path = tmp_path / "in.jsonl"
    rows = [{"id": "a\n\x1b[2K", "text": "Body a."}, {"id": "a\n\x1b[2K", "text": "Body two."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="zeroshot_news.corpus.ingest"):
        tables, _ = _ingest(path, "table", tmp_path)
    assert _reasons(tables) == {"in.jsonl:2": "duplicate_id"}
    logged = "".join(r.getMessage() for r in caplog.records)
    assert "duplicate_id" in logged
    assert "\x1b" not in logged and "\n" not in logged
