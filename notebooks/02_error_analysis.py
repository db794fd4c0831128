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
# # Error analysis against the dev gold
# False positives and false negatives per topic label with their text and best passage,
# the stance confusion per target, and the crowd-gold comparison. Reads the gold file,
# the predictions and reports/evaluation.json (the full evaluation report); nothing here runs a model.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

ROOT = Path(os.environ.get("ZSN_ROOT", ".."))
params = yaml.safe_load((ROOT / "params.yaml").read_text())
gold = pd.read_csv(ROOT / params["evaluation"]["gold_path"], dtype=str, keep_default_na=False)
articles = pd.read_parquet(ROOT / "data/processed/articles.parquet")
topics = pd.read_parquet(ROOT / "data/predictions/topics.parquet")
passages = pd.read_parquet(ROOT / "data/predictions/topic_passages.parquet")
stance = pd.read_parquet(ROOT / "data/predictions/stance.parquet")
metrics = json.loads((ROOT / "reports/evaluation.json").read_text())
gold = gold.merge(articles[["path", "doc_id", "title"]], left_on="item_id", right_on="path")
print(f"{len(gold)} gold items with predictions; missing: {metrics['gold']['missing']}")

# %% [markdown]
# ## Headline metrics

# %%
t = metrics.get("topics", {})
rows = [{"label": lab, **{k: v for k, v in m.items() if k != "f1_ci"}, "f1_ci": m["f1_ci"]}
        for lab, m in t.get("per_label", {}).items()]
pd.DataFrame(rows)

# %% [markdown]
# ## False positives and false negatives per label

# %%
text = passages.set_index(["doc_id", "passage"])["text"]
labels = [lab for lab in topics["label"].unique() if lab in gold.columns]
for label in labels:
    pred = topics[topics["label"] == label].set_index("doc_id")
    g = gold.assign(score=gold["doc_id"].map(pred["score"]), predicted=gold["doc_id"].map(pred["predicted"]),
                    best=gold["doc_id"].map(pred["best_passage"]))
    g["truth"] = g[label] == "1"
    fp = g[g["predicted"] & ~g["truth"]].nlargest(3, "score")
    fn = g[~g["predicted"].astype(bool) & g["truth"]].nsmallest(3, "score")
    print(f"=== {label}: {len(g[g['predicted'] & ~g['truth']])} false positives, "
          f"{len(g[~g['predicted'].astype(bool) & g['truth']])} false negatives")
    for kind, frame in (("FP", fp), ("FN", fn)):
        for row in frame.itertuples():
            passage = text.get((row.doc_id, row.best), "")
            print(f"  {kind} {row.score:.3f} [{row.item_id}] {row.title[:80]}\n      {passage[:180]!r}")

# %% [markdown]
# ## Score distributions: gold positives vs negatives

# %%
fig, axes = plt.subplots(1, max(len(labels), 1), figsize=(4 * max(len(labels), 1), 3), squeeze=False)
for ax, label in zip(axes[0], labels, strict=False):
    pred = topics[topics["label"] == label].set_index("doc_id")["score"]
    scores = gold.assign(score=gold["doc_id"].map(pred))
    for value, name in (("1", "gold yes"), ("0", "gold no")):
        ax.hist(scores.loc[scores[label] == value, "score"].dropna(), bins=20, alpha=0.6, label=name)
    threshold = topics.loc[topics["label"] == label, "threshold"].iloc[0]
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    ax.set_title(label)
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Stance confusion per target (rows: gold, columns: predicted)

# %%
wide = stance.pivot(index="doc_id", columns="target", values="label")
classes = ["favor", "against", "neutral", "none"]
evaluated = [t for t in wide.columns if f"stance_{t}" in gold.columns]
fig, axes = plt.subplots(1, max(len(evaluated), 1), figsize=(3.6 * max(len(evaluated), 1), 3.4), squeeze=False)
for ax, target in zip(axes[0], evaluated, strict=False):
    sub = gold[gold["doc_id"].isin(wide.index)]
    table = pd.crosstab(pd.Categorical(sub[f"stance_{target}"], classes),
                        pd.Categorical(wide.loc[sub["doc_id"], target].to_numpy(), classes), dropna=False)
    ax.imshow(table.to_numpy(), cmap="Blues")
    for (i, j), n in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, int(n), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(4), classes, rotation=45)
    ax.set_yticks(range(4), classes)
    ax.set_title(target, fontsize=9)
    ax.set_xlabel("predicted")
axes[0][0].set_ylabel("gold")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Crowd stance gold (Ukraine corpus): distribution and agreement

# %%
pd.DataFrame({target: {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"], **m["gold_distribution"]}
              for target, m in metrics.get("stance_crowd", {}).items()}).T
