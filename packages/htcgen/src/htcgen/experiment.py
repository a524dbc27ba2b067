"""The low-resource protocol: for each label depth, k documents per leaf and seed, augment the few real documents
(EDA, or generation with semantic-level, phrase-level or both kinds of label information), train each
classifier, and score it on the test set. Every cell writes its files as it goes and a rerun skips what exists.

One generator is trained per cell, on prompts whose kind (path, phrases, both) is drawn per document, so the
three generation methods differ only in what they are given at generation time.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from htcgen.data import sample_per_leaf, truncate_labels
from htcgen.eda import eda_augment
from htcgen.evaluate import evaluate_classifier
from htcgen.filters import SELECTIONS, apply_filters
from htcgen.generator import GeneratorSettings, generate_to_file
from htcgen.paired import paired_differences
from htcgen.taxonomy import Taxonomy
from lmcommon.data import write_json

logger = logging.getLogger(__name__)
GENERATION_METHODS = {"path": "path", "phrases": "phrases", "full": "full"}  # method -> prompt mode
METHODS = ("none", "eda", *GENERATION_METHODS)
JUDGES = ("tfidf", "encoder", "both")


@dataclass(frozen=True)
class ExperimentConfig:
    """The grid and the settings every cell shares."""

    depths: tuple[int, ...] = (2,)
    ks: tuple[int, ...] = (1,)
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    classifiers: tuple[str, ...] = ("flat-svm", "tfidf", "encoder")  # the flat baseline costs seconds
    ratio: float = 1.0  # augmented documents per real document in the classifier's training set
    # 0: a sample is kept when the classifier ranks its target label first at every level, whatever the
    # probability; classifiers trained on one document per class rarely give anything 0.5
    consistency_threshold: float = 0.0
    duplicate_threshold: float = 0.8
    min_words: int = 20
    encoder_model: str = "default"  # the encoder classifier's checkpoint (packaged MiniLM)
    encoder_epochs: float = 12.0
    encoder_max_length: int = 96  # a Wikipedia lead's first sentences name its topic
    phrase_encoder: str | None = "default"  # scores phrase-label similarity when mining; None: frequency only
    generator: GeneratorSettings = field(default_factory=GeneratorSettings)
    # the judge that chooses among generated documents, trained on the cell's real documents: "tfidf" (seconds),
    # "encoder" (the cell's encoder classifier, saved in the cell) or "both" (a document must satisfy the two,
    # htcgen.judges); and how it chooses (htcgen.filters.apply_filters)
    judge: str = "tfidf"
    selection: str = "top1"
    keep_share: float = 0.5  # selection "share": the share of each path's generated documents kept
    # generated documents per real document before selection, as a multiple of what the ratio adds: over-generate
    # (e.g. 3 with keep_share 1/3), then let the judge choose
    oversample: float = 1.0
    # the oracle diagnostic: an encoder trained on every training document labels the generated ones (reported
    # only; htcgen.oracle)
    oracle: bool = False
    # the generator is trained and prompted with each document's whole label path (every level the data has, not
    # only the cell's depth); what it writes is labelled at the cell's depth
    full_label_paths: bool = False
    # the cell's generator saves a checkpoint this often (optimizer steps), so a killed run resumes from it
    checkpoint_steps: int = 20

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; expected some of {METHODS}")
        if not self.depths or not self.ks or not self.seeds or not self.classifiers:
            raise ValueError("depths, ks, seeds and classifiers must each name at least one value")
        if self.ratio <= 0:
            raise ValueError(f"ratio must be > 0, got {self.ratio}")
        if self.judge not in JUDGES:
            raise ValueError(f"unknown judge {self.judge!r}; expected one of {JUDGES}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; expected one of {SELECTIONS}")
        if not 0.0 < self.keep_share <= 1.0:
            raise ValueError(f"keep_share must be in (0, 1], got {self.keep_share}")
        if self.oversample < 1.0:
            raise ValueError(f"oversample must be >= 1, got {self.oversample}")
        if self.checkpoint_steps < 1:
            raise ValueError(f"checkpoint_steps must be >= 1, got {self.checkpoint_steps}")

    def encoder_fields(self, seed: int) -> dict[str, Any]:
        """The :class:`htcgen.encoder.EncoderConfig` fields of every encoder the experiment trains."""
        return {
            "model": self.encoder_model,
            "epochs": self.encoder_epochs,
            "max_length": self.encoder_max_length,
            "seed": seed,
        }


class Cell:
    """One (depth, k, seed) setting of the grid, in its own folder."""

    def __init__(self, root: Path, train: Sequence[dict], test: Sequence[dict], taxonomy: Taxonomy, depth, k, seed):
        self.depth, self.k, self.seed = depth, k, seed
        self.folder = root / "cells" / f"depth{depth}-k{k}-seed{seed}"
        self.taxonomy = taxonomy.truncate(depth)
        self.all_train = truncate_labels(train, depth)
        self.train = sample_per_leaf(self.all_train, k, seed)
        self.test = truncate_labels(test, depth)
        # the same documents with every level of their paths, and the whole taxonomy: what a generator that sees
        # every level's label text is trained on (ExperimentConfig.full_label_paths)
        whole = {d["id"]: d["labels"] for d in train}
        self.train_whole_paths = [{**d, "labels": whole[d["id"]]} for d in self.train]
        self.whole_taxonomy = taxonomy

    def generator_view(self, whole_paths: bool) -> tuple[list[dict], Taxonomy]:
        """The documents and taxonomy the generator is trained and prompted with."""
        if whole_paths:
            return self.train_whole_paths, self.whole_taxonomy
        return self.train, self.taxonomy

    @property
    def name(self) -> str:
        return self.folder.name


def _encoder_similarity(taxonomy: Taxonomy, encoder: str | None):
    if encoder is None:
        return None
    from htcgen.semantic import encoder_similarity
    from lmcommon.models import load_encoder

    model, tokenizer = load_encoder(encoder, device="cpu")
    return encoder_similarity(taxonomy, model, tokenizer)


def mine_cell_phrases(cell: Cell, encoder: str | None = "default") -> dict:
    """Phrase-level label information from the cell's few real documents (all the labelled data it has)."""
    from htcgen.phrases import PhraseConfig, mine_phrases

    path = cell.folder / "phrases.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    similarity = _encoder_similarity(cell.taxonomy, encoder)
    phrases = mine_phrases(cell.train, cell.taxonomy, PhraseConfig(), similarity=similarity)
    write_json(path, phrases)
    return phrases


