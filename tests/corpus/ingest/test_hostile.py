"""Hostile or odd inputs: each bad file or row is quarantined with a reason, the rest is ingested."""

from __future__ import annotations

import json
import os

import pytest

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest import ingest


def _ingest(path, fmt="native"):
    corpus = CorpusConfig(name="t", sources=[SourceConfig(name="t", format=fmt, path=str(path))],
                          max_file_bytes=1_000_000)
    res = ingest(corpus, progress=False)
    assert res.report["ingested"] + res.report["quarantined"] == res.report["seen"]
    assert len(res.articles) + len(res.quarantine) == res.report["seen"]
    return res


def _reasons(res) -> dict[str, str]:
    return dict(zip(res.quarantine["path"], res.quarantine["reason"], strict=True))


def _article(title: str, body: str) -> str:
    return f" date 2021-10-15 {title}\n\nReuters\n{title}\n\n{body}\n"


# --- symlinks ------------------------------------------------------------------------------


def test_symlink_leaving_the_input_root_is_quarantined(tmp_path, seed_text):
    secret = tmp_path / "secret.txt"
    secret.write_text(_article("Secret", "Private notes that live outside the input folder."), encoding="utf-8")
    root = tmp_path / "in"
    root.mkdir()
    (root / "001_good.txt").write_text(seed_text, encoding="utf-8")
    (root / "002_secret.txt").symlink_to(secret)
    (root / "003_passwd.txt").symlink_to("/etc/passwd")
    res = _ingest(root)
    assert res.report["seen"] == 3
    assert _reasons(res) == {"in/002_secret.txt": "outside_input", "in/003_passwd.txt": "outside_input"}
    assert list(res.articles["source_id"]) == ["001_good"]
    assert not res.articles["body"].str.contains("Private notes").any()


def test_symlink_loops_and_broken_links_are_quarantined_not_skipped(tmp_path, seed_text):
    root = tmp_path / "in"
    root.mkdir()
    (root / "001_good.txt").write_text(seed_text, encoding="utf-8")
    (root / "002_self.txt").symlink_to("002_self.txt")
    (root / "003_a.txt").symlink_to("004_b.txt")
    (root / "004_b.txt").symlink_to("003_a.txt")
    (root / "005_broken.txt").symlink_to("nowhere.txt")
    res = _ingest(root)
    assert res.report["seen"] == 5
    assert _reasons(res) == {"in/002_self.txt": "symlink_loop", "in/003_a.txt": "symlink_loop",
                             "in/004_b.txt": "symlink_loop", "in/005_broken.txt": "broken_symlink"}


def test_symlink_inside_the_root_is_still_followed(tmp_path, seed_text):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "001_good.txt").write_text(seed_text, encoding="utf-8")
    (root / "002_link.txt").symlink_to(root / "sub" / "001_good.txt")
    res = _ingest(root)
    assert _reasons(res) == {"in/sub/001_good.txt": "duplicate_content"}  # same text, read through the link


def test_table_folder_symlink_outside_is_quarantined(tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"id": "o", "text": "Outside text."}) + "\n", encoding="utf-8")
    root = tmp_path / "tables"
    root.mkdir()
    (root / "a.jsonl").write_text(json.dumps({"id": "a", "text": "Inside text."}) + "\n", encoding="utf-8")
    (root / "b.jsonl").symlink_to(outside)
    res = _ingest(root, "table")
    assert list(res.articles["source_id"]) == ["a"]
    assert _reasons(res) == {"tables/b.jsonl": "outside_input"}


# --- one bad row must not abort the run ----------------------------------------------------


