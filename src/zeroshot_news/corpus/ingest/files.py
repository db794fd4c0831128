"""Reading one raw file with the size, emptiness and encoding checks every text adapter needs."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.records import Article, Decoded, Reject, decode_bytes, sha256

# parse(text, decoded, path, raw_sha) -> Article or Reject
Parser = Callable[[Decoded, str, str], Article | Reject]


def is_candidate(path: Path) -> bool:
    """A file, or a symlink that is not a folder: broken links and loops are kept so they get quarantined."""
    return path.is_file() or (path.is_symlink() and not path.is_dir())


def list_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` matching ``pattern``, recursively, in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob(pattern) if is_candidate(p))


def escape_reason(path: Path, root: Path) -> tuple[str, str] | None:
    """(reason, detail) when ``path`` is a symlink loop, a broken link or leads outside ``root``."""
    if not root.is_dir():
        return None  # a single input file was named explicitly
    try:
        real = path.resolve(strict=True)
    except RuntimeError as exc:  # Python < 3.13 reports a loop this way
        return ("symlink_loop", str(exc))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ("symlink_loop", str(exc))
        if path.is_symlink():
            return ("broken_symlink", f"{path.name} -> {path.readlink()}")
        return None  # read_and_parse reports it as unreadable
    if not real.is_relative_to(root.resolve()):
        return ("outside_input", f"resolves to {real}, outside {root}")
    return None


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
        escaped = escape_reason(path, root)
        if escaped:
            yield Reject(source.name, display, *escaped)
            continue
        yield read_and_parse(path, display, source, corpus, parse)
