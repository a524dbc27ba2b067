"""The ``modula`` command line: staged training, plugging in a domain, generation, router weights and the
routing signal."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from lmcommon.cli import make_parser, run, shipped_data
from lmcommon.paths import input_path, output_file, output_folder, run_folder
from lmcommon.seed import set_seed
from modula import __version__
from modula.config import CONFIG_NAME, MoDULAConfig

# data/... defaults: found where the user stands, in the source checkout, else in the wheel's demo copy
DATA_PATH = shipped_data("modula")

logger = logging.getLogger(__name__)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="default",
        type=input_path,
        help="base causal LM: 'default' (packaged SmolLM2-135M-Instruct), a hub id or a local folder",
    )
    parser.add_argument(
        "--dtype", default=None, help="float32, bfloat16, float16 (default: bf16 on GPUs, fp32 on CPU)"
    )
    parser.add_argument(
        "--allow-other-base",
        action="store_true",
        help="load saved experts onto a base model other than the one they were trained on (refused otherwise)",
    )
    _add_quantization_arguments(parser)


def _add_quantization_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("quantized base (QLoRA; needs bitsandbytes: pip install 'modula[quant]')")
    bits = group.add_mutually_exclusive_group()
    bits.add_argument(
        "--load-in-4bit",
        action="store_true",
        help="hold the base model's linear layers in 4 bits; experts and routers train in --dtype",
    )
    bits.add_argument("--load-in-8bit", action="store_true", help="hold them in 8 bits (LLM.int8())")
    group.add_argument(
        "--quant-type", default="nf4", choices=["nf4", "fp4"], help="4-bit data type (default: nf4, QLoRA's)"
    )
    group.add_argument(
        "--double-quant", action="store_true", help="4 bits: quantize the block scales too (QLoRA's double quant)"
    )


def _quantization(args: argparse.Namespace):
    from lmcommon.quantization import quantization_from_flags

    return quantization_from_flags(args.load_in_4bit, args.load_in_8bit, args.quant_type, args.double_quant)


# the Trainer options' defaults for this command (every other one is transformers' or lmcommon.flags')
STAGE_TRAINING = {
    "num_train_epochs": 1.0,
    "per_device_train_batch_size": 8,
    "learning_rate": 2e-4,
    "save_steps": 200,
    "logging_steps": 10,
}


def _add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    """The stage's data options and every Trainer option (added when the command is used: they import torch)."""
    from lmcommon.flags import add_trainer_arguments

    group = parser.add_argument_group("stage data")
    group.add_argument("--max-length", type=int, default=512, help="longest tokenised example")
    group.add_argument(
        "--samples-per-domain",
        type=int,
        default=None,
        help="router stage: rows per domain in the balanced mix (default: the largest domain's count)",
    )
    group.add_argument(
        "--routing-loss-weight",
        type=float,
        default=0.0,
        help="router stage: weight of the supervised routing term (each row's mean router weights should name "
        "its own domain's expert; modula.routing_loss) added to the language-model loss; 0 (default): the "
        "language-model loss alone, as in the paper",
    )
    add_trainer_arguments(parser, **STAGE_TRAINING)


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from lmcommon.flags import add_dataclass_arguments

    add_dataclass_arguments(
        parser,
        MoDULAConfig,
        title="a new model's shape (MoDULAConfig; a model already in --output keeps its own)",
        defaults={"variant": None},  # None: res for a new model, and no conflict with a model being continued
    )
    _add_stage_arguments(parser)


def _add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--candidates",
        type=float,
        nargs="+",
        default=[1e-4, 3e-4, 1e-3, 3e-3],
        help="learning rates to try",
    )
    _add_train_arguments(parser)


def _load_base(args: argparse.Namespace, *, for_training: bool):
    from lmcommon.device import choose_device, choose_dtype, training_load_device
    from lmcommon.models import load_causal_lm
    from modula.merge import is_merged_folder, load_merged

    run_device = choose_device(None if for_training else args.device)
    dtype = choose_dtype(args.dtype, run_device)
    quantization = _quantization(args)
    if not for_training and is_merged_folder(args.model):  # written by `modula merge`: its domain branches too
        if getattr(args, "adapters", None):
            raise ValueError(f"--model {args.model} is a merged MoDULA model; it takes no --adapters")
        return load_merged(args.model, dtype=dtype, device=run_device, quantization=quantization)
    # for training, a float base loads on the CPU in the accelerator's dtype and the Trainer places it
    device = training_load_device(quantization is not None) if for_training else run_device
    return load_causal_lm(args.model, dtype=dtype, device=device, quantization=quantization)


