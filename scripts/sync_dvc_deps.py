"""Rewrite each stage's code deps in dvc.yaml to its import closure (tests/stages/test_stage_deps.py).

The non-code deps and the comments stay as they are. Run from the repo root after moving or
adding a module, then check with ``pytest tests/stages/test_stage_deps.py``:
    python scripts/sync_dvc_deps.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.stages

from tests.stages.test_stage_deps import expected_code_deps

STAGE = re.compile(r"^  (\w+):\s*$")
DEPS = re.compile(r"^\s+deps:\s*$")
ITEM = re.compile(r"^(\s+)- ")


def main() -> None:
    path = Path("dvc.yaml")
    lines = path.read_text(encoding="utf-8").split("\n")
    out, stage, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if m := STAGE.match(line):
            stage = m.group(1)
        if stage and DEPS.match(line):
            out.append(line)
            i += 1
            block = []
            while i < len(lines) and ITEM.match(lines[i]):
                block.append(lines[i])
                i += 1
            indent = ITEM.match(block[0]).group(1)
            name = f"{stage}@agnews" if stage == "benchmark" else stage  # foreach: one closure for all items
            out += [f"{indent}- {dep}" for dep in expected_code_deps(name)]
            out += [b for b in block if not b.strip().startswith("- src/")]
            continue
        out.append(line)
        i += 1
    path.write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
