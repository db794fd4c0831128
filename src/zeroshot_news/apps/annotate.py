"""Gold for a new label: export a sample to Label Studio, import the annotations as gold rows.

    python -m zeroshot_news annotate export --articles A.parquet --topics T.parquet --label economy \\
        --n 60 -o tasks.json --labeling-config labeling.xml [--exclude data/gold/gold.csv] [overrides...]
    python -m zeroshot_news annotate import export.json -o data/gold/gold.csv --into data/gold/gold.csv

**export** draws a sample stratified by the predicted score of ``--label`` (equal-frequency
score strata, the same number from each, seeded), so the rare positives are found without
annotating the whole corpus. Each task carries the article (title, text), its ``item_id``
(the raw path, what ``data/gold`` keys on) and the current topic predictions as Label
Studio pre-annotations. ``--labeling-config`` writes the matching labeling interface (one
multiple-choice field ``topics`` with every taxonomy label).

**import** reads a Label Studio JSON export (a list of tasks, each with ``annotations``;
the most recent one that was not cancelled counts) and writes gold rows: ``item_id``,
``stratum``, and 1 / 0 per taxonomy label. ``--into`` appends them to an existing gold file;
labels that file lacks become new columns, empty for its older rows (the evaluate stage
scores such a label on its annotated items only). Tasks without a usable annotation are
counted and skipped, never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zeroshot_news.config import ConfigError, add_config_args, config_from_args
from zeroshot_news.io import atomic_path, read_parquet

log = logging.getLogger(__name__)

FIELD = "topics"  # the labeling config's choices field


def labeling_config(labels: list[str]) -> str:
    """Label Studio's labeling interface for the tasks: title, text, one multiple choice."""
    choices = "\n".join(f'    <Choice value="{label}"/>' for label in labels)
    return (f'<View>\n  <Header value="$title"/>\n  <Text name="text" value="$text"/>\n'
            f'  <Choices name="{FIELD}" toName="text" choice="multiple" showInline="true">\n{choices}\n'
            f"  </Choices>\n</View>\n")


