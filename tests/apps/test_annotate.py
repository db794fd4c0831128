"""annotate: a stratified Label Studio export, and a Label Studio export back into gold."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes import section
from zeroshot_news.apps.annotate import export_tasks, gold_rows, labeling_config, main, merge_gold, stratified_sample
from zeroshot_news.config import ConfigError, EvaluationConfig
from zeroshot_news.evaluation.evaluate import evaluate, headline

FIXTURE = Path(__file__).parents[1] / "fixtures" / "label_studio_export.json"
LABELS = ["regional_security", "diplomacy", "military", "economy"]


def _corpus(n: int = 40):
    docs = [f"d{i}" for i in range(n)]
    articles = pd.DataFrame({"doc_id": docs, "path": [f"bbc/a{i}.txt" for i in range(n)],
                             "title": [f"title {i}" for i in range(n)], "body": [f"body {i}" for i in range(n)]})
    rows = [{"doc_id": d, "label": lab, "score": (i / n if lab == "economy" else 0.1),
             "predicted": lab == "economy" and i / n >= 0.5} for i, d in enumerate(docs) for lab in LABELS]
    return articles, pd.DataFrame(rows)


def test_sample_draws_equally_from_score_strata_and_is_seeded():
    scores = pd.Series([i / 100 for i in range(100)], index=[f"d{i}" for i in range(100)])
    sample = stratified_sample(scores, 10, 4, seed=0)
    assert len(sample) == 10 and sample.value_counts().to_dict() == {
        "score_1_of_4": 2, "score_2_of_4": 2, "score_3_of_4": 3, "score_4_of_4": 3}
    top = {f"d{i}" for i in range(75, 100)}
    assert set(sample[sample == "score_4_of_4"].index) <= top  # the high-score stratum: likely positives
    assert stratified_sample(scores, 10, 4, seed=0).equals(sample)
    assert not stratified_sample(scores, 10, 4, seed=1).equals(sample)


def test_export_tasks_carry_text_item_id_and_predictions_and_skip_gold():
    articles, topics = _corpus()
    tasks = export_tasks(articles, topics, "economy", n=8, strata=4, seed=0, exclude={"bbc/a39.txt"})
    assert len(tasks) == 8 and all(t["data"]["item_id"] != "bbc/a39.txt" for t in tasks)
    task = tasks[-1]
    assert set(task["data"]) == {"title", "text", "item_id", "doc_id", "stratum", "score"}
    (result,) = task["predictions"][0]["result"]
    assert (result["from_name"], result["to_name"], result["type"]) == ("topics", "text", "choices")
    i = int(task["data"]["doc_id"][1:])
    assert result["value"]["choices"] == (["economy"] if i >= 20 else [])
    with pytest.raises(ConfigError, match="--label 'sport' has no predictions"):
        export_tasks(articles, topics, "sport", 8, 4, 0, set())


def test_export_tasks_can_leave_out_the_pre_annotations():
    """Annotators who should not see the model's answer (anchoring) get tasks without predictions."""
    articles, topics = _corpus()
    bare = export_tasks(articles, topics, "economy", n=8, strata=4, seed=0, exclude=set(), predictions=False)
    full = export_tasks(articles, topics, "economy", n=8, strata=4, seed=0, exclude=set())
    assert all("predictions" not in t for t in bare) and all(t["predictions"] for t in full)
    assert [t["data"] for t in bare] == [t["data"] for t in full]  # the same sample either way


def test_labeling_config_names_every_label_in_one_choices_field():
    xml = labeling_config(LABELS)
    assert '<Choices name="topics" toName="text" choice="multiple"' in xml
    assert all(f'<Choice value="{lab}"/>' in xml for lab in LABELS) and '<Text name="text" value="$text"/>' in xml


def test_import_takes_the_latest_usable_annotation_and_counts_the_rest():
    rows, skipped = gold_rows(json.loads(FIXTURE.read_text()), LABELS)
    assert [(s.task, s.reason) for s in skipped] == [("task 103", "cancelled"), ("task 104", "not annotated")]
    assert rows.to_dict("records") == [
        {"item_id": "bbc/a1.txt", "stratum": "annotated:score_4_of_4", "regional_security": "0", "diplomacy": "0",
         "military": "1", "economy": "1"},  # the later of two annotations
        {"item_id": "bbc/a2.txt", "stratum": "annotated:score_1_of_4", "regional_security": "0", "diplomacy": "0",
         "military": "0", "economy": "0"},  # annotated, no topic chosen
    ]
    with pytest.raises(ConfigError, match=r"chose \['economy'\], not labels of the taxonomy"):
        gold_rows(json.loads(FIXTURE.read_text()), LABELS[:3])


