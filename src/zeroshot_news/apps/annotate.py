"""Gold for a new label: export a sample to Label Studio, import the annotations as gold rows.

    python -m zeroshot_news annotate export --articles A.parquet --topics T.parquet --label economy \\
        --n 60 -o tasks.json --labeling-config labeling.xml [--exclude data/gold/gold.csv] [--no-predictions] \\
        [overrides...]
    python -m zeroshot_news annotate import export.json -o data/gold/gold.csv --into data/gold/gold.csv

**export** draws a sample stratified by the predicted score of ``--label`` (equal-frequency
score strata, the same number from each, seeded), so the rare positives are found without
annotating the whole corpus. Each task carries the article (title, text), its ``item_id``
(the raw path, what ``data/gold`` keys on) and the current topic predictions as Label
Studio pre-annotations; ``--no-predictions`` leaves them out, for annotators who should not
see the model's answer before giving their own. ``--labeling-config`` writes the matching
labeling interface (one multiple-choice field ``topics`` with every taxonomy label). An
output that is one of the inputs is refused.

**import** reads a Label Studio export, JSON (a list of tasks, each with ``annotations``) or
JSON-MIN (one flat record per annotation: the task's data fields, its ``id``, ``annotation_id``,
the times, and the answer under the field's name: ``"topics": "military"`` for one choice,
``{"choices": [...]}`` for several; a labeling config with one yes / no field per label,
``"military": "1"``, works too), and writes gold rows: ``item_id``, ``stratum``, and 1 / 0 per
taxonomy label. The latest annotation that was not cancelled counts: times are parsed as ISO
8601 (no zone: UTC); if one cannot be, the last in the export's order counts, with a warning.
Only a real true cancels (``true``, ``1``, ``"true"``, ``"1"``), not any non-empty string.
``--into`` appends the rows to an existing gold file; labels that file lacks become new
columns, empty for its older rows (the evaluate stage scores such a label on its annotated
items only).

Every task becomes a gold row or a counted skip, never silently dropped: not annotated,
cancelled, the same item with the same answer again, or malformed (not a JSON object,
``annotations`` or ``result`` not lists, ``value`` not an object, choices that are not label
names, an ``item_id`` that is not a non-empty string); a malformed task is logged by name.
Refused before anything is written (exit code 2): an export that is missing or not a JSON
list, ``-o`` that is the export itself, a choice outside the taxonomy, and one item annotated
in two tasks with different answers.

**Spreadsheet formula injection.** Gold CSVs get opened in spreadsheets, which run a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula. Import
prefixes every such cell it writes (``--into``'s older rows and the header included) with a
single quote ``'``, the OWASP rule, unless it is a plain number such as ``-0.5``; the
prefix is idempotent and each import counts the cells it changed in a warning. The quote is
kept in the file, so an ``item_id`` changed this way no longer matches its article's path
(two ids that become one this way are refused). A cell holding a carriage return is quoted,
so that it cannot end its row early and start a new one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from collections import Counter
from datetime import UTC, datetime
from math import inf
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from zeroshot_news.config import ConfigError, add_config_args, config_from_args
from zeroshot_news.io import atomic_path, read_parquet

log = logging.getLogger(__name__)

FIELD = "topics"  # the labeling config's choices field
CANCELLED = ("true", "1")  # was_cancelled as text that cancels (any case)
YES, NO = ("1", "true", "yes"), ("0", "false", "no")  # a per-label field's answers
# JSON-MIN keys that describe the annotation, not the task's data
MIN_ANNOTATION_KEYS = ("annotation_id", "annotator", "completed_by", "created_at", "updated_at", "lead_time",
                       "agreement", "history", "was_cancelled")
ROUTINE = ("not annotated", "cancelled", "duplicate item, same answer")  # skips that are no fault of the export
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula (OWASP)
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class Skip(NamedTuple):
    """A task that became no gold row: how messages name it, why (a short, countable reason), details."""

    task: str
    reason: str
    detail: str = ""


class Skipped(Exception):
    """Raised for a task that cannot become a gold row; :func:`gold_rows` counts it as a :class:`Skip`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


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
                 exclude: set[str], predictions: bool = True) -> list[dict[str, Any]]:
    """Label Studio tasks for the sample; with ``predictions``, the current topics as pre-annotations."""
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
        task: dict[str, Any] = {
            "data": {"title": row["title"], "text": row["body"], "item_id": row["path"], "doc_id": doc_id,
                     "stratum": stratum, "score": round(float(score.at[doc_id, label]), 4)}}
        if predictions:
            task["predictions"] = [{"model_version": "zeroshot-news", "score": round(float(score.at[doc_id, label]), 4),
                                    "result": [{"from_name": FIELD, "to_name": "text", "type": "choices",
                                                "value": {"choices": chosen}}]}]
        tasks.append(task)
    return tasks


