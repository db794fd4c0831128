"""The topic and stance stages on the local engine and on Ray Data: same bytes? how long?

Runs each stage twice per engine in fresh processes (``python -m zeroshot_news topic``
/ ``stance`` with ``engine=local`` then ``engine=ray``, a local Ray instance started by
the stage), on the bundled corpus with the default config, and compares the output
parquet files byte for byte. The score cache is shared (so this measures the engines'
overhead, not model time) unless ``--no-cache``.

    .venv/bin/python perf/ray_vs_local.py --num-actors 2 --cpus-per-actor 0.5 --chunk-size 64
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from stage_args import stage_argv  # perf/stage_args.py

REPO = Path(__file__).resolve().parents[1]


def params_for(engine: str, args, dst: Path) -> Path:
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data["engine"] = {**data["engine"], "name": engine, "chunk_size": args.chunk_size,
                      "num_actors": args.num_actors if engine == "ray" else 1,
                      "cpus_per_actor": args.cpus_per_actor}
    if args.no_cache:
        data["cache"] = {**data["cache"], "enabled": False}
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def run(stage: str, params: Path, out: Path) -> float:
    cmd = [sys.executable, "-m", "zeroshot_news", stage, "--params", str(params),
           *stage_argv(stage, out, REPO / "data/processed/articles.parquet")]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-actors", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=64)
    ap.add_argument("--cpus-per-actor", type=float, default=0.5, help="leave Ray Data a CPU to read with")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outs = {}
        for engine in ("local", "ray"):
            out = Path(tmp) / engine
            out.mkdir()
            params = params_for(engine, args, Path(tmp) / f"{engine}.yaml")
            times = {stage: run(stage, params, out) for stage in ("topic", "stance")}
            outs[engine] = out
            print(f"{engine:<6} topic {times['topic']:.1f}s  stance {times['stance']:.1f}s", flush=True)
        for a in sorted(outs["local"].glob("*.parquet")):
            b = outs["ray"] / a.name
            same = b.exists() and filecmp.cmp(a, b, shallow=False)
            print(f"{a.name}: {'identical bytes' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
