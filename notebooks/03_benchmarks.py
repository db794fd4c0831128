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

import matplotlib.pyplot as plt
import pandas as pd

from zeroshot_news.apps.report import NA, colour, header, markdown, note, placeholder, run_root, show, tidy

pd.set_option("display.max_colwidth", 120)
ROOT = run_root(globals().get("__file__"))  # ZSN_ROOT, else the folder above this notebook holding params.yaml
# Per benchmark, the metric its published number is in (ours is compared like with like).
HEADLINE = {"agnews": "accuracy", "fnc1": "fnc_score.relative_score", "vast": "macro_f1_zero_shot"}


def get(metrics: dict, dotted: str):
    for part in dotted.split("."):
        metrics = (metrics or {}).get(part)
    return metrics


def published(ref: dict) -> str:
    if "range" in ref:
        return f"{ref['range'][0]:g} to {ref['range'][1]:g}"
    return f"{ref['value']:g}" if ref.get("value") is not None else NA


files = sorted((ROOT / "perf/results").glob("*.json"))
# perf/results also holds throughput and memory runs: keep the accuracy benchmarks only.
runs = [(f.stem, m) for f in files if "benchmark" in (m := json.loads(f.read_text()))]
for latest in sorted((ROOT / "reports/benchmark").glob("*.json")):
    runs.append((f"this run ({latest.stem})", json.loads(latest.read_text())))
show(markdown(header(ROOT)))

# %% [markdown]
# ## Headline metric per run
# One row per benchmark run: our number in the metric the published reference uses
# (FNC-1: relative score in %), the published number or range and where it comes from,
# and our macro-F1 over all items.

# %%
rows = []
for name, m in runs:
    key = HEADLINE[m["benchmark"]]
    ref = m["reference"]
    rows.append({
        "run": name, "benchmark": m["benchmark"], "items": m["n_items"],
        "model": f"{m['model']['backend']}: {m['model']['name_or_path']}".replace(str(ROOT.resolve()), "."),
        "metric": key, "ours": get(m, key), "published": published(ref), "reference": ref["what"],
        "macro-F1": m.get("macro_f1"),
    })
table = pd.DataFrame(rows)
show(tidy(table.set_index("run")) if len(table) else note("no benchmark results in this run (perf/results, "
                                                          "reports/benchmark)"))

# %% [markdown]
# ## Ours vs published, per run
# The headline metric on one [0, 1] scale (FNC-1's score divided by 100); for a published
# range, its upper end.

# %%
if len(table):
    plot = pd.DataFrame({
        "ours": [get(m, HEADLINE[m["benchmark"]]) for _, m in runs],
        "published": [m["reference"].get("range", [m["reference"].get("value")])[-1] for _, m in runs],
    }, index=[name for name, _ in runs], dtype=float)
    scale = [100.0 if m["benchmark"] == "fnc1" else 1.0 for _, m in runs]  # FNC-1 is reported in %
    plot = plot.div(scale, axis=0)
    ax = plot.plot.barh(figsize=(8, 0.6 * len(plot) + 1), color=[colour("ours"), colour("published")])
    ax.set_xlabel("headline metric (FNC-1 score / 100)")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
else:  # still a figure, saying why it is empty
    fig = placeholder("no benchmark results in this run")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Per-class F1, per benchmark
# One table per benchmark (each has its own classes), one row per run.

# %%
for benchmark in sorted({m["benchmark"] for _, m in runs}):
    per_class = pd.DataFrame({name: m["per_class_f1"] for name, m in runs if m["benchmark"] == benchmark}).T
    show(markdown(f"### {benchmark}"))
    show(tidy(per_class.rename_axis("run")))
if not runs:
    show(note("no benchmark results in this run"))

# %% [markdown]
# ## FNC-1: the two stages separately
# The FNC-1 score of three baselines (everything `discuss`, everything `unrelated`, and this
# run's related / unrelated step with `discuss` for every related pair: the FNC score rewards
# that majority class, so the stance step shows skill only where the run beats it),
# relevance (related vs unrelated) on every pair, then stance on the pairs the gold calls
# related; accuracy and macro-F1 of each stage.

# %%
fnc = [(name, m) for name, m in runs if m["benchmark"] == "fnc1"]
rows = []
for name, m in fnc:
    row = {"run": name, "score (ours)": get(m, "fnc_score.relative_score")}
    row |= {f"baseline {k}": v.get("relative_score") for k, v in (m.get("baselines") or {}).items()}
    for stage, key in (("related vs unrelated", "related_vs_unrelated"),
                       ("stance on related", "stance_on_gold_related")):
        part = m.get(key) or {}
        row |= {f"{stage}: accuracy": part.get("accuracy"), f"{stage}: macro-F1": part.get("macro_f1"),
                f"{stage}: pairs": part.get("n")}
    rows.append(row)
show(tidy(pd.DataFrame(rows).set_index("run")) if rows else note("no FNC-1 result in this run"))

# %%
if fnc:
    stage_f1 = {name: {**(m.get("related_vs_unrelated") or {}).get("per_class_f1", {}),
                       **(m.get("stance_on_gold_related") or {}).get("per_class_f1", {})} for name, m in fnc}
    show(markdown("Per-class F1 of the two stages (relevance: related / unrelated; stance on related pairs: "
                  "agree / disagree / discuss)."))
    show(tidy(pd.DataFrame(stage_f1).T.rename_axis("run")))
