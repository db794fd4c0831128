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

Every page and notebook is stamped with its provenance (:func:`provenance`): the git
commit of the run folder (``-dirty`` when tracked files differ from it, the report's own
outputs aside), a digest of ``params.yaml``, the commit's date (not the current time:
re-running the report on the same commit and outputs rewrites the same bytes) and the
corpus name. The notebooks also import the small helpers at the end of this module
(:func:`run_root`, :func:`show`, :func:`tidy`, :data:`COLOURS` ...), so a notebook runs
both here and as a plain script (``python notebooks/01_results_exploration.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NOTEBOOK_GLOB = "[0-9]*.py"
PROVENANCE_ENV = "ZSN_PROVENANCE"  # the stamp, as JSON, handed to the notebooks' kernel
NA = "–"  # what a table shows for a missing value

# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------


def _git(root: Path, *args: str) -> str | None:
    """``git -C root ARGS`` stdout, or None (not a checkout, no git)."""
    try:
        # --no-optional-locks: a report never takes the index lock from a concurrent git command.
        proc = subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _changed_paths(root: Path) -> list[str] | None:
    """Tracked paths (relative to the top of the checkout) whose content differs from HEAD."""
    out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules=dirty")
    if out is None:
        return None
    fields, paths = out.split("\0"), []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename / copy: the next field is the original path
            i += 1
    return paths


def provenance(root: Path, exclude: Iterable[Path] = (), git: bool = True) -> dict[str, Any]:
    """Where a run's report comes from: commit, dirty, date, params digest, corpus.

    ``commit``: the short hash of HEAD of the checkout holding ``root``; ``dirty``: whether a
    tracked file differs from it (staged or not), the paths in ``exclude`` (the report's own
    outputs, which a report run rewrites) aside; ``date``: the commit's date (``git log -1
    --format=%cI``), so that the stamp does not change between reruns; ``params``: the first
    12 hex digits of the sha256 of ``root/params.yaml``; ``corpus``: its ``corpus.name``.
    Outside a git checkout commit and date are ``–``. ``git=False`` (the DVC ``report``
    stage): no commit, dirty flag or date, the package version instead: a committed DVC
    output must come out the same on a fresh clone's rerun, whose commit is another."""
    root = Path(root).resolve()
    params_file = root / "params.yaml"
    digest, corpus = NA, NA
    if params_file.is_file():
        raw = params_file.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()[:12]
        try:
            import yaml

            corpus = str(((yaml.safe_load(raw) or {}).get("corpus") or {}).get("name") or NA)
        except Exception:  # a broken params.yaml still gets a digest
            corpus = NA
    stamp: dict[str, Any] = {"commit": NA, "dirty": False, "date": NA, "params": digest, "corpus": corpus}
    if not git:
        from zeroshot_news import __version__

        return {**stamp, "stage": "report", "version": __version__}
    commit = _git(root, "rev-parse", "--short", "HEAD")
    top = _git(root, "rev-parse", "--show-toplevel")
    if commit is None or top is None:
        return stamp
    skip = {Path(p).resolve() for p in exclude}
    changed = _changed_paths(root) or []
    stamp["commit"] = commit.strip()
    stamp["dirty"] = any((Path(top.strip()) / path).resolve() not in skip for path in changed)
    stamp["date"] = (_git(root, "log", "-1", "--format=%cI") or NA).strip() or NA
    return stamp


def stamp_markdown(stamp: dict[str, Any]) -> str:
    """The stamp as a small markdown table."""
    commit, date = stamp.get("commit", NA), stamp.get("date", NA)
    if stamp.get("stage"):
        commit = "the one that holds this file (made by the DVC stage `report`: `git log reports/index.html`)"
        date = f"{NA} (a DVC output carries no date; zeroshot-news {stamp.get('version', NA)})"
    elif commit == NA:
        commit = f"{NA} (not a git checkout)"
    else:
        commit = f"`{commit}-dirty` (uncommitted changes)" if stamp.get("dirty") else f"`{commit}`"
    rows = [("commit", commit),
            ("params.yaml digest", f"`{stamp.get('params', NA)}` (sha256, first 12)" if stamp.get("params", NA) != NA
             else f"{NA} (no params.yaml)"),
            ("date", date if date == NA or stamp.get("stage") else f"{date} (the commit's)"),
            ("corpus", str(stamp.get("corpus", NA)).replace("|", "\\|"))]
    return "\n".join(["| provenance | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]) + "\n"


# ---------------------------------------------------------------------------
# Executing and rendering
# ---------------------------------------------------------------------------


def execute(path: Path, root: Path, timeout: int = 600, output: Path | None = None,
            stamp: dict[str, Any] | None = None):
    """Run one notebook (its working folder: the notebook's) and return it with its outputs.

    ``stamp`` (default: :func:`provenance` of ``root``) is what the notebook shows at its top
    and is kept in its metadata (``zeroshot_news.provenance``)."""
    import jupytext
    from nbclient import NotebookClient

    stamp = provenance(root) if stamp is None else stamp
    nb = jupytext.read(path)
    for i, cell in enumerate(nb.cells):  # jupytext draws random cell ids: fixed ones keep reruns diff-free
        cell["id"] = f"cell-{i:03d}"
    nb.metadata["zeroshot_news"] = {"provenance": stamp}
    env = {"ZSN_ROOT": str(Path(root).resolve()), PROVENANCE_ENV: json.dumps(stamp, sort_keys=True)}
    before = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if output is not None:
        import nbformat

        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output)
    return nb


def figure_cells(nb) -> list[tuple[int, bool]]:
    """(cell index, has an inline PNG) for every code cell that shows a figure (``plt.show()``)."""
    return [(i, any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])))
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "plt.show()" in cell.source]


