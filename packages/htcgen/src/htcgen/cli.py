"""The ``htcgen`` command line. Sub-commands are added as the package's features land."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from htcgen import __version__
from htcgen.evaluate import CLASSIFIERS
from lmcommon.cli import make_parser, run, shipped_data
from lmcommon.data import write_json, write_jsonl
from lmcommon.paths import input_path, output_file, output_folder, run_folder

# data/... defaults: found where the user stands, in the source checkout, else in the wheel's demo copy
DATA_PATH = shipped_data("htcgen")


def _prepare_data(args: argparse.Namespace) -> int:
    from htcgen.data import read_documents, split_documents
    from htcgen.taxonomy import Taxonomy
    from lmcommon.outputs import replace_folder

    taxonomy = Taxonomy.from_file(args.taxonomy)
    documents = [d for path in args.data for d in read_documents(path, taxonomy)]
    splits = split_documents(documents, dev=args.dev_fraction, test=args.test_fraction, seed=args.seed)
    with replace_folder(args.output) as staging:  # the three splits are replaced together or not at all
        for name, rows in splits.items():
            write_jsonl(staging / f"{name}.jsonl", rows)
    for name, rows in splits.items():
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
    config = PhraseConfig(top_k=args.top_k, min_documents=args.min_documents)
    phrases = mine_phrases(documents, taxonomy, config, similarity=similarity)
    write_json(args.output, phrases)
    mined = sum(1 for entry in phrases.values() if entry["own"])
    print(f"phrases for {mined} of {len(phrases)} labels -> {args.output}")
    return 0


def _read_phrases(path: str) -> dict:
    from lmcommon.data import read_json

    return read_json(path)


def _train_generator(args: argparse.Namespace) -> int:
    import json

    from htcgen.data import read_documents
    from htcgen.generator import GeneratorSettings, fit_generator
    from htcgen.taxonomy import Taxonomy
    from lmcommon.flags import dataclass_from_args, training_arguments

    taxonomy = Taxonomy.from_file(args.taxonomy)
    settings = dataclass_from_args(
        GeneratorSettings,
        args,
        epochs=args.num_train_epochs,
        batch_size=args.per_device_train_batch_size,
        learning_rate=args.learning_rate,
    )
    output = Path(args.output)
    report = fit_generator(
        read_documents(args.data, taxonomy),
        _read_phrases(args.phrases),
        settings,
        training_arguments(args, output / "checkpoints"),
        mode=args.mode,
        seed=args.seed,
        save_to=output,
        taxonomy=taxonomy,
        resume_from_checkpoint=True if args.resume else None,
    )
    print(json.dumps({"output": str(output), **report}))
    return 0


def _sampling_settings(args: argparse.Namespace):
    """The generator's settings for `generate` and `compare-generators`: what the adapter was trained with (its
    saved settings: model, phrase options), then the flags given on this command line, then the defaults."""
    import dataclasses

    from htcgen.generator import GeneratorSettings, load_settings

    recorded = load_settings(args.adapter)
    saved = recorded or GeneratorSettings()
    given = {
        field: getattr(args, flag)
        for field, flag in [
            ("model", "model"),
            ("max_phrases", "max_phrases"),
            ("phrase_labels", "phrase_labels"),
            ("max_new_tokens", "max_new_tokens"),
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("generation_batch_size", "batch_size"),
            ("phrase_boost", "phrase_boost"),
        ]
        if hasattr(args, flag)  # flags left out are absent (argparse.SUPPRESS), so the saved value stays
    }
    other_base = recorded is not None and "model" in given and given["model"] != recorded.model
    if other_base and not args.allow_other_base:
        raise ValueError(
            f"--adapter {args.adapter} was trained on {recorded.model!r}, not --model {given['model']!r}: leave "
            "--model out (or give that model), or add --allow-other-base"
        )
    return dataclasses.replace(saved, **given)


def _generate(args: argparse.Namespace) -> int:
    from htcgen.data import read_documents
    from htcgen.generator import plan_samples, sample_to_file
    from htcgen.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy)
    documents = read_documents(args.data, taxonomy)
    settings = _sampling_settings(args)  # the adapter's contrast_siblings: prompts as it was trained on
    requests = plan_samples(
        documents,
        _read_phrases(args.phrases),
        args.num,
        max_phrases=settings.max_phrases,
        phrase_labels=settings.phrase_labels,
        mode=args.mode,
        seed=args.seed,
        taxonomy=taxonomy,
        contrast_siblings=settings.contrast_siblings,
    )
    # a killed run resumes from the chunks already in the resume file beside --output
    kept, empty = sample_to_file(args.output, requests, settings, args.adapter, device=args.device, seed=args.seed)
    print(f"{len(kept)} documents -> {args.output} ({empty} empty samples dropped)")
    return 0


def _compare_generators(args: argparse.Namespace) -> int:
    from htcgen.comparison import ComparisonConfig, compare_generators
    from htcgen.data import read_documents
    from htcgen.report import comparison_markdown
    from htcgen.taxonomy import Taxonomy
    from lmcommon.data import atomic_write

    taxonomy = Taxonomy.from_file(args.taxonomy)
    train, test = read_documents(args.train, taxonomy), read_documents(args.test, taxonomy)
    settings = _sampling_settings(args)
    config = ComparisonConfig(
        paths=args.paths, samples_per_path=args.samples_per_path, judge_depth=args.judge_depth, seed=args.seed
    )
    results = compare_generators(
        args.output, train, test, taxonomy, _read_phrases(args.phrases), args.adapter, settings, config
    )
    table = comparison_markdown(results)
    with atomic_write(Path(args.output) / "comparison.md") as handle:
        handle.write(table)
    print(table)
    print(f"written: {Path(args.output) / 'comparison.json'}, {Path(args.output) / 'comparison.md'}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from htcgen.data import read_documents, truncate_labels
    from htcgen.evaluate import evaluate_classifier, score_classifier
    from htcgen.taxonomy import Taxonomy

    if bool(args.train) == bool(args.load):
        raise ValueError("give either --train (fit a classifier) or --load (a saved one), not both or neither")
    if args.depth is not None and args.depth < 1:
        raise ValueError(f"--depth must be >= 1 (levels of each label path to keep), got {args.depth}")
    if args.save and args.classifier != "encoder":
        raise ValueError("--save writes encoder classifiers only; add --classifier encoder")
    taxonomy = Taxonomy.from_file(args.taxonomy)
    # every file is checked against the whole taxonomy before the paths are cut to --depth
    test = read_documents(args.test, taxonomy)
    train = read_documents(args.train, taxonomy) if args.train else []
    augment = read_documents(args.augment, taxonomy) if args.augment else []
    dev = read_documents(args.dev, taxonomy) if args.dev else []
    if args.depth is not None:
        taxonomy = taxonomy.truncate(args.depth)
        test, train, augment, dev = (truncate_labels(d, args.depth) for d in (test, train, augment, dev))
    if args.load:
        from htcgen.encoder import EncoderHierarchyClassifier

        metrics = score_classifier(EncoderHierarchyClassifier.from_pretrained(args.load), test, taxonomy)
    else:
        options = {"model": args.encoder, "epochs": args.epochs} if args.classifier == "encoder" else {}
        metrics = evaluate_classifier(
            args.classifier,
            train,
            test,
            taxonomy,
            augment=augment,
            ratio=args.ratio,
            seed=args.seed,
            dev=dev,
            save=args.save,
            **options,
        )
    if args.output:
        write_json(args.output, metrics)
    print(json.dumps(metrics, indent=1))
    return 0


def _table(args: argparse.Namespace) -> int:
    from htcgen.report import evaluations_markdown

    print(evaluations_markdown({Path(path).stem: _read_metrics(path) for path in args.metrics}), end="")
    return 0


def _read_metrics(path: str) -> dict:
    """A metrics file of ``htcgen evaluate --output``, checked for the fields the table reads.

    Raises:
        DataError: a field is missing or of the wrong type (the file and the field named).
    """
    from lmcommon.data import read_json
    from lmcommon.errors import DataError

    metrics = read_json(path)
    expected = {
        "classifier": (str, "a string"),
        "micro_f1": (int | float, "a number"),
        "macro_f1": (int | float, "a number"),
        "levels": (dict, "an object of levels"),
    }
    for field, (kind, name) in expected.items():
        value = metrics.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DataError(
                f"expected {name}, got {value!r}: not a metrics file of `htcgen evaluate --output`",
                path=path,
                field=field,
            )
    for level, scores in metrics["levels"].items():
        if not str(level).isdigit() or not isinstance(scores, dict):
            raise DataError(f"level {level!r}: expected a level number and its scores", path=path, field="levels")
        for name in ("micro_f1", "macro_f1"):
            if not isinstance(scores.get(name), int | float):
                raise DataError(f"level {level}: no number {name!r}", path=path, field="levels")
    return metrics


def _predict(args: argparse.Namespace) -> int:
    from htcgen.encoder import EncoderHierarchyClassifier
    from lmcommon.data import read_jsonl

    rows = read_jsonl(args.input, required=("text",))
    classifier = EncoderHierarchyClassifier.from_pretrained(args.classifier)
    predicted = classifier.predict([row["text"] for row in rows])
    count = write_jsonl(args.output, ({**row, "labels": labels} for row, labels in zip(rows, predicted, strict=True)))
    print(f"{count} documents labelled -> {args.output}")
    return 0


def _experiment_config(args: argparse.Namespace):
    from htcgen.experiment import ExperimentConfig
    from htcgen.generator import GeneratorSettings

    generator = GeneratorSettings(
        model=args.model,
        epochs=args.generator_epochs,
        max_new_tokens=args.max_new_tokens,
        max_length=args.max_length,
        lead_words=args.lead_words,
        phrase_boost=args.phrase_boost,
        contrast_siblings=args.contrast_siblings,
    )
    return ExperimentConfig(
        depths=tuple(args.depths),
        ks=tuple(args.ks),
        seeds=tuple(args.seeds),
        methods=tuple(args.methods),
        classifiers=tuple(args.classifiers),
        ratio=args.ratio,
        encoder_epochs=args.encoder_epochs,
        generator=generator,
        judge=args.judge,
        selection=args.selection,
        keep_share=args.keep_share,
        oversample=args.oversample,
        oracle=args.oracle,
        full_label_paths=args.full_label_paths,
        checkpoint_steps=args.checkpoint_steps,
    )


def _run_grid(args: argparse.Namespace, config) -> int:
    from htcgen.data import read_documents
    from htcgen.experiment import run_experiment
    from htcgen.report import results_markdown
    from htcgen.taxonomy import Taxonomy

    taxonomy = Taxonomy.from_file(args.taxonomy)
    train, test = read_documents(args.train, taxonomy), read_documents(args.test, taxonomy)
    results = run_experiment(args.output, train, test, taxonomy, config)
    print(results_markdown(results))
    print(f"written: {Path(args.output) / 'results.json'}, {Path(args.output) / 'results.md'}")
    return 0


def _experiment(args: argparse.Namespace) -> int:
    return _run_grid(args, _experiment_config(args))


def _demo(args: argparse.Namespace) -> int:
    from htcgen.experiment import ExperimentConfig
    from htcgen.generator import GeneratorSettings

    # one setting (depth 2, one document per leaf, one seed), flat SVM and TF-IDF, no augmentation / EDA / the
    # full method; --quick trains and samples less (5.1 minutes measured on 2 CPU cores)
    generator = (
        GeneratorSettings(model=args.model, epochs=1.0, max_length=192, max_new_tokens=96)
        if args.quick
        else GeneratorSettings(model=args.model)
    )
    config = ExperimentConfig(
        depths=(2,),
        ks=(1,),
        seeds=(0,),
        methods=("none", "eda", "full"),
        classifiers=("flat-svm", "tfidf"),
        generator=generator,
    )
    return _run_grid(args, config)


def _add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """The grid's flags; every default is ExperimentConfig's (and its GeneratorSettings'), read from the class so
    that the two cannot drift apart. Added when the command is used (the config module imports the generator's)."""
    from htcgen.experiment import JUDGES, METHODS, ExperimentConfig
    from htcgen.filters import SELECTIONS
    from htcgen.generator import GeneratorSettings

    grid = ExperimentConfig()
    generator = grid.generator
    parser.add_argument(
        "--output", default="runs/htcgen-experiment", type=run_folder, help="run folder (resumed when it exists)"
    )
    parser.add_argument("--depths", type=int, nargs="+", default=list(grid.depths), help="label depths (99: full)")
    parser.add_argument("--ks", type=int, nargs="+", default=list(grid.ks), help="documents per leaf")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(grid.seeds),
        help="one cell per seed: sample, generator, classifiers",
    )
    parser.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(grid.methods), help="augmentation methods"
    )
    parser.add_argument(
        "--classifiers",
        nargs="+",
        choices=CLASSIFIERS,
        default=list(grid.classifiers),
        help="classifiers trained in every cell",
    )
    parser.add_argument("--ratio", type=float, default=grid.ratio, help="augmented documents per real document")
    parser.add_argument(
        "--judge",
        choices=JUDGES,
        default=grid.judge,
        help="the classifier, trained on the cell's real documents, that chooses among generated ones ('both': "
        "TF-IDF and the encoder together; the top-1 filter keeps what both rank first)",
    )
    parser.add_argument(
        "--selection",
        choices=SELECTIONS,
        default=grid.selection,
        help="top1: keep what the judge ranks first at every level; share: keep the --keep-share of each path's "
        "documents the judge finds most probable for it",
    )
    parser.add_argument(
        "--keep-share",
        type=float,
        default=grid.keep_share,
        help="with --selection share: the share of each label path's generated documents kept",
    )
    parser.add_argument(
        "--oversample",
        type=float,
        default=grid.oversample,
        help="generate this many times the documents the ratio adds, then select (with --selection share and "
        "--keep-share 1/oversample the classifier gets as many as without)",
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="report how many generated and kept documents an encoder trained on every training document labels "
        "with their requested path (a diagnostic; it never chooses documents)",
    )
    parser.add_argument(
        "--full-label-paths",
        action="store_true",
        help="train and prompt the generator with each document's whole label path (every level of the data, not "
        "only the cell's depth); its documents are labelled at the cell's depth",
    )
    parser.add_argument(
        "--checkpoint-steps",
        type=int,
        default=grid.checkpoint_steps,
        help="a cell's generator saves a checkpoint this often, and a rerun resumes from it (default: %(default)s)",
    )
    parser.add_argument(
        "--encoder-epochs",
        type=float,
        default=grid.encoder_epochs,
        help="encoder classifier epochs (at least 300 steps)",
    )
    parser.add_argument(
        "--model", default=generator.model, type=input_path, help="generator base model ('default': packaged SmolLM2)"
    )
    parser.add_argument(
        "--generator-epochs", type=float, default=generator.epochs, help="generator fine-tuning epochs"
    )
    parser.add_argument(
        "--max-length", type=int, default=generator.max_length, help="generator training tokens per document"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=generator.max_new_tokens, help="tokens per generated document"
    )
    parser.add_argument(
        "--lead-words",
        type=int,
        default=generator.lead_words,
        help="train the generators on each document's lead of this many words",
    )
    parser.add_argument(
        "--phrase-boost",
        type=float,
        default=generator.phrase_boost,
        help=GeneratorSettings.__dataclass_fields__["phrase_boost"].metadata["help"],
    )
    parser.add_argument(
        "--contrast-siblings",
        type=int,
        default=generator.contrast_siblings,
        help=GeneratorSettings.__dataclass_fields__["contrast_siblings"].metadata["help"],
    )


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    # the defaults are found from any folder (see DATA_PATH)
    data = {"type": DATA_PATH}
    parser.add_argument(
        "--train",
        default="data/htcgen/train.jsonl",
        help="real training documents (JSONL; default: %(default)s)",
        **data,
    )
    parser.add_argument(
        "--test", default="data/htcgen/test.jsonl", help="test documents (default: %(default)s)", **data
    )
    parser.add_argument(
        "--taxonomy",
        default="data/htc/hwv/hwv.taxonomy",
        help="parent<TAB>children file (default: %(default)s)",
        **data,
    )


