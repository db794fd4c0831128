"""End-to-end GPU throughput: topic and stance stages on the corpus x10, the NLI scorer at 128 / 512 tokens.

One prepared run for a machine with a CUDA GPU (``perf/gpu.sh`` wraps it); on a CPU it runs
the same code paths on a small sample (``--device cpu --quick``) so that it stays tested.

* **stages**: the bundled cleaned corpus replicated ``--factor`` times (new doc_ids, same
  texts), then ``topic`` and ``stance`` as the pipeline runs them, each in a fresh process
  with ``model.device`` set and the score cache off (every passage is encoded). Prints
  wall seconds (model loading included), passages/s, articles/s.
* **nli**: the project's NLI cross-encoder (``models/nli-minilm``, torch runtime, bf16 on the
  GPU) scoring ``--pairs`` (premise, hypothesis) pairs whose premise fills ``max_length``
  tokens, at 128 and 512 tokens, batch ``--batch-size``; after one warm-up batch. Prints
  pairs/s. Reference (issue 15): an H100, a MiniLM-L6 cross-encoder at batch 256 in bf16:
  about 50,000 pairs/s at 128 tokens and 13,500 at 512.
* **GPU utilisation**: ``nvidia-smi`` sampled every 0.2 s during each measurement (mean and
  max %, peak memory MiB); absent on a CPU.

    bash perf/gpu.sh                                    # on the GPU machine
    .venv/bin/python perf/gpu.py --device cpu --quick   # the CPU check (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from memory import replicate  # perf/memory.py
from stage_args import stage_argv  # perf/stage_args.py

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PAIRS_PER_S = {128: 50_000, 512: 13_500}  # H100, MiniLM-L6 cross-encoder, batch 256, bf16


class GpuSampler:
    """Mean / max utilisation and peak memory from ``nvidia-smi`` while a block runs."""

    def __init__(self, enabled: bool, interval: float = 0.2):
        self.enabled = enabled and shutil.which("nvidia-smi") is not None
        self.interval, self.samples = interval, []
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                util, mem = out.stdout.splitlines()[0].split(",")
                self.samples.append((float(util), float(mem)))
            self._stop.wait(self.interval)

    def __enter__(self) -> GpuSampler:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        util = [u for u, _ in self.samples]
        return {"gpu_util_mean": round(sum(util) / len(util), 1), "gpu_util_max": max(util),
                "gpu_mem_peak_mib": max(m for _, m in self.samples)}


def stage_params(params: Path, device: str, dst: Path) -> Path:
    data = yaml.safe_load(params.read_text())
    data["model"]["device"] = device
    if data["stance"].get("model"):
        data["stance"]["model"]["device"] = device
    data["cache"] = {**data["cache"], "enabled": False}
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def run_stages(args: argparse.Namespace, work: Path) -> list[dict]:
    articles = work / "articles.parquet"
    n = replicate(args.articles, articles, args.factor)
    params = stage_params(args.params, args.device, work / "params.yaml")
    rows = []
    for stage in ("topic", "stance"):
        cmd = [sys.executable, "-m", "zeroshot_news", "-q", stage, "--params", str(params),
               *stage_argv(stage, work, articles)]
        with GpuSampler(args.device != "cpu") as gpu:
            start = time.perf_counter()
            subprocess.run(cmd, cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
            wall = time.perf_counter() - start
        report = json.loads((work / f"{stage}.json").read_text())
        passages = report.get("passages") or report.get("scored_passages") or 0
        rows.append({"what": f"{stage} stage x{args.factor}", "articles": n, "passages": passages,
                     "wall_s": round(wall, 1), "articles_per_s": round(n / wall, 1),
                     "passages_per_s": round(passages / wall, 1) if passages else None, **gpu.summary()})
    return rows


def premises(tokenizer, n_tokens: int, count: int, words: list[str]) -> list[str]:
    """``count`` distinct premises of about ``n_tokens`` tokens each (corpus words, rotated)."""
    out = []
    for i in range(count):
        start = (i * 37) % max(len(words) - 1, 1)
        text = " ".join(words[start:start + n_tokens] or words[:n_tokens])
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][:n_tokens]
        out.append(f"{i} " + tokenizer.decode(ids))
    return out


def run_nli(args: argparse.Namespace) -> list[dict]:
    import pandas as pd

    sys.path.insert(0, str(REPO / "src"))
    from zeroshot_news.config import compose_config, parse_config
    from zeroshot_news.scorers.fast_nli import FastNLIScorer

    words = " ".join(pd.read_parquet(args.articles, columns=["body"])["body"].head(200)).split()
    hypothesis = "This text is about military conflict."
    rows = []
    for max_length in (128, 512):
        precision = "bf16" if args.device != "cpu" else "fp32"
        cfg = parse_config(compose_config(REPO / "conf", [
            "model=nli", f"model.name_or_path={REPO / 'models/nli-minilm'}", f"model.device={args.device}",
            "model.runtime=torch", f"model.precision={precision}", f"model.batch_size={args.batch_size}",
            f"model.max_length={max_length}", f"model.max_batch_tokens={args.batch_size * max_length}"])).model
        scorer = FastNLIScorer(cfg, progress=False)
        room = max_length - 16  # the hypothesis and special tokens fill the rest
        texts = premises(scorer.tokenizer, room, args.pairs, words)
        scorer.score(texts[: args.batch_size], [hypothesis + " warm-up"])  # CUDA context, kernels
        with GpuSampler(args.device != "cpu") as gpu:
            start = time.perf_counter()
            scorer.score(texts, [hypothesis], truncate=True)
            if args.device != "cpu":
                scorer._torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        pairs_per_s = len(texts) / seconds
        rows.append({"what": f"nli {precision} {max_length} tokens", "pairs": len(texts),
                     "wall_s": round(seconds, 2), "pairs_per_s": round(pairs_per_s, 1),
                     "vs_reference": round(pairs_per_s / REFERENCE_PAIRS_PER_S[max_length], 3), **gpu.summary()})
        del scorer
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--factor", type=int, default=10, help="corpus replication for the stage runs")
    ap.add_argument("--pairs", type=int, default=20_000, help="NLI pairs per length")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--quick", action="store_true", help="CPU check: factor 1 on 20 articles, 64 pairs, batch 16")
    ap.add_argument("--articles", type=Path, default=REPO / "data/processed/articles.parquet")
    ap.add_argument("--params", type=Path, default=REPO / "params.yaml")
    ap.add_argument("--skip", nargs="*", default=[], choices=["stages", "nli"])
    ap.add_argument("--json", type=Path, help="write the rows here too")
    args = ap.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gpu-perf-") as tmp:
        if args.quick:
            import pandas as pd

            args.factor, args.pairs, args.batch_size = 1, 64, 16
            small = Path(tmp) / "small.parquet"
            pd.read_parquet(args.articles).head(20).to_parquet(small)
            args.articles = small
        if "stages" not in args.skip:
            work = Path(tmp) / "stages"
            work.mkdir()
            rows += run_stages(args, work)
        if "nli" not in args.skip:
            rows += run_nli(args)
    for row in rows:
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
