"""The ``modula`` command line. Sub-commands are added as the package's features land."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lmcommon.cli import make_parser, run
from modula import __version__


def build_parser() -> argparse.ArgumentParser:
    parser, _subcommands = make_parser(
        "modula",
        "MoDULA: mixture of domain-specific and universal LoRA experts for multi-task LLM fine-tuning.",
        __version__,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