def _load_or_create(base_model, directory: Path | None, args: argparse.Namespace):
    from modula.model import MoDULAModel

    if directory is not None and (directory / CONFIG_NAME).is_file():
        model = MoDULAModel.from_pretrained(base_model, directory, allow_other_base=args.allow_other_base)
        requested = getattr(args, "variant", None)
        if requested and requested != model.modula_config.variant:
            raise ValueError(
                f"{directory} holds a {model.modula_config.variant!r} model; --variant {requested} conflicts"
            )
        logger.info("continuing the MoDULA model in %s (domains %s)", directory, model.domains)
        return model
    from lmcommon.flags import dataclass_from_args

    # "--domains math,medical" and "--domains math medical" name the same domains
    domains = [name for value in args.domains for name in value.split(",") if name]
    config = dataclass_from_args(MoDULAConfig, args, variant=args.variant or "res", domains=domains)
    return MoDULAModel(base_model, config)


def _run_stage(model, tokenizer, stage, domain, rows, args, output: Path) -> None:
    from lmcommon.flags import training_arguments
    from modula.train import train_stage

    label = stage if domain is None else f"{stage}-{domain}"
    training_args = training_arguments(args, output / "checkpoints" / label)
    report = train_stage(
        model,
        stage,
        rows,
        training_args,
        tokenizer=tokenizer,
        domain=domain,
        max_length=args.max_length,
        samples_per_domain=args.samples_per_domain,
        resume_from_checkpoint=True if args.resume else None,
        save_to=output,
        routing_loss_weight=args.routing_loss_weight if stage == "router" else 0.0,
    )
    if training_args.process_index == 0:
        report.save(output / "reports" / f"{label}.json")
        print(json.dumps({"output": str(output), **report.__dict__}))


def _train(args: argparse.Namespace) -> int:
    from modula.data import read_chat_rows

    if args.stage == "expert" and not args.domain:
        raise ValueError("--stage expert needs --domain NAME")
    if args.routing_loss_weight and args.stage != "router":
        raise ValueError(f"--routing-loss-weight is for --stage router, not --stage {args.stage}")
    rows = read_chat_rows(args.data, require_domain=args.stage == "router")
    base_model, tokenizer = _load_base(args, for_training=True)
    output = Path(args.output)
    set_seed(args.seed)  # new experts are drawn when the model is made, before the Trainer seeds
    model = _load_or_create(base_model, output, args)
    if args.stage == "expert" and args.domain not in model.domains:
        raise ValueError(
            f"domain {args.domain!r} is not in the model's domains {model.domains}; "
            f"create the model with --domains or add it with `modula add-domain`"
        )
    _run_stage(model, tokenizer, args.stage, args.domain if args.stage == "expert" else None, rows, args, output)
    return 0


def _tune_learning_rate(args: argparse.Namespace) -> int:
    import tempfile

    from lmcommon.data import write_json
    from lmcommon.flags import training_arguments
    from modula.data import read_chat_rows
    from modula.lr_search import choose_learning_rate

    if args.stage == "expert" and not args.domain:
        raise ValueError("--stage expert needs --domain NAME")
    rows = read_chat_rows(args.data, require_domain=args.stage == "router")
    dev_rows = read_chat_rows(args.dev)
    base_model, tokenizer = _load_base(args, for_training=True)
    set_seed(args.seed)
    model = _load_or_create(base_model, Path(args.adapters) if args.adapters else None, args)
    with tempfile.TemporaryDirectory() as scratch:
        trainer_args = training_arguments(args, scratch)
        trainer_args.save_strategy = "no"  # trial runs: nothing to resume
        choice = choose_learning_rate(
            model,
            args.stage,
            rows,
            dev_rows,
            args.candidates,
            trainer_args,
            tokenizer=tokenizer,
            domain=args.domain if args.stage == "expert" else None,
            max_length=args.max_length,
            samples_per_domain=args.samples_per_domain,
            routing_loss_weight=args.routing_loss_weight if args.stage == "router" else 0.0,
        )
    if args.output:
        write_json(args.output, choice.as_dict())
    print(json.dumps(choice.as_dict()))
    return 0


