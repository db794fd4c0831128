"""Reading one raw file with the size, emptiness and encoding checks every text adapter needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..config import CorpusConfig, SourceConfig
from .records import Article, Decoded, Reject, decode_bytes, sha256

# parse(text, decoded, path, raw_sha) -> Article or Reject
Parser = Callable[[Decoded, str, str], Article | Reject]


def list_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` matching ``pattern``, recursively, in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def read_and_parse(
    path: Path, display_path: str, source: SourceConfig, corpus: CorpusConfig, parse: Parser
) -> Article | Reject:
    """Apply the shared checks, then the format's parser; never raises on file content."""
    try:
        size = path.stat().st_size
        if size > corpus.max_file_bytes:
            return Reject(source.name, display_path, "oversized",
                          f"{size} bytes > max_file_bytes={corpus.max_file_bytes}", size)
        data = path.read_bytes()
    except OSError as exc:
        return Reject(source.name, display_path, "unreadable", str(exc))
    digest = sha256(data)
    decoded = decode_bytes(data, corpus.fallback_encodings, corpus.max_control_char_ratio)
    if isinstance(decoded, tuple):
        reason, detail = decoded
        return Reject(source.name, display_path, reason, detail, len(data), digest)
    result = parse(decoded, display_path, digest)
    if isinstance(result, Reject):
        result.size_bytes = len(data)
        result.raw_sha256 = digest
    return result


def iter_folder(
    source: SourceConfig, corpus: CorpusConfig, parse: Parser, root: Path, files: list[Path]
) -> Iterator[Article | Reject]:
    for path in files:
        display = path.relative_to(root.parent).as_posix() if root.is_dir() else path.name
        yield read_and_parse(path, display, source, corpus, parse)
