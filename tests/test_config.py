"""Config composition (Hydra compose API), the params.yaml drift check, and validation."""

from __future__ import annotations

import copy
import dataclasses
import typing

import pytest
import yaml

from tests.conftest import REPO
from zeroshot_news.config import ConfigError, compose_config, load_config, parse_config

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
    for group in ("corpus", "cleaning", "taxonomy", "stance", "model", "evaluation", "engine",
                  "nli_training"):
        for option in sorted((CONF / group).glob("*.yaml")):
            parse_config(compose_config(CONF, [f"{group}={option.stem}"]))
    for option in sorted((CONF / "benchmark").glob("*.yaml")):  # placed per benchmark: benchmarks.<name>
        parse_config(compose_config(CONF, [f"benchmark@benchmarks.{option.stem.split('_')[0]}={option.stem}"]))


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
    (("model", "precision"), "int4", r"model\.precision: must be one of"),
    (("taxonomy", "hypothesis_template"), "no placeholder", r"taxonomy\.hypothesis_template"),
    (("taxonomy", "labels"), [], r"taxonomy\.labels"),
    (("stance", "none_rule"), "sometimes", r"stance\.none_rule"),
    (("stance", "templates"), {"favor": ["{}"]}, r"stance\.templates"),
    (("stance", "restrict_to_topics"), ["sport"], r"stance\.restrict_to_topics"),
    (("stance", "favor_lead"), 1.5, r"stance\.favor_lead: must be in \[0, 1\]"),
    (("stance", "against_lead"), KeyError, r"stance\.against_lead: missing required key"),
    (("cleaning", "near_duplicates", "threshold"), 1.5, r"cleaning\.near_duplicates\.threshold"),
    (("corpus", "sources"), [], r"corpus\.sources"),
    (("topic", "passage_aggregate"), KeyError, r"topic\.passage_aggregate: missing required key"),
    (("topic", "short_zero_shot_weight"), 1.5, r"topic\.short_zero_shot_weight: must be in \[0, 1\]"),
    (("model", "calibration_scale"), KeyError, r"model\.calibration_scale: required by the embedding backend"),
    (("model", "calibration_center"), None, r"model\.calibration_center: required by the embedding backend"),
    (("model", "precision"), "bf16", r"model\.precision: the embedding backend runs fp32 or int8"),
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
    def nli(**kw):
        return parse_config(compose_config(CONF, ["model=nli", *(f"model.{k}={v}" for k, v in kw.items())]))

    with pytest.raises(ConfigError, match=r"onnx runs on the CPU"):
        nli(runtime="onnx", device="cuda")
    with pytest.raises(ConfigError, match=r"bf16 is a torch runtime option"):
        nli(runtime="onnx", precision="bf16")
    nli(runtime="onnx", precision="int8")
    nli(runtime="torch", precision="bf16")
    with pytest.raises(ConfigError, match=r"bf16"):
        nli(runtime="auto", precision="bf16")
    with pytest.raises(ConfigError, match=r"model\.calibration_center: not an option of the nli backend"):
        parse_config(compose_config(CONF, ["model=nli", "+model.calibration_center=0.3"]))


def test_stance_nli_reuses_the_model_group():
    """stance=nli is conf/model/nli.yaml under stance.model (runtime and token cap included), not a copy."""
    composed = compose_config(CONF, ["stance=nli"])
    assert composed["stance"]["model"] == compose_config(CONF, ["model=nli"])["model"]
    assert composed["model"]["backend"] == "embedding"  # the topic model is unchanged
    cfg = parse_config(composed)
    assert (cfg.stance_model().runtime, cfg.stance_model().max_batch_tokens) == ("auto", 4096)
    assert compose_config(CONF, ["stance=nli", "stance.model.batch_size=8"])["stance"]["model"]["batch_size"] == 8


# --- one home for defaults: conf/ ------------------------------------------------


def _options():
    for group in sorted(p for p in CONF.iterdir() if p.is_dir()):
        for option in sorted(group.glob("*.yaml")):
            if group.name == "benchmark":  # placed per benchmark: benchmarks.<name>
                yield f"benchmark@benchmarks.{option.stem.split('_')[0]}={option.stem}"
            else:
                yield f"{group.name}={option.stem}"


def _defaults_against(cls, data, key, found):
    """Every dataclass default of ``cls`` whose key ``data`` (conf) also sets, recursively."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        sub = f"{key}.{f.name}"
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if dataclasses.is_dataclass(default):
                default = dataclasses.asdict(default)
            if default is not None:  # None: an optional key ("absent"), never a competing value
                found.append((sub, default, data[f.name]))
        types = {typing.get_args(tp)[0] if typing.get_origin(tp) is list else tp
                 for tp in (hints[f.name], *typing.get_args(hints[f.name]))}
        for inner in types:
            if dataclasses.is_dataclass(inner) and data[f.name] is not None:
                items = data[f.name] if isinstance(data[f.name], list) else [data[f.name]]
                for i, item in enumerate(items):
                    _defaults_against(inner, item, f"{sub}[{i}]", found)


@pytest.mark.parametrize("option", list(_options()))
def test_schema_defaults_never_compete_with_conf(option):
    """conf/ holds the values: a dataclass default may only equal what conf/ says (or be None)."""
    from zeroshot_news.config import Config

    found: list = []
    _defaults_against(Config, compose_config(CONF, [option]), "config", found)
    competing = [(key, default, conf) for key, default, conf in found if default != conf]
    assert not competing, f"schema defaults that disagree with conf/ ({option}): {competing}"


# --- labels and targets keyed by name -----------------------------------------------


def test_labels_and_targets_are_keyed_by_name_in_conf_order():
    cfg = parse_config(compose_config(CONF, ["taxonomy.labels.military.threshold=0.6",
                                             "stance.targets.taliban.aliases=[Taliban,Islamic Emirate]"]))
    assert [(lab.name, lab.threshold) for lab in cfg.taxonomy.labels] == [
        ("regional_security", 0.5), ("diplomacy", 0.5), ("military", 0.6)]
    assert [t.name for t in cfg.stance.targets][-1] == "taliban"
    assert cfg.stance.targets[-1].aliases == ["Taliban", "Islamic Emirate"]


def test_a_label_can_be_added_by_override_and_comes_last():
    cfg = parse_config(compose_config(CONF, ["+taxonomy.labels.economy={threshold: 0.5, descriptions: [the economy]}"]))
    assert [lab.name for lab in cfg.taxonomy.labels][-1] == "economy"
    assert cfg.taxonomy.labels[-1].descriptions == ["the economy"]


def test_keyed_item_errors_name_the_key():
    data = compose_config(CONF, [])
    data["taxonomy"]["labels"]["military"]["name"] = "army"
    with pytest.raises(ConfigError, match=r"taxonomy.labels.military.name: 'army' differs from its key"):
        parse_config(data)
    data = compose_config(CONF, [])
    del data["taxonomy"]["labels"]["military"]["descriptions"]
    with pytest.raises(ConfigError, match=r"taxonomy.labels.military.descriptions: missing required key"):
        parse_config(data)
    data = compose_config(CONF, [])
    data["stance"]["targets"] = {}
    with pytest.raises(ConfigError, match=r"stance.targets: at least one target"):
        parse_config(data)
    data = compose_config(CONF, [])
    data["stance"]["targets"]["taliban"] = ["Taliban"]
    with pytest.raises(ConfigError, match=r"stance.targets.taliban: expected a mapping"):
        parse_config(data)