def train_cell_generator(
    cell: Cell, phrases: dict, settings: GeneratorSettings, whole_paths: bool = False, checkpoint_steps: int = 20
) -> Path:
    """LoRA generator on the cell's documents with mixed prompt kinds (their whole label paths with
    ``whole_paths``); skipped when its adapter exists. It saves a checkpoint every ``checkpoint_steps`` steps in
    ``generator-checkpoints`` (the last one kept) and resumes from it, so a killed run loses at most that many
    steps; the checkpoints are deleted once the adapter is saved."""
    from transformers import TrainingArguments

    from htcgen.generator import fit_generator
    from htcgen.prompts import MODES
    from lmcommon.device import choose_device
    from lmcommon.training import last_complete_checkpoint, mixed_precision

    folder = cell.folder / "generator"
    if (folder / "adapter_config.json").is_file():
        return folder
    documents, taxonomy = cell.generator_view(whole_paths)
    device = choose_device(None)
    checkpoints = cell.folder / "generator-checkpoints"
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        lr_scheduler_type="cosine",
        logging_steps=10,
        save_strategy="steps",
        save_steps=checkpoint_steps,
        save_total_limit=1,
        seed=cell.seed,
        report_to=[],
        use_cpu=device == "cpu",
        **mixed_precision(device),
    )
    last = last_complete_checkpoint(checkpoints)  # a checkpoint a kill cut short is skipped
    if last is not None:
        logger.info("%s: the generator resumes from %s", cell.name, last)
    # saved beside its final place and renamed into it when whole: a kill while saving leaves no adapter that
    # looks finished
    staging = cell.folder / "generator.partial"
    shutil.rmtree(staging, ignore_errors=True)
    started = time.perf_counter()
    metrics = fit_generator(
        documents,
        phrases,
        settings,
        args,
        mode=MODES,
        seed=cell.seed,
        save_to=staging,
        taxonomy=taxonomy,
        resume_from_checkpoint=last,
    )
    write_json(cell.folder / "generator-training.json", {**metrics, "wall_time_s": time.perf_counter() - started})
    shutil.rmtree(folder, ignore_errors=True)  # what a run killed before this version left there
    staging.rename(folder)
    shutil.rmtree(checkpoints, ignore_errors=True)  # optimizer states; the adapter is what is kept
    return folder