def _output_html(out, md) -> str:
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
    if "text/markdown" in data:  # notes and small tables (raw HTML in it is escaped)
        return f"<div class='md'>{md.render(data['text/markdown'])}</div>"
    if "text/plain" in data:
        return f"<pre class='out'>{html.escape(data['text/plain'])}</pre>"
    return ""


def html_report(executed: list[tuple[str, object]], title: str = "zeroshot-news report",
                stamp: dict[str, Any] | None = None) -> str:
    """One offline page from executed notebooks: provenance, markdown, code, outputs, embedded figures.

    ``stamp`` defaults to the one the first notebook was executed with (its metadata)."""
    import html

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    if stamp is None:
        stamp = next((nb.metadata.get("zeroshot_news", {}).get("provenance") for _, nb in executed
                      if nb.metadata.get("zeroshot_news", {}).get("provenance")), None)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:12px}"
             "pre.src{border-left:3px solid #89a}pre.err{background:#fdd}img{max-width:100%}"
             "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
             "nav a{margin-right:1em}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    if stamp:
        parts.append(f"<div class='stamp'>{md.render(stamp_markdown(stamp))}</div>")
    parts.append("<nav>")
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
                parts += [_output_html(out, md) for out in cell.get("outputs", [])]
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def notebooks(folder: Path) -> list[Path]:
    """The numbered notebooks of ``folder``, in order."""
    return sorted(folder.glob(NOTEBOOK_GLOB))


def write_report(paths: list[Path], root: Path, output_dir: Path | None, html: Path | None, timeout: int = 600,
                 git_stamp: bool = True) -> None:
    """Execute ``paths`` on the run in ``root``; save the executed notebooks in ``output_dir``
    and one offline page at ``html`` (either may be None). Fails on any cell error."""
    outputs = {path: output_dir / path.with_suffix(".ipynb").name if output_dir else None for path in paths}
    # The report's own outputs do not make the tree dirty: a rerun stamps the same.
    stamp = provenance(root, exclude=[p for p in [*outputs.values(), html] if p is not None], git=git_stamp)
    log.info("report: commit %s%s, params %s, corpus %s", stamp["commit"], "-dirty" if stamp["dirty"] else "",
             stamp["params"], stamp["corpus"])
    executed = []
    for path in paths:
        nb = execute(path, root, timeout=timeout, output=outputs[path], stamp=stamp)
        missing = [i for i, has_png in figure_cells(nb) if not has_png]
        if missing:
            log.warning("%s: figure cells %s produced no image", path.name, missing)
        executed.append((path.stem, nb))
        log.info("ok %s (%d figures)", path.name, sum(has for _, has in figure_cells(nb)))
    if html:
        from zeroshot_news.io import atomic_path

        html.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(html) as tmp:
            tmp.write_text(html_report(executed, stamp=stamp), encoding="utf-8")
        log.info("report: %s", html)


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
    write_report(args.names or notebooks(args.notebooks), args.root, args.output_dir, args.html, args.timeout)


# ---------------------------------------------------------------------------
# Helpers the notebooks import (one definition, so every notebook looks alike)
# ---------------------------------------------------------------------------

# A fixed colour per stance class, target, topic label and series, so a name keeps its
# colour from one run (and one notebook) to the next; other names: colour().
COLOURS: dict[str, str] = {
    # stance classes
    "favor": "#2ca02c", "against": "#d62728", "neutral": "#7f7f7f", "none": "#c7c7c7",
    "neutral_or_none": "#a5a5a5",
    # stance targets (pipeline and stance gold) and the pooled rows
    "russian_government": "#1f77b4", "ukrainian_government": "#ff7f0e", "western_governments": "#9467bd",
    "taliban": "#8c564b", "islamic_state": "#e377c2", "uk_government": "#17becf", "us_government": "#bcbd22",
    "pooled": "#333333", "pooled_tuned": "#666666", "pooled_untuned": "#999999",
    # topic labels (security taxonomy)
    "military": "#4c72b0", "diplomacy": "#55a868", "regional_security": "#c44e52",
    # series
    "gold yes": "#2ca02c", "gold no": "#7f7f7f", "ours": "#4c72b0", "published": "#b0b0b0",
}
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
            "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79"]


