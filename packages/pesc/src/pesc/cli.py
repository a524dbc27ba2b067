"""The ``pesc`` command line: build the benchmark, correct text, evaluate, tune, demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lmcommon.cli import make_parser, run, shipped_data
from lmcommon.data import read_jsonl, read_stdin_lines, read_text_lines, write_json, write_jsonl
from lmcommon.errors import DataError
from lmcommon.paths import input_path, output_file, output_folder, run_folder
from pesc import __version__
from pesc.edits import Correction
from pesc.tune import DEFAULT_GRID

# data/... defaults: found where the user stands, in the source checkout, else in the wheel's demo copy
DATA_PATH = shipped_data("pesc")

ROW_FIELDS = ("source", "target", "kind", "subset")
BENCHMARK_FILES = ("train.jsonl", "dev.jsonl", "test.jsonl", "build_config.json")


def _read_rows(path: str) -> list[dict]:
    """Benchmark rows, checked before any model loads: text fields are strings, ``kind`` is a known kind.

    Raises:
        DataError: a row breaks the rule (file, line and field named).
    """
    from pesc.metrics import KINDS

    rows = read_jsonl(path, required=ROW_FIELDS)
    line = 0
    for line, row in enumerate(rows, start=1):
        for field in ("source", "target"):
            if not isinstance(row[field], str):
                raise DataError(
                    f"expected a string, got {type(row[field]).__name__}", path=path, line=line, field=field
                )
        if row["kind"] not in KINDS:
            raise DataError(
                f"unknown kind {row['kind']!r}; expected one of {KINDS}", path=path, line=line, field="kind"
            )
    return rows


def _load_checker(name: str, config_path: str | None = None, lm: str = "auto", script: str = "auto"):
    from pesc.checker import SpellChecker
    from pesc.config import CheckerConfig

    if name == "lookup":
        from pesc.baseline import LookupChecker

        if script != "auto":
            raise ValueError("--script applies to the default checker; the lookup baseline reads Simplified")
        return LookupChecker()
    config = CheckerConfig.load(config_path) if config_path else CheckerConfig()
    if name == "unigram":  # the default checker on jieba's word frequencies: the model it falls back to
        name, lm = "default", "unigram"
    if name == "threshold":  # the default checker deciding misspellings by one gain threshold (the previous default)
        name, config = "default", dataclasses.replace(config, decision="threshold")
    if name == "default":
        checker = SpellChecker(config, lm=lm, script=script)
        try:
            # everything opens now: a bad --lm, ranker or cache fails once, before any work, not once per line
            checker.load()
        except ImportError as error:
            raise ValueError(str(error)) from None
        return checker
    if not Path(name).is_dir():
        raise ValueError(
            f"checker {name!r}: give 'default', 'threshold', 'unigram', 'lookup' or the folder of a model trained "
            "with `pesc train`"
        )
    if lm != "auto" or script != "auto":
        raise ValueError("--lm and --script apply to the default checker, not to a trained neural model")
    return SpellChecker.from_pretrained(name)


def _jobs(args: argparse.Namespace) -> dict:
    """``jobs=`` for correct_batch where more than one process was asked for (the default checker only)."""
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.jobs > 1 and args.checker not in ("default", "unigram"):
        raise ValueError("--jobs applies to the default checker; a neural checker batches on its device instead")
    return {"jobs": args.jobs} if args.jobs > 1 else {}


def _train(args: argparse.Namespace) -> int:
    from lmcommon.flags import dataclass_from_args, training_arguments
    from lmcommon.seed import set_seed
    from pesc.neural import PESCConfig
    from pesc.neural.checker import NeuralSpellChecker, slot_accuracy
    from pesc.neural.train import InjectedDataset, build_model, encode_rows, train_pesc

    train_rows = _read_rows(args.train) if args.train else []
    clean = [line.strip() for line in read_text_lines(args.clean) if line.strip()] if args.clean else []
    if args.reinject:
        clean += [row["target"] for row in train_rows]
    if not train_rows and not clean:
        raise ValueError("give --train FILE (benchmark rows) and/or --clean FILE (sentences for on-the-fly injection)")
    dev_rows = _read_rows(args.dev) if args.dev else []
    config = dataclass_from_args(PESCConfig, args)
    texts = [r[k] for r in train_rows for k in ("source", "target")] + clean
    set_seed(args.seed)  # the weights are drawn here, before the Trainer seeds: the same --seed, the same model
    model, vocab = build_model(config, texts)
    if clean:
        import torch

        data = InjectedDataset(clean, vocab, config, seed=args.seed)
        if train_rows:
            data = torch.utils.data.ConcatDataset([data, encode_rows(train_rows, vocab, config)])
    else:
        data = encode_rows(train_rows, vocab, config)
    training_args = training_arguments(args, Path(args.output) / "checkpoints")
    metrics = train_pesc(
        model, vocab, data, training_args, resume_from_checkpoint=True if args.resume else None, save_to=args.output
    )
    summary = {"output": args.output, "vocab": len(vocab), **metrics}
    if dev_rows and training_args.process_index == 0:
        checker = NeuralSpellChecker(model, vocab)
        summary["dev_slot_accuracy"] = slot_accuracy(checker, dev_rows)
    print(json.dumps(summary))
    return 0


def _build_benchmark(args: argparse.Namespace) -> int:
    from lmcommon.outputs import replace_folder
    from pesc.benchmark import build_shipped_benchmark
    from pesc.metrics import KINDS

    config = _injection_config(args)
    splits = build_shipped_benchmark(args.data_dir, config, seed=args.seed, limit=args.limit)
    output = Path(args.output)
    with replace_folder(output) as staging:  # train, dev and test are replaced together or not at all
        for split, rows in splits.items():
            write_jsonl(staging / f"{split}.jsonl", rows)
        write_json(staging / "build_config.json", {"seed": args.seed, "limit": args.limit, **config.__dict__})
    for split, rows in splits.items():
        kinds = {k: sum(1 for r in rows if r["kind"] == k) for k in KINDS}
        print(f"{split}: {len(rows)} rows {kinds} -> {output / f'{split}.jsonl'}")
    return 0


def _read_predictions(path: str, count: int) -> list[str]:
    if path.endswith(".jsonl"):
        rows = read_jsonl(path)
        predictions = []
        for line, row in enumerate(rows, start=1):
            value = row.get("prediction", row.get("text"))
            if not isinstance(value, str):
                raise DataError("needs a string field 'prediction' (or 'text')", path=path, line=line)
            predictions.append(value)
    else:
        predictions = read_text_lines(path)
    if len(predictions) != count:
        raise DataError(f"{len(predictions)} predictions for {count} gold rows", path=path)
    return predictions


def _evaluate(args: argparse.Namespace) -> int:
    from pesc.evaluate import correction_intervals, evaluate_checker, format_intervals, format_table
    from pesc.metrics import metrics_by_kind

    if args.save_predictions and args.predictions:
        raise ValueError("--save-predictions writes a checker's outputs; with --predictions there is none to write")
    if args.sighan:
        return _evaluate_sighan(args)
    if args.pairs:
        return _evaluate_pairs(args)
    if bool(args.predictions) == bool(args.checker):
        raise ValueError("give either --predictions FILE --gold FILE, or --checker NAME --data FILE")
    if args.predictions:
        if not args.gold:
            raise ValueError("--predictions needs --gold FILE")
        rows = _read_rows(args.gold)
        report = {"by_kind": metrics_by_kind(rows, _read_predictions(args.predictions, len(rows)))}
    else:
        if not args.data:
            raise ValueError("--checker needs --data FILE")
        rows = _read_rows(args.data)
        checker = _load_checker(args.checker, args.config, args.lm, args.script)
        report, predictions = evaluate_checker(checker, rows, progress=True, **_jobs(args))
        if args.save_predictions:
            write_jsonl(
                args.save_predictions,
                [{"id": r.get("id"), "prediction": p} for r, p in zip(rows, predictions, strict=True)],
            )
        print(f"{report['sentences_per_second']:.1f} sentences/s")
        report["correction_f1_interval"] = correction_intervals(rows, predictions)
        if args.baseline:
            _, baseline = evaluate_checker(_load_checker(args.baseline), rows)
            report["baseline"] = args.baseline
            report["difference_from_baseline"] = correction_intervals(rows, predictions, baseline)
    print(format_table(report["by_kind"]))
    for key, title in (
        ("correction_f1_interval", "correction F1"),
        ("difference_from_baseline", f"correction F1 minus {args.baseline}'s (paired)"),
    ):
        if key in report:
            print(f"\n{format_intervals(report[key], title)}")
    if args.output:
        write_json(args.output, report)
    return 0


def _evaluate_pairs(args: argparse.Namespace) -> int:
    """Any ``source<TAB>target`` file (LEMON's, spaces between characters removed): detection and correction by
    kind, and intervals of correction F1, detection F1 and the share of correct sentences changed."""
    from pesc.benchmark import read_pair_rows
    from pesc.evaluate import evaluate_checker, format_sentence_intervals, format_table
    from pesc.metrics import bootstrap_sentence_intervals, metrics_by_kind

    if bool(args.predictions) == bool(args.checker):
        raise ValueError("--pairs needs either --checker NAME or --predictions FILE (the outputs, one per pair)")
    if args.data or args.gold:
        raise ValueError("--pairs is the data and the gold; it takes no --data or --gold")
    rows = read_pair_rows(args.pairs)
    if args.predictions:
        predictions = _read_predictions(args.predictions, len(rows))
        report = {"by_kind": metrics_by_kind(rows, predictions)}
    else:
        checker = _load_checker(args.checker, args.config, args.lm, args.script)
        report, predictions = evaluate_checker(checker, rows, progress=True, **_jobs(args))
        print(f"{report['sentences_per_second']:.1f} sentences/s")
        if args.save_predictions:
            write_jsonl(
                args.save_predictions,
                [
                    {"id": r["id"], "source": r["source"], "prediction": p}
                    for r, p in zip(rows, predictions, strict=True)
                ],
            )
    sources, targets = [r["source"] for r in rows], [r["target"] for r in rows]
    report["intervals"] = bootstrap_sentence_intervals(sources, targets, predictions)
    print(format_table(report["by_kind"]))
    print(f"\n{format_sentence_intervals(report['intervals'])}")
    if args.baseline:
        _, baseline = evaluate_checker(_load_checker(args.baseline, None, args.lm, args.script), rows, **_jobs(args))
        report["baseline"] = args.baseline
        report["baseline_by_kind"] = metrics_by_kind(rows, baseline)
        report["difference_from_baseline"] = bootstrap_sentence_intervals(sources, targets, predictions, baseline)
        print(f"\n{args.baseline}:\n{format_table(report['baseline_by_kind'])}")
        print(f"\n{format_sentence_intervals(report['difference_from_baseline'], args.baseline)}")
    if args.output:
        write_json(args.output, report)
    return 0


def _evaluate_sighan(args: argparse.Namespace) -> int:
    """SIGHAN's sentence-level metrics on an equal-length TSV (``n<TAB>source<TAB>target``), comparable with
    published figures."""
    from pesc.benchmark import read_pairs
    from pesc.evaluate import format_interval, timed_run
    from pesc.metrics import bootstrap_correction_f1, sighan_metrics

    if not args.checker:
        raise ValueError("--sighan needs --checker NAME")
    pairs = read_pairs(args.sighan, origin="sighan")
    sources, targets = [p.source for p in pairs], [p.target for p in pairs]
    checker = _load_checker(args.checker, args.config, args.lm, args.script)
    predictions, speed = timed_run(checker, [{"source": source} for source in sources], **_jobs(args))
    if args.save_predictions:
        write_jsonl(
            args.save_predictions,
            [
                {"id": index, "source": pair.source, "prediction": p}
                for index, (pair, p) in enumerate(zip(pairs, predictions, strict=True))
            ],
        )
    report = sighan_metrics(sources, targets, predictions)
    report["sentences_per_second"] = speed
    report["correction_f1_interval"] = bootstrap_correction_f1(sources, targets, predictions)
    if args.baseline:
        baseline_checker = _load_checker(args.baseline, None, args.lm, args.script)
        baseline, _ = timed_run(baseline_checker, [{"source": source} for source in sources], **_jobs(args))
        report["baseline"] = args.baseline
        report["baseline_metrics"] = sighan_metrics(sources, targets, baseline)
        report["difference_from_baseline"] = bootstrap_correction_f1(sources, targets, predictions, baseline)
    detection, correction = report["detection"], report["correction"]
    print(f"{len(sources)} sentences ({report['needing_change']} with errors), {report['sentences_per_second']:.1f}/s")
    print("| level | precision | recall | F1 |\n|---|---|---|---|")
    for name, scores in (("detection", detection), ("correction", correction)):
        print(f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1']:.3f} |")
    print(f"false positive rate: {report['false_positive_rate']:.3f}")
    print(f"correction F1, 95% bootstrap interval over sentences: {format_interval(report['correction_f1_interval'])}")
    if args.baseline:
        other, difference = report["baseline_metrics"], format_interval(report["difference_from_baseline"])
        print(
            f"{args.baseline}: correction F1 {other['correction']['f1']:.3f}, false positive rate "
            f"{other['false_positive_rate']:.3f}; difference (paired): {difference}"
        )
    if args.output:
        write_json(args.output, report)
    return 0


def _correct_each(checker, texts: list[str], jobs: dict) -> list:
    """Each text's Correction, or the exception it raised in its place, so that one bad line loses no other."""
    from pesc.checker import SpellChecker

    if isinstance(checker, SpellChecker):
        return checker.correct_batch(texts, return_exceptions=True, **jobs)
    try:
        return checker.correct_batch(texts)  # a neural checker batches on its device
    except Exception:  # find the failing lines: one text at a time
        results = []
        for text in texts:
            try:
                results.append(checker.correct(text))
            except Exception as error:
                results.append(error)
        return results


def _correct(args: argparse.Namespace) -> int:
    if args.text:
        texts, where = list(args.text), "argument"
    elif args.input:
        texts, where = read_text_lines(args.input), args.input
    else:
        texts, where = read_stdin_lines(), "<stdin>"
    checker = _load_checker(args.checker, args.config, args.lm, args.script)
    failed = 0
    for number, (text, result) in enumerate(zip(texts, _correct_each(checker, texts, _jobs(args)), strict=True), 1):
        output = result.to_dict() if not isinstance(result, Exception) else None
        if output is None:
            # the line comes out as written, so output line N still answers input line N
            failed += 1
            print(f"pesc: {where}:{number}: not corrected ({type(result).__name__}: {result})", file=sys.stderr)
            output = {**Correction(source=text, text=text, edits=()).to_dict(), "error": type(result).__name__}
        print(json.dumps(output, ensure_ascii=False) if args.json else output["text"])
    if failed:
        print(
            f"pesc: {failed} of {len(texts)} lines could not be corrected and were copied unchanged", file=sys.stderr
        )
        return 1
    return 0


# what `pesc train-ranker` reads by default: the shipped training pairs and clean sentences, and the evaluation
# data whose sentences it must never train on
RANKER_PAIRS = (
    "data/csc/sighan_from_ecspell/simplified/train2015.txt",
    "data/csc/ecspell_domains/law.train",
    "data/csc/ecspell_domains/med.train",
    "data/csc/ecspell_domains/odw.train",
)
RANKER_CLEAN = ("data/csc/pycorrector/wiki_zh_200.txt",)
RANKER_EXCLUDE = (
    "data/pesc/dev.jsonl",
    "data/pesc/test.jsonl",
    "data/csc/sighan_from_ecspell/simplified/test2013.txt",
    "data/csc/sighan_from_ecspell/simplified/test2015.txt",
    "data/csc/sighan_from_ecspell/traditional/test2015.txt",
    "data/csc/ecspell_domains/law.test",
    "data/csc/ecspell_domains/med.test",
    "data/csc/ecspell_domains/odw.test",
)


def _targets_of(path: str) -> set[str]:
    """The correct sentences of an evaluation file: JSONL rows' ``target``, or a TSV's last column (Traditional
    SIGHAN files converted as the benchmark converts them)."""
    from pesc.script import to_simplified

    if path.endswith(".jsonl"):
        return {row["target"] for row in read_jsonl(path, required=("target",))}
    targets = {line.split("\t")[-1] for line in read_text_lines(path) if line.strip()}
    return targets | {to_simplified(target) for target in targets}


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The flags of ``pesc train-ranker`` that reproduce ``args`` (paths as given), for the ranker's provenance."""
    from pesc.train_ranker import RankerTrainingConfig

    flags = []
    for name in ("pairs", "clean", "exclude"):
        flags += [f"--{name}", *getattr(args, name)]
    flags += ["--dev", args.dev, "--lm", args.lm, "--output", args.output]
    if args.skip_unequal:
        flags.append("--skip-unequal")
    for field in dataclasses.fields(RankerTrainingConfig):
        flags += ["--" + field.name.replace("_", "-"), str(getattr(args, field.name))]
    return flags


def _train_ranker(args: argparse.Namespace) -> int:
    from pesc.benchmark import read_sentences
    from pesc.train_ranker import RankerTrainingConfig, read_training_pairs, train_ranker

    config = RankerTrainingConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(RankerTrainingConfig)})
    pairs = [pair for path in args.pairs for pair in read_training_pairs(path, skip_unequal=args.skip_unequal)]
    clean = [p.target for path in args.clean for p in read_sentences(path, "clean")]
    exclude = set().union(*(_targets_of(path) for path in args.exclude)) if args.exclude else set()
    dev_rows = _read_rows(args.dev)
    ranker, report = train_ranker(pairs, clean, dev_rows, config, exclude=exclude, lm=args.lm)
    ranker = dataclasses.replace(
        ranker,
        provenance={
            "command": "pesc train-ranker " + " ".join(_argv_of(args)),
            "pairs": list(args.pairs),
            "clean": list(args.clean),
            "excluded": list(args.exclude),
            "dev": args.dev,
            "config": dataclasses.asdict(config),
            **{k: v for k, v in report.items() if k != "dev_trials"},
        },
    )
    ranker.save(args.output)
    for trial in report["dev_trials"]:
        print(json.dumps(trial))
    print(json.dumps({k: v for k, v in report.items() if k != "dev_trials"}))
    print(f"ranker ({len(ranker.trees)} trees, threshold {ranker.threshold}) -> {args.output}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from pesc.config import CheckerConfig
    from pesc.tune import RANKER_GRID, tune_ranker_threshold, tune_spelling_threshold

    rows = _read_rows(args.dev)
    if args.limit:
        rows = rows[: args.limit]
    if args.decision == "ranker":
        grid = args.grid or list(RANKER_GRID)
        base = CheckerConfig(ranker=args.ranker)
        config, trials = tune_ranker_threshold(rows, base, grid=grid, min_unchanged=args.min_unchanged, lm=args.lm)
        chosen = f"ranker_threshold={config.ranker_threshold}"
    else:
        grid = args.grid or list(DEFAULT_GRID)
        config, trials = tune_spelling_threshold(rows, grid=grid, min_unchanged=args.min_unchanged, lm=args.lm)
        chosen = f"spelling_threshold={config.spelling_threshold}"
    for trial in trials:
        print(json.dumps(trial))
    config.save(args.output)
    print(f"{chosen} -> {args.output}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pesc.benchmark import build_shipped_benchmark
    from pesc.checker import SpellChecker
    from pesc.evaluate import evaluate_checker, format_table

    rows = build_shipped_benchmark(args.data_dir, seed=args.seed, limit=args.limit, splits=["test"])["test"]
    print(f"built {len(rows)} test rows from {args.data_dir} (seed {args.seed}, at most {args.limit} per source)")
    checker = SpellChecker(lm=args.lm)
    print(f"language model: {checker.lm.name}")
    report, predictions = evaluate_checker(checker, rows)
    print(format_table(report["by_kind"]))
    print(f"\n{report['sentences_per_second']:.1f} sentences/s\n\nexamples:")
    shown = 0
    for row, prediction in zip(rows, predictions, strict=True):
        if row["kind"] != "none" and shown < args.examples:
            mark = "ok " if prediction == row["target"] else "   "
            print(f"{mark}source: {row['source']}\n   output: {prediction}\n   target: {row['target']}")
            shown += 1
    return 0


def _add_script_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--script",
        default="auto",
        choices=["auto", "simplified", "traditional"],
        help="script of the text for the default checker: 'auto' decides per text; Traditional text is corrected "
        "through Simplified and answered in Traditional, unchanged characters as written",
    )


def _add_model_arguments(command: argparse.ArgumentParser, jobs: bool = False) -> None:
    if jobs:  # the commands that correct user text (correct, evaluate) also take its script
        _add_script_argument(command)
    command.add_argument(
        "--lm",
        default="auto",
        type=input_path,
        help="language model of the default checker: 'auto' ($PESC_LM, then Debian's libime model, else the "
        "unigram), 'unigram', or a KenLM binary/ARPA file (default: auto)",
    )
    if jobs:
        command.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="processes for the default checker, one core each; output order is kept (default: 1)",
        )


