"""The report: its provenance stamp, the notebooks' helpers, and the notebooks themselves on a
researcher's own corpus (no dev-gold item in it), headless and as plain scripts.

The notebook runs use a temporary run folder built from this repository's real outputs
(skipped where they are not there, e.g. a fresh clone before `dvc pull`), with the
gold-dependent parts removed as `evaluate` leaves them on such a corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from zeroshot_news.apps import report
from zeroshot_news.apps.report import (
    NA,
    colour,
    html_report,
    provenance,
    run_root,
    stamp_markdown,
    tidy,
)

NOTE = "no dev-gold item in this corpus"
COMMIT_DATE = "2021-02-03T04:05:06+00:00"
OUTPUTS = ["params.yaml", "data/processed/articles.parquet", "data/predictions/topics.parquet",
           "data/predictions/topic_passages.parquet", "data/predictions/stance.parquet",
           "data/predictions/stance_gold.parquet", "data/gold/gold.csv", "data/gold/stance_gold.csv",
           "data/gold/stance/items.csv", "metrics/evaluation.json", "reports/evaluation.json"]


# ---------------------------------------------------------------------------
# Run folders
# ---------------------------------------------------------------------------


def _git_env(monkeypatch) -> dict[str, str]:
    values = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
              "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": COMMIT_DATE,
              "GIT_COMMITTER_DATE": COMMIT_DATE, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _commit_all(root: Path, message: str = "run") -> None:
    if not (root / ".git").exists():
        _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)


def own_corpus_run(folder: Path, stance_gold: bool = True, benchmarks: bool = True) -> Path:
    """A run folder from the real outputs as they are on a corpus without a dev-gold item."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    missing = [p for p in OUTPUTS if not (REPO / p).is_file()]
    if missing:
        pytest.skip(f"the pipeline's outputs are not here (dvc pull / make run): {missing}")
    for path in OUTPUTS:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, folder / path)
    if benchmarks:
        for sub in ("perf/results", "reports/benchmark"):
            shutil.copytree(REPO / sub, folder / sub, ignore=shutil.ignore_patterns("*.txt"))
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["corpus"]["name"] = "my_corpus"
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    articles = pd.read_parquet(folder / "data/processed/articles.parquet")
    articles["path"] = "my_corpus/" + articles["doc_id"] + ".txt"  # none of the dev gold's items
    articles.to_parquet(folder / "data/processed/articles.parquet", index=False)

    headline = json.loads((folder / "metrics/evaluation.json").read_text())
    for key in ("topics", "stance_dev_gold_small_sample", "stance_crowd"):
        headline.pop(key, None)
    full = json.loads((folder / "reports/evaluation.json").read_text())
    for key in ("topics", "topics_tuned", "topics_partial", "unevaluated"):
        full.pop(key, None)
    full.update(stance={}, stance_crowd={}, dev_gold={"skipped": "no gold item is in the corpus"},
                gold={"path": "data/gold/gold.csv", "matched": 0, "missing": {}})
    if not stance_gold:
        headline.pop("stance_gold", None)
        full.pop("stance_gold", None)
        for path in ("data/predictions/stance_gold.parquet", "data/gold/stance_gold.csv", "data/gold/stance/items.csv"):
            (folder / path).unlink()
    (folder / "metrics/evaluation.json").write_text(json.dumps(headline, indent=2))
    (folder / "reports/evaluation.json").write_text(json.dumps(full, indent=2))
    return folder


