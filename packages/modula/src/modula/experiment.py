"""The multi-domain experiment: MoDULA-Flan and MoDULA-Res against the base model, one LoRA and MoLoRA, in one
harness and budget, then the plug-in of a new domain against re-training MoLoRA.

Every system sees the same rows: the general rows of the universal stage, ``expert_examples`` rows of each
domain, and the router stage's balanced mix; the baselines train once over all of them, mixed. Results are
written per system as they finish (``results/<system>.json``) and a rerun skips the systems already done, so
an interrupted run resumes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lmcommon.data import write_json, write_jsonl
from lmcommon.seed import set_seed
from modula.config import MoDULAConfig
from modula.data import balanced_mix
from modula.scoring import answer_statistics, generate_and_score, response_perplexity
from modula.tasks import read_domain_split

logger = logging.getLogger(__name__)
INITIAL_DOMAINS = ("math", "medical")
PLUGGED_DOMAIN = "finance"
SCORED_DOMAINS = ("math", "medical", "finance")
CONTRIBUTION_PROMPTS = 16  # test prompts per domain on which the parts' output norms are measured
ROUTING_PROMPTS = 32  # test prompts per domain whose router weights are averaged


@dataclass(frozen=True)
class Profile:
    """How much each stage trains on and how much each domain is scored on."""

    name: str
    universal_examples: int  # general rows of stage 1
    expert_examples: int  # rows of each domain expert
    router_examples_per_domain: int  # rows per domain in the router stage's balanced mix
    batch_size: int = 8
    max_length: int = 256
    learning_rate: float = 3e-4
    router_learning_rate: float = 1e-3  # routers start from zero and have few parameters; they take a larger step
    train_gsm8k: bool = True  # GSM8K's worked solutions are ~4x longer than the arithmetic rows
    eval_arithmetic: int = 350
    eval_gsm8k: int = 0
    eval_medical: int = 500
    eval_finance: int = 300
    eval_general: int = 50
    eval_batch_size: int = 32

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, int) and not isinstance(value, bool) and name != "eval_gsm8k" and value < 1:
                raise ValueError(f"Profile.{name} must be >= 1, got {value}")


PROFILES = {
    # a smoke run of every step (13.2 minutes measured on 2 CPU cores); far too little training to compare systems
    "quick": Profile(
        "quick",
        universal_examples=8,
        expert_examples=24,
        router_examples_per_domain=8,
        train_gsm8k=False,
        eval_arithmetic=21,
        eval_medical=20,
        eval_finance=20,
        eval_general=8,
    ),
    # the README's figures (about 85 minutes on 2 CPU cores)
    "default": Profile(
        "default",
        universal_examples=96,
        expert_examples=160,
        router_examples_per_domain=48,
        eval_arithmetic=140,
        eval_medical=100,
        eval_finance=100,
        eval_general=30,
    ),
}


def _length_grouped_batches(arguments_class) -> dict[str, Any]:
    """Batches of similar lengths: the mixed sets put 40-token arithmetic beside 250-token PubMedQA rows, which
    would otherwise be padded to the longest row of their batch. transformers 5 names the option
    ``train_sampling_strategy``; 4.x had ``group_by_length``."""
    if "train_sampling_strategy" in arguments_class.__dataclass_fields__:
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True}


@dataclass
class Costs:
    """What producing a system took, summed over its training stages."""

    trainable_parameters: int = 0
    tokens_seen: int = 0
    examples: int = 0
    train_time_s: float = 0.0

    def add(self, report) -> None:
        self.trainable_parameters += report.trainable_parameters
        self.tokens_seen += report.tokens_seen
        self.examples += report.examples
        self.train_time_s += report.wall_time_s


class Experiment:
    """Runs and scores every system; see the module docstring.

    Args:
        output: the run folder (models/, results/, replies/, the table).
        data_dir: the folder written by ``modula build-data`` (``data/modula`` in the repository).
        profile: the budgets.
        model: the base causal LM (``"default"``: the packaged SmolLM2-135M-Instruct).
        seed: seeds data order, initialisation and sampling of the mixes.
    """

    def __init__(
        self, output: str | Path, data_dir: str | Path, profile: Profile, model: str = "default", seed: int = 0
    ):
        from lmcommon.device import choose_device

        self.output, self.profile, self.model_name, self.seed = Path(output), profile, model, seed
        self.device = choose_device(None)
        p = profile
        train = {d: read_domain_split(data_dir, d, "train") for d in (*SCORED_DOMAINS, "general")}
        test = {d: read_domain_split(data_dir, d, "test") for d in (*SCORED_DOMAINS, "general")}
        self.general_rows = train["general"][: p.universal_examples]
        if not p.train_gsm8k:
            train["math"] = [row for row in train["math"] if row["task"] != "gsm8k"]
        self.expert_rows = {d: train[d][: p.expert_examples] for d in SCORED_DOMAINS}
        arithmetic = [r for r in test["math"] if r["task"] != "gsm8k"][: p.eval_arithmetic]
        gsm8k = [r for r in test["math"] if r["task"] == "gsm8k"][: p.eval_gsm8k]
        self.test_rows = {
            "math": arithmetic + gsm8k,
            "medical": test["medical"][: p.eval_medical],
            "finance": test["finance"][: p.eval_finance],
            "general": test["general"][: p.eval_general],
        }

    # -- data ---------------------------------------------------------------------------------------------
    def router_rows(self, domains) -> list[dict[str, Any]]:
        pool = [row for d in domains for row in self.expert_rows[d]]
        return balanced_mix(pool, list(domains), self.profile.router_examples_per_domain, seed=self.seed)

    def mixed_rows(self, domains) -> list[dict[str, Any]]:
        """The union of what MoDULA's stages see, shuffled: the baselines' training set."""
        rows = [*self.general_rows, *(r for d in domains for r in self.expert_rows[d]), *self.router_rows(domains)]
        random.Random(self.seed).shuffle(rows)
        return rows

    # -- training -----------------------------------------------------------------------------------------
    def load_base(self):
        from lmcommon.device import choose_dtype
        from lmcommon.models import load_causal_lm

        # on the CPU in the accelerator's dtype: the Trainer places the model
        return load_causal_lm(self.model_name, dtype=choose_dtype(None, self.device), device="cpu")

    def training_args(self, label: str, learning_rate: float | None = None):
        from transformers import TrainingArguments

        from lmcommon.training import mixed_precision

        return TrainingArguments(
            output_dir=str(self.output / "checkpoints" / label),
            num_train_epochs=1,
            per_device_train_batch_size=self.profile.batch_size,
            learning_rate=learning_rate or self.profile.learning_rate,
            lr_scheduler_type="cosine",
            **_length_grouped_batches(TrainingArguments),
            logging_steps=5,
            save_strategy="no",  # a stage is minutes long; the experiment resumes per system instead
            seed=self.seed,
            report_to=[],
            use_cpu=self.device == "cpu",
            **mixed_precision(self.device),
            disable_tqdm=False,
        )

    def train_stage(self, model, costs: Costs, stage: str, rows, domain: str | None = None) -> None:
        from modula.train import train_stage

        label = stage if domain is None else f"{stage}-{domain}"
        lr = self.profile.router_learning_rate if stage == "router" else None
        report = train_stage(
            model,
            stage,
            rows,
            self.training_args(label, lr),
            tokenizer=self.tokenizer,
            domain=domain,
            max_length=self.profile.max_length,
            samples_per_domain=self.profile.router_examples_per_domain,
        )
        logger.info("%s: %d steps, %.0f s, loss %.3f", label, report.steps, report.wall_time_s, report.train_loss)
        costs.add(report)

    def train_lora(self, rows) -> tuple[Any, Costs]:
        from peft import LoraConfig, get_peft_model

        from lmcommon.sft import tokenize_rows
        from modula.train import StageReport, run_trainer

        base, self.tokenizer = self.load_base()
        defaults = MoDULAConfig()  # the same targets and dropout as the mixtures' experts: one difference, the mixing
        config = LoraConfig(
            r=16, lora_alpha=32, lora_dropout=defaults.dropout, target_modules=list(defaults.target_modules)
        )
        model = get_peft_model(base, config)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        examples = tokenize_rows(self.tokenizer, rows, self.profile.max_length)
        report = run_trainer(model, examples, self.training_args("lora"), tokenizer=self.tokenizer)
        costs = Costs()
        costs.add(StageReport.from_report("lora", None, trainable, report))
        return model, costs

    def train_molora(self, domains) -> tuple[Any, Costs]:
        from modula.model import MoDULAModel

        base, self.tokenizer = self.load_base()
        model = MoDULAModel(base, MoDULAConfig(variant="flan", domains=list(domains)))
        costs = Costs()
        self.train_stage(model, costs, "joint", self.mixed_rows(domains))
        return model, costs

    def train_universal(self) -> Costs:
        """Stage 1, shared by both variants (it is the same LoRA in Flan and Res); saved once."""
        from modula.model import MoDULAModel

        folder = self.output / "models" / "universal"
        costs_file = self.output / "results" / "universal-costs.json"
        if costs_file.is_file():
            import json

            return Costs(**json.loads(costs_file.read_text()))
        base, self.tokenizer = self.load_base()
        model = MoDULAModel(base, MoDULAConfig(variant="res", domains=[]))
        costs = Costs()
        self.train_stage(model, costs, "universal", self.general_rows)
        model.save_pretrained(folder)
        write_json(costs_file, asdict(costs))
        return costs

    def train_modula(self, variant: str, domains) -> tuple[Any, Costs]:
        from modula.checkpoint import load_universal_expert
        from modula.model import MoDULAModel

        costs = self.train_universal()
        base, self.tokenizer = self.load_base()
        model = MoDULAModel(base, MoDULAConfig(variant=variant, domains=list(domains)))
        load_universal_expert(model, self.output / "models" / "universal" / "universal")
        for domain in domains:
            self.train_stage(model, costs, "expert", self.expert_rows[domain], domain=domain)
        self.train_stage(model, costs, "router", self.router_rows(domains))
        model.save_pretrained(self.output / "models" / f"modula-{variant}")
        return model, costs

    def plug_in(self, source_system: str, domain: str, domains) -> tuple[Any, Costs]:
        """Adds ``domain`` to a trained model: its expert, then the routers; nothing else trains."""
        from modula.model import MoDULAModel

        base, self.tokenizer = self.load_base()
        model = MoDULAModel.from_pretrained(base, self.output / "models" / source_system)
        model.add_domain(domain)
        costs = Costs()
        self.train_stage(model, costs, "expert", self.expert_rows[domain], domain=domain)
        self.train_stage(model, costs, "router", self.router_rows(domains))
        model.save_pretrained(self.output / "models" / f"{source_system}-plus-{domain}")
        return model, costs

    # -- scoring ------------------------------------------------------------------------------------------
    def evaluate(self, system: str, model) -> dict[str, Any]:
        model = model.to(self.device).eval()
        scores: dict[str, Any] = {}
        replies = []
        for domain in SCORED_DOMAINS:
            rows = self.test_rows[domain]
            result = generate_and_score(model, self.tokenizer, rows, batch_size=self.profile.eval_batch_size)
            # math is scored on the arithmetic problems (GSM8K apart): one answer format, one statistic
            scored = [i for i, row in enumerate(rows) if domain != "math" or row["task"] != "gsm8k"]
            answers = answer_statistics(
                [rows[i] for i in scored],
                [result["replies"][i] for i in scored],
                [result["correct"][i] for i in scored],
            )
            scores[domain] = answers["accuracy"]
            scores[f"{domain}_answers"] = answers
            if domain == "math" and "gsm8k" in result["by_task"]:
                scores["gsm8k"] = result["by_task"]["gsm8k"]
            replies += [
                {"domain": domain, "prompt": r["prompt"], "answer": r["answer"], "reply": reply, "correct": ok}
                for r, reply, ok in zip(rows, result["replies"], result["correct"], strict=True)
            ]
        if hasattr(model, "contributions"):  # the mixtures: does each part change the output?
            scores["contributions"] = {
                domain: self.contributions(model, self.test_rows[domain][:CONTRIBUTION_PROMPTS])
                for domain in SCORED_DOMAINS
            }
            scores["routing"] = self.routing(model)
        scores["general_ppl"] = response_perplexity(
            model, self.tokenizer, self.test_rows["general"], max_length=512, batch_size=8
        )
        write_jsonl(self.output / "replies" / f"{system}.jsonl", replies)
        return scores

    def contributions(self, model, rows) -> dict[str, float]:
        """:meth:`modula.model.MoDULAModel.contributions` on the chat-formatted prompts of ``rows``."""
        from lmcommon.generation import format_chat_prompt

        texts = [format_chat_prompt(self.tokenizer, row["prompt"]) for row in rows]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        return model.contributions(batch["input_ids"], batch["attention_mask"])

    def routing(self, model) -> dict[str, Any]:
        """Mean router weight per layer and expert on each scored domain's test prompts, and the weight on each
        domain's own expert (:func:`modula.routers.own_expert_weights`)."""
        from modula.routers import domain_router_weights, own_expert_weights

        prompts = {d: [r["prompt"] for r in self.test_rows[d][:ROUTING_PROMPTS]] for d in SCORED_DOMAINS}
        weights = domain_router_weights(model, self.tokenizer, prompts)
        return {**weights, "own_expert": own_expert_weights(weights)}

    def run_system(self, system: str, build: Callable[[], tuple[Any, Costs]]) -> dict[str, Any]:
        """Trains (``build``) and scores one system, or reads its results from an earlier run."""
        import json

        path = self.output / "results" / f"{system}.json"
        if path.is_file():
            logger.info("%s: done in an earlier run (%s)", system, path)
            return json.loads(path.read_text())
        set_seed(self.seed)
        logger.info("%s: training", system)
        model, costs = build()
        started = time.perf_counter()
        scores = self.evaluate(system, model)
        result = {"system": system, **scores, **asdict(costs), "eval_time_s": time.perf_counter() - started}
        write_json(path, result)
        logger.info("%s: %s", system, {k: v for k, v in result.items() if k != "system"})
        return result

    def base_model(self) -> tuple[Any, Costs]:
        model, self.tokenizer = self.load_base()
        return model, Costs()


