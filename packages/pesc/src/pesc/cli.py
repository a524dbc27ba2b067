"""The ``pesc`` command line. Sub-commands are added as the package's features land."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lmcommon.cli import make_parser, run
from pesc import __version__


def build_parser() -> argparse.ArgumentParser:
    parser, _subcommands = make_parser(
        "pesc",
        "Realistic Chinese spell checking: misspelled characters and pinyin-typed words in, correct Chinese out.",
        __version__,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