def _add_domain(args: argparse.Namespace) -> int:
    from lmcommon.outputs import folder_lock

    if args.output is None:  # extended in place: --adapters is the folder being written
        with folder_lock(args.adapters):
            return _extend(args)
    return _extend(args)


def _extend(args: argparse.Namespace) -> int:
    from modula.data import read_chat_rows
    from modula.model import MoDULAModel

    rows = read_chat_rows(args.data)
    router_rows = read_chat_rows(args.router_data, require_domain=True)
    base_model, tokenizer = _load_base(args, for_training=True)
    model = MoDULAModel.from_pretrained(base_model, Path(args.adapters), allow_other_base=args.allow_other_base)
    output = Path(args.output or args.adapters)
    set_seed(args.seed)  # the new expert's weights are drawn here
    model.add_domain(args.domain)
    # only the new expert and then the routers train; every existing expert stays as it was
    _run_stage(model, tokenizer, "expert", args.domain, rows, args, output)
    _run_stage(model, tokenizer, "router", None, router_rows, args, output)
    return 0


def _read_prompts(args: argparse.Namespace) -> list[str]:
    from lmcommon.data import read_jsonl, read_stdin_lines

    if args.input:
        return [row["prompt"] for row in read_jsonl(args.input, required=("prompt",), text=("prompt",))]
    if args.prompt:
        return list(args.prompt)
    prompts = [line for line in read_stdin_lines() if line.strip()]
    if not prompts:
        raise ValueError("no prompts: give --prompt TEXT, --input FILE.jsonl or lines on standard input")
    return prompts


def _load_for_inference(args: argparse.Namespace):
    from modula.model import MoDULAModel

    if args.domain and args.stage != "expert":  # once silently ignored: the mixture answered instead
        raise ValueError(f"--domain {args.domain} selects one expert: add --stage expert (or leave --domain out)")
    if args.stage == "expert" and not args.domain:
        raise ValueError("--stage expert needs --domain NAME")

    base_model, tokenizer = _load_base(args, for_training=False)
    if not args.adapters:
        return base_model, tokenizer
    model = MoDULAModel.from_pretrained(base_model, Path(args.adapters), allow_other_base=args.allow_other_base)
    model.set_stage(args.stage, args.domain)  # checked above: a domain comes only with --stage expert
    return model.eval(), tokenizer


def _merge(args: argparse.Namespace) -> int:
    from modula.merge import save_merged
    from modula.model import MoDULAModel

    base_model, tokenizer = _load_base(args, for_training=False)
    model = MoDULAModel.from_pretrained(base_model, Path(args.adapters), allow_other_base=args.allow_other_base)
    variant = model.modula_config.variant
    merged = model.merge_domain(args.domain)
    save_merged(merged, args.output, variant=variant, domain=args.domain, tokenizer=tokenizer)
    print(f"{variant} model merged for {args.domain!r} -> {args.output} (serve it with: modula generate --model ...)")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from lmcommon.data import write_jsonl
    from lmcommon.generation import generate_replies

    prompts = _read_prompts(args)
    model, tokenizer = _load_for_inference(args)
    if args.adapters and args.stage == "inference":  # the routed mixture in three matmuls per layer (same outputs)
        model = model.fold_for_serving()
    replies = generate_replies(
        model, tokenizer, prompts, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size
    )
    if args.output:
        write_jsonl(args.output, [{"prompt": p, "response": r} for p, r in zip(prompts, replies, strict=True)])
    else:
        for reply in replies:
            print(reply)
    return 0


def _router_weights(args: argparse.Namespace) -> int:
    from lmcommon.generation import format_chat_prompt

    prompts = _read_prompts(args)
    model, tokenizer = _load_for_inference(args)
    texts = [format_chat_prompt(tokenizer, p) for p in prompts]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
        next(model.parameters()).device
    )
    means = model.mean_router_weights(batch["input_ids"], batch["attention_mask"])
    outputs = model.modula_config.router_outputs
    table = {layer: dict(zip(outputs, [round(v, 4) for v in w.tolist()], strict=True)) for layer, w in means.items()}
    print(json.dumps({"outputs": outputs, "layers": table}, indent=1))
    return 0


