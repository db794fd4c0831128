"""Peak memory of the streaming stages on a replicated corpus (1x, 10x, 100x).

The bundled corpus's cleaned articles are replicated k times and every stage runs on
each replica in a fresh process; peak RSS = that child's ru_maxrss.

* ingest: the replica is a BBC-format folder of k x 381 files (title and body, each
  copy's title made unique so none is quarantined as duplicate content);
* clean: the ingested replica; copies differ only in their title, so nearly all of them
  are near-duplicates: the worst case for the dedup index, which holds every kept
  article's signature;
* topic, stance: the cleaned articles replicated k times (new doc_ids, same texts), with
  the score cache warm, so the run measures what grows with the corpus (reading,
  splitting, aggregating, writing) rather than model time.

    .venv/bin/python perf/memory.py --factors 1 10 100
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from stage_args import stage_argv  # perf/stage_args.py

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


def replicate_raw(src: Path, folder: Path, factor: int) -> int:
    """``factor`` copies of the cleaned articles as a BBC-format folder (one file each)."""
    n = 0
    for chunk in pq.ParquetFile(src).iter_batches(batch_size=512, columns=["title", "body"]):
        frame = chunk.to_pandas()
        for k in range(factor):
            sub = folder / f"copy{k:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            for title, body in zip(frame["title"], frame["body"], strict=True):
                (sub / f"{n:07d}.txt").write_text(f"{title} (copy {k})\n\n{body}\n", encoding="utf-8")
                n += 1
    return n


def replica_params(params: Path, folder: Path, dst: Path) -> Path:
    data = yaml.safe_load(params.read_text())
    data["corpus"] = {**data["corpus"], "name": "replica",
                      "sources": [{"name": "replica", "format": "bbc", "path": str(folder)}]}
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def run_stage(stage: str, params: Path, out: Path, articles: Path | None = None) -> tuple[float, float]:
    """(peak RSS MiB, wall seconds) of one stage in a fresh process."""
    cmd = [sys.executable, "-m", "zeroshot_news", stage, "--params", str(params), *stage_argv(stage, out, articles)]
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        f"r = subprocess.run({cmd!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t, r.returncode)"
    )
    rss, wall, rc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                   cwd=REPO).stdout.split()
    if rc != "0":
        raise RuntimeError(f"{stage} failed: {' '.join(cmd)}")
    return float(rss), float(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, default=REPO / "data/processed/articles.parquet")
    ap.add_argument("--params", type=Path, default=REPO / "params.yaml")
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--stages", nargs="+", default=["ingest", "clean", "topic", "stance"])
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; params {args.params}; base {args.articles}")
    print(f"{'factor':>6} {'articles':>9} " + " ".join(f"{s + ' MiB':>11} {s + ' s':>9}" for s in args.stages))
    with tempfile.TemporaryDirectory() as tmp:
        for factor in args.factors:
            work = Path(tmp) / f"x{factor}"
            work.mkdir()
            cells = []
            n = 0
            if {"ingest", "clean"} & set(args.stages):
                n = replicate_raw(args.articles, work / "raw", factor)
                params = replica_params(args.params, work / "raw", work / "params.yaml")
                if "ingest" in args.stages:
                    cells.append(run_stage("ingest", params, work / "interim"))
                if "clean" in args.stages:
                    cells.append(run_stage("clean", params, work / "processed", work / "interim/articles.parquet"))
                shutil.rmtree(work / "raw")
            if {"topic", "stance"} & set(args.stages):
                src = work / "articles.parquet"
                n = replicate(args.articles, src, factor)
                for stage in [s for s in ("topic", "stance") if s in args.stages]:
                    cells.append(run_stage(stage, args.params, work, src))
            print(f"{factor:>6} {n:>9} " + " ".join(f"{rss:>11.0f} {wall:>9.1f}" for rss, wall in cells), flush=True)
            shutil.rmtree(work)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f}s; peak RSS of this driver "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
