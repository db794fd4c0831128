"""`experiments`: changed params beside headline metrics, from `dvc exp show --json`."""

import json

from zeroshot_news.apps.experiments import main, rows_of, table


def _row(rev, params, metrics, name=None, experiments=None):
    return {"rev": rev, "name": name, "error": None, "experiments": experiments, "data": {
        "rev": rev, "params": {"params.yaml": {"data": params}},
        "metrics": {path: {"data": data} for path, data in metrics.items()}}}


BASE_PARAMS = {"model": {"backend": "embedding", "batch_size": 32},
               "stance": {"targets": {"taliban": {"aliases": ["Taliban"]}}}}
EXP_PARAMS = {"model": {"backend": "nli", "batch_size": 32},
              "stance": {"targets": {"taliban": {"aliases": ["Taliban", "Islamic Emirate"]}}}}
SHOW = [
    _row("workspace", BASE_PARAMS, {"metrics/evaluation.json": {"topics": {"macro_f1": 0.8371}}}),
    _row("abc1234def", BASE_PARAMS, {"metrics/evaluation.json": {"topics": {"macro_f1": 0.8371}},
                                     "metrics/benchmark/fnc1.json": {"relative_score": 56.54}}, name="main",
         experiments=[{"name": "nervy-pike", "revs": [_row(
             "ffff000", EXP_PARAMS, {"metrics/evaluation.json": {"topics": {"macro_f1": 0.61}}}, name="nervy-pike")]}]),
]


def test_each_experiment_shows_what_it_changed_beside_its_metrics():
    lines = table(SHOW).splitlines()
    assert len(lines) == 2 + 3  # header, rule, workspace, commit, experiment
    exp = next(line for line in lines if line.startswith("| nervy-pike"))
    assert "model.backend=nli" in exp and 'stance.targets.taliban.aliases=["Taliban", "Islamic Emirate"]' in exp
    assert "batch_size" not in exp  # unchanged knobs stay out
    assert "| 0.6100 |" in exp and exp.endswith("| – |")  # a metric the experiment has not: –
    assert "| main | (baseline) | 0.8371 |" in table(SHOW)
    assert "| workspace | (none) |" in table(SHOW)  # the workspace against HEAD


def test_rows_keep_dvc_order_and_baselines():
    names = [(name, base["rev"] if base else None) for name, _, base in rows_of(SHOW)]
    assert names == [("workspace", "abc1234def"), ("main", None), ("nervy-pike", "abc1234def")]


def test_cli_reads_a_saved_show_and_adds_metric_columns(tmp_path, capsys):
    saved = tmp_path / "show.json"
    saved.write_text(json.dumps(SHOW))
    assert main(["--input", str(saved), "--metric", "metrics/benchmark/fnc1.json:relative_score"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("| relative_score |") and "56.54" in out


def test_unreadable_input_is_a_clear_error(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "missing.json")]) == 2
    assert "experiments:" in capsys.readouterr().err
