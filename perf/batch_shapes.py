"""Pairs/second and peak memory of one NLI forward pass shape (batch x length), torch or ONNX Runtime.

Why batches of long pairs are capped (``model.max_batch_tokens``): on a CPU, attention
memory grows with batch x length², and large batches of long pairs are not faster.
Each shape runs in its own process (peak RSS = that process's high-water mark):

    for b in 32 16 8 4; do .venv/bin/python perf/batch_shapes.py --batch $b --length 512; done
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/nli-minilm")
    ap.add_argument("--runtime", choices=["torch", "onnx"], default="onnx")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--pairs", type=int, default=96, help="pairs to time (after one warm-up batch)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (torch runtime: bf16 autocast, as the scorer)")
    args = ap.parse_args()
    from zeroshot_news.config import compose_config, parse_config
    from zeroshot_news.scorers.fast_nli import FastNLIScorer

    cfg = parse_config(compose_config(REPO / "conf", ["model=nli"])).model  # conf/model/nli.yaml
    cfg = dataclasses.replace(cfg, name_or_path=args.model, device=args.device, max_length=args.length,
                              runtime=args.runtime, max_batch_tokens=None)
    scorer = FastNLIScorer(cfg, progress=False)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (args.batch, args.length))
    mask, types = np.ones_like(ids), np.zeros_like(ids)
    if scorer.onnx is not None:
        def run():
            return scorer.onnx(ids, mask, types)
    else:
        import torch

        inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                  "token_type_ids": torch.from_numpy(types)}
        inputs = {k: v.to(scorer.device) for k, v in inputs.items()}
        cuda = scorer.device.startswith("cuda")

        def run():
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                out = scorer.model(**inputs).logits
                if cuda:
                    torch.cuda.synchronize()
                return out
    run()
    start, done = time.perf_counter(), 0
    while done < args.pairs:
        run()
        done += args.batch
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.runtime} batch {args.batch} x {args.length} tokens: {done / (time.perf_counter() - start):.1f} "
          f"pairs/s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
