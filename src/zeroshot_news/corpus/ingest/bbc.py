"""The BBC News corpus: category folders of ``title\\n\\nbody`` files; the folder is kept as ``category``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zeroshot_news.config import CorpusConfig, SourceConfig
from zeroshot_news.corpus.ingest.files import is_candidate, iter_folder
from zeroshot_news.corpus.ingest.records import Article, Decoded, Reject
from zeroshot_news.corpus.sampling import stable_sample


def parse_bbc(decoded: Decoded, path: str, raw_sha: str, source: str = "bbc") -> Article | Reject:
    text = decoded.text.strip("\n")
    title, _, body = text.partition("\n")
    title, body = title.strip(), body.strip()
    warnings = list(decoded.warnings)
    if not body:
        return Reject(source, path, "no_body", "only a title line")
    parts = Path(path).parts
    category = parts[-2] if len(parts) >= 2 else None
    return Article(
        source_id=str(Path(path).with_suffix("")), corpus=source, format="bbc", title=title,
        body=body, path=path, raw_sha256=raw_sha, outlet="BBC", category=category,
        encoding=decoded.encoding, warnings=warnings,
    )


def iter_bbc(source: SourceConfig, corpus: CorpusConfig) -> Iterator[Article | Reject]:
    root = Path(source.path)
    categories = source.categories or sorted(p.name for p in root.iterdir() if p.is_dir())
    files: list[Path] = []
    for cat in categories:
        folder = root / cat
        if not folder.is_dir():
            yield Reject(source.name, f"{root.name}/{cat}", "missing_category", "no such folder")
            continue
        names = stable_sample(
            [p.name for p in folder.glob(source.glob or "*.txt") if is_candidate(p)],
            source.sample_per_category, source.sample_seed,
        )
        files += [folder / n for n in names]

    def parse(decoded: Decoded, path: str, raw_sha: str) -> Article | Reject:
        return parse_bbc(decoded, path, raw_sha, source.name)

    yield from iter_folder(source, corpus, parse, root, files)
