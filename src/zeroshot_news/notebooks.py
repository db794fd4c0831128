"""Execute the jupytext notebooks in ``notebooks/`` headless (nbclient), failing on any cell error.

    python -m zeroshot_news.notebooks [--root RUN_FOLDER] [--output-dir DIR]

The notebooks are committed as percent-format ``.py`` files so diffs stay readable;
this converts each to a notebook in memory, runs it with ``ZSN_ROOT`` pointing at a
run's folder, and optionally saves the executed ``.ipynb`` (outputs included) elsewhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zeroshot_news.notebooks", description=__doc__)
    ap.add_argument("--root", type=Path, default=Path("."), help="run folder with data/ and metrics/")
    ap.add_argument("--output-dir", type=Path, help="save executed .ipynb files here")
    ap.add_argument("names", nargs="*", help="notebook files (default: all in notebooks/)")
    args = ap.parse_args(argv)
    paths = [Path(n) for n in args.names] or sorted(NOTEBOOK_DIR.glob("[0-9]*.py"))
    for path in paths:
        out = args.output_dir / path.with_suffix(".ipynb").name if args.output_dir else None
        execute(path, args.root, output=out)
        print(f"ok {path.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