def test_merge_adds_the_new_label_empty_for_older_gold_and_refuses_duplicates():
    base = pd.DataFrame({"item_id": ["old.txt"], "stratum": ["bbc"], "military": ["1"]})
    rows, _ = gold_rows(json.loads(FIXTURE.read_text()), LABELS)
    merged = merge_gold(base, rows)
    assert list(merged.columns)[:3] == ["item_id", "stratum", "military"]
    assert merged.loc[0, "economy"] == "" and merged.loc[1, "economy"] == "1"
    with pytest.raises(ConfigError, match="already gold"):
        merge_gold(merged, rows)


def test_a_label_annotated_on_a_sample_is_evaluated_on_its_items():
    """Adding a label end to end: predictions for it, gold for a sample, evaluate scores it there."""
    _, topics = _corpus(8)
    base = pd.DataFrame({"item_id": [f"bbc/a{i}.txt" for i in range(8)], "stratum": "s",
                         "military": ["0"] * 8, "regional_security": ["0"] * 8, "diplomacy": ["0"] * 8})
    new = pd.DataFrame({"item_id": [f"bbc/a{i}.txt" for i in (10, 11)], "stratum": "annotated:x",
                        "military": ["0", "0"], "regional_security": ["0", "0"], "diplomacy": ["0", "0"],
                        "economy": ["1", "0"]})
    gold = base.assign(economy=["1", "1", "0", "", "", "", "", ""])  # 3 items annotated for economy
    gold = gold.assign(doc_id=[f"d{i}" for i in range(8)])
    stance = pd.DataFrame({"doc_id": [f"d{i}" for i in range(8)], "target": "taliban", "label": "none"})
    crowd = pd.DataFrame(columns=["doc_id", "target", "label"])
    cfg = section(EvaluationConfig, "evaluation")
    metrics, _ = evaluate(topics, stance, gold, crowd, LABELS, ["taliban"], cfg)
    assert metrics["topics_partial"]["economy"]["items"] == 3
    assert set(metrics["topics"]["per_label"]) == {"regional_security", "diplomacy", "military"}
    assert "economy" in headline(metrics)["topics"]["f1"]
    assert len(merge_gold(base, new)) == 10


def test_cli_round_trip(tmp_path):
    articles, topics = _corpus()
    articles.to_parquet(tmp_path / "a.parquet")
    topics.to_parquet(tmp_path / "t.parquet")
    overrides = ["+taxonomy.labels.economy={threshold: 0.5, descriptions: [the economy]}"]
    main(["export", "--articles", str(tmp_path / "a.parquet"), "--topics", str(tmp_path / "t.parquet"),
          "--label", "economy", "--n", "6", "-o", str(tmp_path / "tasks.json"),
          "--labeling-config", str(tmp_path / "ls.xml"), *overrides])
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert len(tasks) == 6 and "economy" in (tmp_path / "ls.xml").read_text()
    for task in tasks:  # what Label Studio exports after an annotator accepted each pre-annotation
        task["annotations"] = [{"id": 1, "was_cancelled": False, "result": task["predictions"][0]["result"]}]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    base = tmp_path / "gold.csv"
    pd.DataFrame({"item_id": ["x.txt"], "stratum": ["s"], "military": ["1"]}).to_csv(base, index=False)
    main(["import", str(tmp_path / "export.json"), "-o", str(tmp_path / "new.csv"), "--into", str(base),
          *overrides])
    gold = pd.read_csv(tmp_path / "new.csv", dtype=str, keep_default_na=False)
    assert len(gold) == 7 and gold.loc[0, "economy"] == ""
    expected = ["1" if int(t["data"]["doc_id"][1:]) >= 20 else "0" for t in tasks]
    assert list(gold["economy"][1:]) == expected