def _short(value: Any) -> str:
    """A value as messages quote it: its repr, cut short (an export is outside input)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    kinds = ((type(None), "null"), (bool, "a boolean"), ((int, float), "a number"), (str, "a string"),
             (list, "a list"), (dict, "an object"))
    return next(kind for types, kind in kinds if isinstance(value, types))


def task_name(task: Any, position: int) -> str:
    """How messages name a task: by its Label Studio id when that is a number or a string."""
    task_id = task.get("id") if isinstance(task, dict) else None
    if isinstance(task_id, (int, str)) and not isinstance(task_id, bool) and str(task_id).strip():
        return f"task {task_id}"
    return f"task at index {position}"


def read_export(path: Path) -> list[Any]:
    """The export's tasks (JSON) or records (JSON-MIN); a file that is not a JSON list is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"annotate import: {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"annotate import: {path} is a folder, not a Label Studio export") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"annotate import: {path} is not UTF-8 text (byte {exc.start}); export the project "
                          "from Label Studio as JSON") from None
    except OSError as exc:
        raise ConfigError(f"annotate import: {path} cannot be read ({exc.strerror or exc})") from None
    try:
        export = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"annotate import: {path} is not valid JSON ({exc.msg}, line {exc.lineno} column "
                          f"{exc.colno})") from None
    except RecursionError:
        raise ConfigError(f"annotate import: {path} is JSON nested too deeply to be a Label Studio export") from None
    if not isinstance(export, list):
        raise ConfigError(f"annotate import: {path} is not a Label Studio JSON export (a list of tasks), "
                          f"it is {_json_type(export)}")
    return export


def _is_json_min(record: Any) -> bool:
    return isinstance(record, dict) and "data" not in record and "annotations" not in record and "item_id" in record


def _min_value(answer: Any) -> Any:
    """A JSON-MIN answer as a JSON result's value: JSON-MIN writes one choice bare, several as {"choices": [...]}."""
    if isinstance(answer, dict):
        return answer
    return {"choices": answer if isinstance(answer, list) else [answer]}


def from_json_min(export: list[Any], labels: list[str]) -> list[Any]:
    """The export with its JSON-MIN records made JSON tasks (other entries unchanged).

    JSON-MIN writes one record per annotation, so the records of one task (same ``id`` and
    ``item_id``) become one task with their annotations, and the latest one counts as in a JSON
    export; a record without a task id (or a text item_id) is a task of its own (two answers for
    one item are then a conflict, not a silent choice). A record without ``annotation_id`` or an
    answer is a task that was not annotated."""
    tasks: list[Any] = []
    grouped: dict[Any, dict[str, Any]] = {}
    for position, record in enumerate(export):
        if not _is_json_min(record):
            tasks.append(record)
            continue
        answers = [key for key in record if key == FIELD or key in labels]
        task_id, item = record.get("id"), record["item_id"]
        key: Any = (task_id, item) if isinstance(task_id, (int, str)) and isinstance(item, str) else position
        if key not in grouped:
            data = {k: v for k, v in record.items() if k not in (*MIN_ANNOTATION_KEYS, *answers, "id")}
            grouped[key] = {"id": task_id, "data": data, "annotations": []}
            tasks.append(grouped[key])
        if record.get("annotation_id") is not None or answers:
            grouped[key]["annotations"].append({
                "id": record.get("annotation_id"), "was_cancelled": record.get("was_cancelled", False),
                "created_at": record.get("created_at"), "updated_at": record.get("updated_at"),
                "result": [{"from_name": k, "type": "choices", "value": _min_value(record[k])} for k in answers]})
    return tasks


def is_cancelled(annotation: dict[str, Any]) -> bool:
    """Only a real true cancels: ``true``, ``1``, or "true" / "1" in any case. "false" is a
    non-empty string, true to Python, and was once read as cancelled."""
    flag = annotation.get("was_cancelled")
    if isinstance(flag, str):
        return flag.strip().lower() in CANCELLED
    return flag is True or (type(flag) is int and flag == 1)