def _build_data(args: argparse.Namespace) -> int:
    from modula.tasks import build_domain_data, write_domain_data

    splits = build_domain_data(args.source, seed=args.seed, pubmedqa_setting=args.pubmedqa_setting)
    counts = write_domain_data(splits, args.output)
    print(json.dumps({"output": args.output, "rows": counts}, indent=1))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from modula.experiment import PROFILES, run_experiment
    from modula.report import results_markdown

    profile = PROFILES["quick" if args.quick else args.profile]
    if args.choose_learning_rates:
        from modula.experiment import Experiment

        experiment = Experiment(
            args.output, args.data, profile, model=args.model, seed=args.seed, quantization=_quantization(args)
        )
        print(json.dumps(experiment.choose_learning_rates(args.choose_learning_rates), indent=1))
        return 0
    results = run_experiment(
        args.output, args.data, profile, model=args.model, seed=args.seed, quantization=_quantization(args)
    )
    print(results_markdown(results))
    print(f"written: {Path(args.output) / 'results.json'}, {Path(args.output) / 'results.md'}")
    return 0


def _plot_routers(args: argparse.Namespace) -> int:
    from collections import defaultdict

    from lmcommon.data import read_jsonl, write_json
    from modula.plots import plot_router_heatmap
    from modula.routers import domain_router_weights

    prompts: dict[str, list[str]] = defaultdict(list)
    for row in read_jsonl(args.input, required=("prompt",), text=("prompt",)):
        prompts[str(row.get("domain", "all"))].append(row["prompt"])
    if args.per_group:
        prompts = {group: texts[: args.per_group] for group, texts in prompts.items()}
    model, tokenizer = _load_for_inference(args)
    weights = domain_router_weights(model, tokenizer, prompts)
    path = plot_router_heatmap(weights, args.output, title=f"{args.adapters}: mean router weight per layer")
    write_json(Path(args.output).with_suffix(".json"), weights)
    print(f"written: {path} and {Path(args.output).with_suffix('.json')}")
    return 0


def _expert_losses(args: argparse.Namespace) -> int:
    from collections import defaultdict

    from lmcommon.data import read_jsonl, write_json
    from modula.expert_losses import expert_losses

    rows: dict[str, list[dict]] = defaultdict(list)
    for row in read_jsonl(args.input, required=("prompt", "response", "domain")):
        rows[str(row["domain"])].append(row)
    if args.per_domain:
        rows = {domain: group[: args.per_domain] for domain, group in rows.items()}
    model, tokenizer = _load_for_inference(args)
    losses = expert_losses(model, tokenizer, rows, max_length=args.max_length, batch_size=args.batch_size)
    if args.output:
        write_json(args.output, losses)
        print(f"written: {args.output}")
    else:
        print(json.dumps(losses, indent=1))
    return 0


