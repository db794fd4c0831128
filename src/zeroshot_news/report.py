"""``report``: execute the analysis notebooks headless on a run's outputs, failing on any cell error.

    python -m zeroshot_news report [--root RUN_FOLDER] [--notebooks DIR] [--output-dir DIR] [NAMES...]

The notebooks (``notebooks/``: results exploration, error analysis, benchmarks) are
committed as jupytext percent-format ``.py`` files so diffs stay readable. Each is
converted to a notebook in memory and run with nbclient, with ``ZSN_ROOT`` pointing at
the run folder whose ``data/``, ``metrics/`` and ``plots/`` it reads; ``--output-dir``
saves the executed ``.ipynb`` files (outputs included) there. Needs the ``dev`` extras
(nbclient, nbformat, jupytext, ipykernel).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

NOTEBOOK_GLOB = "[0-9]*.py"


def execute(path: Path, root: Path, timeout: int = 600, output: Path | None = None) -> None:
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    env_before = os.environ.get("ZSN_ROOT")
    os.environ["ZSN_ROOT"] = str(root.resolve())
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("ZSN_ROOT", None)
        else:
            os.environ["ZSN_ROOT"] = env_before
    if output is not None:
        import nbformat

        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output)


def notebooks(folder: Path) -> list[Path]:
    """The numbered notebooks of ``folder``, in order."""
    return sorted(folder.glob(NOTEBOOK_GLOB))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m zeroshot_news report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path("."), help="run folder with data/ and metrics/ (default: .)")
    ap.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="notebook folder (default: notebooks)")
    ap.add_argument("--output-dir", type=Path, help="save executed .ipynb files here")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: 600)")
    ap.add_argument("names", nargs="*", type=Path, help="notebook files (default: every numbered one in --notebooks)")
    args = ap.parse_args(argv)
    for path in args.names or notebooks(args.notebooks):
        out = args.output_dir / path.with_suffix(".ipynb").name if args.output_dir else None
        execute(path, args.root, timeout=args.timeout, output=out)
        log.info("ok %s", path.name)