def annotation_time(annotation: dict[str, Any]) -> datetime | None:
    """When the annotation was last saved (``updated_at``, else ``created_at``) as an aware
    datetime (no zone: UTC); None if it is not ISO 8601. Compared as text, "+02:00" and
    fractional seconds ordered times wrongly."""
    value = annotation.get("updated_at") or annotation.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _id_number(value: Any) -> float:
    """An annotation id for breaking a tie of times: ids are numbers, or digit strings in some
    exports; anything else sorts first (an int and a str are never compared)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return -inf


def latest_annotation(usable: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The annotation saved last (ties: the higher id, then the later one in the export); when a
    time cannot be parsed, the last one in the export's order, with a warning saying so."""
    if len(usable) == 1:
        return usable[0]
    times = [annotation_time(a) for a in usable]
    if any(when is None for when in times):
        shown = ", ".join(_short(a.get("updated_at") or a.get("created_at")) for a in usable)
        log.warning("annotate import: %s: annotation times %s are not all ISO 8601; the last annotation in the "
                    "export's order counts", name, shown)
        return usable[-1]
    latest = max(range(len(usable)), key=lambda i: (times[i], _id_number(usable[i].get("id")), i))
    return usable[latest]


def _usable_annotation(task: dict[str, Any], name: str) -> dict[str, Any]:
    annotations = task.get("annotations")
    if annotations is None:
        annotations = []
    if not isinstance(annotations, list):
        raise Skipped("annotations is not a list", f"it is {_json_type(annotations)}")
    bad = next((a for a in annotations if not isinstance(a, dict)), None)
    if bad is not None:
        raise Skipped("an annotation is not a JSON object", _short(bad))
    if not annotations:
        raise Skipped("not annotated")
    usable = [a for a in annotations if not is_cancelled(a)]
    if not usable:
        raise Skipped("cancelled")
    return latest_annotation(usable, name)


def _choices(value: Any) -> list[str]:
    """The choices of a result's value; a string is one choice (once split into its letters)."""
    if not isinstance(value, dict):
        raise Skipped("value is not a JSON object", f"value {_short(value)}")
    choices = value.get("choices")
    if isinstance(choices, str):
        return [choices]
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise Skipped("choices are not label names", f"choices {_short(choices)}")
    return choices


def _says_yes(value: Any, label: str) -> bool:
    """A per-label field's answer (one choice: 1 / 0, true / false, yes / no, any case)."""
    choices = value.get("choices") if isinstance(value, dict) else None
    answer = choices[0] if isinstance(choices, list) and len(choices) == 1 else None
    word = str(answer).lower() if isinstance(answer, (bool, int)) else answer
    word = word.strip().lower() if isinstance(word, str) else None
    if word not in (*YES, *NO):
        raise Skipped("a per-label answer is not yes / no", f"{label}: {_short(value)}")
    return word in YES


def chosen_labels(annotation: dict[str, Any], labels: list[str]) -> list[str]:
    """The labels an annotation chose: the ``topics`` field's choices, and each label whose own
    yes / no field says yes; a malformed result skips the task."""
    results = annotation.get("result")
    if results is None:
        return []
    if not isinstance(results, list):
        raise Skipped("result is not a list", f"it is {_json_type(results)}")
    chosen: list[str] = []
    for result in results:
        if not isinstance(result, dict):
            raise Skipped("a result is not a JSON object", _short(result))
        if result.get("type") != "choices":
            continue
        name = result.get("from_name")
        if name == FIELD:
            chosen += _choices(result.get("value"))
        elif isinstance(name, str) and name in labels and _says_yes(result.get("value"), name):
            chosen.append(name)
    return list(dict.fromkeys(chosen))


def _item_id(data: dict[str, Any]) -> str:
    """The task's item_id, a path; null, a list ("['x']") or an empty id was once written as is."""
    item = data["item_id"]
    if isinstance(item, str) and item.strip():
        return item
    kind = "empty" if isinstance(item, str) else _json_type(item)
    raise Skipped(f"item_id is {kind}", f"item_id {_short(item)}")


def _gold_row(task: Any, name: str, labels: list[str]) -> dict[str, str]:
    """The task's gold row; raises :class:`Skipped` for a task that has none."""
    if not isinstance(task, dict):
        raise Skipped("task is not a JSON object", f"it is {_json_type(task)}")
    data = task.get("data") if "data" in task else {}
    if not isinstance(data, dict):
        raise Skipped("data is not a JSON object", f"it is {_json_type(data)}")
    if "item_id" not in data:
        raise ConfigError(f"annotate import: {name} has no item_id (neither data.item_id of a JSON export nor "
                          "item_id of a JSON-MIN export): not an export of `annotate export` tasks")
    annotation = _usable_annotation(task, name)
    item = _item_id(data)
    chosen = chosen_labels(annotation, labels)
    unknown = sorted(set(chosen) - set(labels))
    if unknown:
        raise ConfigError(f"annotate import: {name} chose {unknown}, not labels of the taxonomy {labels}")
    stratum = data.get("stratum")
    if stratum is not None and not isinstance(stratum, str):
        log.warning("annotate import: %s: stratum %s is not text; written empty", name, _short(stratum))
    stratum = stratum if isinstance(stratum, str) else ""
    return {"item_id": item, "stratum": f"annotated:{stratum}",
            **{label: str(int(label in chosen)) for label in labels}}