def _texts(nb) -> str:
    """Everything a notebook's outputs say (markdown, streams, tables), figures aside."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            for kind in ("text/markdown", "text/html", "text/plain"):
                if kind in out.get("data", {}):
                    parts.append(out["data"][kind])
    return "\n".join(parts)


def _page_text(page: str) -> str:
    """The HTML page without its figures and its (collapsed) code."""
    page = re.sub(r"<img [^>]*>", "", page)
    return re.sub(r"<pre class='src'>.*?</pre>", "", page, flags=re.S)


# ---------------------------------------------------------------------------
# The notebooks on a corpus without dev gold
# ---------------------------------------------------------------------------


def test_report_on_own_corpus_notes_the_missing_gold_and_reruns_byte_identical(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")
    _git_env(monkeypatch)
    root = own_corpus_run(tmp_path / "run")
    out = root / "reports"
    # Stale committed reports: rewriting them must not stamp the next run "dirty".
    for name in ("01_results_exploration.ipynb", "02_error_analysis.ipynb", "03_benchmarks.ipynb", "index.html"):
        (out / name).write_text("stale\n")
    _commit_all(root)
    commit = _git(root, "rev-parse", "--short", "HEAD")
    digest = hashlib.sha256((root / "params.yaml").read_bytes()).hexdigest()[:12]
    argv = ["--root", str(root), "--notebooks", str(REPO / "notebooks"), "--output-dir", str(out),
            "--html", str(out / "index.html")]

    report.main(argv)  # raises on any cell error
    names = sorted(p.name for p in out.glob("*.ipynb"))
    assert names == ["01_results_exploration.ipynb", "02_error_analysis.ipynb", "03_benchmarks.ipynb"]
    first = {p.name: p.read_bytes() for p in [*sorted(out.glob("*.ipynb")), out / "index.html"]}
    page = first["index.html"].decode()
    for name in names:
        nb = nbformat.read(out / name, as_version=4)
        said = _texts(nb)
        assert NOTE in said, name  # every notebook says why there are no dev-gold metrics
        assert f"`{commit}`" in said and digest in said and COMMIT_DATE in said and "my_corpus" in said, name
        assert "-dirty" not in said, name
        assert nb.metadata["zeroshot_news"]["provenance"] == {
            "commit": commit, "dirty": False, "date": COMMIT_DATE, "params": digest, "corpus": "my_corpus"}
        assert not any(out.output_type == "error" for c in nb.cells for out in c.get("outputs", []))
    # The stamp heads the page, before the first notebook.
    top = page[:page.index("<section")]
    assert f"<code>{commit}</code>" in top and digest in top and COMMIT_DATE in top and "my_corpus" in top
    text = _page_text(page)
    assert text.count(NOTE) >= 3
    assert not re.search(r"\bNaN\b", text)  # empty cells say –
    assert not re.search(r"<td>None</td>|\{'", text)  # no raw dicts, no None cells
    assert "Stance gold: macro-F1 per target" in text and "untuned" in text  # the stance gold still shows
    assert "test-half (item, target) pairs are wrong" in text

    report.main(argv)  # same commit, same outputs: the same bytes
    assert {p.name: p.read_bytes() for p in [*sorted(out.glob("*.ipynb")), out / "index.html"]} == first


def test_report_on_a_bare_run_without_stance_gold_or_benchmarks(tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("jupytext")
    root = own_corpus_run(tmp_path / "run", stance_gold=False, benchmarks=False)
    out = tmp_path / "out"
    report.main(["--root", str(root), "--notebooks", str(REPO / "notebooks"), "--output-dir", str(out),
                 "--html", str(out / "index.html")])
    text = _page_text((out / "index.html").read_text())
    assert NOTE in text
    assert "no stance gold in this run" in text
    assert "no benchmark results in this run" in text
    assert "not a git checkout" in text  # outside a checkout: no commit, no date
    assert not re.search(r"\bNaN\b", text)


@pytest.mark.parametrize("name", ["01_results_exploration", "02_error_analysis", "03_benchmarks"])
def test_notebook_runs_as_a_plain_script_from_the_root(tmp_path, name):
    """`python notebooks/X.py` from a run folder's root finds it without ZSN_ROOT."""
    pytest.importorskip("IPython")
    root = own_corpus_run(tmp_path / "run")
    (root / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / f"{name}.py", root / "notebooks")
    env = {k: v for k, v in os.environ.items() if k not in ("ZSN_ROOT", report.PROVENANCE_ENV)}
    proc = subprocess.run([sys.executable, f"notebooks/{name}.py"], cwd=root, capture_output=True, text=True,
                          timeout=300, env={**env, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert NOTE in proc.stdout and "my_corpus" in proc.stdout
    assert "<IPython" not in proc.stdout  # tables and notes print as text


# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------


def test_provenance_commit_dirty_date_digest_corpus(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git_env(monkeypatch)
    root = tmp_path / "run"
    (root / "reports").mkdir(parents=True)
    (root / "params.yaml").write_text("corpus:\n  name: mine\n")
    (root / "code.py").write_text("x = 1\n")
    (root / "reports" / "index.html").write_text("old\n")
    _commit_all(root)
    stamp = provenance(root)
    assert stamp == {"commit": _git(root, "rev-parse", "--short", "HEAD"), "dirty": False, "date": COMMIT_DATE,
                     "params": hashlib.sha256(b"corpus:\n  name: mine\n").hexdigest()[:12], "corpus": "mine"}
    (root / "untracked.txt").write_text("new\n")  # untracked files do not count
    assert provenance(root)["dirty"] is False
    (root / "reports" / "index.html").write_text("new\n")
    assert provenance(root)["dirty"] is True
    assert provenance(root, exclude=[root / "reports" / "index.html"])["dirty"] is False  # the report's own output
    (root / "code.py").write_text("x = 2\n")
    assert provenance(root, exclude=[root / "reports" / "index.html"])["dirty"] is True
    _git(root, "add", "code.py")  # staged is still uncommitted
    assert provenance(root, exclude=[root / "reports" / "index.html"])["dirty"] is True
    _git(root, "mv", "code.py", "moved.py")
    assert provenance(root, exclude=[root / "reports" / "index.html"])["dirty"] is True
    assert "`" + stamp["commit"] + "-dirty`" in stamp_markdown({**stamp, "dirty": True})


def test_provenance_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "run").mkdir()
    stamp = provenance(tmp_path / "run")
    assert stamp == {"commit": NA, "dirty": False, "date": NA, "params": NA, "corpus": NA}
    assert "| commit | – (not a git checkout) |" in stamp_markdown(stamp)
    assert "| date | – |" in stamp_markdown(stamp)


# ---------------------------------------------------------------------------
# Helpers the notebooks use
# ---------------------------------------------------------------------------


def test_run_root_env_else_above_the_notebook_else_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("ZSN_ROOT", raising=False)
    (tmp_path / "params.yaml").write_text("{}\n")
    nb = tmp_path / "notebooks" / "01_x.py"
    nb.parent.mkdir()
    nb.write_text("")
    assert run_root(nb) == tmp_path.resolve()
    assert run_root(str(nb)) == tmp_path.resolve()
    monkeypatch.chdir(nb.parent)  # in Jupyter: no __file__, the working folder is the notebook's
    assert run_root(None) == tmp_path.resolve()
    monkeypatch.setenv("ZSN_ROOT", str(tmp_path / "elsewhere"))
    assert run_root(nb) == tmp_path / "elsewhere"
    monkeypatch.delenv("ZSN_ROOT")
    bare = tmp_path.parent / f"{tmp_path.name}-bare"
    bare.mkdir()
    if not any((p / "params.yaml").is_file() for p in (bare, *bare.parents)):
        with pytest.raises(FileNotFoundError, match="ZSN_ROOT"):
            run_root(bare)


def test_colours_are_fixed_across_runs():
    assert colour("favor") == report.COLOURS["favor"] and colour("against") != colour("favor")
    code = "from zeroshot_news.apps.report import colour; print(colour('some_new_target'), colour('x'))"
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(seen) == 1  # never Python's salted hash


def test_tidy_drops_empty_columns_and_rows_and_shows_a_dash():
    frame = pd.DataFrame({"a": [1.0, None, None], "b": [None, None, None], "c": ["x", None, None]},
                         index=["r1", "r2", "r3"])
    frame.loc["r2", "a"] = 2.0
    out = tidy(frame)
    assert list(out.columns) == ["a", "c"] and list(out.index) == ["r1", "r2"]
    assert out.loc["r2", "c"] == NA and out.loc["r1", "a"] == 1.0
    assert "NaN" not in out.to_html() and "None" not in out.to_html()
    kept = tidy(frame, drop_empty=False)
    assert list(kept.columns) == ["a", "b", "c"] and (kept["b"] == NA).all()


def test_html_report_renders_markdown_outputs_and_the_stamp():
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("markdown_it")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show(note('x'))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/markdown": "**note:** no dev-gold item in this corpus: <b>x</b>",
        "text/plain": "<IPython.core.display.Markdown object>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    stamp = {"commit": "abc1234", "dirty": True, "date": COMMIT_DATE, "params": "0123456789ab", "corpus": "c"}
    nb.metadata["zeroshot_news"] = {"provenance": stamp}
    page = html_report([("01_t", nb)])
    assert "<strong>note:</strong> no dev-gold item in this corpus: &lt;b&gt;x&lt;/b&gt;" in page  # html escaped
    assert "IPython.core.display.Markdown" not in page
    top = page[:page.index("<section")]
    assert "<code>abc1234-dirty</code>" in top and "0123456789ab" in top and COMMIT_DATE in top
    assert html_report([("01_t", nb)], stamp={**stamp, "commit": "fff0000", "dirty": False}).count("fff0000") == 1
