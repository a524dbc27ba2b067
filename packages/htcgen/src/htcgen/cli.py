"""The ``htcgen`` command line. Sub-commands are added as the package's features land."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from htcgen import __version__
from lmcommon.cli import make_parser, run


def build_parser() -> argparse.ArgumentParser:
    parser, _subcommands = make_parser(
        "htcgen", "Labelled data generation for hierarchical text classification.", __version__
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
