"""Command line: the DVC stages, config composition and ``classify`` for any articles.

    python -m zeroshot_news compose [overrides...]        # print the composed params.yaml
    python -m zeroshot_news ingest|clean|topic|stance|evaluate  # one DVC stage, reading params.yaml
    python -m zeroshot_news classify INPUT --output OUT.jsonl [overrides...]
"""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError

STAGES = ("ingest", "clean", "topic", "stance", "evaluate", "benchmark")


def _stage_main(name: str):
    if name == "ingest":
        from .ingest import main
    elif name == "clean":
        from .clean import main
    elif name == "topic":
        from .topic import main
    elif name == "stance":
        from .stance import main
    elif name == "evaluate":
        from .evaluate import main
    elif name == "benchmark":
        from .benchmarks import main
    else:  # pragma: no cover - argparse restricts the choices
        raise KeyError(name)
    return main


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        prog="python -m zeroshot_news",
        description="Zero-shot topic and stance classification of security news.",
        epilog="Run `python -m zeroshot_news COMMAND --help` for a command's options.",
    )
    ap.add_argument("command", choices=["compose", "classify", *STAGES], help="what to run")
    if not argv or argv[0] in ("-h", "--help"):
        ap.print_help()
        return
    command, rest = argv[0], argv[1:]
    if command not in ("compose", "classify", *STAGES):
        ap.error(f"unknown command {command!r}")
    try:
        if command == "compose":
            from .config import compose_config, dump_params, parse_config

            cp = argparse.ArgumentParser(prog="python -m zeroshot_news compose",
                                         description="Compose conf/ (with overrides) into params.yaml form.")
            cp.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=nli")
            cp.add_argument("--config-dir", default="conf")
            cp.add_argument("--output", "-o", help="write here instead of stdout")
            args = cp.parse_args(rest)
            data = compose_config(args.config_dir, args.overrides)
            parse_config(data)  # validate before writing anything
            text = dump_params(data)
            if args.output:
                from .io import atomic_path

                with atomic_path(args.output) as tmp:
                    tmp.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        elif command == "classify":
            from .classify import main as classify_main

            sys.exit(classify_main(rest))
        else:
            _stage_main(command)(rest)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        sys.exit(2)
