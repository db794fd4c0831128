"""The path options of a pipeline stage command, for the perf scripts (dvc.yaml passes the pipeline's own)."""

from __future__ import annotations

from pathlib import Path

HEAD = Path(__file__).resolve().parents[1] / "models" / "topic_head.json"  # the pipeline's topic head


def stage_argv(stage: str, out: Path, articles: Path | None = None) -> list[str]:
    """``--<input/output> PATH`` options of ``python -m zeroshot_news STAGE``: outputs under ``out``."""
    paths = {
        "ingest": ["--articles", out / "articles.parquet", "--sentences", out / "sentences.parquet",
                   "--quarantine", out / "quarantine.parquet"],
        "clean": ["--input", articles, "--articles", out / "articles.parquet", "--removed", out / "removed.parquet"],
        "topic": ["--articles", articles, "--topics", out / "topics.parquet",
                  "--passages", out / "topic_passages.parquet", "--head", HEAD],
        "stance": ["--articles", articles, "--topics", out / "topics.parquet", "--stance", out / "stance.parquet"],
    }[stage]
    return [str(p) for p in paths] + ["--report", str(out / f"{stage}.json")]
