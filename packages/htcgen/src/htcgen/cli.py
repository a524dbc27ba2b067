"""The ``htcgen`` command line. Sub-commands are added as the package's features land."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from htcgen import __version__
from lmcommon.cli import make_parser, run
from lmcommon.data import write_json, write_jsonl


def _prepare_data(args: argparse.Namespace) -> int:
    from htcgen.data import read_documents, split_documents
    from htcgen.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy)
    documents = [d for path in args.data for d in read_documents(path, taxonomy)]
    splits = split_documents(documents, dev=args.dev, test=args.test, seed=args.seed)
    for name, rows in splits.items():
        write_jsonl(Path(args.output) / f"{name}.jsonl", rows)
        print(f"{name}: {len(rows)} documents -> {Path(args.output) / f'{name}.jsonl'}")
    return 0


def _mine(args: argparse.Namespace) -> int:
    from htcgen.data import read_documents
    from htcgen.phrases import PhraseConfig, mine_phrases
    from htcgen.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy)
    documents = read_documents(args.data, taxonomy)
    similarity = None
    if args.encoder != "none":
        from htcgen.semantic import encoder_similarity
        from lmcommon.models import load_encoder

        model, tokenizer = load_encoder(args.encoder)
        similarity = encoder_similarity(taxonomy, model, tokenizer)
    phrases = mine_phrases(documents, taxonomy, PhraseConfig(top_k=args.top_k), similarity=similarity)
    write_json(args.output, phrases)
    mined = sum(1 for entry in phrases.values() if entry["own"])
    print(f"phrases for {mined} of {len(phrases)} labels -> {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, commands = make_parser(
        "htcgen", "Labelled data generation for hierarchical text classification.", __version__
    )
    prepare = commands.add_parser(
        "prepare-data",
        help="convert HWV-style data into seeded train/dev/test JSONL",
        description="Validate label paths against the taxonomy and split the documents.",
    )
    prepare.add_argument("--data", nargs="+", required=True, help="JSONL files (ours or HWV's format, .gz allowed)")
    prepare.add_argument("--taxonomy", required=True, help="parent<TAB>children file")
    prepare.add_argument("--output", required=True, help="folder for train.jsonl, dev.jsonl, test.jsonl")
    prepare.add_argument("--dev", type=float, default=0.1)
    prepare.add_argument("--test", type=float, default=0.2)
    prepare.add_argument("--seed", type=int, default=13)
    prepare.set_defaults(func=_prepare_data)

    mine = commands.add_parser(
        "mine",
        help="mine phrase-level label information",
        description="Score uni- to tri-gram phrases per label; write them as JSON.",
    )
    mine.add_argument("--data", required=True, help="training documents (JSONL)")
    mine.add_argument("--taxonomy", required=True, help="parent<TAB>children file")
    mine.add_argument("--output", required=True, help="phrases.json to write")
    mine.add_argument("--top-k", type=int, default=20)
    mine.add_argument(
        "--encoder",
        default="default",
        help="encoder for phrase-label similarity: 'default' (packaged MiniLM), a name, or 'none'",
    )
    mine.set_defaults(func=_mine)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
