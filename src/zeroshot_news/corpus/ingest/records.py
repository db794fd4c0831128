"""What every adapter yields: an :class:`Article`, a :class:`Reject`, and shared decoding and escaping."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

ARTICLE_COLUMNS = [
    "doc_id", "source_id", "corpus", "format", "outlet", "date", "title", "body",
    "category", "path", "raw_sha256", "encoding", "warnings",
]
QUARANTINE_COLUMNS = ["corpus", "path", "reason", "detail", "size_bytes", "raw_sha256"]
SENTENCE_COLUMNS = [
    "doc_id", "source_id", "sentence_id", "position", "text",
    "votes_russia", "votes_ukraine", "votes_west",
]

_STR, _INT, _VOTES = pa.large_string(), pa.int64(), pa.list_(pa.float64())
# Fixed schemas: the stage writes in row groups, and a chunk whose optional column is
# all null must not change the file's types.
ARTICLE_SCHEMA = pa.schema([(c, _STR) for c in ARTICLE_COLUMNS])
QUARANTINE_SCHEMA = pa.schema([(c, _INT if c == "size_bytes" else _STR) for c in QUARANTINE_COLUMNS])
SENTENCE_SCHEMA = pa.schema([(c, _INT if c == "position" else _VOTES if c.startswith("votes_") else _STR)
                             for c in SENTENCE_COLUMNS])

# Controls that never occur in text files; tab, newlines and form feed do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A lone surrogate is not Unicode text and cannot be written as UTF-8: a JSON "\\ud800" escape
# decodes to one, and Python keeps the bytes of a file name that are not UTF-8 as ones (PEP 383).
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` (which then cannot be written as UTF-8), or None."""
    match = None if text.isascii() else _SURROGATE.search(text)
    return match.group() if match else None


def valid_utf8(text: str) -> str:
    """``text`` with each lone surrogate as a backslash escape (``\\ud800``): writable as UTF-8."""
    return text if lone_surrogate(text) is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


def escaped_file_name(name: str) -> str:
    """A file name with its bytes that are not UTF-8 as ``\\xNN`` escapes, as the tables name it."""
    if lone_surrogate(name) is None:
        return name
    try:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte gives: not from the file system
        return valid_utf8(name)


def printable(text: object) -> str:
    """``text`` for a log line: control, format and other non-printable characters as repr-style
    escapes (``\\n``, ``\\x1b``, ``\\u202e``), so a hostile name cannot forge or recolour lines."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class Article:
    source_id: str
    corpus: str
    format: str
    title: str
    body: str
    path: str
    raw_sha256: str
    outlet: str | None = None
    date: str | None = None
    category: str | None = None
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return content_id(self.title, self.body)

    def invalid_text(self) -> tuple[str, str] | None:
        """(field, character) for the first text field holding a lone surrogate, which no table
        can store (a JSON source can escape one: ``"\\ud800"``); None when all are valid."""
        fields = {"source_id": self.source_id, "title": self.title, "body": self.body, "path": self.path,
                  "outlet": self.outlet, "date": self.date, "category": self.category}
        fields.update({f"sentences[{i}].{key}": value for i, sentence in enumerate(self.sentences)
                       for key, value in sentence.items()})
        for name, value in fields.items():
            bad = lone_surrogate(value) if isinstance(value, str) else None
            if bad:
                return name, bad
        return None

    def body_bytes(self) -> int:
        """The UTF-8 size of the body (a lone surrogate counted as the 3 bytes it would take)."""
        return len(self.body.encode("utf-8", "surrogatepass"))

    def row(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id, "source_id": self.source_id, "corpus": self.corpus,
            "format": self.format, "outlet": self.outlet, "date": self.date,
            "title": self.title, "body": self.body, "category": self.category,
            "path": self.path, "raw_sha256": self.raw_sha256, "encoding": self.encoding,
            "warnings": ";".join(self.warnings),
        }


@dataclass
class Reject:
    corpus: str
    path: str
    reason: str
    detail: str = ""
    size_bytes: int = 0
    raw_sha256: str = ""

    def row(self) -> dict[str, Any]:
        """The quarantine row; text is made writable as UTF-8, as a reject may quote bad input."""
        return {c: valid_utf8(v) if isinstance(v := getattr(self, c), str) else v for c in QUARANTINE_COLUMNS}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_id(title: str, body: str) -> str:
    """Stable id: hash of the NFC-normalised, whitespace-collapsed title and body."""
    norm = unicodedata.normalize("NFC", f"{title}\n{body}")
    norm = " ".join(norm.split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


@dataclass
class Decoded:
    text: str
    encoding: str
    warnings: list[str]


def decode_bytes(
    data: bytes, fallback_encodings: list[str], max_control_ratio: float
) -> Decoded | tuple[str, str]:
    """Decode text bytes, or return ``(reason, detail)`` when they are not text.

    UTF-8 first (a BOM is dropped), then each fallback in order; the one used is
    recorded as a warning so mojibake can be traced back to its file.
    """
    if not data.strip():
        return ("empty", "file has no non-whitespace bytes")
    utf16 = _decode_utf16(data)
    if utf16 is not None:
        text, encoding = utf16
        if not text.strip():
            return ("empty", f"{encoding} text with no non-whitespace characters")
        return _checked_text(text, encoding, [], max_control_ratio)
    if b"\x00" in data[:8192]:
        return ("binary", "NUL bytes in the first 8 KiB")
    warnings: list[str] = []
    text: str | None = None
    encoding = "utf-8"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_error = f"not UTF-8 at byte {exc.start}"
        for enc in fallback_encodings:
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            encoding = enc
            warnings.append(f"fallback_encoding:{enc}")
            break
        if text is None:
            return ("undecodable", f"{first_error}; fallbacks {fallback_encodings} failed")
    return _checked_text(text, encoding, warnings, max_control_ratio)


def _checked_text(text: str, encoding: str, warnings: list[str], max_control_ratio: float) -> Decoded | tuple[str, str]:
    controls = len(_CONTROL.findall(text))
    if controls / max(len(text), 1) > max_control_ratio:
        return ("binary", f"{controls} control characters in {len(text)} characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Decoded(text=text, encoding=encoding, warnings=warnings)


def _decode_utf16(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) for UTF-16 with a BOM, or without one when every NUL byte sits on
    one side of the byte pairs (ASCII in UTF-16); None otherwise or when it does not decode."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"  # the BOM gives the byte order and is dropped
    else:
        sample = data[:8192]
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if len(data) % 2 or not (even or odd) or (even and odd):
            return None
        encoding = "utf-16-be" if even else "utf-16-le"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return None
