"""dvc.yaml against the code: complete code deps, paths in one home, and one-way layers.

* Each stage's code deps cover its import closure inside ``src/zeroshot_news``: the
  modules its command imports, followed through relative and absolute imports (also
  the lazy ones inside functions), starting from ``python -m zeroshot_news`` (the
  package, ``__main__``, the CLI) and the command's module in ``cli.COMMANDS``. A dep
  that is a folder covers everything under it. A missing dep would let ``dvc repro``
  skip a stage whose code changed.
* Every path in a stage's ``cmd`` is declared in its deps, outs, metrics or plots.
* No stage module imports another stage module: they share code through the layers
  below (scoring, passages, scorers, engine, loading, config, io). ``classify`` and
  ``cli`` are the orchestrators above the stages.
"""

from __future__ import annotations

import ast
import shlex
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from zeroshot_news.cli import COMMANDS

SRC = REPO / "src"
PACKAGE = "zeroshot_news"
PIPELINE = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))


def _expand(stages: dict) -> dict:
    """``foreach`` stages as DVC expands them: ``name@item`` with ``${item}`` substituted."""
    out = {}
    for name, stage in stages.items():
        if "foreach" not in stage:
            out[name] = stage
            continue
        for item in stage["foreach"]:
            text = yaml.safe_dump(stage["do"]).replace("${item}", str(item))
            out[f"{name}@{item}"] = yaml.safe_load(text)
    return out


