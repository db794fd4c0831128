# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Public benchmarks against published numbers
# Reads the committed benchmark results (`perf/results/*.json`, one file per
# benchmark x backend, written by `python -m zeroshot_news benchmark` with
# `max_items=null`) and this run's full reports, `reports/benchmark/<name>.json` (one per
# `benchmark@<name>` stage). Nothing here runs a model.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

ROOT = Path(os.environ.get("ZSN_ROOT", ".."))
HEADLINE = {"agnews": "macro_f1", "fnc1": "fnc_score.relative_score", "vast": "macro_f1_zero_shot"}


def get(metrics: dict, dotted: str):
    for part in dotted.split("."):
        metrics = metrics[part]
    return metrics


files = sorted((ROOT / "perf/results").glob("*.json"))
# perf/results also holds throughput and memory runs: keep the accuracy benchmarks only.
runs = [(f.stem, m) for f in files if "benchmark" in (m := json.loads(f.read_text()))]
for latest in sorted((ROOT / "reports/benchmark").glob("*.json")):
    runs.append((f"this run ({latest.stem})", json.loads(latest.read_text())))
rows = []
for name, m in runs:
    key = HEADLINE[m["benchmark"]]
    ref = m["reference"]
    rows.append({
        "run": name, "benchmark": m["benchmark"], "items": m["n_items"],
        "model": f"{m['model']['backend']}: {m['model']['name_or_path']}".replace(str(ROOT.resolve()), "."),
        "metric": key, "ours": get(m, key),
        "published": ref.get("value", ref.get("range")), "reference": ref["what"],
        "accuracy": m.get("accuracy"),
    })
table = pd.DataFrame(rows)
table

# %% [markdown]
# ## Ours vs published, per benchmark

# %%
if len(table):
    plot = table.copy()
    plot["published_value"] = plot["published"].map(lambda v: v[-1] if isinstance(v, list) else v)
    # FNC-1 is reported in %; put everything on [0, 1] for one chart.
    scale = plot["benchmark"].map(lambda b: 100.0 if b == "fnc1" else 1.0)
    plot["ours_01"], plot["published_01"] = plot["ours"] / scale, plot["published_value"] / scale
    ax = plot.set_index("run")[["ours_01", "published_01"]].plot.barh(figsize=(8, 0.6 * len(plot) + 1))
    ax.set_xlabel("headline metric (FNC-1 score / 100)")
    ax.set_xlim(0, 1)
else:  # still a figure, saying why it is empty
    fig, ax = plt.subplots(figsize=(6, 1))
    ax.text(0.5, 0.5, "no benchmark results in this run", ha="center", va="center")
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Per-class F1

# %%
pd.DataFrame({name: m["per_class_f1"] for name, m in runs}).T

# %% [markdown]
# ## FNC-1: the two stages separately (relevance, then stance on gold-related pairs)

# %%
for name, m in runs:
    if m["benchmark"] == "fnc1":
        print(name, "baselines", {k: v["relative_score"] for k, v in m["baselines"].items()})
        print("  related vs unrelated:", m.get("related_vs_unrelated"))
        print("  stance on gold-related pairs:", m.get("stance_on_gold_related"))
