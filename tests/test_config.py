"""Config composition (Hydra compose API), the params.yaml drift check, and validation."""

from __future__ import annotations

import copy

import pytest
import yaml

from zeroshot_news.config import ConfigError, compose_config, load_config, parse_config

from .conftest import REPO

CONF = REPO / "conf"


@pytest.fixture(scope="module")
def composed() -> dict:
    return compose_config(CONF)


def test_params_yaml_is_the_composition_of_conf(composed):
    """params.yaml is committed; it must equal what Hydra composes from conf/ (no drift).

    Fix a failure with `make params` (python -m zeroshot_news compose -o params.yaml).
    """
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    assert params == composed


def test_default_config_validates(composed):
    cfg = parse_config(composed)
    assert [lab.name for lab in cfg.taxonomy.labels] == ["regional_security", "diplomacy", "military"]
    assert {t.name for t in cfg.stance.targets} >= {"russian_government", "taliban"}
    assert cfg.model.backend == "embedding"


@pytest.mark.parametrize("override, key, value", [
    (["model=nli"], ("model", "backend"), "nli"),
    (["corpus=bbc_full"], ("corpus", "name"), "bbc_full"),
    (["model.batch_size=8"], ("model", "batch_size"), 8),
])
def test_compose_overrides(override, key, value):
    data = compose_config(CONF, override)
    assert data[key[0]][key[1]] == value
    parse_config(data)


def test_every_config_group_option_composes():
    for group in ("corpus", "cleaning", "taxonomy", "stance", "model", "evaluation"):
        for option in sorted((CONF / group).glob("*.yaml")):
            parse_config(compose_config(CONF, [f"{group}={option.stem}"]))


def test_unknown_override_is_a_config_error():
    with pytest.raises(ConfigError, match="foo"):
        compose_config(CONF, ["foo=1"])


def _broken(composed, path, value):
    data = copy.deepcopy(composed)
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    (("model", "batch_sise"), 4, r"model\.batch_sise: unknown key"),
    (("model", "batch_size"), 0, r"model\.batch_size: must be >= 1"),
    (("model", "batch_size"), "big", r"model\.batch_size: expected an integer"),
    (("model", "backend"), "svm", r"model\.backend: must be one of"),
    (("model", "device"), "gpu0", r"model\.device"),
    (("model", "runtime"), "tensorrt", r"model\.runtime: must be one of"),
    (("model", "runtime"), "onnx", r"model\.runtime/precision: only the nli backend"),
    (("model", "precision"), "int4", r"model\.precision: must be one of"),
    (("taxonomy", "hypothesis_template"), "no placeholder", r"taxonomy\.hypothesis_template"),
    (("taxonomy", "labels"), [], r"taxonomy\.labels"),
    (("stance", "none_rule"), "sometimes", r"stance\.none_rule"),
    (("stance", "templates"), {"favor": ["{}"]}, r"stance\.templates"),
    (("stance", "restrict_to_topics"), ["sport"], r"stance\.restrict_to_topics"),
    (("cleaning", "near_duplicates", "threshold"), 1.5, r"cleaning\.near_duplicates\.threshold"),
    (("corpus", "sources"), [], r"corpus\.sources"),
    (("seed",), KeyError, r"seed: missing required key"),
])
def test_bad_values_fail_naming_the_key(composed, path, value, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(_broken(composed, path, value))


def test_bad_regex_names_the_pattern(composed):
    data = copy.deepcopy(composed)
    data["cleaning"]["patterns"][0]["pattern"] = "(unclosed"
    with pytest.raises(ConfigError, match=r"cleaning\.patterns\[0\]\.pattern: invalid regex"):
        parse_config(data)


def test_missing_corpus_path_is_clear(composed, tmp_path):
    data = _broken(composed, ("corpus", "sources"), [{"name": "x", "format": "native", "path": str(tmp_path / "nope")}])
    cfg = parse_config(data)
    with pytest.raises(ConfigError, match=r"corpus\.sources\[0\]\.path: .*does not exist"):
        cfg.corpus.check_paths()


def test_load_config_reads_params_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "params.yaml")


def test_onnx_runtime_needs_the_cpu_and_no_bf16():
    from zeroshot_news.config import ModelConfig

    with pytest.raises(ConfigError, match=r"onnx runs on the CPU"):
        ModelConfig(backend="nli", name_or_path="m", runtime="onnx", device="cuda").validate("model")
    with pytest.raises(ConfigError, match=r"bf16 is a torch runtime option"):
        ModelConfig(backend="nli", name_or_path="m", runtime="onnx", precision="bf16").validate("model")
    ModelConfig(backend="nli", name_or_path="m", runtime="onnx", precision="int8").validate("model")
    with pytest.raises(ConfigError, match=r"bf16"):
        ModelConfig(backend="nli", name_or_path="m", runtime="auto", precision="bf16").validate("model")
