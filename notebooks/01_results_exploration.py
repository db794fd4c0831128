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
# stance by target and outlet, the highest-scoring articles per label with the passage
# that scored highest, and how the stance classifier does on the stance gold. Reads the
# pipeline's parquet outputs and reports (run `make run` first); nothing here runs a model.
# `ZSN_ROOT` points at another run's folder; without it, the repository this notebook is in.

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd
import yaml

from zeroshot_news.apps.report import (
    colour,
    colours,
    fmt,
    fmt_ci,
    header,
    load_json,
    markdown,
    note,
    placeholder,
    run_root,
    show,
    tidy,
)

pd.set_option("display.max_colwidth", 160)
ROOT = run_root(globals().get("__file__"))  # ZSN_ROOT, else the folder above this notebook holding params.yaml
CLASSES = ["favor", "against", "neutral", "none"]
params = yaml.safe_load((ROOT / "params.yaml").read_text())
articles = pd.read_parquet(ROOT / "data/processed/articles.parquet")
topics = pd.read_parquet(ROOT / "data/predictions/topics.parquet")
passages = pd.read_parquet(ROOT / "data/predictions/topic_passages.parquet")
stance = pd.read_parquet(ROOT / "data/predictions/stance.parquet")
evaluation = load_json(ROOT / "reports/evaluation.json")  # the full evaluation report ({} if none)
show(markdown(header(ROOT)))
show(markdown(f"{len(articles)} articles, {topics['label'].nunique()} topic labels, "
              f"{stance['target'].nunique()} stance targets."))

# %% [markdown]
# ## Topic shares by corpus and outlet
# Share of articles predicted for each topic label (a row's shares need not sum to 1: an
# article can carry several labels, or none), and the number of articles.

# %%
wide = topics.pivot(index="doc_id", columns="label", values="predicted").astype(int)
labelled = articles.set_index("doc_id")[["corpus", "outlet", "category", "date"]].join(wide)
labels = list(wide.columns)
by_corpus = labelled.groupby("corpus")[labels].mean().round(3)
by_corpus["articles"] = labelled.groupby("corpus").size()
show(by_corpus)

# %%
group = labelled["category"].fillna(labelled["corpus"])
share = labelled[labels].groupby(group).mean()
ax = share.plot.bar(figsize=(8, 3.5), title="Share of articles predicted per topic", color=colours(labels))
ax.set_xlabel("")
ax.set_ylabel("share of articles")
plt.tight_layout()
plt.show()

# %% [markdown]
# The same shares per outlet (articles without an outlet: `(unknown)`), the 20 outlets with most articles.

# %%
outlets = labelled.assign(outlet=labelled["outlet"].fillna("(unknown)"))
by_outlet = outlets.groupby("outlet")[labels].mean().round(3)
by_outlet["articles"] = outlets.groupby("outlet").size()
show(by_outlet.sort_values("articles", ascending=False).head(20))

# %% [markdown]
# ## Topics over time
# Monthly share of articles per topic label, on the articles with a parsed date only.

# %%
dated = labelled.dropna(subset=["date"]).copy()
if len(dated):
    dated["month"] = pd.to_datetime(dated["date"]).dt.to_period("M").astype(str)
    monthly = dated.groupby("month")[labels].mean().round(3)
    monthly["articles"] = dated.groupby("month").size()
    show(monthly)
else:
    show(note("no dated article in this corpus (BBC and the Ukraine corpus carry no dates)"))

# %% [markdown]
# ## Stance by target and by outlet / corpus
# Number of articles per target and predicted stance (`none`: the target is not discussed).

# %%
counts = stance.pivot_table(index="target", columns="label", values="doc_id", aggfunc="count", fill_value=0)
counts = counts.reindex(columns=CLASSES, fill_value=0)
show(counts)

# %%
ax = counts.div(counts.sum(axis=1), axis=0).plot.barh(stacked=True, figsize=(8, 3), title="Stance labels per target",
                                                      color=colours(counts.columns))
ax.set_xlabel("share of articles")
ax.legend(title="stance", loc="center left", bbox_to_anchor=(1, 0.5))
plt.tight_layout()
plt.show()

# %% [markdown]
# Articles that discuss a target, by source (the outlet, else the corpus) and predicted stance.

# %%
st = stance.merge(articles[["doc_id", "corpus", "outlet"]], on="doc_id")
st["source"] = st["outlet"].fillna(st["corpus"])
discussed = st[st["label"] != "none"]
if len(discussed):
    by_source = discussed.pivot_table(index=["target", "source"], columns="label", values="doc_id",
                                      aggfunc="count", fill_value=0)
    show(by_source.reindex(columns=[c for c in CLASSES if c in by_source.columns]))
else:
    show(note("no article discusses a stance target"))

# %% [markdown]
# ## Highest-scoring articles per label, with their best passage
# The three articles with the highest score per topic label; `passage` is the best
# passage's position out of the article's passages.

# %%
text = passages.set_index(["doc_id", "passage"])["text"]
titles = articles.set_index("doc_id")["title"]
rows = []
for label in labels:
    for row in topics[topics["label"] == label].nlargest(3, "score").itertuples():
        rows.append({"label": label, "score": round(row.score, 3), "title": titles[row.doc_id][:90],
                     "passage": f"{row.best_passage + 1}/{row.n_passages}",
                     "best passage": text.get((row.doc_id, row.best_passage), "")[:200]})
