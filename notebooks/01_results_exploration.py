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
# # Results exploration
# What the corpus is about and where it stands: topic shares by corpus, outlet and date,
# stance by target and outlet, and the highest-scoring articles per label with the
# passage that scored highest. Reads the pipeline's parquet outputs (run `make run`
# first); nothing here runs a model. `ZSN_ROOT` points at another run's folder.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

ROOT = Path(os.environ.get("ZSN_ROOT", ".."))
articles = pd.read_parquet(ROOT / "data/processed/articles.parquet")
topics = pd.read_parquet(ROOT / "data/predictions/topics.parquet")
passages = pd.read_parquet(ROOT / "data/predictions/topic_passages.parquet")
stance = pd.read_parquet(ROOT / "data/predictions/stance.parquet")
print(f"{len(articles)} articles, {topics['label'].nunique()} topic labels, {stance['target'].nunique()} targets")

# %% [markdown]
# ## Topic shares by corpus and outlet

# %%
wide = topics.pivot(index="doc_id", columns="label", values="predicted").astype(int)
labelled = articles.set_index("doc_id")[["corpus", "outlet", "category", "date"]].join(wide)
labels = list(wide.columns)
by_corpus = labelled.groupby("corpus")[labels].mean().round(3)
by_corpus["articles"] = labelled.groupby("corpus").size()
by_corpus

# %%
group = labelled["category"].fillna(labelled["corpus"])
share = labelled[labels].groupby(group).mean()
ax = share.plot.bar(figsize=(8, 3.5), title="Share of articles predicted per topic")
ax.set_xlabel("")
ax.set_ylabel("share of articles")
plt.tight_layout()
plt.show()

# %%
outlets = labelled.assign(outlet=labelled["outlet"].fillna("(unknown)"))
outlets.groupby("outlet")[labels].agg(["mean", "size"]).round(3).head(20)

# %% [markdown]
# ## Topics over time (only articles with a parsed date)

# %%
dated = labelled.dropna(subset=["date"]).copy()
if len(dated):
    dated["month"] = pd.to_datetime(dated["date"]).dt.to_period("M").astype(str)
    display_table = dated.groupby("month")[labels].mean().round(3)
    print(display_table)
else:
    print("no dated articles in this corpus (BBC and the Ukraine corpus carry no dates)")

# %% [markdown]
# ## Stance by target and by outlet / corpus

# %%
counts = stance.pivot_table(index="target", columns="label", values="doc_id", aggfunc="count", fill_value=0)
counts

# %%
ax = counts.div(counts.sum(axis=1), axis=0).plot.barh(stacked=True, figsize=(8, 3), title="Stance labels per target")
ax.set_xlabel("share of articles")
plt.tight_layout()
plt.show()

# %%
st = stance.merge(articles[["doc_id", "corpus", "outlet"]], on="doc_id")
st["source"] = st["outlet"].fillna(st["corpus"])
discussed = st[st["label"] != "none"]
discussed.pivot_table(index=["target", "source"], columns="label", values="doc_id", aggfunc="count", fill_value=0)

# %% [markdown]
# ## Highest-scoring articles per label, with their best passage

# %%
text = passages.set_index(["doc_id", "passage"])["text"]
titles = articles.set_index("doc_id")["title"]
for label in labels:
    top = topics[topics["label"] == label].nlargest(3, "score")
    print(f"=== {label}")
    for row in top.itertuples():
        best = text.get((row.doc_id, row.best_passage), "")
        print(f"{row.score:.3f}  {titles[row.doc_id][:90]}")
        print(f"       best passage {row.best_passage}/{row.n_passages}: {best[:200]!r}")

# %% [markdown]
# ## Stance evidence: passage-level scores behind one article's label

# %%
example = stance[stance["label"].isin(["favor", "against"])].head(1)
for row in example.itertuples():
    print(row.target, row.label, titles[row.doc_id])
    for p in json.loads(row.passage_scores)[:5]:
        print(p, text.get((row.doc_id, p["passage"]), "")[:160])
