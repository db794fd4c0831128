"""Loading configuration: compose ``conf/`` with Hydra or read ``params.yaml``, then validate.

Every stage and the CLI go through :func:`load_params` / :func:`compose_config` and
:func:`parse_config`, so a bad key or value fails before any data is read, with a
message naming the full key path (``stance.targets.taliban.aliases``). :func:`add_config_args`
and :func:`config_from_args` give every command the same two ways in: ``--params
params.yaml`` (what DVC runs) or Hydra overrides composed from ``--config-dir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from zeroshot_news.config.schema import Config, ConfigError, ModelConfig

# ---------------------------------------------------------------------------
# Parsing: dict -> dataclasses, strict about keys and types
# ---------------------------------------------------------------------------


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{key}: must not be null")
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _convert(a, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if value is None:
        raise ConfigError(f"{key}: must not be null")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key}: must be one of {list(args)}, got {value!r}")
        return value
    if origin is list:
        if isinstance(value, dict) and _named(args[0]):
            return [_convert(args[0], v, f"{key}.{name}") for name, v in _keyed_items(value, key)]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return {str(k): _convert(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):  # nan / inf would pass every range check and poison scores
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {key}")  # a bug in this module


def _named(tp: Any) -> bool:
    """A dataclass with a ``name`` field: its lists may be written as mappings keyed by name."""
    return dataclasses.is_dataclass(tp) and any(f.name == "name" for f in dataclasses.fields(tp))


def _keyed_items(value: dict, key: str) -> list[tuple[str, Any]]:
    """``{military: {...}, diplomacy: {...}}`` -> [(name, {name: ..., ...})] in the mapping's
    order (the YAML order: labels and targets keep a deterministic order). Keying by name
    lets an override, a diff or a plot name the item: ``taxonomy.labels.military.threshold``."""
    items = []
    for name, body in value.items():
        check_name(str(name), f"{key}.{name}")
        if not isinstance(body, dict):
            raise ConfigError(f"{key}.{name}: expected a mapping, got {type(body).__name__}")
        if "name" in body and body["name"] != name:
            raise ConfigError(f"{key}.{name}.name: {body['name']!r} differs from its key {name!r}")
        items.append((str(name), {"name": str(name), **body}))
    return items


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_name(name: str, key: str) -> None:
    """Names of labels, targets and sources become file names, plot names, Label Studio XML and
    log lines: identifier-like only (letters, digits, underscores; not starting with a digit)."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"{key}: the name {name!r} must be identifier-like (letters, digits and _, "
                          "not starting with a digit, at most 64 characters)")