def colour(name: str) -> str:
    """The fixed colour of ``name``: COLOURS, else one drawn from a digest of the name
    (never from Python's salted ``hash``), so it is the same in every run."""
    if name in COLOURS:
        return COLOURS[name]
    return _PALETTE[int(hashlib.sha256(str(name).encode()).hexdigest(), 16) % len(_PALETTE)]


def colours(names: Iterable[str]) -> list[str]:
    return [colour(n) for n in names]


def run_root(start: str | Path | None = None) -> Path:
    """The run folder a notebook reads: ``ZSN_ROOT`` if set, else the first folder holding a
    ``params.yaml`` at or above ``start`` (the notebook file, when known) or the working folder."""
    if os.environ.get("ZSN_ROOT"):
        return Path(os.environ["ZSN_ROOT"])
    here = Path(start).resolve() if start else Path.cwd().resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no run folder (one with params.yaml) at or above {here}: set ZSN_ROOT")


def load_json(path: Path) -> dict[str, Any]:
    """A JSON report, or {} when the run has none."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def current_stamp(root: Path) -> dict[str, Any]:
    """The stamp the report handed over, else (a notebook run by hand) the root's provenance."""
    given = os.environ.get(PROVENANCE_ENV)
    return json.loads(given) if given else provenance(root)


def dev_gold_note(evaluation: dict[str, Any]) -> str | None:
    """None when the dev gold was scored in this run (``reports/evaluation.json``), else the
    one-line note saying why not."""
    if not evaluation:
        return "no evaluation report in this run (reports/evaluation.json): run the evaluate stage"
    gold = evaluation.get("gold") or {}
    skipped = (evaluation.get("dev_gold") or {}).get("skipped")
    if skipped or not gold.get("matched"):
        items = f"the items of {gold['path']}" if gold.get("path") else "the dev gold's items"
        reason = skipped if skipped and skipped != "no gold item is in the corpus" else f"none of {items} is in it"
        return f"no dev-gold item in this corpus: {reason}, so there are no topic or dev-gold stance metrics"
    return None


def header(root: Path) -> str:
    """What every notebook shows first: the provenance table and where the dev gold stands."""
    evaluation = load_json(root / "reports" / "evaluation.json")
    missing = dev_gold_note(evaluation)
    if missing:
        status = f"**note:** {missing}."
    else:
        gold = evaluation["gold"]
        lost = ", ".join(f"{k}: {v}" for k, v in (gold.get("missing") or {}).items()) or "none"
        status = f"Dev gold: {gold['matched']} items of `{gold.get('path', '?')}` in this corpus (not in it: {lost})."
    return stamp_markdown(current_stamp(root)) + "\n" + status + "\n"


def note(text: str):
    """A one-line note (why a table or figure is not there) as markdown."""
    return markdown(f"**note:** {text}")


def markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def show(obj) -> None:
    """Display ``obj`` (DataFrame, markdown) in a notebook; print it as text in a plain script."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the dev extras
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        from IPython.display import display

        display(obj)
        return
    text = getattr(obj, "data", None) if type(obj).__name__ == "Markdown" else None
    if text is not None:
        print(text)
    elif hasattr(obj, "to_string"):
        print(obj.to_string())
    else:
        print(obj)


def tidy(frame, drop_empty: bool = True):
    """A table for display: all-empty columns and rows dropped (``drop_empty``), every other
    missing value shown as ``–`` (never NaN / None)."""
    if drop_empty:
        frame = frame.dropna(axis=1, how="all").dropna(axis=0, how="all")
    frame = frame.copy()
    for col in [c for c in frame.columns if frame[c].isna().any()]:
        frame[col] = frame[col].astype(object).where(frame[col].notna(), NA)
    return frame


def fmt(value, digits: int = 3) -> str:
    """A number for a table cell (``–`` for a missing one)."""
    if value is None or (isinstance(value, float) and value != value):
        return NA
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_ci(ci, digits: int = 3) -> str:
    """A confidence interval ``[lo, hi]`` as text (``–`` when there is none)."""
    if not ci or any(v is None for v in ci):
        return NA
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def placeholder(text: str):
    """A small figure that says why the real one is empty (a figure cell always shows a figure)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.7))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, wrap=True)
    ax.axis("off")
    return fig