show(pd.DataFrame(rows))

# %% [markdown]
# ## Stance evidence: the passage scores behind one article's label
# The first article labelled `favor` or `against` for some target: its class probabilities per passage.

# %%
example = stance[stance["label"].isin(["favor", "against"])].head(1)
if len(example):
    row = next(example.itertuples())
    show(markdown(f"**{row.target}**: {row.label} (margin {fmt(row.margin)}) — *{titles[row.doc_id]}*"))
    scores = pd.DataFrame(json.loads(row.passage_scores)[:5])
    scores["text"] = [text.get((row.doc_id, p), "")[:160] for p in scores["passage"]]
    show(tidy(scores[["passage", *[c for c in CLASSES if c in scores.columns], "text"]]))
else:
    show(note("no article is labelled favor or against"))

# %% [markdown]
# ## Stance gold: macro-F1 per target
# The stance classifier, as configured, on the stance gold's passages
# (`data/gold/stance_gold.csv`). The **test** half reports (with its bootstrap CI); the
# **tune** half is the one stance variants were chosen on. `tuned = no` marks the targets the
# pipeline does not configure: they were never tuned on, so both halves are out of sample.
# Pooled rows: every target; the tuned ones; the untuned ones.

# %%
gold_report = evaluation.get("stance_gold")
level = params.get("evaluation", {}).get("confidence", 0.95)
if gold_report:
    untuned = set(gold_report.get("untuned_targets", []))
    entries = {**gold_report["targets"], **{k: gold_report[k] for k in ("pooled", "pooled_tuned", "pooled_untuned")
                                            if gold_report.get(k)}}
    rows = []
    for name, m in entries.items():
        test, tune = m.get("test") or {}, m.get("tune") or {}
        rows.append({"target": name,
                     "tuned": "–" if name.startswith("pooled") else ("no" if name in untuned else "yes"),
                     "test macro-F1": fmt(test.get("macro_f1")),
                     f"test CI ({level:.0%})": fmt_ci(test.get("macro_f1_ci")),
                     "test items": test.get("support", 0), "tune macro-F1": fmt(tune.get("macro_f1")),
                     "tune items": tune.get("support", 0), "test accuracy": fmt(test.get("accuracy"))})
    gold_table = pd.DataFrame(rows).set_index("target")
    show(gold_table)
    worst = gold_report.get("worst_test_target")
    if worst:
        show(markdown(f"Worst test-half macro-F1: **{worst}** ({fmt(gold_report.get('worst_test_macro_f1'))})."))
else:
    show(note("no stance gold in this run (reports/evaluation.json has no stance_gold): run the stance_gold "
              "and evaluate stages"))

# %%
if gold_report:
    plot = [(name, m["test"]) for name, m in entries.items() if m.get("test") and m["test"].get("macro_f1") is not None]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(plot) + 1))
    for i, (name, test) in enumerate(plot):
        ci = test.get("macro_f1_ci") or [test["macro_f1"]] * 2
        ax.barh(i, test["macro_f1"], color=colour(name), alpha=0.5 if name in untuned else 1.0)
        ax.plot(ci, [i, i], color="black", linewidth=1)
    ax.set_yticks(range(len(plot)), [n + (" (untuned)" if n in untuned else "") for n, _ in plot])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"test-half macro-F1 ({level:.0%} CI)")
    ax.set_title("Stance gold, test half")
else:
    fig = placeholder("no stance gold in this run")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Per-class F1 on the test half
# F1 per stance class, with the number of gold items of that class in brackets; `–`: no
# gold item of that class in the target's test half (it does not count in the macro-F1).

# %%
if gold_report:
    per_class = {}
    for name, m in entries.items():
        classes = (m.get("test") or {}).get("per_class", {})
        per_class[name] = {c: (f"{classes[c]['f1']:.3f} ({classes[c]['support']})"
                               if c in classes and classes[c].get("support") else None) for c in CLASSES}
    show(tidy(pd.DataFrame(per_class).T.rename_axis("target")))
else:
    show(note("no stance gold in this run"))

# %% [markdown]
# ### The `uncertain` flag on the test half
# Favor / against / neutral predictions whose margin between the two best classes is under
# `stance.uncertain_margin` are flagged `uncertain`. Per target: how many predictions were
# decided (not `none`), the flagged share, and the accuracy of the flagged and unflagged
# ones (`–`: none of that kind).

# %%
if gold_report:
    margin = params.get("stance", {}).get("uncertain_margin")
    show(markdown(f"`stance.uncertain_margin` = {margin} in this run."))
    rows = []
    for name, m in entries.items():
        u = (m.get("uncertainty") or {}).get("test") or {}
        rows.append({"target": name, "decided": u.get("decided", 0), "uncertain": u.get("uncertain", 0),
                     "uncertain share": fmt(u.get("uncertain_share")),
                     "accuracy (certain)": fmt(u.get("accuracy_certain")),
                     "accuracy (uncertain)": fmt(u.get("accuracy_uncertain"))})
    show(pd.DataFrame(rows).set_index("target"))
else:
    show(note("no stance gold in this run"))