def _add_generator_training_arguments(parser: argparse.ArgumentParser) -> None:
    """GeneratorSettings' training fields and every Trainer option, defaults from GeneratorSettings (all saved
    beside the adapter); added when the command is used, as they import torch."""
    from htcgen.generator import GeneratorSettings
    from lmcommon.flags import add_dataclass_arguments, add_trainer_arguments

    settings = GeneratorSettings()
    add_dataclass_arguments(
        parser,
        GeneratorSettings,
        title="generator (GeneratorSettings; saved beside the adapter for `generate`)",
        # the Trainer's flags set these three; sampling is chosen at generation time
        exclude=(
            "epochs",
            "batch_size",
            "learning_rate",
            "max_new_tokens",
            "temperature",
            "top_p",
            "generation_batch_size",
            "phrase_boost",
        ),
    )
    add_trainer_arguments(
        parser,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        save_steps=200,
        logging_steps=10,
    )


def _add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `generate` and `compare-generators`. Left out, each takes the value saved beside --adapter by
    `train-generator` (model and phrase options), else GeneratorSettings' default."""
    from htcgen.generator import GeneratorSettings

    default = GeneratorSettings()
    unset = {"default": argparse.SUPPRESS}  # absent from args unless given: see _sampling_settings
    parser.add_argument(
        "--allow-other-base",
        action="store_true",
        help="sample with --model even where the adapter was trained on another base model (refused otherwise)",
    )
    parser.add_argument(
        "--model",
        type=input_path,
        help="causal LM (default: the adapter's, else 'default': packaged SmolLM2)",
        **unset,
    )
    parser.add_argument(
        "--max-phrases",
        type=int,
        help=f"phrases per prompt (default: the adapter's, else {default.max_phrases})",
        **unset,
    )
    parser.add_argument(
        "--phrase-labels",
        type=int,
        help=GeneratorSettings.__dataclass_fields__["phrase_labels"].metadata["help"],
        **unset,
    )
    parser.add_argument("--temperature", type=float, help=f"default: {default.temperature}", **unset)
    parser.add_argument("--top-p", type=float, help=f"nucleus sampling mass (default: {default.top_p})", **unset)
    parser.add_argument(
        "--max-new-tokens", type=int, help=f"tokens per document (default: {default.max_new_tokens})", **unset
    )
    parser.add_argument(
        "--batch-size", type=int, help=f"prompts sampled at once (default: {default.generation_batch_size})", **unset
    )
    parser.add_argument(
        "--phrase-boost",
        type=float,
        help=GeneratorSettings.__dataclass_fields__["phrase_boost"].metadata["help"],
        **unset,
    )