def _add_stage_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage",
        required=True,
        choices=["universal", "expert", "router", "joint"],
        help="what trains: the universal expert, one domain expert, the routers, or everything (MoLoRA)",
    )
    parser.add_argument("--domain", help="the expert stage's domain")
    parser.add_argument(
        "--data",
        required=True,
        type=input_path,
        help="JSONL with prompt, response (and domain for the router stage)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser, commands = make_parser(
        "modula", "MoDULA: mixture of domain-specific and universal LoRA experts, trained in stages.", __version__
    )

    train = commands.add_parser(
        "train",
        populate=_add_train_arguments,
        help="train one stage (universal, expert, router, or joint = MoLoRA)",
        description="Train one stage. The model in --output is continued when it exists, "
        "else created from --variant/--domains.",
    )
    _add_stage_selection(train)
    train.add_argument(
        "--output", required=True, type=run_folder, help="the MoDULA model folder (created or continued)"
    )
    _add_model_arguments(train)
    train.set_defaults(func=_train)

    tune = commands.add_parser(
        "tune-lr",
        populate=_add_tune_arguments,
        help="choose one stage's learning rate on dev rows (trains once per candidate; saves nothing)",
        description="Train one stage once per --candidates learning rate, from the model in --adapters (or a new "
        "one from the config flags), and print the dev loss of each and the best. The model is not changed.",
    )
    _add_stage_selection(tune)
    tune.add_argument(
        "--dev", required=True, type=input_path, help="held-out JSONL (prompt, response) whose loss decides"
    )
    tune.add_argument("--adapters", type=input_path, help="a MoDULA model folder to start from (default: a new model)")
    tune.add_argument("--output", type=output_file, help="also write the choice as JSON here")
    _add_model_arguments(tune)
    tune.set_defaults(func=_tune_learning_rate)

    add = commands.add_parser(
        "add-domain",
        populate=_add_stage_arguments,
        help="plug in a new domain: train its expert, then the routers",
        description="Add a domain to a trained model without touching the existing experts.",
    )
    add.add_argument("--adapters", required=True, type=input_path, help="the trained MoDULA model folder")
    add.add_argument("--domain", required=True, help="name of the new domain")
    add.add_argument("--data", required=True, type=input_path, help="JSONL with prompt, response for the new domain")
    add.add_argument(
        "--router-data",
        required=True,
        type=input_path,
        help="JSONL with prompt, response, domain covering every domain",
    )
    add.add_argument("--output", type=run_folder, help="where to write the extended model (default: --adapters)")
    _add_model_arguments(add)
    add.set_defaults(func=_add_domain)

    merge = commands.add_parser(
        "merge",
        help="fold the universal expert and one domain expert into the base model, for serving that domain",
        description="Writes a Hugging Face model folder that computes one domain's expert path at the base model's "
        "cost (Flan: a plain model; Res: the base with the universal expert folded in, plus a small branch per "
        "layer that the LeakyReLU keeps out of the weights). Serve it with `modula generate --model OUTPUT`.",
    )
    merge.add_argument("--adapters", required=True, type=input_path, help="a MoDULA model folder")
    merge.add_argument("--domain", required=True, help="the domain to serve")
    merge.add_argument("--output", required=True, type=output_folder(), help="the folder to write (as a whole)")
    merge.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    _add_model_arguments(merge)
    merge.set_defaults(func=_merge)

    for name, func, text in [
        ("generate", _generate, "generate replies with a MoDULA model (or the base model without --adapters)"),
        ("router-weights", _router_weights, "print the mean router weight per layer and expert for some prompts"),
    ]:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--adapters", type=input_path, help="a MoDULA model folder")
        sub.add_argument("--prompt", action="append", help="a prompt (repeatable); or --input, or standard input")
        sub.add_argument("--input", type=input_path, help="JSONL with a prompt field")
        sub.add_argument(
            "--stage",
            default="inference",
            choices=["inference", "universal", "expert"],
            help="forward path: the full mixture (default), the universal expert only, or one expert",
        )
        sub.add_argument("--domain", help="the expert for --stage expert")
        sub.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
        _add_model_arguments(sub)
        if name == "generate":
            sub.add_argument(
                "--output", type=output_file, help="write JSONL rows {prompt, response} here instead of printing"
            )
            sub.add_argument("--max-new-tokens", type=int, default=128, help="tokens per reply (default: 128)")
            sub.add_argument("--batch-size", type=int, default=8, help="prompts generated at once (default: 8)")
        sub.set_defaults(func=func)
    plot = commands.add_parser(
        "plot-routers",
        help="PNG heatmap of the mean router weight per layer and expert, one panel per prompt domain",
        description="Heatmap of router weights (needs matplotlib: pip install 'modula[plot]'). Prompts come from "
        "a JSONL file with 'prompt' and an optional 'domain' field that groups them into panels.",
    )
    plot.add_argument("--adapters", required=True, type=input_path, help="a MoDULA model folder")
    plot.add_argument(
        "--input",
        required=True,
        type=input_path,
        help="JSONL with prompt (and domain) fields, e.g. data/modula/*/test.jsonl",
    )
    plot.add_argument(
        "--output", required=True, type=output_file, help="the PNG to write; the weights go beside it as .json"
    )
    plot.add_argument("--per-group", type=int, default=32, help="prompts per domain (0: all)")
    plot.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    _add_model_arguments(plot)
    plot.set_defaults(func=_plot_routers, stage="inference", domain=None)

    losses = commands.add_parser(
        "expert-losses",
        help="answer loss per domain under each expert alone, the routed mixture and the universal expert alone",
        description="The routing signal: for each domain's rows, the mean cross-entropy (nats) per response token "
        "with each domain expert alone at full weight, with the routed mixture and with the universal expert "
        "alone, and the gap between the mixture and the best expert (what routing could still gain).",
    )
    losses.add_argument("--adapters", required=True, type=input_path, help="a MoDULA model folder")
    losses.add_argument(
        "--input",
        required=True,
        type=input_path,
        help="JSONL with prompt, response and domain fields, e.g. a domain's held-out rows",
    )
    losses.add_argument("--per-domain", type=int, default=16, help="rows per domain, the first ones (0: all)")
    losses.add_argument("--output", type=output_file, help="write the JSON here instead of printing it")
    losses.add_argument("--max-length", type=int, default=256, help="tokens per row, longer rows are cut")
    losses.add_argument("--batch-size", type=int, default=8, help="rows per forward pass (default: 8)")
    losses.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    _add_model_arguments(losses)
    losses.set_defaults(func=_expert_losses, stage="inference", domain=None)

    build = commands.add_parser(
        "build-data",
        help="build the experiment's seeded domain splits from data/instruct",
        description="Write OUTPUT/{math,medical,finance,general}/{train,test}.jsonl from the raw sets.",
    )
    build.add_argument(
        "--source", default="data/instruct", type=DATA_PATH, help="the raw data folder (default: data/instruct)"
    )
    build.add_argument(
        "--output",
        default="data/modula",
        type=output_folder(),
        help="where to write the splits (default: data/modula)",
    )
    build.add_argument("--seed", type=int, default=13, help="sampling seed (default: 13, the shipped splits)")
    build.add_argument(
        "--pubmedqa-setting",
        default="reasoning-free",
        choices=["reasoning-free", "reasoning-required"],
        help="medical prompts: the question with the abstract's conclusion (reasoning-free, the shipped splits) "
        "or with the abstract cut to 400 characters (reasoning-required)",
    )
    build.set_defaults(func=_build_data)

    demo = commands.add_parser(
        "demo",
        help="the whole experiment: three stages, baselines, plug-in, evaluation; prints the table",
        description="Train and score base, LoRA, MoLoRA, MoDULA-Flan and MoDULA-Res on math and medical, plug in "
        "finance, and write results.json, results.md and the router heatmaps (before and after the plug-in) into "
        "--output. --quick runs four of them (base, LoRA, MoDULA-Res and its plug-in) on what a small model learns "
        "fastest. Rerunning resumes.",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="the quick profile: base, LoRA, MoDULA-Res and its finance plug-in on 2- and 3-digit "
        "addition and label-balanced finance (about 12 min on 2 CPU cores); same as --profile quick",
    )
    demo.add_argument(
        "--profile",
        default="default",
        choices=["quick", "default"],
        help="budget: quick (four systems, about 12 min) or default (seven systems, the README's figures)",
    )
    demo.add_argument(
        "--data",
        default="data/modula",
        type=DATA_PATH,
        help="the folder written by `modula build-data` (default: data/modula)",
    )
    demo.add_argument(
        "--output", default="runs/modula-demo", type=run_folder, help="run folder (resumed when it exists)"
    )
    demo.add_argument(
        "--choose-learning-rates",
        type=float,
        nargs="+",
        metavar="LR",
        help="instead of the experiment: train the universal stage, each domain's expert and the baselines "
        "(MoLoRA's joint stage) once per LR on the profile's rows, and write the rate with the lowest dev loss "
        "per stage to OUTPUT/learning-rates.json",
    )
    demo.add_argument("--seed", type=int, default=0, help="training and sampling seed (default: 0)")
    demo.add_argument(
        "--model",
        default="default",
        type=input_path,
        help="base causal LM: 'default' (packaged SmolLM2-135M-Instruct), hub id or folder",
    )
    _add_quantization_arguments(demo)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