# the Trainer options' defaults for this command (every other one is transformers' or lmcommon.flags')
NEURAL_TRAINING = {
    "num_train_epochs": 3.0,
    "per_device_train_batch_size": 32,
    "learning_rate": 2e-3,
    "save_steps": 500,
    "logging_steps": 50,
}


# InjectionConfig fields whose flags keep the shorter names the command has always had
_INJECTION_FLAG_NAMES = {
    "pinyin_sentence_rate": "--pinyin-rate",
    "spelling_sentence_rate": "--spelling-rate",
    "soundalike_sentence_rate": "--soundalike-rate",
}


def _add_injection_arguments(parser: argparse.ArgumentParser) -> None:
    """InjectionConfig's fields as flags, default and help from each field (pesc's core install has no
    transformers, hence no HfArgumentParser; every field here is a number), the form weights one flag per form."""
    from pesc.inject import InjectionConfig

    defaults = InjectionConfig()
    group = parser.add_argument_group("injected errors (InjectionConfig)")
    for field in dataclasses.fields(InjectionConfig):
        if field.name == "form_weights":
            continue
        default = getattr(defaults, field.name)
        flag = _INJECTION_FLAG_NAMES.get(field.name, "--" + field.name.replace("_", "-"))
        group.add_argument(flag, dest=field.name, type=type(default), default=default, help=field.metadata["help"])
    for form, weight in defaults.form_weights.items():
        group.add_argument(
            f"--{form}-weight", type=float, default=weight, help=f"relative frequency of the {form} form of pinyin"
        )