def _json_min(export: list[dict]) -> list[dict]:
    """What Label Studio's JSON-MIN export makes of ``export``: one flat record per non-cancelled
    annotation (data fields, the task id, one key per from_name: the choice when there is one,
    else {"choices": [...]}), and one record without annotation fields for a task without any."""
    records = []
    for task in export:
        annotations = [a for a in task["annotations"] if not a["was_cancelled"]]
        if not task["annotations"]:
            records.append({**task["data"], "id": task["id"], "annotator": None, "annotation_id": None,
                            "created_at": None, "updated_at": None, "lead_time": None})
        for a in annotations:
            record = {**task["data"], "id": task["id"]}
            for result in a["result"]:
                choices = result["value"]["choices"]
                record[result["from_name"]] = choices[0] if len(choices) == 1 else {"choices": choices}
            records.append({**record, "annotator": a["completed_by"], "annotation_id": a["id"],
                            "created_at": a["created_at"], "updated_at": a["updated_at"], "lead_time": 1.0})
    return records


def test_import_reads_label_studio_json_min_exports():
    """JSON-MIN was refused as "no data.item_id (not an export of `annotate export` tasks)"."""
    full = json.loads(FIXTURE.read_text())
    records = _json_min(full)
    assert records[0]["topics"] == "military" and records[1]["topics"] == {"choices": ["military", "economy"]}
    rows, skipped = gold_rows(records, LABELS)
    assert rows.equals(gold_rows(full, LABELS)[0])  # task 101's two records: the later annotation counts
    assert [(s.task, s.reason) for s in skipped] == [("task 104", "not annotated")]  # 103's cancel is not exported


def test_import_reads_json_min_with_one_field_per_label():
    """A labeling config with one yes/no Choices per label exports {"military": "1", ...}."""
    records = [{"id": 1, "item_id": "bbc/a1.txt", "stratum": "s", "military": "1", "economy": "0",
                "annotation_id": 3, "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"},
               {"id": 2, "item_id": "bbc/a2.txt", "stratum": "s", "military": "no", "diplomacy": "Yes",
                "annotation_id": 4, "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"},
               {"id": 3, "item_id": "bbc/a3.txt", "stratum": "s", "military": "maybe", "annotation_id": 5}]
    rows, skipped = gold_rows(records, LABELS)
    assert rows[["item_id", *LABELS]].values.tolist() == [["bbc/a1.txt", "0", "0", "1", "0"],
                                                          ["bbc/a2.txt", "0", "1", "0", "0"]]
    assert [(s.task, s.reason) for s in skipped] == [("task 3", "a per-label answer is not yes / no")]


def test_cli_export_without_predictions(tmp_path):
    articles, topics = _corpus()
    articles.to_parquet(tmp_path / "a.parquet")
    topics.to_parquet(tmp_path / "t.parquet")
    main(["export", "--articles", str(tmp_path / "a.parquet"), "--topics", str(tmp_path / "t.parquet"),
          "--label", "economy", "--n", "4", "-o", str(tmp_path / "tasks.json"), "--no-predictions",
          "+taxonomy.labels.economy={threshold: 0.5, descriptions: [the economy]}"])
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert len(tasks) == 4 and not any("predictions" in t for t in tasks)


def test_cli_export_never_overwrites_its_inputs(tmp_path):
    articles, topics = _corpus()
    articles.to_parquet(tmp_path / "a.parquet")
    topics.to_parquet(tmp_path / "t.parquet")
    before = (tmp_path / "a.parquet").read_bytes()
    for flag in ("-o", "--labeling-config"):
        out = ["-o", str(tmp_path / "tasks.json")] if flag == "--labeling-config" else []
        with pytest.raises(ConfigError, match=f"{flag} .* is an input"):
            main(["export", "--articles", str(tmp_path / "a.parquet"), "--topics", str(tmp_path / "t.parquet"),
                  "--label", "economy", *out, flag, str(tmp_path / "a.parquet"),
                  "+taxonomy.labels.economy={threshold: 0.5, descriptions: [the economy]}"])
    assert (tmp_path / "a.parquet").read_bytes() == before and not (tmp_path / "tasks.json").exists()


def test_annotate_help_exits_0():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "zeroshot_news", "annotate", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "export" in proc.stdout and "import" in proc.stdout
