"""Peak memory of the streaming stages on a replicated corpus (1x, 10x, 100x).

The bundled corpus's cleaned articles are replicated k times (new doc_ids, same
texts) and the topic and stance stages run on each replica in a fresh process with the
score cache warm, so the run measures what grows with the corpus (reading, splitting,
aggregating, writing) rather than model time. Peak RSS = the child's ru_maxrss.

    .venv/bin/python benchmarks/memory.py --factors 1 10 100
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def replicate(src: Path, dst: Path, factor: int) -> int:
    """Write ``factor`` copies of ``src`` to ``dst`` one row group per copy (flat memory)."""
    base = pd.read_parquet(src)
    writer = None
    for k in range(factor):
        copy = base.assign(doc_id=base["doc_id"] + f"-{k:03d}")
        table = pa.Table.from_pandas(copy, preserve_index=False)
        writer = writer or pq.ParquetWriter(dst, table.schema, compression="zstd")
        writer.write_table(table)
    writer.close()
    return len(base) * factor


def run_stage(stage: str, articles: Path, out: Path, params: Path) -> tuple[float, float]:
    """(peak RSS MiB, wall seconds) of one stage in a fresh process."""
    cmd = [sys.executable, "-m", "zeroshot_news", stage, "--params", str(params), "--input", str(articles),
           "--out-dir", str(out), "--report", str(out / f"{stage}.json")]
    if stage == "stance":
        cmd += ["--topics", str(out / "topics.parquet")]
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        f"r = subprocess.run({cmd!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t, r.returncode)"
    )
    rss, wall, rc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                   cwd=REPO).stdout.split()
    if rc != "0":
        raise RuntimeError(f"{stage} failed on {articles}")
    return float(rss), float(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, default=REPO / "data/processed/articles.parquet")
    ap.add_argument("--params", type=Path, default=REPO / "params.yaml")
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--stages", nargs="+", default=["topic", "stance"])
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; params {args.params}; base {args.articles}")
    print(f"{'factor':>6} {'articles':>9} " + " ".join(f"{s + ' MiB':>11} {s + ' s':>9}" for s in args.stages))
    with tempfile.TemporaryDirectory() as tmp:
        for factor in args.factors:
            src = Path(tmp) / f"articles_x{factor}.parquet"
            n = replicate(args.articles, src, factor)
            out = Path(tmp) / f"out_x{factor}"
            out.mkdir()
            cells = []
            for stage in args.stages:
                rss, wall = run_stage(stage, src, out, args.params)
                cells.append(f"{rss:>11.0f} {wall:>9.1f}")
            print(f"{factor:>6} {n:>9} " + " ".join(cells), flush=True)
            src.unlink()


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f}s; peak RSS of this driver "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