def _add_ranker_training_arguments(parser: argparse.ArgumentParser) -> None:
    """RankerTrainingConfig's fields as flags, default and help from each field."""
    from pesc.train_ranker import RankerTrainingConfig

    defaults = RankerTrainingConfig()
    group = parser.add_argument_group("the ensemble and its threshold (RankerTrainingConfig)")
    for field in dataclasses.fields(RankerTrainingConfig):
        default = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        group.add_argument(flag, dest=field.name, type=type(default), default=default, help=field.metadata["help"])


def _injection_config(args: argparse.Namespace):
    """The InjectionConfig of the flags of :func:`_add_injection_arguments`."""
    from pesc.inject import InjectionConfig

    forms = InjectionConfig().form_weights
    return InjectionConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(InjectionConfig) if f.name != "form_weights"},
        form_weights={form: getattr(args, f"{form}_weight") for form in forms},
    )


def _add_neural_training_arguments(parser: argparse.ArgumentParser) -> None:
    """PESCConfig's fields and every Trainer option; added when `pesc train` is used (they need pesc[neural])."""
    try:
        from lmcommon.flags import add_dataclass_arguments, add_trainer_arguments
        from pesc.neural import PESCConfig

        add_dataclass_arguments(parser, PESCConfig, title="model (PESCConfig, saved with the model)")
        add_trainer_arguments(parser, **NEURAL_TRAINING)
    except ImportError as error:  # the core install: pypinyin and jieba only
        parser.error(f"`pesc train` needs the neural extra: pip install 'pesc[neural]' ({error})")


