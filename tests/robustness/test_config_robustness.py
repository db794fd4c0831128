"""Config values that used to pass validation and fail later (or never): NaN / inf, names
that are paths or XML, templates with extra fields, a params file that is not YAML."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from zeroshot_news.config import ConfigError, compose_config, parse_config

CONF = REPO / "conf"


@pytest.mark.parametrize("override", [
    "model.calibration_center=nan", "model.calibration_scale=inf", "self_train.C=nan",
    "stance.neutral_margin=nan", "engine.cpus_per_actor=inf", "stance.relevance_threshold=-inf",
])
def test_non_finite_numbers_are_refused(override):
    with pytest.raises(ConfigError, match="finite"):
        parse_config(compose_config(CONF, [override]))


@pytest.mark.parametrize("name", ["../../escape", 'war & "peace"', "9lives", "a b", "x" * 65])
def test_label_and_target_names_must_be_identifier_like(name):
    data = compose_config(CONF)
    data["taxonomy"]["labels"][name] = dict(data["taxonomy"]["labels"]["military"])
    with pytest.raises(ConfigError, match="identifier-like"):
        parse_config(data)
    data = compose_config(CONF)
    data["stance"]["targets"][name] = dict(data["stance"]["targets"]["taliban"])
    with pytest.raises(ConfigError, match="identifier-like"):
        parse_config(data)


@pytest.mark.parametrize("template", ["About {}. {x}", "{:{}}", "{0}", "{!r}", "open { brace"])
def test_templates_with_other_fields_are_refused_at_load(template):
    data = compose_config(CONF)
    data["stance"]["relevance_template"] = template
    with pytest.raises(ConfigError, match="relevance_template"):
        parse_config(data)


def test_a_params_file_that_is_not_yaml_exits_2(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("model: [unclosed\n  : :\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "zeroshot_news", "classify", str(REPO / "data" / "raw" / "seed"),
                           "-o", str(tmp_path / "out.jsonl"), "--params", str(bad)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "not valid YAML" in proc.stderr


@pytest.mark.parametrize(("override", "expected"), [
    ("taxonomy.labels.militray.threshold=0.6", "Did you mean 'military'"),
    ("stance.targets.talibn.aliases=[x]", "Did you mean 'taliban'"),
])
def test_a_typo_in_a_label_or_target_name_names_the_existing_ones(override, expected):
    with pytest.raises(ConfigError, match=expected) as err:
        compose_config(CONF, [override])
    assert "To add a new one" in str(err.value) and "+" in str(err.value)


def test_quiet_shows_no_progress_bars(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zeroshot_news", "-q", "classify", str(REPO / "data" / "raw" / "seed"),
                           "-o", str(tmp_path / "o.jsonl"), f"cache.path={tmp_path / 'c.sqlite'}"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # no bars, no INFO lines
