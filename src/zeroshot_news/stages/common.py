"""The shape every stage's ``main`` shares: required path options, then the config.

A stage's paths are required options (``dvc.yaml`` passes every one: paths have one home)
and its config comes from ``--params params.yaml`` or Hydra overrides composed from
``conf/`` (:func:`~zeroshot_news.config.add_config_args`). :func:`stage_args` builds that
parser from two small tables, so each stage module states only what it reads and writes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from zeroshot_news.config import Config, add_config_args, config_from_args


def stage_args(argv: list[str] | None, description: str | None, inputs: Mapping[str, str],
               outputs: Mapping[str, str],
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> tuple[argparse.Namespace, Config]:
    """Parse ``argv``: one required ``--name`` per input and output (``help`` says which it is),
    ``extra`` options, then ``--params`` / overrides; returns (arguments, validated config)."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, help_ in inputs.items():
        ap.add_argument(f"--{name}", required=True, help=f"input: {help_}")
    for name, help_ in outputs.items():
        ap.add_argument(f"--{name}", required=True, help=f"output: {help_}")
    if extra is not None:
        extra(ap)
    add_config_args(ap)
    args = ap.parse_intermixed_args(argv)
    return args, config_from_args(args)