def gold_rows(export: list[Any], labels: list[str]) -> tuple[pd.DataFrame, list[Skip]]:
    """(rows with item_id, stratum and 1/0 per label; the tasks that became no row, with why).

    Every task is one or the other; a malformed task is logged by name. One item annotated in
    two tasks is one row when the answers agree, and a ConfigError naming it when they do not:
    picking one of two gold answers would be a guess."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    skipped: list[Skip] = []
    conflicts: list[str] = []
    for position, task in enumerate(from_json_min(export, labels)):
        name = task_name(task, position)
        try:
            row = _gold_row(task, name, labels)
        except Skipped as skip:
            if skip.reason not in ROUTINE:
                log.warning("annotate import: %s skipped: %s%s", name, skip.reason,
                            f" ({skip.detail})" if skip.detail else "")
            skipped.append(Skip(name, skip.reason, skip.detail))
            continue
        first_name, first = rows.setdefault(row["item_id"], (name, row))
        if first is row:
            continue
        if [first[label] for label in labels] == [row[label] for label in labels]:
            skipped.append(Skip(name, "duplicate item, same answer", f"item {row['item_id']!r}, as {first_name}"))
        else:
            conflicts.append(f"item {row['item_id']!r}: {first_name} chose {_chosen(first, labels)}, {name} chose "
                             f"{_chosen(row, labels)}")
    if conflicts:
        more = f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        raise ConfigError(f"annotate import: {len(conflicts)} item(s) annotated in two tasks with conflicting answers "
                          f"({'; '.join(conflicts[:5])}{more}); settle each in Label Studio and export again")
    return pd.DataFrame([row for _, row in rows.values()], columns=["item_id", "stratum", *labels]), skipped


def _chosen(row: dict[str, str], labels: list[str]) -> list[str]:
    return [label for label in labels if row[label] == "1"]


def csv_safe(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with each cell and column name a spreadsheet would run as a formula prefixed
    with a single quote (OWASP); and the values changed. Plain numbers ("-0.5") are left alone;
    a cell already prefixed starts with the quote, so this is idempotent."""
    changed: list[str] = []

    def cell(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
            changed.append(value)
            return "'" + value
        return value

    safe = frame.map(cell) if len(frame) else frame.copy()
    safe.columns = [cell(column) for column in frame.columns]
    return safe, changed


def _csv_line(cells: Any) -> str:
    quote = '"'
    return ",".join(f"{quote}{cell.replace(quote, quote * 2)}{quote}" if any(c in cell for c in ',"\r\n') else cell
                    for cell in ("" if pd.isna(value) else str(value) for value in cells))


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` as CSV the way pandas does, except that a cell with a carriage return is
    quoted: pandas (the csv module) leaves a bare CR unquoted, readers and spreadsheets start a
    new row there, and "a.txt\\r=1+cmd" became a row of its own starting with a formula."""
    lines = [_csv_line(frame.columns), *(_csv_line(row) for row in frame.itertuples(index=False, name=None))]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="")


def read_gold(path: str, flag: str) -> pd.DataFrame:
    """A gold CSV, every cell text; one that is missing, unreadable or has no item_id column is a ConfigError."""
    try:
        gold = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ConfigError(f"annotate: {flag}: {path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"annotate: {flag}: {path} is not a readable CSV ({exc})") from None
    if "item_id" not in gold.columns:
        raise ConfigError(f"annotate: {flag}: {path} has no item_id column (not a gold CSV)")
    return gold


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (symlinks and hard links too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet)
        return a.resolve() == b.resolve()


def check_outputs(action: str, outputs: dict[str, str | None], inputs: list[str]) -> None:
    """Refuse, before anything is read or written, an output that would replace an input (or
    another output) or that is a folder."""
    given = {flag: Path(out) for flag, out in outputs.items() if out}
    for flag, out in given.items():
        for source in inputs:
            if _same_file(out, Path(source)):
                what = "the export" if action == "import" else f"an input ({source})"
                raise ConfigError(f"annotate {action}: {flag} {out} is {what}; write the output elsewhere")
        if out.is_dir():
            raise ConfigError(f"annotate {action}: {flag} {out} is a folder; give a file name")
    if len(given) == 2 and _same_file(*given.values()):
        raise ConfigError(f"annotate {action}: {' and '.join(given)} name the same file")


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
        ap.add_argument("--no-predictions", dest="predictions", action="store_false",
                        help="leave the model's predictions (pre-annotations) out of the tasks")
    else:
        ap.add_argument("export", help="input: Label Studio export (JSON or JSON-MIN) of the annotated tasks")
        ap.add_argument("--output", "-o", required=True, help="output: gold CSV")
        ap.add_argument("--into", help="append to this gold CSV (e.g. data/gold/gold.csv)")
    add_config_args(ap)
    return ap


def export_main(args: argparse.Namespace, labels: list[str]) -> None:
    check_outputs("export", {"-o": args.output, "--labeling-config": args.labeling_config},
                  [args.articles, args.topics, *args.exclude])
    exclude = {item for path in args.exclude for item in read_gold(path, "--exclude")["item_id"]}
    tasks = export_tasks(read_parquet(args.articles), read_parquet(args.topics), args.label, args.n,
                         args.strata, args.seed, exclude, predictions=args.predictions)
    with atomic_path(args.output) as tmp:
        tmp.write_text(json.dumps(tasks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.labeling_config:
        with atomic_path(args.labeling_config) as tmp:
            tmp.write_text(labeling_config(labels), encoding="utf-8")
    counts = pd.Series([t["data"]["stratum"] for t in tasks]).value_counts().sort_index().to_dict()
    log.info("annotate export: %d tasks%s -> %s (strata %s; %d gold items excluded)", len(tasks),
             "" if args.predictions else " without predictions", args.output, counts, len(exclude))


def import_main(args: argparse.Namespace, labels: list[str]) -> None:
    """Everything is read and checked before the one write, so a refusal leaves no file behind."""
    check_outputs("import", {"-o": args.output}, [args.export])
    export = read_export(Path(args.export))
    new, skipped = gold_rows(export, labels)
    rows, changed = csv_safe(new)
    twice = sorted(set(rows["item_id"][rows["item_id"].duplicated()]))
    if twice:
        raise ConfigError(f"annotate import: items {twice[:3]} would be written twice: ids that differ only by the "
                          "' prefix that keeps spreadsheets from running them are one item")
    if args.into:
        base, changed_base = csv_safe(read_gold(args.into, "--into"))
        rows, changed = merge_gold(base, rows), changed_base + changed
    if changed:
        log.warning("annotate import: %d cell(s) began with = + - @, a tab or a carriage return and got a ' prefix so "
                    "that spreadsheets do not run them as formulas (%s); an item_id changed this way no longer "
                    "matches its article's path", len(changed), ", ".join(_short(c) for c in changed[:3]))
    write_csv(rows, args.output)
    reasons = ", ".join(f"{reason}: {n}" for reason, n in Counter(s.reason for s in skipped).items())
    records = f" (from {len(export)} JSON-MIN records)" if len(export) != len(new) + len(skipped) else ""
    log.info("annotate import: %d tasks%s = %d gold rows + %d skipped (%s) -> %s", len(new) + len(skipped), records,
             len(new), len(skipped), reasons or "none", args.output)


def main(argv: list[str] | None = None) -> None:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {sys.argv[0]} {{export,import}} [options]\n\n"
              "Gold labels for a new topic label with Label Studio:\n"
              "  export  a stratified sample of articles as Label Studio tasks (+ the labeling interface)\n"
              "  import  a Label Studio export (JSON or JSON-MIN) into a gold CSV\n\n"
              "Run `annotate export --help` or `annotate import --help` for the options.")
        return
    if argv[0] not in ("export", "import"):
        raise ConfigError("annotate: first argument must be `export` or `import` (see --help of each)")
    action = argv[0]
    ap = _parser(action)
    ap.prog = f"{ap.prog} {action}"
    args = ap.parse_intermixed_args(argv[1:])
    cfg = config_from_args(args)
    labels = [lab.name for lab in cfg.taxonomy.labels]
    (export_main if action == "export" else import_main)(args, labels)


__all__ = ["Skip", "check_outputs", "chosen_labels", "csv_safe", "export_tasks", "from_json_min", "gold_rows",
           "is_cancelled", "labeling_config", "latest_annotation", "main", "merge_gold", "read_export", "read_gold",
           "stratified_sample", "write_csv"]
