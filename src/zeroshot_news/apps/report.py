"""``report``: execute the analysis notebooks headless on a run's outputs, failing on any cell error.

    python -m zeroshot_news report [--root RUN_FOLDER] [--notebooks DIR] [--output-dir DIR] [--html FILE] [NAMES...]

The notebooks (``notebooks/``: results exploration, error analysis, benchmarks) are
committed as jupytext percent-format ``.py`` files so diffs stay readable. Each is
converted to a notebook in memory and run with nbclient, with ``ZSN_ROOT`` pointing at
the run folder whose ``data/``, ``metrics/`` and ``plots/`` it reads; ``--output-dir``
saves the executed ``.ipynb`` files (outputs included, figures inline) there, and
``--html`` writes one self-contained page (figures embedded as PNG, no script, no CDN)
that a colleague can open offline. Needs the ``dev`` extras (nbclient, nbformat,
jupytext, ipykernel; markdown-it-py comes with jupytext).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

NOTEBOOK_GLOB = "[0-9]*.py"


def execute(path: Path, root: Path, timeout: int = 600, output: Path | None = None):
    """Run one notebook (its working folder: the notebook's) and return it with its outputs."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    for i, cell in enumerate(nb.cells):  # jupytext draws random cell ids: fixed ones keep reruns diff-free
        cell["id"] = f"cell-{i:03d}"
    env_before = os.environ.get("ZSN_ROOT")
    os.environ["ZSN_ROOT"] = str(root.resolve())
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
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
    return nb


def figure_cells(nb) -> list[tuple[int, bool]]:
    """(cell index, has an inline PNG) for every code cell that shows a figure (``plt.show()``)."""
    return [(i, any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])))
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "plt.show()" in cell.source]


def _output_html(out) -> str:
    import html

    if out.output_type == "stream":
        return f"<pre class='out'>{html.escape(out.text)}</pre>"
    if out.output_type == "error":
        return f"<pre class='err'>{html.escape(out.ename + ': ' + out.evalue)}</pre>"
    data = out.get("data", {})
    if "image/png" in data:
        return f"<img alt='figure' src='data:image/png;base64,{data['image/png'].strip()}'>"
    if "text/html" in data:  # pandas tables; notebooks here are the project's own
        return f"<div class='table'>{data['text/html']}</div>"
    if "text/plain" in data:
        return f"<pre class='out'>{html.escape(data['text/plain'])}</pre>"
    return ""


def html_report(executed: list[tuple[str, object]], title: str = "zeroshot-news report") -> str:
    """One offline page from executed notebooks: markdown, code, outputs, embedded figures."""
    import html

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:12px}"
             "pre.src{border-left:3px solid #89a}pre.err{background:#fdd}img{max-width:100%}"
             "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
             "nav a{margin-right:1em}</style></head><body>", f"<h1>{html.escape(title)}</h1><nav>"]
    parts += [f"<a href='#{html.escape(name)}'>{html.escape(name)}</a>" for name, _ in executed]
    parts.append("</nav>")
    for name, nb in executed:
        parts.append(f"<section id='{html.escape(name)}'><h1>{html.escape(name)}</h1>")
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                parts.append(md.render(cell.source))
            elif cell.cell_type == "code":
                parts.append(f"<details><summary>code</summary><pre class='src'>{html.escape(cell.source)}</pre>"
                             "</details>")
                parts += [_output_html(out) for out in cell.get("outputs", [])]
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def notebooks(folder: Path) -> list[Path]:
    """The numbered notebooks of ``folder``, in order."""
    return sorted(folder.glob(NOTEBOOK_GLOB))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path("."), help="run folder with data/ and metrics/ (default: .)")
    ap.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="notebook folder (default: notebooks)")
    ap.add_argument("--output-dir", type=Path, help="save executed .ipynb files here")
    ap.add_argument("--html", type=Path, help="also write one self-contained HTML page (e.g. reports/index.html)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: 600)")
    ap.add_argument("names", nargs="*", type=Path, help="notebook files (default: every numbered one in --notebooks)")
    args = ap.parse_args(argv)
    executed = []
    for path in args.names or notebooks(args.notebooks):
        out = args.output_dir / path.with_suffix(".ipynb").name if args.output_dir else None
        nb = execute(path, args.root, timeout=args.timeout, output=out)
        missing = [i for i, has_png in figure_cells(nb) if not has_png]
        if missing:
            log.warning("%s: figure cells %s produced no image", path.name, missing)
        executed.append((path.stem, nb))
        log.info("ok %s (%d figures)", path.name, sum(has for _, has in figure_cells(nb)))
    if args.html:
        from zeroshot_news.io import atomic_path

        args.html.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.html) as tmp:
            tmp.write_text(html_report(executed), encoding="utf-8")
        log.info("report: %s", args.html)