def augmentations(cell: Cell, config: ExperimentConfig, judge, oracle=None) -> dict[str, list[dict]]:
    """Each method's augmented documents (generated ones filtered), and each filter's report in the cell folder.
    With an ``oracle`` (:mod:`htcgen.oracle`), ``oracle-report.json`` also says how many of the generated, the
    kept and the cell's real documents it labels with their own path; it is asked only once the kept documents
    are fixed."""
    from htcgen.generator import plan_samples
    from htcgen.quality import quality_report

    copies = max(1, math.ceil(config.ratio))
    augmented: dict[str, list[dict]] = {"none": []}
    if "eda" in config.methods:
        augmented["eda"] = eda_augment(cell.train, copies=copies, seed=cell.seed)
    generation = [m for m in config.methods if m in GENERATION_METHODS]
    if not generation:
        return augmented
    phrases = mine_cell_phrases(cell, config.phrase_encoder)
    adapter = train_cell_generator(cell, phrases, config.generator, config.full_label_paths, config.checkpoint_steps)
    documents, taxonomy = cell.generator_view(config.full_label_paths)
    count = math.ceil(config.oversample * copies * len(cell.train))
    reports, generated = {}, {}
    for method in generation:
        requests = plan_samples(
            documents,
            phrases,
            count,
            max_phrases=config.generator.max_phrases,
            phrase_labels=config.generator.phrase_labels,
            mode=GENERATION_METHODS[method],
            seed=cell.seed,
            taxonomy=taxonomy,
            contrast_siblings=config.generator.contrast_siblings,
            target_depth=cell.depth if config.full_label_paths else None,
        )
        requests = [{**r, "source": method} for r in requests]  # the generated documents say which method made them
        samples = generate_to_file(
            cell.folder / f"generated-{method}.jsonl", requests, config.generator, adapter, seed=cell.seed
        )
        # prompted with whole paths, labelled at the cell's depth (the prompt keeps the whole path)
        samples = truncate_labels(samples, cell.depth)
        kept, report = apply_filters(
            samples,
            classifier=judge,
            references=[d["text"] for d in cell.train],
            consistency_threshold=config.consistency_threshold,
            duplicate_threshold=config.duplicate_threshold,
            min_words=config.min_words,
            selection=config.selection,
            keep_share=config.keep_share,
        )
        augmented[method], generated[method] = kept, samples
        reports[method] = {
            "filters": asdict(report),
            "quality": quality_report(samples, judge, config.consistency_threshold),
        }
    write_json(cell.folder / "generation-report.json", reports)
    if oracle is not None:
        from htcgen.oracle import oracle_agreement

        diagnostic = {
            "real": oracle_agreement(oracle, cell.train),
            "methods": {
                method: {
                    "generated": oracle_agreement(oracle, generated[method]),
                    "kept": oracle_agreement(oracle, augmented[method]),
                }
                for method in generation
            },
        }
        write_json(cell.folder / "oracle-report.json", diagnostic)
    return augmented


def cell_judge(cell: Cell, config: ExperimentConfig):
    """The classifier that chooses among the cell's generated documents, trained on the real documents the cell
    has: TF-IDF, the cell's encoder (saved in ``cell/judge-encoder`` and read back by a rerun), or both asked
    together (:class:`htcgen.judges.JointJudge`)."""
    from htcgen.tfidf import TfidfHierarchyClassifier

    if config.judge == "tfidf":
        return TfidfHierarchyClassifier(cell.taxonomy).fit(cell.train)
    from htcgen.encoder import load_or_train_encoder

    encoder = load_or_train_encoder(
        cell.folder / "judge-encoder", cell.train, cell.taxonomy, **config.encoder_fields(cell.seed)
    )
    if config.judge == "encoder":
        return encoder
    from htcgen.judges import JointJudge

    return JointJudge([TfidfHierarchyClassifier(cell.taxonomy).fit(cell.train), encoder])