STAGES = _expand(PIPELINE["stages"])
CLI_ENTRY = [PACKAGE, f"{PACKAGE}.__main__"]


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache
def direct_imports(name: str) -> frozenset[str]:
    """Modules of the package that module ``name`` imports anywhere in its body, with their parents."""
    path = module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import agnews`
    modules = set()
    for mod in found:
        if mod.split(".")[0] != PACKAGE or module_file(mod) is None:
            continue
        parts = mod.split(".")
        modules.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # parents run first
    return frozenset(modules - {name})


def closure(entries: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        mod = todo.pop()
        if mod not in seen:
            seen.add(mod)
            todo.extend(direct_imports(mod))
    return seen


def stage_command(stage: dict) -> tuple[str, list[str]]:
    """(zeroshot_news command, its arguments) of a stage's cmd."""
    words = shlex.split(stage["cmd"])
    assert words[:3] == ["python", "-m", PACKAGE], f"a stage runs through the CLI: {stage['cmd']}"
    return words[3], words[4:]


def entry_modules(stage: dict) -> list[str]:
    command, _ = stage_command(stage)
    return [*CLI_ENTRY, COMMANDS[command][0].partition(":")[0]]


def _paths(entries) -> list[str]:
    out = []
    for e in entries or []:
        out.append(next(iter(e)) if isinstance(e, dict) else e)
    return out


def covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("name", list(STAGES))
def test_code_deps_cover_the_import_closure(name):
    stage = STAGES[name]
    deps = _paths(stage.get("deps"))
    files = sorted(str(module_file(m).relative_to(REPO)) for m in closure(entry_modules(stage)))
    missing = [f for f in files if not covered(f, deps)]
    assert not missing, f"stage {name!r}: imported modules not in its deps (dvc.yaml): {missing}"


@pytest.mark.parametrize("name", list(STAGES))
def test_code_deps_are_not_wider_than_needed(name):
    """A code dep nothing imports would re-run the stage for nothing (e.g. train_nli on a scorer change)."""
    stage = STAGES[name]
    files = [str(module_file(m).relative_to(REPO)) for m in closure(entry_modules(stage))]
    code_deps = [d for d in _paths(stage.get("deps")) if d.startswith("src/")]
    unused = [d for d in code_deps if not any(covered(f, [d]) for f in files)]
    assert not unused, f"stage {name!r}: deps no imported module needs: {unused}"


@pytest.mark.parametrize("name", list(STAGES))
def test_every_path_in_a_cmd_is_declared(name):
    stage = STAGES[name]
    _, args = stage_command(stage)
    declared = (_paths(stage.get("deps")) + _paths(stage.get("outs")) + _paths(stage.get("metrics"))
                + _paths(stage.get("plots")))
    # Every option's value is a path, except these (names, not files).
    values = [a for prev, a in zip(["", *args], args, strict=False)
              if not a.startswith("-") and prev not in ("--name",)]
    assert values, f"stage {name!r}: its cmd passes no paths"
    # A folder passed for several outputs (report's --output-dir) counts when outputs under it are declared.
    undeclared = [v for v in values if not covered(v, declared) and not any(covered(d, [v]) for d in declared)]
    assert not undeclared, f"stage {name!r}: cmd paths missing from deps/outs/metrics: {undeclared}"


def test_every_stage_command_is_a_cli_command():
    assert {stage_command(s)[0] for s in STAGES.values()} <= set(COMMANDS)


# --- layers ---------------------------------------------------------------------

# The package's folders are its layers, lowest first. A module imports only from its own
# layer and the layers below; two folders of one rank (the method and the training code)
# do not import each other. The stages are the top of the package: nothing imports a stage
# (the CLI runs them by name), and a stage imports only ``stages.common`` of its own folder.
LAYERS: dict[str, int] = {
    "foundation": 0,    # FOUNDATION: configuration, atomic I/O, the chunked engine, metrics, the stance rule
    "corpus": 1,        # readers, cleaning, passages, golds, sampling
    "scorers": 2,       # PairScorer backends, model files, the score store
    "zeroshot": 3,      # scoring, topic and stance decisions, the topic head
    "training": 3,      # the fine-tuning loop, the NLI and stance models
    "evaluation": 4,    # metrics against gold, benchmarks
    "apps": 5,          # classify, annotate, report
    "stages": 6,        # thin DVC entry points
    "entry": 7,         # cli.py and __main__.py: the command table
}
ENTRY = {"cli", "__main__"}
FOUNDATION = {"config", "io", "engine", "metrics", "decisions"}
STAGE_SHARED = {f"{PACKAGE}.stages", f"{PACKAGE}.stages.common"}


def all_modules() -> list[str]:
    root = SRC / PACKAGE
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def layer_of(module: str) -> str | None:
    """The layer folder (or foundation module) of a package module; None for the package itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return "entry" if parts[1] in ENTRY else "foundation" if parts[1] in FOUNDATION else parts[1]


def test_every_module_is_in_a_layer():
    unknown = sorted(m for m in all_modules() if m != PACKAGE and layer_of(m) not in LAYERS)
    assert not unknown, f"modules outside the layers {sorted(LAYERS)}: {unknown}; add a folder to LAYERS"


@pytest.mark.parametrize("module", all_modules())
def test_imports_go_down_the_layers(module):
    own = layer_of(module)
    if own is None:
        return
    for imported in direct_imports(module):
        other = layer_of(imported)
        if other is None or other == own:
            continue
        assert LAYERS[other] < LAYERS[own], (
            f"{module} (layer {own!r}, rank {LAYERS[own]}) imports {imported} (layer {other!r}, rank "
            f"{LAYERS[other]}): a module imports only from its own layer and the layers below")


@pytest.mark.parametrize("module", all_modules())
def test_nothing_imports_a_stage(module):
    stages = {m for m in direct_imports(module) if layer_of(m) == "stages"} - STAGE_SHARED
    assert not stages, f"{module} imports stage modules {sorted(stages)}; move what they share to a lower layer"


def test_every_stage_command_is_a_stage_module():
    for stage in STAGES.values():
        module = COMMANDS[stage_command(stage)[0]][0].partition(":")[0]
        assert layer_of(module) == "stages", f"dvc stage command {stage['cmd']!r} runs {module}, not a stages/ module"


def test_the_layer_rules_can_fail(monkeypatch):
    """The rules above are not vacuous: an upward import is caught."""
    fake = direct_imports(f"{PACKAGE}.corpus.gold") | {f"{PACKAGE}.stages.topic"}
    monkeypatch.setitem(globals(), "direct_imports", lambda name: fake)
    with pytest.raises(AssertionError, match="imports only from its own layer"):
        test_imports_go_down_the_layers(f"{PACKAGE}.corpus.gold")
    with pytest.raises(AssertionError, match="imports stage modules"):
        test_nothing_imports_a_stage(f"{PACKAGE}.corpus.gold")


def expected_code_deps(name: str) -> list[str]:
    """The code deps a stage needs: its import closure, a folder listed whole when every module
    under it is imported (``python -m tests.test_stage_deps`` prints them for dvc.yaml)."""
    files = {str(module_file(m).relative_to(REPO)) for m in closure(entry_modules(STAGES[name]))}
    whole = set()
    for folder in sorted({str(Path(f).parent) for f in files}, key=len):
        if folder in (f"src/{PACKAGE}",) or any(folder.startswith(w + "/") for w in whole):
            continue
        inside = {str(q.relative_to(REPO)) for q in (REPO / folder).rglob("*.py")}
        if inside <= files:
            whole.add(folder)
    single = {f for f in files if not any(f.startswith(w + "/") for w in whole)}
    return sorted(whole | single)


if __name__ == "__main__":
    for stage_name in STAGES:
        print(stage_name, yaml.safe_dump(expected_code_deps(stage_name)), sep=":\n")
