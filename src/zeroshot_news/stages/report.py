"""Report stage: the notebooks in ``notebooks/`` executed headless on the pipeline's outputs,
saved as ``.ipynb`` (figures inline) and one offline HTML page
(:mod:`zeroshot_news.apps.report`). Stamped with the params digest, corpus and package
version, not the git commit: a committed DVC output must come out byte-identical when a
fresh clone reruns it (``make notebooks`` stamps the commit)."""

from __future__ import annotations

from pathlib import Path

from zeroshot_news.apps.report import notebooks, write_report
from zeroshot_news.stages.common import stage_args


def main(argv: list[str] | None = None) -> None:
    args, _ = stage_args(argv, __doc__, inputs={"notebooks": "folder of jupytext notebooks (numbered .py files)"},
                         outputs={"output-dir": "folder for the executed .ipynb files",
                                  "html": "one self-contained HTML page"})
    write_report(notebooks(Path(args.notebooks)), Path("."), Path(args.output_dir), Path(args.html),
                 git_stamp=False)
