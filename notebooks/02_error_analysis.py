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
# # Error analysis against the gold
# False positives and false negatives per topic label with their text and best passage,
# the stance confusion per target, the crowd-gold comparison (all three on the dev gold,
# when the corpus holds dev-gold items), and a few errors of the stance classifier on the
# stance gold's test half. Reads the gold files, the predictions and
# `reports/evaluation.json` (the full evaluation report); nothing here runs a model.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from zeroshot_news.apps.report import (
    colour,
    dev_gold_note,
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

pd.set_option("display.max_colwidth", 200)
ROOT = run_root(globals().get("__file__"))  # ZSN_ROOT, else the folder above this notebook holding params.yaml
CLASSES = ["favor", "against", "neutral", "none"]
params = yaml.safe_load((ROOT / "params.yaml").read_text())
articles = pd.read_parquet(ROOT / "data/processed/articles.parquet")
topics = pd.read_parquet(ROOT / "data/predictions/topics.parquet")
passages = pd.read_parquet(ROOT / "data/predictions/topic_passages.parquet")
stance = pd.read_parquet(ROOT / "data/predictions/stance.parquet")
metrics = load_json(ROOT / "reports/evaluation.json")  # the full evaluation report ({} if none)
NO_DEV_GOLD = dev_gold_note(metrics)  # None when the dev gold was scored; else why not
if NO_DEV_GOLD is None:
    gold = pd.read_csv(ROOT / params["evaluation"]["gold_path"], dtype=str, keep_default_na=False)
    gold = gold.merge(articles[["path", "doc_id", "title"]], left_on="item_id", right_on="path")
else:
    gold = pd.DataFrame(columns=["item_id", "doc_id", "title"])
show(markdown(header(ROOT)))

# %% [markdown]
# ## Headline metrics on the dev gold
# Per topic label: F1 with its bootstrap CI, precision, recall, average precision and the
# number of gold positives. Then per stance target: macro-F1 on the whole dev gold (with
# CI) and on its tune / test halves (one favor / against article moves these a lot).

# %%
if NO_DEV_GOLD:
    show(note(NO_DEV_GOLD))
else:
    per_label = metrics.get("topics", {}).get("per_label", {})
    rows = [{"label": lab, "F1": fmt(m.get("f1")), "F1 CI": fmt_ci(m.get("f1_ci")),
             "precision": fmt(m.get("precision")), "recall": fmt(m.get("recall")),
             "average precision": fmt(m.get("average_precision")), "positives": m.get("support")}
            for lab, m in per_label.items()]
    show(pd.DataFrame(rows).set_index("label") if rows else note("no topic label has a fully annotated gold column"))

# %%
if not NO_DEV_GOLD:
    rows = []
    for target, m in metrics.get("stance", {}).items():
        halves = m.get("halves", {})
        rows.append({"target": target, "macro-F1": fmt(m.get("macro_f1")), "CI": fmt_ci(m.get("macro_f1_ci")),
                     "accuracy": fmt(m.get("accuracy")),
                     "majority-class accuracy": fmt(m.get("majority_class_accuracy")),
                     "tune macro-F1": fmt(halves.get("tune", {}).get("macro_f1")),
                     "test macro-F1": fmt(halves.get("test", {}).get("macro_f1")), "items": m.get("support")})
    show(pd.DataFrame(rows).set_index("target") if rows else note("no stance target has a dev-gold column"))

# %% [markdown]
# ## False positives and false negatives per label
# Per topic label: the three most confident false positives (highest score, gold says no)
# and the three most confident false negatives (lowest score, gold says yes), with the
# article's best passage.

# %%
text = passages.set_index(["doc_id", "passage"])["text"]
labels = [lab for lab in topics["label"].unique() if lab in gold.columns]
if NO_DEV_GOLD:
    show(note(NO_DEV_GOLD))
for label in labels:
    pred = topics[topics["label"] == label].set_index("doc_id")
    g = gold[gold[label] != ""].copy()  # a row left empty for this label is not one of its items
    g["score"], g["best"] = g["doc_id"].map(pred["score"]), g["doc_id"].map(pred["best_passage"])
    g["predicted"] = g["doc_id"].map(pred["predicted"]).fillna(False).astype(bool)
    g["truth"] = g[label] == "1"
    fp, fn = g[g["predicted"] & ~g["truth"]], g[~g["predicted"] & g["truth"]]
    show(markdown(f"### {label}: {len(fp)} false positives, {len(fn)} false negatives"))
    rows = [{"error": kind, "score": round(row.score, 3), "item": row.item_id, "title": row.title[:80],
             "best passage": text.get((row.doc_id, row.best), "")[:180]}
            for kind, frame in (("FP", fp.nlargest(3, "score")), ("FN", fn.nsmallest(3, "score")))
            for row in frame.itertuples()]
    if rows:
        show(pd.DataFrame(rows))

# %% [markdown]
# ## Score distributions: gold positives vs negatives
# Per topic label, the scores of the dev-gold items the gold says yes / no to, and the
# label's threshold (dashed).

