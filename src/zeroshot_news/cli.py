"""Command line: every DVC stage, config composition, ``classify`` and ``report``.

    python -m zeroshot_news [-q | --log-level LEVEL] COMMAND [options] [overrides...]

Each command is one row of :data:`COMMANDS` (``module:function``, imported only when it
runs). Stage commands take their input and output paths as options (``dvc.yaml`` passes
them: one home for paths) and their config from ``--params params.yaml`` (what DVC runs)
or from Hydra overrides composed from ``conf/``. Stage summaries and problems go through
:mod:`logging` to stderr in one format; ``-q`` shows warnings and errors only.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from zeroshot_news.config import ConfigError

log = logging.getLogger(__name__)

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
EXIT_CONFIG = 2
EXIT_NO_SPACE = 4

# command -> ("module:function", help). The function takes the command's argv and
# returns an exit code (None: 0).
COMMANDS: dict[str, tuple[str, str]] = {
    "compose": ("zeroshot_news.cli:compose", "print or write the composition of conf/ (params.yaml)"),
    "ingest": ("zeroshot_news.stages.ingest:main", "stage: raw sources -> articles, sentences, quarantine"),
    "clean": ("zeroshot_news.stages.clean:main",
              "stage: repair, strip boilerplate, drop duplicates and short articles"),
    "self_train": ("zeroshot_news.stages.self_train:main",
                   "stage: fit the label-free topic head on the corpus's passages"),
    "topic": ("zeroshot_news.stages.topic:main", "stage: zero-shot topics of every article"),
    "stance": ("zeroshot_news.stages.stance:main", "stage: zero-shot stance toward every target"),
    "stance_gold": ("zeroshot_news.stages.stance_gold:main",
                    "stage: the stance classifier on the stance gold's passages"),
    "topic_short": ("zeroshot_news.stages.topic_short:main", "stage: the topic classifier on the short-item gold"),
    "evaluate": ("zeroshot_news.stages.evaluate:main", "stage: predictions against the dev gold and the crowd gold"),
    "benchmark": ("zeroshot_news.stages.benchmark:main", "stage: the configured public benchmark"),
    "train_nli": ("zeroshot_news.stages.train_nli:main", "stage: fine-tune the project's NLI cross-encoder"),
    "train_stance": ("zeroshot_news.stages.train_stance:main",
                     "stage: fine-tune the stance cross-encoder on VAST train"),
    "classify": ("zeroshot_news.apps.classify:main", "ingest -> clean -> topic -> stance on any articles, to JSONL"),
    "report": ("zeroshot_news.apps.report:main", "execute the notebooks in notebooks/ headless on a run's outputs"),
    "report_stage": ("zeroshot_news.stages.report:main", "stage: the notebooks on the pipeline's outputs (dvc.yaml)"),
    "annotate": ("zeroshot_news.apps.annotate:main", "gold for a new label: Label Studio export / import"),
    "experiments": ("zeroshot_news.apps.experiments:main",
                    "each DVC experiment's changed params beside the headline metrics"),
}


def command_function(name: str) -> Callable[[list[str]], int | None]:
    module, _, function = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), function)


def compose(argv: list[str]) -> None:
    """``compose [overrides...] [-o params.yaml]``: validate, then print or write the composition."""
    from zeroshot_news.config import compose_config, dump_params, parse_config
    from zeroshot_news.io import atomic_path

    ap = argparse.ArgumentParser(description="Compose conf/ (with overrides) into params.yaml form.")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=nli")
    ap.add_argument("--config-dir", default="conf")
    ap.add_argument("--output", "-o", help="write here instead of stdout")
    args = ap.parse_args(argv)
    data = compose_config(args.config_dir, args.overrides)
    parse_config(data)  # validate before writing anything
    text = dump_params(data)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def setup_logging(level: str) -> None:
    """One format for every command; bound to the current stderr (``force``: tests swap it)."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


def silence_progress_bars() -> None:
    """``-q``: no progress bars either, whatever a command asked its tqdm bars for."""
    from tqdm import tqdm

    if getattr(tqdm.__init__, "quiet", False):
        return
    original = tqdm.__init__

    def quiet_init(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    quiet_init.quiet = True  # type: ignore[attr-defined]
    tqdm.__init__ = quiet_init  # type: ignore[method-assign]


def invoked_as(argv0: str) -> str:
    """How the user called the program, for usage lines: ``python -m zeroshot_news`` or the
    console script's name (``zeroshot-news``)."""
    name = Path(argv0).name
    return "python -m zeroshot_news" if name in ("__main__.py", "-m", "-c", "") else name


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = invoked_as(sys.argv[0])
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Zero-shot topic and stance classification of security news.",
        epilog="Commands:\n" + "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items())
        + f"\n\nRun `{prog} COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                    help="least severe message shown (default: %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only (--log-level WARNING)")
    ap.add_argument("command", choices=list(COMMANDS), metavar="COMMAND", help="what to run (see below)")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="the command's options")
    if not argv:
        ap.print_help()
        return
    args = ap.parse_args(argv)
    setup_logging("WARNING" if args.quiet else args.log_level)
    if args.quiet:
        silence_progress_bars()
    # Each command's parser takes its usage name from argv[0] (argparse's default prog).
    argv0, sys.argv[0] = sys.argv[0], f"{prog} {args.command}"
    try:
        code = command_function(args.command)(args.args)
    except ConfigError as exc:
        log.error("config error: %s", exc)
        sys.exit(EXIT_CONFIG)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        log.error("no space left on device: %s", exc.filename or exc)
        sys.exit(EXIT_NO_SPACE)
    finally:
        sys.argv[0] = argv0
    if code:
        sys.exit(code)