def stratified_sample(scores: pd.Series, n: int, strata: int, seed: int) -> pd.Series:
    """Stratum ("score_<k>_of_<strata>", 1 = lowest) of ``n`` items drawn equally from
    equal-frequency score strata (index of ``scores`` kept)."""
    if n < 1 or strata < 1:
        raise ConfigError("annotate export: --n and --strata must be >= 1")
    ranks = scores.rank(method="first").to_numpy() - 1
    stratum = np.minimum((ranks * strata // max(len(scores), 1)).astype(int), strata - 1)
    rng = np.random.default_rng(seed)
    chosen: dict[Any, str] = {}
    per = [n // strata + (1 if k >= strata - n % strata else 0) for k in range(strata)]  # extras go high
    for k in range(strata):
        members = scores.index[stratum == k]
        take = rng.choice(len(members), size=min(per[k], len(members)), replace=False)
        for i in sorted(take):
            chosen[members[i]] = f"score_{k + 1}_of_{strata}"
    return pd.Series(chosen, dtype=object).sort_index()


def export_tasks(articles: pd.DataFrame, topics: pd.DataFrame, label: str, n: int, strata: int, seed: int,
                 exclude: set[str]) -> list[dict[str, Any]]:
    labels = list(dict.fromkeys(topics["label"]))
    if label not in labels:
        raise ConfigError(f"annotate export: --label {label!r} has no predictions (labels: {labels}); "
                          "run the topic stage with it in the taxonomy first")
    score = topics.pivot(index="doc_id", columns="label", values="score")
    predicted = topics.pivot(index="doc_id", columns="label", values="predicted")
    pool = articles[~articles["path"].isin(exclude) & articles["doc_id"].isin(score.index)].set_index("doc_id")
    sample = stratified_sample(score.loc[pool.index, label], n, strata, seed)
    tasks = []
    for doc_id, stratum in sample.items():
        row = pool.loc[doc_id]
        chosen = [lab for lab in labels if bool(predicted.at[doc_id, lab])]
        tasks.append({
            "data": {"title": row["title"], "text": row["body"], "item_id": row["path"], "doc_id": doc_id,
                     "stratum": stratum, "score": round(float(score.at[doc_id, label]), 4)},
            "predictions": [{"model_version": "zeroshot-news", "score": round(float(score.at[doc_id, label]), 4),
                             "result": [{"from_name": FIELD, "to_name": "text", "type": "choices",
                                         "value": {"choices": chosen}}]}],
        })
    return tasks


def _annotation_choices(task: dict[str, Any]) -> list[str] | None:
    """The chosen labels of the task's latest non-cancelled annotation; None if it has none."""
    usable = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not usable:
        return None
    latest = max(usable, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))
    chosen: list[str] = []
    for result in latest.get("result") or []:
        if result.get("from_name") == FIELD and result.get("type") == "choices":
            chosen += list(result.get("value", {}).get("choices") or [])
    return chosen


def gold_rows(export: list[dict[str, Any]], labels: list[str]) -> tuple[pd.DataFrame, int]:
    """(rows with item_id, stratum and 1/0 per label; the number of tasks skipped)."""
    rows, skipped = [], 0
    for i, task in enumerate(export):
        data = task.get("data") or {}
        if "item_id" not in data:
            raise ConfigError(f"annotate import: task {task.get('id', i)} has no data.item_id (not an export of "
                              "`annotate export` tasks)")
        chosen = _annotation_choices(task)
        if chosen is None:
            skipped += 1
            continue
        unknown = sorted(set(chosen) - set(labels))
        if unknown:
            raise ConfigError(f"annotate import: task {task.get('id', i)} chose {unknown}, not labels of the "
                              f"taxonomy {labels}")
        rows.append({"item_id": data["item_id"], "stratum": f"annotated:{data.get('stratum', '')}",
                     **{label: str(int(label in chosen)) for label in labels}})
    return pd.DataFrame(rows, columns=["item_id", "stratum", *labels]), skipped


def merge_gold(base: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``base`` with ``new``'s rows appended; new label columns are empty for base rows."""
    twice = sorted(set(base["item_id"]) & set(new["item_id"]))
    if twice:
        raise ConfigError(f"annotate import: {len(twice)} items are already gold, e.g. {twice[:3]}")
    columns = list(base.columns) + [c for c in new.columns if c not in base.columns]
    return pd.concat([base, new], ignore_index=True).reindex(columns=columns).fillna("")


def _parser(action: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    if action == "export":
        ap.add_argument("--articles", required=True, help="input: cleaned articles (parquet)")
        ap.add_argument("--topics", required=True, help="input: topic predictions (parquet)")
        ap.add_argument("--label", required=True, help="the label whose score stratifies the sample")
        ap.add_argument("--n", type=int, default=60, help="tasks to export (default: %(default)s)")
        ap.add_argument("--strata", type=int, default=4, help="equal-frequency score strata (default: %(default)s)")
        ap.add_argument("--seed", type=int, default=0)
        ap.add_argument("--exclude", action="append", default=[], help="gold CSV whose items are not exported")
        ap.add_argument("--output", "-o", required=True, help="output: Label Studio import file (JSON)")
        ap.add_argument("--labeling-config", help="output: the labeling interface (XML) for these tasks")
    else:
        ap.add_argument("export", help="input: Label Studio JSON export of the annotated tasks")
        ap.add_argument("--output", "-o", required=True, help="output: gold CSV")
        ap.add_argument("--into", help="append to this gold CSV (e.g. data/gold/gold.csv)")
    add_config_args(ap)
    return ap


def main(argv: list[str] | None = None) -> None:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("export", "import"):
        raise ConfigError("annotate: first argument must be `export` or `import` (see --help of each)")
    action = argv[0]
    ap = _parser(action)
    ap.prog = f"{ap.prog} {action}"
    args = ap.parse_intermixed_args(argv[1:])
    args.action = action
    cfg = config_from_args(args)
    labels = [lab.name for lab in cfg.taxonomy.labels]
    if args.action == "export":
        exclude = {item for path in args.exclude
                   for item in pd.read_csv(path, dtype=str, keep_default_na=False)["item_id"]}
        tasks = export_tasks(read_parquet(args.articles), read_parquet(args.topics), args.label, args.n,
                             args.strata, args.seed, exclude)
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(tasks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if args.labeling_config:
            with atomic_path(args.labeling_config) as tmp:
                tmp.write_text(labeling_config(labels), encoding="utf-8")
        counts = pd.Series([t["data"]["stratum"] for t in tasks]).value_counts().sort_index().to_dict()
        log.info("annotate export: %d tasks -> %s (strata %s; %d gold items excluded)", len(tasks), args.output,
                 counts, len(exclude))
        return
    export = json.loads(Path(args.export).read_text(encoding="utf-8"))
    if not isinstance(export, list):
        raise ConfigError(f"annotate import: {args.export} is not a Label Studio JSON export (a list of tasks)")
    rows, skipped = gold_rows(export, labels)
    if args.into:
        rows = merge_gold(pd.read_csv(args.into, dtype=str, keep_default_na=False), rows)
    with atomic_path(args.output) as tmp:
        rows.to_csv(tmp, index=False)
    log.info("annotate import: %d tasks = %d gold rows + %d without a usable annotation (skipped) -> %s",
             len(export), len(export) - skipped, skipped, args.output)


__all__ = ["export_tasks", "gold_rows", "labeling_config", "main", "merge_gold", "stratified_sample"]