def test_csv_row_with_extra_fields_is_quarantined(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,Body one.\n2,Body two.,an extra field\n3,Body three.\n", encoding="utf-8")
    res = _ingest(path, "table")
    assert list(res.articles["source_id"]) == ["1", "3"]
    assert _reasons(res) == {"in.csv:3": "extra_fields"}


def test_csv_field_over_the_csv_size_limit_is_quarantined(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,Body one.\n2," + "x" * (200 * 1024) + "\n3,Body three.\n", encoding="utf-8")
    res = _ingest(path, "table")
    assert list(res.articles["source_id"]) == ["1", "3"]
    assert _reasons(res) == {"in.csv:3": "field_too_large"}


def test_jsonl_deep_nesting_and_non_objects_are_quarantined(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a", "text": "Body a."}), "[" * 200_000, "[1, 2]", '"just a string"', "null",
             json.dumps({"id": "b", "text": "Body b."})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = _ingest(path, "table")
    assert list(res.articles["source_id"]) == ["a", "b"]
    assert _reasons(res) == {f"in.jsonl:{n}": "invalid_row" for n in (2, 3, 4, 5)}
    detail = res.quarantine.set_index("path").loc["in.jsonl:2", "detail"]
    assert "nested too deeply" in detail


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read any file")
def test_unreadable_table_file_is_quarantined(tmp_path):
    root = tmp_path / "tables"
    root.mkdir()
    (root / "a.jsonl").write_text(json.dumps({"id": "a", "text": "Body a."}) + "\n", encoding="utf-8")
    locked = root / "b.jsonl"
    locked.write_text(json.dumps({"id": "b", "text": "Body b."}) + "\n", encoding="utf-8")
    locked.chmod(0)
    try:
        res = _ingest(root, "table")
    finally:
        locked.chmod(0o644)
    assert list(res.articles["source_id"]) == ["a"]
    assert _reasons(res) == {"tables/b.jsonl": "unreadable"}


def test_table_file_that_fails_to_read_is_quarantined(tmp_path, monkeypatch):
    """The same handling, forced with a patched read, so it is covered when the tests run as root."""
    from pathlib import Path

    root = tmp_path / "tables"
    root.mkdir()
    (root / "a.jsonl").write_text(json.dumps({"id": "a", "text": "Body a."}) + "\n", encoding="utf-8")
    (root / "b.jsonl").write_text(json.dumps({"id": "b", "text": "Body b."}) + "\n", encoding="utf-8")
    real_read = Path.read_bytes

    def read_bytes(self):
        if self.name == "b.jsonl":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    res = _ingest(root, "table")
    assert list(res.articles["source_id"]) == ["a"]
    assert _reasons(res) == {"tables/b.jsonl": "unreadable"}


# --- input that is wrong but used to be accepted silently ----------------------------------


def test_fallback_encoding_is_flagged_and_counted(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id,text\n1,Caf\xe9 talks resumed.\n2,Plain text.\n".encode("cp1252"))
    res = _ingest(path, "table")
    assert res.articles["body"].tolist() == ["Café talks resumed.", "Plain text."]
    assert all("fallback_encoding:cp1252" in w for w in res.articles["warnings"])
    assert res.report["sources"]["t"]["warnings"] == {"fallback_encoding": 2}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_decoded_not_called_binary(tmp_path, seed_text, encoding):
    root = tmp_path / "in"
    root.mkdir()
    (root / "001_utf16.txt").write_bytes(seed_text.encode(encoding))  # "utf-16" writes a BOM
    res = _ingest(root)
    assert res.quarantine.empty, res.quarantine.to_dict("records")
    art = res.articles.iloc[0]
    assert art["title"] == "Russia says it doesn't expect breakthrough at talks with Taliban"
    assert art["encoding"] == encoding


def test_binary_with_nul_bytes_is_still_binary(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_bytes(bytes(range(256)) * 8)
    (root / "b.txt").write_bytes(b"\x00\x01\x02" * 10)
    (root / "c.txt").write_bytes(b"\x00\x00\xff\xd8" * 100)
    assert set(_ingest(root).quarantine["reason"]) == {"binary"}


def test_structured_ids_and_texts_are_quarantined_not_stringified(tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [{"id": ["a", "b"], "text": "Body one."}, {"id": {"x": 1}, "text": "Body two."},
            {"id": "c", "text": {"en": "Body three."}}, {"id": "d", "title": ["T"], "body": "Body four."},
            {"id": "e", "text": "Body five."}, {"id": 7, "text": "Body seven."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    res = _ingest(path, "table")
    assert list(res.articles["source_id"]) == ["e", "7"]
    assert _reasons(res) == {f"in.jsonl:{n}": "bad_field_type" for n in (1, 2, 3, 4)}


def test_ukraine_structured_id_is_quarantined(tmp_path):
    root = tmp_path / "ukr"
    root.mkdir()
    sentences = [{"content": "Headline here."}, {"content": "A first sentence of the body."}]
    (root / "a.json").write_text(json.dumps({"id": {"n": 1}, "sentences": sentences}), encoding="utf-8")
    res = _ingest(root, "ukraine_news_bias")
    assert _reasons(res) == {"ukr/a.json": "bad_field_type"}


def test_same_file_name_in_two_subfolders_gives_no_duplicate_id(tmp_path, seed_text):
    root = tmp_path / "in"
    for sub, extra in [("a", "First version."), ("b", "Second, different version.")]:
        (root / sub).mkdir(parents=True)
        (root / sub / "001_story.txt").write_text(seed_text + f"\n{extra}\n", encoding="utf-8")
    res = _ingest(root)
    assert res.articles["source_id"].is_unique
    assert list(res.articles["path"]) == ["in/a/001_story.txt"]
    assert _reasons(res) == {"in/b/001_story.txt": "duplicate_id"}


def test_file_name_id_colliding_with_an_explicit_id_is_quarantined(tmp_path):
    root = tmp_path / "ukr"
    root.mkdir()
    body = [{"content": "Headline {}."}, {"content": "The body of article {} is here."}]

    def doc(n, **extra):
        return json.dumps({**extra, "sentences": [{"content": s["content"].format(n)} for s in body]})

    (root / "article_1.json").write_text(doc(1), encoding="utf-8")  # id from the file name
    (root / "article_2.json").write_text(doc(2, id="article_1"), encoding="utf-8")  # explicit, same id
    res = _ingest(root, "ukraine_news_bias")
    assert res.articles["source_id"].is_unique
    assert _reasons(res) == {"ukr/article_2.json": "duplicate_id"}