def build_parser() -> argparse.ArgumentParser:
    parser, commands = make_parser(
        "pesc",
        "Realistic Chinese spell checking: misspelled characters and pinyin-typed words in, correct Chinese out.",
        __version__,
    )
    build = commands.add_parser(
        "build-benchmark",
        help="build the train/dev/test benchmark from the CSC data",
        description="Build the RCSCB-style benchmark (human + synthetic subsets).",
        populate=_add_injection_arguments,
    )
    build.add_argument(
        "--data-dir", default="data/csc", type=DATA_PATH, help="the CSC data folder (default: data/csc)"
    )
    build.add_argument(
        "--output",
        required=True,
        type=output_folder(*BENCHMARK_FILES),
        help="folder for train.jsonl, dev.jsonl, test.jsonl (written as one set)",
    )
    build.add_argument("--seed", type=int, default=13, help="injection seed (default: 13, the shipped benchmark)")
    build.add_argument("--limit", type=int, default=None, help="at most this many rows per source file")
    build.set_defaults(func=_build_benchmark)

    evaluate = commands.add_parser(
        "evaluate",
        help="sentence-level metrics by error kind",
        description="Score predictions against gold rows, or run a checker on data.",
    )
    evaluate.add_argument(
        "--predictions", type=input_path, help="JSONL with 'prediction' per row, or a text file, one line per row"
    )
    evaluate.add_argument("--gold", type=input_path, help="benchmark JSONL the predictions answer")
    evaluate.add_argument(
        "--checker",
        type=input_path,
        help="'default' (the n-gram checker), 'unigram' (the same on jieba's word frequencies), 'lookup' (the "
        "context-free baseline: each pinyin run -> its most frequent dictionary words, no misspelling correction) "
        "or the folder of a trained model",
    )
    evaluate.add_argument("--config", type=input_path, help="a CheckerConfig JSON (from `pesc tune`)")
    evaluate.add_argument("--data", type=input_path, help="benchmark JSONL to run the checker on")
    evaluate.add_argument(
        "--sighan",
        type=input_path,
        help="instead of --data: an equal-length SIGHAN/ECSpell TSV (n, source, target); prints SIGHAN's "
        "sentence-level metrics",
    )
    evaluate.add_argument(
        "--pairs",
        type=input_path,
        help="instead of --data: any source<TAB>target file (LEMON's: spaces between characters are removed), "
        "lengths may differ; with --checker or --predictions. Prints detection and correction by kind (none, "
        "substitution, length) and 95%% intervals of correction F1, detection F1 and correct sentences changed",
    )
    evaluate.add_argument(
        "--baseline",
        type=input_path,
        help="a second checker run on the same rows ('lookup', 'threshold': the gain threshold, 'unigram': the "
        "default checker on jieba's word frequencies, 'default', or a model folder): prints the paired bootstrap "
        "interval of the difference in correction F1 (also with --sighan)",
    )
    evaluate.add_argument("--output", type=output_file, help="write the full report as JSON here")
    evaluate.add_argument("--save-predictions", type=output_file, help="write the checker's outputs as JSONL here")
    _add_model_arguments(evaluate, jobs=True)
    evaluate.set_defaults(func=_evaluate)

    correct = commands.add_parser(
        "correct",
        help="correct text from arguments, a file or standard input",
        description="Correct texts; one output line per input line.",
    )
    correct.add_argument("text", nargs="*", help="texts to correct (default: --input or standard input)")
    correct.add_argument("--input", type=input_path, help="a UTF-8 file, one text per line")
    correct.add_argument("--json", action="store_true", help="print JSON with the edits instead of the text")
    correct.add_argument(
        "--checker",
        default="default",
        type=input_path,
        help="'default', 'unigram' (the default checker on jieba's word frequencies), 'lookup' (the context-free "
        "baseline) or the folder of a trained model",
    )
    correct.add_argument("--config", type=input_path, help="a CheckerConfig JSON (from `pesc tune`)")
    _add_model_arguments(correct, jobs=True)
    correct.set_defaults(func=_correct)

    tune = commands.add_parser(
        "tune",
        help="tune the spelling threshold (or the learned decision's) on dev data",
        description="Pick the threshold with the best correction F1 that keeps correct sentences unchanged.",
    )
    tune.add_argument("--dev", required=True, type=input_path, help="benchmark JSONL (the dev split)")
    tune.add_argument("--output", required=True, type=output_file, help="where to write the tuned CheckerConfig JSON")
    tune.add_argument("--min-unchanged", type=float, default=0.985, help="share of correct sentences to keep")
    tune.add_argument("--limit", type=int, help="use only the first N rows")
    tune.add_argument(
        "--decision",
        choices=("threshold", "ranker"),
        default="threshold",
        help="tune the gain threshold (decision='threshold') or the learned decision's probability threshold",
    )
    tune.add_argument("--ranker", type=input_path, help="with --decision ranker: a ranker JSON (default: shipped)")
    tune.add_argument(
        "--grid",
        type=float,
        nargs="+",
        help=f"thresholds to try (default: {' '.join(map(str, DEFAULT_GRID))} nats for the gain threshold, "
        "0.5 to 0.99 for the ranker)",
    )
    _add_model_arguments(tune)
    tune.set_defaults(func=_tune)

    ranker = commands.add_parser(
        "train-ranker",
        help="train the learned misspelling decision (needs pesc[ranker]: scikit-learn)",
        description="Fit the gradient-boosted decision on learner-error pairs and injected errors; choose its "
        "threshold on dev; write the ranker JSON (the one shipped in the package was made by this command with "
        "its defaults).",
    )
    ranker.add_argument(
        "--pairs",
        nargs="+",
        type=DATA_PATH,
        default=list(RANKER_PAIRS),
        help="TSV misspelling pairs (source<TAB>target or n<TAB>source<TAB>target) (default: SIGHAN-15 train and "
        "the ECSpell training files)",
    )
    ranker.add_argument(
        "--clean",
        nargs="+",
        type=DATA_PATH,
        default=list(RANKER_CLEAN),
        help="text files of correct sentences that misspellings are injected into (default: the wiki sentences)",
    )
    ranker.add_argument(
        "--exclude",
        nargs="*",
        type=DATA_PATH,
        default=list(RANKER_EXCLUDE),
        help="evaluation files (JSONL with 'target', or TSV) whose sentences are never trained on (default: the "
        "benchmark's dev and test splits and every SIGHAN/ECSpell test file)",
    )
    ranker.add_argument("--dev", type=DATA_PATH, default="data/pesc/dev.jsonl", help="rows the threshold is chosen on")
    ranker.add_argument("--output", required=True, type=output_file, help="the ranker JSON to write")
    ranker.add_argument(
        "--skip-unequal", action="store_true", help="leave out pairs whose source and target differ in length"
    )
    _add_ranker_training_arguments(ranker)
    _add_model_arguments(ranker)
    ranker.set_defaults(func=_train_ranker)

    train = commands.add_parser(
        "train",
        help="train the pinyin-enhanced neural checker (needs pesc[neural])",
        description="Train PESC on benchmark rows and/or clean sentences with injected errors.",
        populate=_add_neural_training_arguments,
    )
    train.add_argument("--train", type=input_path, help="benchmark JSONL (rows with recorded edits)")
    train.add_argument(
        "--clean", type=input_path, help="a text file of correct sentences; errors are injected on the fly"
    )
    train.add_argument(
        "--reinject",
        action="store_true",
        help="also inject fresh errors into the --train targets each time they are drawn",
    )
    train.add_argument("--dev", type=input_path, help="benchmark JSONL for the slot accuracy printed at the end")
    train.add_argument(
        "--output", required=True, type=run_folder, help="folder of the trained model (and its checkpoints)"
    )
    train.set_defaults(func=_train)

    demo = commands.add_parser(
        "demo",
        help="build a small benchmark, run the default checker, print metrics",
        description="A small end-to-end run on the shipped data.",
    )
    demo.add_argument("--data-dir", default="data/csc", type=DATA_PATH, help="the CSC data folder (default: data/csc)")
    demo.add_argument("--limit", type=int, default=100, help="rows per source file")
    demo.add_argument("--seed", type=int, default=13, help="injection seed (default: 13)")
    demo.add_argument("--examples", type=int, default=6, help="before/after examples to print")
    _add_model_arguments(demo)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