def run_experiment(
    output: str | Path, data_dir: str | Path, profile: Profile, model: str = "default", seed: int = 0
) -> dict[str, Any]:
    """Trains and scores every system, runs the plug-in comparison, draws the router heatmap, and writes
    ``results.json`` and ``results.md`` into ``output``.

    Returns:
        ``{"profile", "model", "rows": [...], "plug_in": {...}, "wall_time_s"}`` (also in ``results.json``).
    """
    from modula.claims import paper_claims
    from modula.report import plug_in_summary, write_results

    started = time.perf_counter()
    experiment = Experiment(output, data_dir, profile, model=model, seed=seed)
    initial, everything = INITIAL_DOMAINS, (*INITIAL_DOMAINS, PLUGGED_DOMAIN)
    rows = [
        experiment.run_system("base", experiment.base_model),
        experiment.run_system("lora", lambda: experiment.train_lora(experiment.mixed_rows(initial))),
        experiment.run_system("molora", lambda: experiment.train_molora(initial)),
        experiment.run_system("modula-flan", lambda: experiment.train_modula("flan", initial)),
        experiment.run_system("modula-res", lambda: experiment.train_modula("res", initial)),
        experiment.run_system(
            f"modula-res+{PLUGGED_DOMAIN}", lambda: experiment.plug_in("modula-res", PLUGGED_DOMAIN, everything)
        ),
        experiment.run_system(f"molora-retrained+{PLUGGED_DOMAIN}", lambda: experiment.train_molora(everything)),
    ]
    heatmaps = {
        row["system"]: draw_router_heatmap(row, experiment.output)
        for row in rows
        if row["system"] in ("modula-res", f"modula-res+{PLUGGED_DOMAIN}")
    }
    results = {
        "profile": asdict(profile),
        "model": model,
        "device": experiment.device,
        "rows": rows,
        "plug_in": plug_in_summary(rows, PLUGGED_DOMAIN, INITIAL_DOMAINS),
        "router_heatmaps": heatmaps,  # before and after the plug-in
        "wall_time_s": time.perf_counter() - started,
    }
    results["claims"] = paper_claims(results, INITIAL_DOMAINS)
    write_results(results, Path(output))
    return results


def draw_router_heatmap(row: dict[str, Any], output: Path) -> str | None:
    """The PNG of a system's mean router weights per layer on each domain's test prompts (``row["routing"]``,
    measured when it was scored); None without matplotlib or without the measurement (a row of an older run)."""
    if "routing" not in row:
        return None
    try:
        from modula.plots import plot_router_heatmap
    except ImportError:
        logger.warning("matplotlib is not installed (pip install 'modula[plot]'); router weights in results.json only")
        return None
    path = output / f"router_heatmap-{row['system'].replace('+', '-plus-')}.png"
    plot_router_heatmap(row["routing"], path, title=f"{row['system']}: mean router weight per layer")
    return str(path)