def build_parser() -> argparse.ArgumentParser:
    parser, commands = make_parser(
        "htcgen", "Labelled data generation for hierarchical text classification.", __version__
    )
    prepare = commands.add_parser(
        "prepare-data",
        help="convert HWV-style data into seeded train/dev/test JSONL",
        description="Validate label paths against the taxonomy and split the documents.",
    )
    prepare.add_argument(
        "--data", nargs="+", required=True, type=input_path, help="JSONL files (ours or HWV's format, .gz allowed)"
    )
    prepare.add_argument("--taxonomy", required=True, type=input_path, help="parent<TAB>children file")
    prepare.add_argument(
        "--output",
        required=True,
        type=output_folder("train.jsonl", "dev.jsonl", "test.jsonl"),
        help="folder for train.jsonl, dev.jsonl, test.jsonl (written as one set)",
    )
    prepare.add_argument("--dev-fraction", type=float, default=0.1, help="share of documents in dev.jsonl")
    prepare.add_argument("--test-fraction", type=float, default=0.2, help="share of documents in test.jsonl")
    prepare.add_argument("--seed", type=int, default=13, help="split seed (default: 13, the shipped split)")
    prepare.set_defaults(func=_prepare_data)

    mine = commands.add_parser(
        "mine",
        help="mine phrase-level label information",
        description="Score uni- to tri-gram phrases per label; write them as JSON.",
    )
    mine.add_argument("--data", required=True, type=input_path, help="training documents (JSONL)")
    mine.add_argument("--taxonomy", required=True, type=input_path, help="parent<TAB>children file")
    mine.add_argument("--output", required=True, type=output_file, help="phrases.json to write")
    mine.add_argument("--top-k", type=int, default=20, help="phrases kept per label (default: 20)")
    mine.add_argument(
        "--min-documents",
        type=int,
        default=2,
        help="a phrase must occur in this many of a label's documents (1 gives phrases to labels with one document)",
    )
    mine.add_argument(
        "--encoder",
        default="default",
        type=input_path,
        help="encoder for phrase-label similarity: 'default' (packaged MiniLM), a name, or 'none'",
    )
    mine.set_defaults(func=_mine)

    for name, func, text in [
        ("train-generator", _train_generator, "fine-tune the generator (LoRA) on label path + phrases -> document"),
        ("generate", _generate, "sample labelled documents, favouring rare label paths"),
    ]:
        training = name == "train-generator"
        populate = _add_generator_training_arguments if training else None
        sub = commands.add_parser(name, help=text, description=text, populate=populate)
        sub.add_argument(
            "--data",
            required=True,
            type=input_path,
            help="training documents (JSONL): label paths and phrases come from them",
        )
        sub.add_argument("--taxonomy", required=True, type=input_path, help="parent<TAB>children file")
        sub.add_argument("--phrases", required=True, type=input_path, help="phrases.json from `htcgen mine`")
        sub.add_argument(
            "--mode",
            default=["full"] if training else "full",
            nargs="+" if training else None,
            choices=["full", "path", "phrases"],
            help="condition on path and phrases, the path only, or the phrases only"
            + ("; several: one drawn per document, so one generator follows each kind" if training else ""),
        )
        if training:
            sub.add_argument("--output", required=True, type=run_folder, help="adapter folder (and its checkpoints)")
        else:
            sub.add_argument(
                "--adapter",
                type=input_path,
                help="a LoRA adapter from `htcgen train-generator` (default: prompt the model)",
            )
            sub.add_argument("--num", type=int, required=True, help="documents to generate")
            sub.add_argument(
                "--output",
                required=True,
                type=output_file,
                help="JSONL of generated documents (until it is written, a killed run resumes from OUTPUT.partial)",
            )
            _add_sampling_arguments(sub)
            sub.add_argument("--seed", type=int, default=0, help="target paths, phrase subsets, sampling (default: 0)")
            sub.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
        sub.set_defaults(func=func)

    text = (
        "sample the fine-tuned generator (path + phrases, path only) and the base model without it for held-out "
        "label paths, and judge label consistency and diversity"
    )
    compare = commands.add_parser("compare-generators", help=text, description=text)
    _add_data_arguments(compare)
    compare.add_argument(
        "--phrases", required=True, type=input_path, help="phrases.json from `htcgen mine` (on the training data)"
    )
    compare.add_argument(
        "--adapter",
        required=True,
        type=input_path,
        help="a LoRA adapter from `htcgen train-generator --mode full path`",
    )
    compare.add_argument(
        "--output", required=True, type=run_folder, help="folder for the samples and comparison.json / .md"
    )
    compare.add_argument("--paths", type=int, default=80, help="held-out label paths to sample")
    compare.add_argument("--samples-per-path", type=int, default=3, help="samples per label path (default: 3)")
    compare.add_argument("--judge-depth", type=int, default=2, help="levels of each path the judge scores")
    _add_sampling_arguments(compare)
    compare.add_argument("--seed", type=int, default=0, help="paths, phrase subsets and sampling (default: 0)")
    compare.set_defaults(func=_compare_generators)

    evaluate = commands.add_parser(
        "evaluate",
        help="train a hierarchical classifier (optionally on augmented data) and score it",
        description="Fit a classifier on --train (+ --augment at --ratio), or load a saved encoder classifier "
        "(--load), and print micro/macro-F1 over all nodes and per level on --test.",
    )
    evaluate.add_argument("--train", type=input_path, help="real training documents (JSONL); not with --load")
    evaluate.add_argument("--test", required=True, type=input_path, help="test documents (JSONL)")
    evaluate.add_argument("--taxonomy", required=True, type=input_path, help="parent<TAB>children file")
    evaluate.add_argument("--augment", type=input_path, help="augmented documents (JSONL with text, labels)")
    evaluate.add_argument("--ratio", type=float, default=1.0, help="augmented documents per real document")
    evaluate.add_argument(
        "--classifier",
        choices=CLASSIFIERS,
        default="tfidf",
        help="tfidf: balanced linear SVM per level, consistent paths; encoder: fine-tuned MiniLM, a softmax per "
        "level; flat-svm / flat-lr: the flat per-level baselines (default: %(default)s)",
    )
    evaluate.add_argument(
        "--encoder", default="default", type=input_path, help="encoder checkpoint: 'default' (MiniLM), name or path"
    )
    evaluate.add_argument("--epochs", type=float, default=12.0, help="encoder fine-tuning epochs (default: 12)")
    evaluate.add_argument(
        "--dev",
        type=input_path,
        help="documents (JSONL) the encoder is scored on while training; the best weights are kept",
    )
    evaluate.add_argument("--save", type=output_folder(), help="write the trained encoder classifier to this folder")
    evaluate.add_argument(
        "--load", type=input_path, help="score a classifier saved with --save instead of training one"
    )
    evaluate.add_argument("--depth", type=int, help="cut label paths to their first DEPTH levels")
    evaluate.add_argument("--seed", type=int, default=0, help="sampling and initialisation seed (default: 0)")
    evaluate.add_argument("--output", type=output_file, help="write the metrics here as JSON")
    evaluate.set_defaults(func=_evaluate)

    table = commands.add_parser(
        "table",
        help="one Markdown table of several `htcgen evaluate --output` files",
        description="Print micro/macro-F1 over all nodes and per level of each metrics file, one row per file.",
    )
    table.add_argument("metrics", nargs="+", type=input_path, help="JSON files written by `htcgen evaluate --output`")
    table.set_defaults(func=_table)

    predict = commands.add_parser(
        "predict",
        help="label documents with a saved encoder classifier",
        description="Read JSONL documents with a 'text' field and write them back with the predicted 'labels'.",
    )
    predict.add_argument(
        "--classifier", required=True, type=input_path, help="folder written by `htcgen evaluate --save`"
    )
    predict.add_argument("--input", required=True, type=input_path, help="JSONL documents with a 'text' field")
    predict.add_argument("--output", required=True, type=output_file, help="JSONL: each input row plus 'labels'")
    predict.set_defaults(func=_predict)

    experiment = commands.add_parser(
        "experiment",
        help="the low-resource grid: depths x k x seeds x augmentation methods x classifiers",
        populate=_add_experiment_arguments,
        description="Run the whole protocol and write results.json and results.md into --output (resumable).",
    )
    _add_data_arguments(experiment)
    experiment.set_defaults(func=_experiment)

    demo = commands.add_parser(
        "demo",
        help="mine, train the generator briefly, generate, filter, and compare none / EDA / full with TF-IDF",
        description="One low-resource setting (depth 2, one document per leaf) on the shipped data.",
    )
    _add_data_arguments(demo)
    demo.add_argument(
        "--output", default="runs/htcgen-demo", type=run_folder, help="run folder (resumed when it exists)"
    )
    demo.add_argument("--quick", action="store_true", help="a smaller generator budget (about 5 min on 2 CPU cores)")
    demo.add_argument("--model", default="default", type=input_path, help="generator base model")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
