"""End to end through DVC in a temporary copy of the repo, on a tiny corpus and tiny models.

Checks: `dvc repro` runs every stage, a second `dvc repro` is a no-op, a stance-only
param change invalidates only the stance stage, and `dvc exp run -S model=nli -S
model.name_or_path=...` composes a variant through Hydra and runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, SEED

pytestmark = pytest.mark.slow


def _param_rows(node):
    """(row, params.yaml params) for every commit / experiment row of `dvc exp show --json`."""
    if isinstance(node, dict):
        params = ((node.get("data") or {}).get("params") or {}).get("params.yaml", {}).get("data")
        if params is not None:
            yield node, params
        for value in node.values():
            yield from _param_rows(value)
    elif isinstance(node, list):
        for value in node:
            yield from _param_rows(value)


def _sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture
def repo_copy(tmp_path, tiny_encoder, tiny_nli, seed_text):
    root = tmp_path / "repo"
    root.mkdir()
    for item in ("dvc.yaml", "conf", "src", "notebooks"):
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / item)
    raw = root / "data" / "raw" / "tiny"
    raw.mkdir(parents=True)
    shutil.copy(SEED, raw / SEED.name)
    other = seed_text.replace("Taliban", "Kremlin").split("\n")
    varied = " ".join(f"NATO troops moved to border post {i} as the Kremlin warned Kiev." for i in range(30))
    (raw / "001_other.txt").write_text("\n".join(other[:5]) + "\n\n" + varied, encoding="utf-8")
    (raw / "002_empty.txt").write_text("", encoding="utf-8")
    gold = root / "data" / "gold"
    gold.mkdir(parents=True)
    header = ("item_id,stratum,military,diplomacy,regional_security,stance_russian_government,"
              "stance_ukrainian_government,stance_western_governments,stance_taliban\n")
    (gold / "gold.csv").write_text(header + f"tiny/{SEED.name},seed,1,1,1,neutral,none,neutral,neutral\n"
                                   "tiny/001_other.txt,other,1,0,1,against,none,neutral,none\n"
                                   "tiny/002_empty.txt,other,0,0,0,none,none,none,none\n", encoding="utf-8")
    _gold_subsets(root / "data" / "gold")
    (root / "conf" / "corpus" / "tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "sources": [{"name": "tiny", "format": "native", "path": "data/raw/tiny"}]}))
    config = (root / "conf" / "config.yaml").read_text().replace("corpus: bundled", "corpus: tiny")
    (root / "conf" / "config.yaml").write_text(config)
    emb = yaml.safe_load((root / "conf" / "model" / "embedding.yaml").read_text())
    emb.update(name_or_path=str(tiny_encoder), max_length=128)
    (root / "conf" / "model" / "embedding.yaml").write_text(yaml.safe_dump(emb))
    # Stages list the committed default NLI model as a dep; the tiny copy stands in for
    # it. train_nli, train_stance and benchmark need data this tiny copy does not carry: drop them.
    shutil.copytree(tiny_nli, root / "models" / "nli-minilm")
    shutil.copytree(tiny_nli, root / "models" / "stance-minilm")  # a dep of stance (stance=trained); not loaded
    shutil.copy(REPO / "models" / "topic_head_shipped.json", root / "models")  # another encoder's: not used
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    for stage in ("train_nli", "train_stance", "benchmark"):
        del pipeline["stages"][stage]
    # The report reads the benchmark reports and perf/ results when there are some.
    report = pipeline["stages"]["report"]
    report["deps"] = [d for d in report["deps"] if not d.startswith(("reports/benchmark", "perf/"))]
    pipeline["plots"] = [p for p in pipeline["plots"] if "plots/eval" in str(p)]
    pipeline["metrics"] = [m for m in pipeline["metrics"] if "benchmark" not in m]
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    _sh(["git", "init", "-q"], root, env)
    _sh(["dvc", "init", "-q"], root, env)
    shutil.copy(REPO / ".dvc" / "config", root / ".dvc" / "config")
    _sh([sys.executable, "-m", "zeroshot_news", "compose", "-o", "params.yaml"], root, env)
    _sh(["git", "add", "-A"], root, env)
    _sh(["git", "commit", "-qm", "tiny"], root, env)
    return root, env, tiny_nli


def _gold_subsets(gold: Path, n: int = 24) -> None:
    """The first rows of each half of the short-item and stance golds (their own texts, whatever the corpus)."""
    short = pd.read_csv(REPO / "data/gold/short_gold.csv").groupby("split").head(n // 2)
    short.to_csv(gold / "short_gold.csv", index=False)
    stance = pd.read_csv(REPO / "data/gold/stance_gold.csv").groupby("split").head(n // 2)
    stance.to_csv(gold / "stance_gold.csv", index=False)
    (gold / "stance").mkdir()
    items = pd.read_csv(REPO / "data/gold/stance/items.csv")
    items[items["item_id"].isin(stance["item_id"])].to_csv(gold / "stance" / "items.csv", index=False)
    shutil.copy(REPO / "data/gold/stance/targets.yaml", gold / "stance" / "targets.yaml")


def _leaves(tree, prefix: str = "") -> list[str]:
    if isinstance(tree, dict):
        return [leaf for key, value in tree.items() for leaf in _leaves(value, f"{prefix}.{key}" if prefix else key)]
    if isinstance(tree, list):
        return [f"{prefix}[{i}]" for i in range(len(tree))]
    return [prefix]


def test_repro_noop_param_scoping_and_exp_run(repo_copy):
    root, env, tiny_nli = repo_copy
    out = _sh(["dvc", "repro"], root, env)
    for stage in ("ingest", "clean", "topic", "stance", "evaluate", "report"):
        assert f"Running stage '{stage}'" in out
    page = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert "made by the DVC stage" in page and "-dirty" not in page  # stamped by params and version, not commit
    evaluation = json.loads((root / "reports" / "evaluation.json").read_text())
    assert evaluation["gold"] == {"path": "data/gold/gold.csv", "matched": 2, "missing": {"empty": 1}}
    assert (root / "plots" / "eval" / "confusion" / "topic_military.csv").exists()
    # `dvc metrics show` (and so `dvc exp show`) holds the headline numbers only.
    shown = json.loads(_sh(["dvc", "metrics", "show", "--json"], root, env))
    leaves = _leaves(shown)
    assert 5 <= len(leaves) <= 40, leaves
    assert any(path.endswith("topics.macro_f1") for path in leaves)
    ingest = json.loads((root / "reports" / "stages" / "ingest.json").read_text())
    assert ingest["seen"] == 3 and ingest["ingested"] == 2 and ingest["quarantined"] == 1
    assert (root / "data" / "predictions" / "stance.parquet").exists()
    first_topics = (root / "data" / "predictions" / "topics.parquet").read_bytes()

    assert "Data and pipelines are up to date" in _sh(["dvc", "repro"], root, env)

    # Every notebook runs headless on this small run's outputs, without a cell error.
    from zeroshot_news.apps.report import execute, figure_cells, html_report, notebooks

    notebooks = notebooks(REPO / "notebooks")
    assert len(notebooks) >= 2
    executed = [(nb.stem, execute(nb, root, timeout=300)) for nb in notebooks]
    # Every figure cell shows its figure inline (no Agg backend swallowing it).
    figures = [has_png for _, done in executed for _, has_png in figure_cells(done)]
    assert len(figures) >= 4 and all(figures)
    page = html_report(executed)
    assert page.count("data:image/png;base64,") == len(figures)
    assert "<script" not in page and "http" not in page  # opens offline, nothing fetched
    # A rerun writes the same notebook (fixed cell ids, no timings, coalesced streams), so
    # regenerated reports/ show only what changed.
    import nbformat

    assert nbformat.writes(execute(notebooks[-1], root, timeout=300)) == nbformat.writes(executed[-1][1])

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["stance"]["targets"]["taliban"]["aliases"].append("Islamic Emirate")  # keyed by name
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = _sh(["dvc", "status", "--json"], root, env)
    # stance_gold runs the stance config on its own gold; the report reads params.yaml whole
    assert set(json.loads(status)) == {"stance", "stance_gold", "evaluate", "report"}
    _sh(["git", "checkout", "params.yaml"], root, env)

    _sh(["git", "add", "-A"], root, env)
    _sh(["git", "commit", "-qm", "lock"], root, env)
    out = _sh(["dvc", "exp", "run", "-S", "model=nli", "-S", f"model.name_or_path={tiny_nli}"], root, env)
    assert "Running stage 'topic'" in out
    show = json.loads(_sh(["dvc", "exp", "show", "--json"], root, env))
    rows = list(_param_rows(show))
    experiments = [params for row, params in rows if row.get("experiments") is None and row.get("name")
                   and row.get("rev") != "workspace"]
    assert [p["model"]["backend"] for p in experiments] == ["nli"], rows  # the experiment's params
    assert experiments[0]["model"]["name_or_path"] == str(tiny_nli)
    # The compact view: the experiment's row names the knobs it changed, beside its metrics.
    compact = _sh([sys.executable, "-m", "zeroshot_news", "experiments"], root, env).splitlines()
    row = next(line for line in compact if "model.backend=nli" in line)
    assert f"model.name_or_path={tiny_nli}" in row and len(compact[0].split("|")) - 2 <= 60
    # The workspace now holds the experiment's outputs: the NLI scores differ.
    assert (root / "data" / "predictions" / "topics.parquet").read_bytes() != first_topics


def test_repro_is_deterministic(repo_copy):
    root, env, _ = repo_copy
    _sh(["dvc", "repro"], root, env)
    outputs = ["data/predictions/topics.parquet", "data/predictions/stance.parquet",
               "data/processed/articles.parquet", "reports/stages/topic.json"]
    first = {p: (root / p).read_bytes() for p in outputs}
    shutil.rmtree(root / "data" / "cache")  # recompute every score, not read them back
    _sh(["dvc", "repro", "--force"], root, env)
    assert {p: (root / p).read_bytes() for p in outputs} == first


def test_repro_on_an_own_corpus_without_gold(repo_copy):
    """A researcher's corpus that no dev-gold row names: every stage runs, evaluate skips the
    dev gold with a reason, the short-item and stance golds (their own texts) are still scored."""
    root, env, _ = repo_copy
    gold = root / "data" / "gold" / "gold.csv"
    header = gold.read_text(encoding="utf-8").splitlines()[0]
    gold.write_text(header + "\nsomeone_else/article.txt,x,1,0,0,none,none,none,none\n", encoding="utf-8")
    _sh(["git", "commit", "-qam", "gold of another corpus"], root, env)
    out = _sh(["dvc", "repro"], root, env)
    for stage in ("ingest", "clean", "topic", "stance", "evaluate"):
        assert f"Running stage '{stage}'" in out
    assert "no dev-gold item is in this corpus" in out
    # Two articles are too few to self-train on, and the shipped head was fitted with another encoder.
    self_train = json.loads((root / "reports" / "stages" / "self_train.json").read_text())
    assert self_train["fallback"] == "zero_shot" and self_train["pool_articles"] == 2
    metrics = json.loads((root / "metrics" / "evaluation.json").read_text())
    report = json.loads((root / "reports" / "evaluation.json").read_text())
    assert report["dev_gold"] == {"skipped": "no gold item is in the corpus"}
    assert report["gold"]["matched"] == 0
    assert "topics" not in metrics and "stance_gold" in metrics and "topics_short" in metrics
    assert len(pd.read_parquet(root / "data" / "predictions" / "stance.parquet")["doc_id"].unique()) == 2
    assert "Data and pipelines are up to date" in _sh(["dvc", "repro"], root, env)