# %%
if labels:
    fig, axes = plt.subplots(1, len(labels), figsize=(4 * len(labels), 3), squeeze=False)
    for ax, label in zip(axes[0], labels, strict=True):
        pred = topics[topics["label"] == label].set_index("doc_id")["score"]
        scores = gold.assign(score=gold["doc_id"].map(pred))
        for value, name in (("1", "gold yes"), ("0", "gold no")):
            ax.hist(scores.loc[scores[label] == value, "score"].dropna(), bins=20, alpha=0.6, label=name,
                    color=colour(name))
        threshold = topics.loc[topics["label"] == label, "threshold"].iloc[0]
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
        ax.set_title(label)
        ax.legend()
else:
    fig = placeholder(NO_DEV_GOLD or "no topic label has a dev-gold column")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Stance confusion per target (rows: gold, columns: predicted)
# Dev-gold items annotated for the target, by gold and predicted stance.

# %%
wide = stance.pivot(index="doc_id", columns="target", values="label")
evaluated = [t for t in wide.columns if f"stance_{t}" in gold.columns]
if evaluated:
    fig, axes = plt.subplots(1, len(evaluated), figsize=(3.6 * len(evaluated), 3.4), squeeze=False)
    for ax, target in zip(axes[0], evaluated, strict=True):
        sub = gold[gold["doc_id"].isin(wide.index) & (gold[f"stance_{target}"] != "")]
        table = pd.crosstab(pd.Categorical(sub[f"stance_{target}"], CLASSES),
                            pd.Categorical(wide.loc[sub["doc_id"], target].to_numpy(), CLASSES), dropna=False)
        ax.imshow(table.to_numpy(), cmap="Blues")
        for (i, j), n in np.ndenumerate(table.to_numpy()):
            ax.text(j, i, int(n), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(4), CLASSES, rotation=45)
        ax.set_yticks(range(4), CLASSES)
        ax.set_title(target, fontsize=9, color=colour(target))
        ax.set_xlabel("predicted")
    axes[0][0].set_ylabel("gold")
else:
    fig = placeholder(NO_DEV_GOLD or "no stance target has a dev-gold column")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Crowd stance gold (Ukraine corpus): agreement and distribution
# Per target: macro-F1 and accuracy against the crowd's article labels (three classes:
# favor, against, neutral_or_none), and how many articles the crowd puts in each class.

# %%
crowd = metrics.get("stance_crowd") or {}
if crowd:
    rows = [{"target": target, "macro-F1": fmt(m.get("macro_f1")), "CI": fmt_ci(m.get("macro_f1_ci")),
             "accuracy": fmt(m.get("accuracy")), "majority-class accuracy": fmt(m.get("majority_class_accuracy")),
             **{f"gold {c}": n for c, n in m.get("gold_distribution", {}).items()}}
            for target, m in crowd.items()]
    show(tidy(pd.DataFrame(rows).set_index("target")))
else:
    show(note("no crowd-gold article in this corpus (the crowd gold covers the Ukraine news corpus only)"))

# %% [markdown]
# ## Stance gold: errors on the test half
# A few test-half items of the stance gold (`data/gold/stance_gold.csv`) the classifier got
# wrong: per target, up to two, favor / against gold first, then the most confident
# (highest margin). Above them, the pooled test-half confusion (rows: gold, columns: predicted).

# %%
gold_csv, gold_pred = ROOT / "data/gold/stance_gold.csv", ROOT / "data/predictions/stance_gold.parquet"
if gold_csv.is_file() and gold_pred.is_file():
    sg = pd.read_csv(gold_csv, dtype=str, keep_default_na=False)
    pred = pd.read_parquet(gold_pred)[["item_id", "target", "label", "margin", "uncertain"]]
    sg = sg.merge(pred.rename(columns={"label": "predicted"}), on=["item_id", "target"])
    test = sg[sg["split"] == "test"]
    confusion = pd.crosstab(pd.Categorical(test["label"], CLASSES), pd.Categorical(test["predicted"], CLASSES),
                            dropna=False).rename_axis(index="gold", columns="predicted")
    show(confusion)
    items_csv = ROOT / "data/gold/stance/items.csv"
    texts = (pd.read_csv(items_csv, dtype=str, keep_default_na=False).set_index("item_id")["text"]
             if items_csv.is_file() else pd.Series(dtype=str))
    wrong = test[test["label"] != test["predicted"]].assign(
        polar=lambda f: f["label"].isin(["favor", "against"]), m=lambda f: f["margin"].fillna(-1.0))
    picked = (wrong.sort_values(["target", "polar", "m", "item_id"], ascending=[True, False, False, True])
              .groupby("target").head(2))
    show(markdown(f"{len(wrong)} of {len(test)} test-half (item, target) pairs are wrong; a few of them:"))
    show(tidy(pd.DataFrame({
        "target": picked["target"], "item": picked["item_id"], "gold": picked["label"],
        "predicted": picked["predicted"], "margin": picked["margin"].round(3), "uncertain": picked["uncertain"],
        "text": picked["item_id"].map(texts).fillna("").str.slice(0, 200)}).reset_index(drop=True)))
else:
    show(note("no stance gold in this run (data/gold/stance_gold.csv and data/predictions/stance_gold.parquet): "
              "run the stance_gold stage"))
