"""Whole-process timing of `classify` as a user runs it: cold start, cold score cache.

Builds N short items (title + the first 45 words of the body, as JSONL) from the bundled
cleaned corpus, then runs ``python -m zeroshot_news classify`` in a fresh process per
repeat, with the score cache off (every run pays model loading and every forward pass).
Prints wall-clock seconds (median and all repeats) and the child's peak RSS.

    .venv/bin/python perf/cold_start.py --n 200 3 --repeats 3
    .venv/bin/python perf/cold_start.py --n 200 --phases            # where the time goes, phase by phase
    .venv/bin/python perf/cold_start.py --n 200 --importtime 25     # slowest imports too
    .venv/bin/python perf/cold_start.py --n 200 --profile 30        # cProfile of one run
    .venv/bin/python perf/cold_start.py --n 200 --src /tmp/before/src --src src --repeats 5   # A/B, interleaved

``--src`` runs the package from another source tree (e.g. ``git archive <commit> src | tar -x
-C /tmp/before``); given more than once, the trees' runs alternate, so a machine shared with
other work loads them alike. ``--phases`` runs classify once in a child that times each step
(imports, config, head, ingest + clean, language model, tokenizer, model fingerprints, ONNX
session, topic and stance model work, output) with the thread it ran on: steps on the
``classify-models`` thread overlap the main thread's.

Extra arguments after ``--`` go to ``classify`` (config overrides such as ``model=nli``, or
``--head FILE``).
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

REPO = Path(__file__).resolve().parents[1]
LEDE_WORDS = 45


def write_items(articles: Path, n: int, path: Path) -> None:
    import pandas as pd

    frame = pd.read_parquet(articles, columns=["doc_id", "title", "body"]).head(n)
    if len(frame) < n:
        raise SystemExit(f"{articles} has only {len(frame)} articles, asked for {n}")
    with path.open("w", encoding="utf-8") as out:
        for row in frame.itertuples(index=False):
            lede = " ".join(str(row.body).split()[:LEDE_WORDS])
            out.write(json.dumps({"id": row.doc_id, "title": row.title, "text": lede}) + "\n")


def classify_args(items: Path, output: Path, extra: list[str]) -> list[str]:
    # min_words=1: a lede is short, and every item should be classified, not quarantined.
    return ["classify", str(items), "-o", str(output), "--no-progress", "--project", str(REPO),
            "cleaning.min_words=1", "cache.enabled=false", *extra]


def classify_argv(items: Path, output: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "zeroshot_news", "-q", *classify_args(items, output, extra)]


def env_for(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


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


# --- phases: one instrumented run ---------------------------------------------------------------

# (label, module, attribute path): each is wrapped with a timer when it exists in the tree run.
TIMED = [
    ("config (compose conf/ or read params.yaml)", "zeroshot_news.apps.classify", "config_from_args"),
    ("resolve the model (safety checks)", "zeroshot_news.apps.classify", "resolve_model"),
    ("read the topic head", "zeroshot_news.apps.classify", "read_head"),
    ("input digest (resume manifest)", "zeroshot_news.apps.classify", "input_digest"),
    ("UTF-8 pre-check of the table", "zeroshot_news.apps.classify", "plain_utf8"),
    ("clean (all chunks; language model load included)", "zeroshot_news.corpus.clean", "Cleaner.process"),
    ("  language-ID model load (py3langid)", "zeroshot_news.corpus.clean", "_language_identifier"),
    ("build the models (total)", "zeroshot_news.apps.classify", "ClassifyWorker.__init__"),
    ("  tokenizer (tokenizer.json)", "zeroshot_news.scorers.embedding", "RustTokenizer.__init__"),
    ("  model fingerprints (hash the model files)", "zeroshot_news.scorers.embedding", "model_fingerprint"),
    ("  load (tokenizer, weights hash, export check, session)", "zeroshot_news.scorers.embedding",
     "EmbeddingScorer._load_onnx"),
    ("  ONNX Runtime session", "zeroshot_news.scorers.onnx_runtime", "OnnxLogits.__init__"),
    ("topics (split + encode + head)", "zeroshot_news.zeroshot.topic", "classify_topics"),
    ("  encoder forward passes", "zeroshot_news.scorers.embedding", "EmbeddingScorer._encode"),
    ("stance", "zeroshot_news.zeroshot.stance", "classify_stance"),
    ("write the output", "zeroshot_news.apps.classify", "write_lines"),
]

PHASE_CHILD = r'''
import importlib, json, sys, threading, time
T0 = time.perf_counter()
events, marks = [], []
def mark(label, start):
    marks.append((label, start - T0, time.perf_counter() - T0))
s = time.perf_counter(); import numpy, pandas; mark("import numpy + pandas", s)
s = time.perf_counter(); import zeroshot_news.corpus.clean; mark("import corpus.clean (datasketch -> scipy, ftfy)", s)
s = time.perf_counter(); import zeroshot_news.apps.classify, zeroshot_news.cli; mark("import the rest of classify", s)
s = time.perf_counter(); import onnxruntime, tokenizers; mark("import onnxruntime + tokenizers", s)
s = time.perf_counter()
import zeroshot_news.scorers.embedding, zeroshot_news.scorers.onnx_runtime
mark("import the scorers", s)

def wrap(label, module, path):
    try:
        owner = importlib.import_module(module)
    except ImportError:
        return
    parts = path.split(".")
    for p in parts[:-1]:
        owner = getattr(owner, p, None)
        if owner is None:
            return
    fn = getattr(owner, parts[-1], None)
    if fn is None:
        return
    def timed(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            events.append((label, s - T0, time.perf_counter() - T0, threading.current_thread().name))
    setattr(owner, parts[-1], timed)

for label, module, path in json.loads(sys.argv[1]):
    wrap(label, module, path)
from zeroshot_news.cli import main
s = time.perf_counter()
try:
    main(sys.argv[2:])
except SystemExit as exc:
    if exc.code:
        raise
mark("classify main (all of it)", s)
print(json.dumps({"marks": marks, "events": events, "total": time.perf_counter() - T0}))
'''


def phases(items: Path, output: Path, extra: list[str], env: dict[str, str]) -> dict:
    startup = min(_wall([sys.executable, "-c", "pass"], env) for _ in range(3))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PHASE_CHILD, json.dumps(TIMED), "-q",
                          *classify_args(items, output, extra)], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"classify failed:\n{out.stderr[-3000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data.update({"interpreter_start_s": round(startup, 3), "wall_s": round(wall, 3)})
    return data


def _wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - start


def print_phases(data: dict) -> None:
    print(f"\nwall {data['wall_s']:.2f} s: interpreter start {data['interpreter_start_s']:.2f} s, then "
          f"(offsets from the child's first line):")
    print(f"  {'phase':<52} {'s':>6} {'from':>6} {'to':>6}  thread (calls)")
    for label, start, end in data["marks"]:
        print(f"  {label:<52} {end - start:6.2f} {start:6.2f} {end:6.2f}  MainThread")
    order = {label: i for i, (label, _, _) in enumerate(TIMED)}
    grouped: dict[tuple[str, str], list] = {}
    for label, start, end, thread in data["events"]:
        grouped.setdefault((label, thread), []).append((start, end))
    for (label, thread), spans in sorted(grouped.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        total = sum(e - s for s, e in spans)
        print(f"  {label:<52} {total:6.2f} {min(s for s, _ in spans):6.2f} {max(e for _, e in spans):6.2f}  "
              f"{thread} ({len(spans)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[200, 3], help="item counts to time")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--articles", type=Path, default=REPO / "data/processed/articles.parquet")
    ap.add_argument("--src", type=Path, action="append",
                    help="the package's source tree (default: this checkout's src/); repeat to compare trees")
    ap.add_argument("--importtime", type=int, default=0, metavar="TOP", help="also list the TOP slowest imports")
    ap.add_argument("--profile", type=int, default=0, metavar="TOP", help="also cProfile one run, TOP functions")
    ap.add_argument("--phases", action="store_true", help="also time one run step by step")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("extra", nargs="*", help="config overrides or classify options (after --)")
    args = ap.parse_args()

    srcs = [s.resolve() for s in (args.src or [REPO / "src"])]
    results = []
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        for n in args.n:
            items = Path(tmp) / f"items{n}.jsonl"
            write_items(args.articles, n, items)
            argv = classify_argv(items, Path(tmp) / f"out{n}.jsonl", args.extra)
            runs: dict[Path, list[tuple[float, float]]] = {s: [] for s in srcs}
            for _ in range(args.repeats):
                for src in srcs:  # interleaved: a busy neighbour slows every tree alike
                    runs[src].append(run_once(argv, env_for(src)))
            for src in srcs:
                walls = [w for w, _ in runs[src]]
                row = {"items": n, "wall_s_median": round(statistics.median(walls), 2),
                       "wall_s": [round(w, 2) for w in walls], "peak_rss_mb": round(max(r for _, r in runs[src])),
                       "overrides": args.extra}
                if len(srcs) > 1 or args.src:
                    row["src"] = str(src)
                results.append(row)
                where = f" [{src}]" if len(srcs) > 1 else ""
                print(f"{n:>5} items{where}: wall {row['wall_s_median']:.2f} s (median of {args.repeats}: "
                      f"{', '.join(f'{w:.2f}' for w in walls)}), peak RSS {row['peak_rss_mb']} MB", flush=True)
        items = Path(tmp) / f"items{args.n[0]}.jsonl"
        argv = classify_argv(items, Path(tmp) / "out.jsonl", args.extra)
        env = env_for(srcs[-1])
        if args.importtime:
            print(f"\nslowest imports (cumulative s, {args.n[0]} items):")
            for seconds, name in slowest_imports(argv, env, args.importtime):
                print(f"  {seconds:6.3f}  {name}")
        if args.phases:
            data = phases(items, Path(tmp) / "phases.jsonl", args.extra, env)
            print_phases(data)
            results.append({"items": args.n[0], "phases": data})
        if args.profile:
            print(profile(argv, env, args.profile, Path(tmp) / "classify.prof"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
