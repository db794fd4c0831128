"""``experiments``: each DVC experiment's changed knobs beside a few headline metrics.

    python -m zeroshot_news experiments                 # experiments of HEAD
    python -m zeroshot_news experiments -- -A           # any `dvc exp show` option after --
    python -m zeroshot_news experiments --metric metrics/evaluation.json:topics.mean_ap

``dvc exp show`` prints every param, every metric and every dependency's hash (over 300
columns in this project), and ``--only-changed`` hides a param that one experiment changed
when nothing else varies. This reads ``dvc exp show --json`` and prints one row per commit,
workspace and experiment: the params that differ from its baseline commit (``key=value``)
and the headline metrics (``HEADLINE``, plus any ``--metric file:key``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EVALUATION = "metrics/evaluation.json"
# (column, metrics file, dotted key): the numbers experiments are usually compared on.
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("topics", EVALUATION, "topics.macro_f1"),
    ("short", EVALUATION, "topics_short.macro_f1"),
    ("stance pooled", EVALUATION, "stance_gold.pooled.macro_f1"),
    ("stance worst", EVALUATION, "stance_gold.worst_macro_f1"),
    ("agnews acc", "metrics/benchmark/agnews.json", "accuracy"),
    ("fnc1 score", "metrics/benchmark/fnc1.json", "relative_score"),
    ("vast zero-shot", "metrics/benchmark/vast.json", "macro_f1_zero_shot"),
)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaves; a list is one value (as `dvc exp show` shows it)."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def _files(row: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """{file: flattened data} of a row's params or metrics (a file that failed to load: {})."""
    data = (row.get("data") or {}).get(kind) or {}
    return {path: flatten((entry or {}).get("data") or {}) for path, entry in data.items()}


def _params(row: dict[str, Any]) -> dict[str, Any]:
    return {(key if path == "params.yaml" else f"{path}:{key}"): value
            for path, flat in _files(row, "params").items() for key, value in flat.items()}


def rows_of(show: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(name, row, its baseline row or None) for every workspace, commit and experiment row of
    `dvc exp show --json`, in its order. The workspace's baseline is the first commit."""
    commits = [r for r in show if r.get("rev") != "workspace"]
    for row in show:
        is_workspace = row.get("rev") == "workspace"
        baseline = commits[0] if is_workspace and commits else None
        yield "workspace" if is_workspace else (row.get("name") or str(row.get("rev", ""))[:7]), row, baseline
        for group in row.get("experiments") or []:
            for exp in group.get("revs") or []:
                yield exp.get("name") or group.get("name") or str(exp.get("rev", ""))[:7], exp, row


def changed_params(row: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    if baseline is None:
        return "(baseline)"
    mine, base = _params(row), _params(baseline)
    keys = sorted(k for k in mine.keys() | base.keys() if mine.get(k) != base.get(k))
    return "; ".join(f"{k}={_show(mine.get(k, '(absent)'))}" for k in keys) or "(none)"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def table(show: list[dict[str, Any]], metrics: tuple[tuple[str, str, str], ...] = HEADLINE) -> str:
    """A Markdown table: experiment, changed params, one column per metric ("–" when absent)."""
    head = ["experiment", "changed params", *(name for name, _, _ in metrics)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * len(metrics)]
    for name, row, baseline in rows_of(show):
        files = _files(row, "metrics")
        values = []
        for _, path, key in metrics:
            value = files.get(path, {}).get(key)
            values.append("–" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value)))
        cells = [name, changed_params(row, baseline).replace("|", "\\|"), *values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _metric_spec(text: str) -> tuple[str, str, str]:
    path, sep, key = text.partition(":")
    if not sep or not path or not key:
        raise argparse.ArgumentTypeError(f"--metric {text!r}: expected FILE:KEY, e.g. {EVALUATION}:topics.mean_ap")
    return key, path, key


def exp_show_json(dvc_args: list[str]) -> list[dict[str, Any]]:
    dvc = shutil.which("dvc")
    cmd = [dvc] if dvc else [sys.executable, "-m", "dvc"]
    proc = subprocess.run([*cmd, "exp", "show", "--json", *dvc_args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`dvc exp show --json {' '.join(dvc_args)}` failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip("`: "),
                                 epilog="Options after -- go to `dvc exp show` (e.g. -A, --rev, -n).")
    ap.add_argument("--metric", type=_metric_spec, action="append", default=[],
                    help="another metric column, FILE:KEY (repeatable)")
    ap.add_argument("--input", type=Path, help="read `dvc exp show --json` output from this file instead")
    ap.add_argument("dvc_args", nargs="*", help="options for `dvc exp show` (after --)")
    args = ap.parse_args(argv)
    try:
        show = json.loads(args.input.read_text(encoding="utf-8")) if args.input else exp_show_json(args.dvc_args)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"experiments: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(table(show, HEADLINE + tuple(args.metric)))
    return 0
