"""Reading one raw file with the name, kind, size, emptiness and encoding checks every adapter needs."""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.records import (
    Article,
    Decoded,
    Reject,
    decode_bytes,
    escaped_file_name,
    lone_surrogate,
    sha256,
)

# parse(text, decoded, path, raw_sha) -> Article or Reject
Parser = Callable[[Decoded, str, str], Article | Reject]


def is_candidate(path: Path) -> bool:
    """Anything but a folder: broken links, loops, FIFOs and devices are kept so they get quarantined."""
    return not path.is_dir()


def list_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` matching ``pattern``, recursively, in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob(pattern) if is_candidate(p))


def display_path(path: Path, root: Path) -> str:
    """How the tables name ``path``: from the input folder's name down (the file's name for a
    single input file), POSIX style, bytes that are not UTF-8 as ``\\xNN`` escapes."""
    display = path.relative_to(root.parent).as_posix() if root.is_dir() else path.name
    return escaped_file_name(display)


def name_reason(path: Path, root: Path) -> tuple[str, str] | None:
    """(reason, detail) when the name of ``path`` (or of a folder under ``root``) is not valid
    UTF-8: its ids and paths could not be written to the tables as they are."""
    relative = path.relative_to(root.parent) if root.is_dir() else Path(path.name)
    if lone_surrogate(str(relative)) is None:
        return None
    return ("bad_encoding", "file name is not valid UTF-8 (its undecodable bytes are shown as \\xNN)")


_FILE_KINDS = {stat.S_IFIFO: "FIFO (named pipe)", stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
               stat.S_IFBLK: "block device", stat.S_IFDIR: "folder"}


def kind_reason(path: Path) -> tuple[str, str] | None:
    """(reason, detail) when ``path``, links followed, is not a regular file. Such a file is never
    opened: opening a FIFO for reading blocks until someone writes to it, a device may never end."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # a broken link or loop: escape_reason reports it, else the read does
    if stat.S_ISREG(mode):
        return None
    kind = _FILE_KINDS.get(stat.S_IFMT(mode), "special file")
    return ("not_regular_file", f"a {kind}, not a regular file: not opened")


def skip_reason(path: Path, root: Path) -> tuple[str, str] | None:
    """(reason, detail) when ``path`` must not be read at all: a name that is not UTF-8, a link
    out of ``root``, broken or looping, or something other than a regular file."""
    return name_reason(path, root) or escape_reason(path, root) or kind_reason(path)


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
        display = display_path(path, root)
        skipped = skip_reason(path, root)
        if skipped:
            yield Reject(source.name, display, *skipped)
            continue
        yield read_and_parse(path, display, source, corpus, parse)