def run_cell(cell: Cell, config: ExperimentConfig, oracle=None) -> list[dict[str, Any]]:
    """Every (classifier, method) of one cell, each row in ``cell/results/<classifier>-<method>.json``; rows that
    exist are read back, so a grid widened by a method or a classifier computes only what is new. With an
    ``oracle``, a cell without its ``oracle-report.json`` gets one (its generated documents are read back)."""
    row_files = {
        (classifier, method): cell.folder / "results" / f"{classifier}-{method}.json"
        for classifier in config.classifiers
        for method in config.methods
    }
    missing = [key for key, path in row_files.items() if not path.is_file()]
    wants_oracle = oracle is not None and not (cell.folder / "oracle-report.json").is_file()
    if missing or wants_oracle:
        logger.info("%s: %d real training documents, %d test", cell.name, len(cell.train), len(cell.test))
        augmented = augmentations(cell, config, cell_judge(cell, config), oracle)
    for classifier, method in missing:
        options = (
            {"model": config.encoder_model, "epochs": config.encoder_epochs, "max_length": config.encoder_max_length}
            if classifier == "encoder"
            else {}
        )
        metrics = evaluate_classifier(
            classifier,
            cell.train,
            cell.test,
            cell.taxonomy,
            augment=augmented[method],
            ratio=config.ratio,
            seed=cell.seed,
            **options,
        )
        row = {"depth": cell.depth, "k": cell.k, "seed": cell.seed, "method": method, **metrics}
        logger.info("%s %s %s: micro %.3f macro %.3f", cell.name, classifier, method, row["micro_f1"], row["macro_f1"])
        write_json(row_files[classifier, method], row)
    return [json.loads(path.read_text(encoding="utf-8")) for path in row_files.values()]


def oracle_rows(cell: Cell) -> list[dict[str, Any]]:
    """One row per generation method of the cell's ``oracle-report.json``: the share of its generated and of its
    kept documents that the oracle labels with the requested path, beside the share of the cell's real ones."""
    report = json.loads((cell.folder / "oracle-report.json").read_text(encoding="utf-8"))
    return [
        {
            "depth": cell.depth,
            "k": cell.k,
            "seed": cell.seed,
            "method": method,
            "generated": entry["generated"]["documents"],
            "generated_share": entry["generated"]["share"],
            "kept": entry["kept"]["documents"],
            "kept_share": entry["kept"]["share"],
            "real_share": report["real"]["share"],
        }
        for method, entry in report["methods"].items()
    ]


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds for every (depth, k, classifier, method)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["depth"], row["k"], row["classifier"], row["method"]), []).append(row)
    summary = []
    for (depth, k, classifier, method), members in groups.items():
        entry: dict[str, Any] = {
            "depth": depth,
            "k": k,
            "classifier": classifier,
            "method": method,
            "seeds": len(members),
        }
        for metric in ("micro_f1", "macro_f1"):
            values = [m[metric] for m in members]
            entry[metric] = statistics.mean(values)
            entry[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        entry["train_augmented"] = statistics.mean(m["train_augmented"] for m in members)
        # the largest share of test documents one run gave a single path: near 1, a run that learned nothing
        entry["most_frequent_path_share_max"] = max(m.get("most_frequent_path_share", 0.0) for m in members)
        summary.append(entry)
    return summary


def run_experiment(
    output: str | Path, train: Sequence[dict], test: Sequence[dict], taxonomy: Taxonomy, config: ExperimentConfig
) -> dict[str, Any]:
    """The whole grid; writes ``results.json`` and ``results.md`` into ``output`` and returns the results."""
    from htcgen.report import results_markdown

    output = Path(output)
    started = time.perf_counter()
    rows, diagnostics = [], []
    for depth in config.depths:
        oracle = None
        if config.oracle and any(m in GENERATION_METHODS for m in config.methods):
            from htcgen.encoder import load_or_train_encoder

            # every training document at this depth; the test documents stay unseen
            oracle = load_or_train_encoder(
                output / f"oracle-depth{depth}",
                truncate_labels(train, depth),
                taxonomy.truncate(depth),
                **config.encoder_fields(0),
            )
        for k in config.ks:
            for seed in config.seeds:
                cell = Cell(output, train, test, taxonomy, depth, k, seed)
                rows += run_cell(cell, config, oracle)
                if oracle is not None:
                    diagnostics += oracle_rows(cell)
    results = {
        "config": asdict(config),
        "rows": rows,
        "summary": summarise(rows),
        "paired": paired_differences(rows),
        "oracle": diagnostics,
        "wall_time_s": time.perf_counter() - started,
    }
    write_json(output / "results.json", results)
    from lmcommon.data import atomic_write

    with atomic_write(output / "results.md") as handle:
        handle.write(results_markdown(results))
    return results
