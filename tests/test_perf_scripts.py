"""The perf/ scripts stay runnable: each prints its numbers on a small CPU run (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture
def articles(tmp_path, seed_text) -> Path:
    """Cleaned-articles input for the scripts (a fresh clone has no data/processed before `make run`)."""
    paragraphs = [p for p in seed_text.split("\n\n") if len(p.split()) > 5]
    rows = [{"doc_id": f"d{i:03d}", "title": f"Report {i}", "body": "\n\n".join(paragraphs[i % 3:] or paragraphs)}
            for i in range(24)]
    path = tmp_path / "articles.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def _run(script: str, *args: str) -> str:
    return subprocess.run([sys.executable, str(REPO / "perf" / script), *args], cwd=REPO, check=True,
                          capture_output=True, text=True, timeout=900).stdout


def test_gpu_script_runs_on_cpu(tmp_path, articles):
    out = tmp_path / "gpu.json"
    _run("gpu.py", "--device", "cpu", "--quick", "--articles", str(articles), "--json", str(out))
    rows = json.loads(out.read_text())
    assert [r["what"] for r in rows] == ["topic stage x1", "stance stage x1", "nli fp32 128 tokens",
                                         "nli fp32 512 tokens"]
    assert rows[0]["articles"] == 20 and rows[0]["passages"] > 0
    assert all(r["wall_s"] > 0 for r in rows) and rows[2]["pairs"] == 64
    assert "gpu_util_mean" not in rows[0]  # no nvidia-smi sampling on a CPU run


def test_cold_start_script_times_classify(tmp_path, articles):
    out = tmp_path / "cold.json"
    printed = _run("cold_start.py", "--n", "3", "--repeats", "1", "--importtime", "5", "--phases", "--articles",
                   str(articles), "--json", str(out))
    row, phases = json.loads(out.read_text())
    assert row["items"] == 3 and row["wall_s_median"] > 0 and row["peak_rss_mb"] > 100
    assert "slowest imports" in printed
    labels = {e[0] for e in phases["phases"]["events"]} | {m[0] for m in phases["phases"]["marks"]}
    assert {"classify main (all of it)", "build the models (total)", "topics (split + encode + head)",
            "  ONNX Runtime session", "write the output"} <= labels
    threads = {e[3] for e in phases["phases"]["events"] if e[0] == "build the models (total)"}
    assert threads == {"classify-models"}  # the models load beside reading and cleaning


def test_cold_start_script_compares_source_trees(tmp_path, articles):
    out = tmp_path / "ab.json"
    _run("cold_start.py", "--n", "2", "--repeats", "1", "--src", "src", "--src", str(REPO / "src"), "--articles",
         str(articles), "--json", str(out))
    rows = json.loads(out.read_text())
    assert [r["src"] for r in rows] == [str(REPO / "src")] * 2 and all(r["wall_s_median"] > 0 for r in rows)


def test_classify_scale_script_reports_rate_memory_and_the_flop_bound(tmp_path, articles):
    out = tmp_path / "scale.json"
    printed = _run("classify_scale.py", "--n", "40", "--articles", str(articles), "--flops", "--token-sample", "10",
                   "--json", str(out), "--", "--chunk-size", "16")
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert run["n"] == 40 and run["seen"] == 40 == run["classified"] + run["quarantined"] + run["removed"]
    assert run["chunks"] >= 2 and run["items_per_s"] > 0 and run["peak_rss_mb"] > 100 and run["cpu_s"] > 0
    assert run["args"] == ["--chunk-size", "16"] and "items/s" in printed
    flops = data["flops"]
    assert all(v > 0 for v in flops["matmul_gflops"]["1_thread"].values())
    assert 20e6 < flops["encoder_params"]["all"] < 25e6 and flops["encoder_tokens_per_item"] > 10
    assert all(v > 0 for v in flops["bound"].values())