def _build(cls: type, data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{key or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{key}." if key else ""
        raise ConfigError(
            f"{where}{unknown[0]}: unknown key (allowed: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, f in fields.items():
        sub = f"{key}.{name}" if key else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: missing required key")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(key)
    return obj


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a composed config mapping and return the typed :class:`Config`."""
    return _build(Config, data, "")


def parse_section(cls: type, data: Any, key: str) -> Any:
    """Validate one section (e.g. ``nli_training``) against its dataclass."""
    return _build(cls, data, key)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

DEFAULT_CONFIG_DIR = Path("conf")
DEFAULT_PARAMS = Path("params.yaml")


def load_params(path: Path | str = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read params.yaml (plain YAML, never executed: safe_load only)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"params file {str(path)!r} does not exist")
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"params file {str(path)!r} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"params file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def compose_config(
    config_dir: Path | str = DEFAULT_CONFIG_DIR, overrides: list[str] | None = None
) -> dict[str, Any]:
    """Compose ``conf/config.yaml`` with Hydra overrides, the way ``dvc exp run -S`` does."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_dir = Path(config_dir).resolve()
    if not (config_dir / "config.yaml").exists():
        raise ConfigError(f"config dir {str(config_dir)!r} has no config.yaml")
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides or []))
        data = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        hint = _named_item_hint(config_dir, list(overrides or []))
        raise ConfigError(hint or f"cannot compose {config_dir} with {overrides}: {exc}") from exc
    assert isinstance(data, dict)
    return data


# Mappings of named items: an override naming an item that is not there is a typo far more
# often than a wish to add one (Hydra's own advice is to append with `+`).
NAMED_MAPPINGS = ("taxonomy.labels", "stance.targets", "benchmarks")


def _named_item_hint(config_dir: Path, overrides: list[str]) -> str | None:
    """For ``taxonomy.labels.militray.threshold=0.6``: which labels there are, and how to add one."""
    others = [o for o in overrides if not any(o.lstrip("+~").startswith(m + ".") for m in NAMED_MAPPINGS)]
    if len(others) == len(overrides):  # no named item in the overrides (and no recursion)
        return None
    try:
        base = compose_config(config_dir, others)
    except ConfigError:
        return None
    for override in overrides:
        if override.startswith(("+", "~")) or "=" not in override:
            continue
        key = override.split("=", 1)[0]
        for mapping in NAMED_MAPPINGS:
            if not key.startswith(mapping + "."):
                continue
            node: Any = base
            for part in mapping.split("."):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            name = key[len(mapping) + 1:].split(".")[0]
            if isinstance(node, dict) and name not in node:
                close = difflib.get_close_matches(name, list(node), n=1)
                guess = f" Did you mean {close[0]!r}?" if close else ""
                return (f"{mapping} has no {name!r} (it has {', '.join(node)}).{guess} To add a new one, "
                        f"write +{mapping}.{name}={{...}} with all its fields.")
    return None


def dump_params(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load_config(params: Path | str = DEFAULT_PARAMS) -> Config:
    return parse_config(load_params(params))


def find_project(start: Path | str | None = None) -> Path | None:
    """The project a command outside the repository should use: the nearest folder at or
    above ``start`` (default: the working directory) with ``conf/config.yaml``, else the
    checkout this package is installed from (an editable install), else None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "conf" / "config.yaml").is_file():
            return folder
    checkout = Path(__file__).resolve().parents[3]  # src/zeroshot_news/config/load.py -> repo
    return checkout if (checkout / "conf" / "config.yaml").is_file() else None


def anchor_paths(cfg: Config, root: Path | str) -> Config:
    """Relative paths of ``cfg`` (cache, ONNX exports, model folders) read against the project
    ``root`` instead of the working directory, so a command run anywhere uses the project's
    models and cache. ``package:`` and hub ids are left alone."""
    from dataclasses import replace

    root = Path(root).resolve()

    def under_root(path: str) -> str:
        return path if Path(path).is_absolute() else str(root / path)

    def model(m: ModelConfig) -> ModelConfig:
        local = not Path(m.name_or_path).is_absolute() and (root / m.name_or_path).exists()
        return replace(m, name_or_path=str(root / m.name_or_path) if local else m.name_or_path,
                       export_dir=under_root(m.export_dir) if m.export_dir else m.export_dir)

    stance = cfg.stance if cfg.stance.model is None else replace(cfg.stance, model=model(cfg.stance.model))
    return replace(cfg, model=model(cfg.model), stance=stance,
                   cache=replace(cfg.cache, path=under_root(cfg.cache.path)))


def for_workers(cfg: Config) -> Config:
    """Make relative paths absolute, so worker processes (Ray actors) that may start in
    another folder load the same model, exports and cache."""
    return anchor_paths(cfg, Path.cwd())


# ---------------------------------------------------------------------------
# Command-line access, shared by every command
# ---------------------------------------------------------------------------


def add_config_args(ap: argparse.ArgumentParser) -> None:
    """``--params`` / ``--config-dir`` and Hydra ``overrides``: where a command's config comes from."""
    ap.add_argument("--params", help=f"read this params.yaml (stages: {DEFAULT_PARAMS} when no overrides are given)")
    ap.add_argument("--config-dir", default=str(DEFAULT_CONFIG_DIR),
                    help="Hydra config folder composed when overrides are given (default: %(default)s)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides (group=option, key=value), e.g. model=nli")


def config_data_from_args(args: argparse.Namespace, compose_by_default: bool = False) -> dict[str, Any]:
    """The composed mapping: a params.yaml as DVC wrote it, or conf/ composed with the overrides.

    Without either, stages read ``params.yaml`` (DVC's composition); ``classify``
    (``compose_by_default``) composes ``conf/``."""
    if args.params and args.overrides:
        raise ConfigError("give either --params or overrides, not both")
    if args.params:
        return load_params(args.params)
    if args.overrides or compose_by_default:
        return compose_config(args.config_dir, args.overrides)
    return load_params(DEFAULT_PARAMS)


def config_from_args(args: argparse.Namespace, compose_by_default: bool = False) -> Config:
    return parse_config(config_data_from_args(args, compose_by_default))
