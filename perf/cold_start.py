"""Whole-process timing of `classify` as a user runs it: cold start, cold score cache.

Builds N short items (title + the first 45 words of the body, as JSONL) from the bundled
cleaned corpus, then runs ``python -m zeroshot_news classify`` in a fresh process per
repeat, with the score cache off (every run pays model loading and every forward pass).
Prints wall-clock seconds (median and all repeats) and the child's peak RSS.

    .venv/bin/python perf/cold_start.py --n 200 3 --repeats 3
    .venv/bin/python perf/cold_start.py --n 200 --importtime 25   # slowest imports too
    .venv/bin/python perf/cold_start.py --n 200 --profile 30      # cProfile of one run

Extra arguments after ``--`` go to ``classify`` (config overrides, e.g. ``model=nli``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
LEDE_WORDS = 45


def write_items(articles: Path, n: int, path: Path) -> None:
    frame = pd.read_parquet(articles, columns=["doc_id", "title", "body"]).head(n)
    if len(frame) < n:
        raise SystemExit(f"{articles} has only {len(frame)} articles, asked for {n}")
    with path.open("w", encoding="utf-8") as out:
        for row in frame.itertuples(index=False):
            lede = " ".join(str(row.body).split()[:LEDE_WORDS])
            out.write(json.dumps({"id": row.doc_id, "title": row.title, "text": lede}) + "\n")


def classify_argv(items: Path, output: Path, extra: list[str]) -> list[str]:
    # min_words=1: a lede is short, and every item should be classified, not quarantined.
    return [sys.executable, "-m", "zeroshot_news", "-q", "classify", str(items), "-o", str(output),
            "--no-progress", "cleaning.min_words=1", "cache.enabled=false", *extra]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"classify failed:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def slowest_imports(argv: list[str], env: dict[str, str], top: int) -> list[tuple[float, str]]:
    """Top-level packages by cumulative import time (``python -X importtime``)."""
    out = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True).stderr
    totals: dict[str, float] = {}
    for line in out.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) == 1:  # one space: imported by the program itself
            name = match.group(3).split(".")[0]
            totals[name] = totals.get(name, 0.0) + int(match.group(1)) / 1e6
    return sorted(((s, n) for n, s in totals.items()), reverse=True)[:top]


def profile(argv: list[str], env: dict[str, str], top: int, stats_path: Path) -> str:
    subprocess.run([argv[0], "-m", "cProfile", "-o", str(stats_path), *argv[1:]], cwd=REPO, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = (f"import pstats; pstats.Stats({str(stats_path)!r}).sort_stats('cumulative')"
              f".print_stats({top})")
    return subprocess.run([argv[0], "-c", script], capture_output=True, text=True, check=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[200, 3], help="item counts to time")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--articles", type=Path, default=REPO / "data/processed/articles.parquet")
    ap.add_argument("--importtime", type=int, default=0, metavar="TOP", help="also list the TOP slowest imports")
    ap.add_argument("--profile", type=int, default=0, metavar="TOP", help="also cProfile one run, TOP functions")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("extra", nargs="*", help="config overrides for classify (after --)")
    args = ap.parse_args()

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    results = []
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        for n in args.n:
            items = Path(tmp) / f"items{n}.jsonl"
            write_items(args.articles, n, items)
            argv = classify_argv(items, Path(tmp) / f"out{n}.jsonl", args.extra)
            runs = [run_once(argv, env) for _ in range(args.repeats)]
            walls = [w for w, _ in runs]
            row = {"items": n, "wall_s_median": round(statistics.median(walls), 2),
                   "wall_s": [round(w, 2) for w in walls], "peak_rss_mb": round(max(r for _, r in runs)),
                   "overrides": args.extra}
            results.append(row)
            print(f"{n:>5} items: wall {row['wall_s_median']:.2f} s (median of {args.repeats}: "
                  f"{', '.join(f'{w:.2f}' for w in walls)}), peak RSS {row['peak_rss_mb']} MB", flush=True)
        argv = classify_argv(Path(tmp) / f"items{args.n[0]}.jsonl", Path(tmp) / "out.jsonl", args.extra)
        if args.importtime:
            print(f"\nslowest imports (cumulative s, {args.n[0]} items):")
            for seconds, name in slowest_imports(argv, env, args.importtime):
                print(f"  {seconds:6.3f}  {name}")
        if args.profile:
            print(profile(argv, env, args.profile, Path(tmp) / "classify.prof"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
