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
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lmcommon.data import read_json, read_jsonl, write_json, write_jsonl
from lmcommon.seed import set_seed
from modula.config import MoDULAConfig
from modula.data import balanced_mix
from modula.scoring import LABELS_BY_DOMAIN, answer_statistics, generate_and_score, response_perplexity
from modula.tasks import read_domain_split

logger = logging.getLogger(__name__)
INITIAL_DOMAINS = ("math", "medical")
PLUGGED_DOMAIN = "finance"
SCORED_DOMAINS = ("math", "medical", "finance")
CONTRIBUTION_PROMPTS = 16  # test prompts per domain on which the parts' output norms are measured
ROUTING_PROMPTS = 32  # test prompts per domain whose router weights are averaged
RUN_BASE_NAME = "run_base.json"  # the base model and precision a run folder's systems train over
CHANGED_ANSWER_PROMPTS = 100  # test prompts per domain answered again with the universal expert alone
# every system the experiment can run, in the order it runs them (the plug-in needs modula-res before it)
ALL_SYSTEMS = (
    "base",
    "lora",
    "molora",
    "modula-flan",
    "modula-res",
    f"modula-res+{PLUGGED_DOMAIN}",
    f"molora-retrained+{PLUGGED_DOMAIN}",
)
ARITHMETIC_TASKS = ("2D+", "2D-", "3D+", "3D-", "4D+", "4D-", "2Dx")  # the task types of modula.tasks' problems


@dataclass(frozen=True)
class Profile:
    """How much each stage trains on and how much each domain is scored on."""

    name: str
    universal_examples: int  # general rows of stage 1
    expert_examples: int  # rows of each domain expert (more than the split has: its rows again, i.e. epochs)
    router_examples_per_domain: int  # rows per domain in the router stage's balanced mix
    # per-domain overrides of expert_examples: PubMedQA has 500 training questions and a 135M model needs two
    # passes over them before its answers depend on the question (one pass: "yes" to everything, measured)
    expert_examples_by_domain: dict[str, int] = field(default_factory=dict)
    # domains whose expert rows are drawn label-balanced (minority labels repeat): TFNS is 66% "neutral", and on
    # its dev rows an expert trained on the split as it is answered "neutral" to 92% of tweets alone and to all of
    # them once mixed with the other experts (docs/modula.md)
    label_balanced_domains: tuple[str, ...] = ()
    dev_examples: int = 48  # the last rows of each train split: never trained on, the dev rows of learning rates
    expert_loss_rows: int = 16  # dev rows per domain on which each expert alone, the mixture and h are scored
    batch_size: int = 8
    max_length: int = 256
    # one learning rate per stage (issue 17: each stage starts from a different place and has its own parameter
    # count; `modula demo --choose-learning-rates` chooses them on the dev rows)
    universal_learning_rate: float = 3e-4
    expert_learning_rate: float = 3e-4
    router_learning_rate: float = 1e-3  # routers start from zero and have few parameters; they take a larger step
    # weight of the supervised routing term in the router stages (modula.routing_loss); 0: the paper's
    # language-model loss alone
    routing_loss_weight: float = 0.0
    baseline_learning_rate: float = 3e-4  # LoRA and MoLoRA, one run over the union of the stages' rows
    expert_learning_rates_by_domain: dict[str, float] = field(default_factory=dict)  # overrides per domain
    bf16_on_cpu: bool = False  # autocast to bfloat16 on CPUs with native bf16 (AVX512-BF16/AMX): ~1.1x per step
    train_gsm8k: bool = True  # GSM8K's worked solutions are ~4x longer than the arithmetic rows
    eval_arithmetic: int = 350
    eval_gsm8k: int = 0
    eval_medical: int = 500
    eval_finance: int = 300
    eval_general: int = 50
    eval_batch_size: int = 32
    systems: tuple[str, ...] = ALL_SYSTEMS  # the systems to run, a subset of ALL_SYSTEMS in its order
    # the arithmetic task types math trains and is scored on (empty: all of them); scoring follows training so
    # that every score stands beside its trivial answer on the rows the systems were taught
    arithmetic_tasks: tuple[str, ...] = ()
    # label domains scored on an equal number of test rows per label (the split's first rows of each label, in the
    # split's order): the majority answer then scores 1/labels, and accuracy is the mean recall over labels
    balanced_test_domains: tuple[str, ...] = ()
    changed_answer_prompts: int = CHANGED_ANSWER_PROMPTS  # 0: the answers the experts change are not measured
    # what a run of this profile can and cannot show; written at the top of its results.md
    note: str = ""

    def __post_init__(self) -> None:
        may_be_zero = ("eval_gsm8k", "changed_answer_prompts")
        for name, value in asdict(self).items():
            if isinstance(value, int) and not isinstance(value, bool) and name not in may_be_zero and value < 1:
                raise ValueError(f"Profile.{name} must be >= 1, got {value}")
        if self.routing_loss_weight < 0:
            raise ValueError(f"Profile.routing_loss_weight must be >= 0, got {self.routing_loss_weight}")
        unknown_systems = [s for s in self.systems if s not in ALL_SYSTEMS]
        if unknown_systems or not self.systems:
            raise ValueError(f"Profile.systems: {list(self.systems)}; choose from {ALL_SYSTEMS}")
        if list(self.systems) != [s for s in ALL_SYSTEMS if s in self.systems]:
            raise ValueError(f"Profile.systems must keep the order of {ALL_SYSTEMS}, got {list(self.systems)}")
        if f"modula-res+{PLUGGED_DOMAIN}" in self.systems and "modula-res" not in self.systems:
            raise ValueError(f"Profile.systems: modula-res+{PLUGGED_DOMAIN} plugs into modula-res; run both")
        unknown_tasks = [t for t in self.arithmetic_tasks if t not in ARITHMETIC_TASKS]
        if unknown_tasks:
            raise ValueError(f"Profile.arithmetic_tasks: {unknown_tasks}; the task types are {ARITHMETIC_TASKS}")
        for name in ("expert_examples_by_domain", "expert_learning_rates_by_domain"):
            for domain, value in getattr(self, name).items():
                if domain not in SCORED_DOMAINS or value <= 0:
                    raise ValueError(f"Profile.{name}: {domain}={value}; domains are {SCORED_DOMAINS}, values > 0")
        for name in ("label_balanced_domains", "balanced_test_domains"):
            unknown = [d for d in getattr(self, name) if d not in LABELS_BY_DOMAIN]
            if unknown:
                raise ValueError(f"Profile.{name}: {unknown}; only {tuple(LABELS_BY_DOMAIN)} have labels to balance")

    def examples_for(self, domain: str) -> int:
        return self.expert_examples_by_domain.get(domain, self.expert_examples)

    def learning_rate(self, stage: str, domain: str | None = None) -> float:
        """The rate ``stage`` (``universal``, ``expert``, ``router``, ``joint``) trains at, for ``domain``'s expert."""
        if stage == "expert" and domain in self.expert_learning_rates_by_domain:
            return self.expert_learning_rates_by_domain[domain]
        return {
            "universal": self.universal_learning_rate,
            "expert": self.expert_learning_rate,
            "router": self.router_learning_rate,
            "joint": self.baseline_learning_rate,  # MoLoRA, like the LoRA baseline, trains once over the mixed rows
        }[stage]


def take_rows(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The first ``count`` rows, starting over from the first when ``count`` exceeds them (a further epoch)."""
    if not rows:
        raise ValueError("no rows to take from")
    return [rows[i % len(rows)] for i in range(count)]


PROFILES = {
    # about 12 minutes on 2 CPU cores: base, one LoRA, MoDULA-Res and its finance plug-in, trained on what a 135M
    # model learns fastest (chosen on held-back training rows: docs/modula.md, "The quick profile") at the default
    # profile's learning rates for the experts; the full seven-system comparison is the default profile's
    "quick": Profile(
        "quick",
        universal_examples=64,
        expert_examples=240,  # 30 steps: additions reach ~40% (2D+) in them, all arithmetic ~1%
        # PubMedQA needs ~113 steps of 7.6 s to leave "yes" (default profile); here its expert only takes 2 steps
        # finance 48 steps: at 30 (quick run 1) the plugged-in mixture still answered "positive" to 71% of tweets
        expert_examples_by_domain={"medical": 16, "finance": 384},
        # routers: 24 rows per domain at 1e-1 with the supervised routing term (modula.routing_loss), chosen on
        # the dev rows among 8 or 24 rows, 3e-3 to 1e-1, with and without the term (docs/modula.md, "The quick
        # profile"): 8 rows (2-3 steps) left the routers at an even split and the plug-in's finance dev answers at
        # 21%; the term at 1e-1 gave the lowest dev loss on every domain, where the language-model loss alone at
        # 1e-1 undid math
        router_examples_per_domain=24,
        routing_loss_weight=1.0,
        label_balanced_domains=("finance",),
        balanced_test_domains=("finance",),
        arithmetic_tasks=("2D+", "3D+"),
        systems=("base", "lora", "modula-res", f"modula-res+{PLUGGED_DOMAIN}"),
        universal_learning_rate=3e-3,
        expert_learning_rate=3e-3,
        router_learning_rate=1e-1,
        baseline_learning_rate=1e-3,
        expert_loss_rows=2,
        changed_answer_prompts=16,
        train_gsm8k=False,
        eval_arithmetic=350,  # every 2-digit and 3-digit addition of the test split (97)
        eval_medical=40,
        eval_finance=150,  # 49 tweets per label
        eval_general=8,
        bf16_on_cpu=True,
        note=(
            "**The quick profile** trains four systems in about 12 minutes on 2 CPU cores: the base model, one "
            "LoRA, MoDULA-Res and MoDULA-Res after plugging in finance, on what a 135M model learns in tens of "
            "steps: math is 2- and 3-digit addition only (trained and scored), finance a label-balanced draw "
            "scored on an equal number of tweets per label (always answering one label scores 33.3%). "
            "Its routers train with the supervised routing term (`Profile.routing_loss_weight`: each row's "
            "router weights should name its own domain's expert), which the paper does not use and the default "
            "profile leaves off; with the language-model loss alone and this few steps they stay at an even split. "
            "It can show whether MoDULA-Res's staged experts learn arithmetic, whether a plugged-in expert learns "
            "finance, and whether the old domains keep their scores. It cannot show PubMedQA (medical): its "
            'expert trains two steps, where a 135M model needs about 113 to stop answering "yes" to everything. '
            "Nor can it rank MoDULA against LoRA or MoLoRA (one seed, a few dozen steps, no MoLoRA): that "
            "comparison is `modula demo`, the default profile's seven systems."
        ),
    ),
    # the README's figures: enough optimizer steps per stage for every domain to be learned on 2 CPU cores
    # (math and finance 100 steps, PubMedQA two passes = 113 steps), learning rates chosen on the dev rows with
    # `modula demo --choose-learning-rates 1e-3 3e-3` (docs/results/modula-learning-rates.json)
    "default": Profile(
        "default",
        universal_examples=128,
        expert_examples=800,
        expert_examples_by_domain={"medical": 904},
        label_balanced_domains=("finance",),
        router_examples_per_domain=48,
        universal_learning_rate=3e-3,
        expert_learning_rate=3e-3,
        router_learning_rate=3e-3,
        baseline_learning_rate=1e-3,  # chosen for MoLoRA's joint stage; LoRA shares it
        train_gsm8k=False,
        bf16_on_cpu=True,
        eval_arithmetic=350,
        eval_medical=300,
        eval_finance=300,
        eval_general=50,
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
        quantization: hold the base in 4/8 bits (:class:`lmcommon.quantization.Quantization`): every system,
            the LoRA baseline included (then peft's QLoRA), trains over it. A run folder keeps one base.

    Raises:
        ValueError: ``output`` holds a run over another base model or precision.
    """

    def __init__(
        self,
        output: str | Path,
        data_dir: str | Path,
        profile: Profile,
        model: str = "default",
        seed: int = 0,
        quantization=None,
    ):
        from lmcommon.device import choose_device

        self.output, self.profile, self.model_name, self.seed = Path(output), profile, model, seed
        self.quantization = quantization
        self.device = choose_device(None)
        self.stage_reports: list = []  # every training stage run by this object, in order (modula.train.StageReport)
        p = profile
        train = {d: read_domain_split(data_dir, d, "train") for d in (*SCORED_DOMAINS, "general")}
        test = {d: read_domain_split(data_dir, d, "test") for d in (*SCORED_DOMAINS, "general")}
        if not p.train_gsm8k:
            train["math"] = [row for row in train["math"] if row["task"] != "gsm8k"]
        if p.arithmetic_tasks:
            train["math"] = [row for row in train["math"] if row["task"] in (*p.arithmetic_tasks, "gsm8k")]
            test["math"] = [row for row in test["math"] if row["task"] in (*p.arithmetic_tasks, "gsm8k")]
        for domain, rows in train.items():
            if len(rows) <= p.dev_examples:
                raise ValueError(f"{domain}: {len(rows)} training rows leave none beside {p.dev_examples} dev rows")
        # the dev rows (learning rates) are cut off first, so no stage ever trains on them
        self.dev_rows = {d: rows[-p.dev_examples :] for d, rows in train.items()}
        train = {d: rows[: -p.dev_examples] for d, rows in train.items()}
        self.general_rows = take_rows(train["general"], p.universal_examples)
        self.expert_rows = {d: self.draw_expert_rows(d, train[d]) for d in SCORED_DOMAINS}
        arithmetic = [r for r in test["math"] if r["task"] != "gsm8k"][: p.eval_arithmetic]
        gsm8k = [r for r in test["math"] if r["task"] == "gsm8k"][: p.eval_gsm8k]
        self.test_rows = {
            "math": arithmetic + gsm8k,
            "medical": self.scored_rows("medical", test["medical"], p.eval_medical),
            "finance": self.scored_rows("finance", test["finance"], p.eval_finance),
            "general": test["general"][: p.eval_general],
        }
        self._check_run_base()

    def _check_run_base(self) -> None:
        """Records the run's base model and precision in ``run_base.json``; a rerun over another one is refused,
        since it would resume systems trained over the first."""
        base = {
            "model": str(self.model_name),
            "quantization": None if self.quantization is None else self.quantization.label,
        }
        path = self.output / RUN_BASE_NAME
        if path.is_file():
            recorded = read_json(path)
            if recorded != base:
                raise ValueError(
                    f"{path}: this run folder holds systems trained over {recorded}, not {base}; give another --output"
                )
            return
        write_json(path, base)

    # -- data ---------------------------------------------------------------------------------------------
    def scored_rows(self, domain: str, rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
        """The first ``count`` test rows of a label domain; for a balanced one (``Profile.balanced_test_domains``)
        the first ``count // labels`` rows of every label, as many of each (the rarest label's count caps it),
        in the split's order."""
        if domain not in self.profile.balanced_test_domains:
            return rows[:count]
        labels = LABELS_BY_DOMAIN[domain]
        per_label = min(count // len(labels), *(sum(row["answer"] == label for row in rows) for label in labels))
        if per_label < 1:
            raise ValueError(
                f"{domain}: a balanced test set needs every label {labels} in the test split and "
                f"at least {len(labels)} rows to score (Profile.eval_{domain}={count})"
            )
        taken: dict[str, int] = defaultdict(int)
        chosen = []
        for row in rows:
            if taken[row["answer"]] < per_label:
                taken[row["answer"]] += 1
                chosen.append(row)
        return chosen

    def draw_expert_rows(self, domain: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows ``domain``'s expert trains on: the split in order, repeated to the profile's count, or for a
        label-balanced domain an equal share of every label (rarer labels repeat), shuffled."""
        count = self.profile.examples_for(domain)
        if domain not in self.profile.label_balanced_domains:
            return take_rows(rows, count)
        labels = sorted({row["answer"] for row in rows})
        per_label = -(-count // len(labels))
        return balanced_mix(rows, labels, per_label, seed=self.seed, key="answer")[:count]

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
        from lmcommon.device import choose_dtype, training_load_device
        from lmcommon.models import load_causal_lm

        # in the accelerator's dtype; a float base on the CPU, where the Trainer takes it from
        device = training_load_device(self.quantization is not None)
        return load_causal_lm(
            self.model_name, dtype=choose_dtype(None, self.device), device=device, quantization=self.quantization
        )

    def training_args(self, label: str, learning_rate: float):
        from transformers import TrainingArguments

        from lmcommon.training import mixed_precision

        return TrainingArguments(
            output_dir=str(self.output / "checkpoints" / label),
            num_train_epochs=1,
            per_device_train_batch_size=self.profile.batch_size,
            learning_rate=learning_rate,
            lr_scheduler_type="cosine",
            **_length_grouped_batches(TrainingArguments),
            logging_steps=5,
            save_strategy="no",  # a stage is minutes long; the experiment resumes per system instead
            seed=self.seed,
            report_to=[],
            use_cpu=self.device == "cpu",
            **mixed_precision(self.device, bf16_on_cpu=self.profile.bf16_on_cpu),
            disable_tqdm=False,
        )

    def train_stage(self, model, costs: Costs, stage: str, rows, domain: str | None = None) -> None:
        from modula.train import train_stage

        label = stage if domain is None else f"{stage}-{domain}"
        report = train_stage(
            model,
            stage,
            rows,
            self.training_args(label, self.profile.learning_rate(stage, domain)),
            tokenizer=self.tokenizer,
            domain=domain,
            max_length=self.profile.max_length,
            samples_per_domain=self.profile.router_examples_per_domain,
            routing_loss_weight=self.profile.routing_loss_weight if stage == "router" else 0.0,
        )
        logger.info("%s: %d steps, %.0f s, loss %.3f", label, report.steps, report.wall_time_s, report.train_loss)
        self.stage_reports.append(report)
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
        report = run_trainer(
            model, examples, self.training_args("lora", self.profile.baseline_learning_rate), tokenizer=self.tokenizer
        )
        costs = Costs()
        stage_report = StageReport.from_report("lora", None, trainable, report)
        self.stage_reports.append(stage_report)
        costs.add(stage_report)
        return model, costs

    def train_molora(self, domains) -> tuple[Any, Costs]:
        from modula.model import MoDULAModel

        base, self.tokenizer = self.load_base()
        model = MoDULAModel(base, MoDULAConfig(variant="flan", domains=list(domains)))
        costs = Costs()
        self.train_stage(model, costs, "joint", self.mixed_rows(domains))
        return model, costs

    def model_folder(self, system: str) -> Path:
        """Where a staged MoDULA system's adapters are saved: ``models/<system>``, ``+`` spelled ``-plus-``
        (``modula-res+finance`` -> ``models/modula-res-plus-finance``)."""
        return self.output / "models" / system.replace("+", "-plus-")

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
        model.save_pretrained(self.model_folder(f"modula-{variant}"))
        return model, costs

    def plug_in(self, source_system: str, domain: str, domains) -> tuple[Any, Costs]:
        """Adds ``domain`` to a trained model: its expert, then the routers; nothing else trains."""
        from modula.model import MoDULAModel

        base, self.tokenizer = self.load_base()
        model = MoDULAModel.from_pretrained(base, self.model_folder(source_system))
        model.add_domain(domain)
        costs = Costs()
        self.train_stage(model, costs, "expert", self.expert_rows[domain], domain=domain)
        self.train_stage(model, costs, "router", self.router_rows(domains))
        model.save_pretrained(self.model_folder(f"{source_system}+{domain}"))
        return model, costs

    # -- learning rates -----------------------------------------------------------------------------------
    def choose_learning_rates(self, candidates) -> dict[str, Any]:
        """Each stage's learning rate chosen on its dev rows (:func:`modula.lr_search.choose_learning_rate`): the
        universal expert from the base model, then every domain's expert of MoDULA-Res on top of a universal
        expert trained at its chosen rate (Res experts read its output ``h``, so their best rate depends on it),
        then the baselines' rate: MoLoRA's joint stage over the initial domains' mixed rows, on their dev rows
        together (a plain LoRA over the same rows is the same kind of parameters). The router stage
        (zero-initialised logits, few parameters) keeps the profile's rate.

        Returns ``{stage label: choice}``, also written to ``learning-rates.json`` after each stage; a rerun
        skips the stages already chosen. The profile is not changed: copy the rates into a profile to use them.
        """
        import json

        from modula.lr_search import choose_learning_rate
        from modula.model import MoDULAModel
        from modula.train import train_stage

        path = self.output / "learning-rates.json"
        choices: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}

        def choose(label: str, model, stage: str, rows, dev_rows, domain: str | None = None) -> float:
            if label not in choices:
                args = self.training_args(f"lr-{label}", candidates[0])
                choice = choose_learning_rate(
                    model,
                    stage,
                    rows,
                    dev_rows,
                    candidates,
                    args,
                    domain=domain,
                    tokenizer=self.tokenizer,
                    max_length=self.profile.max_length,
                )
                choices[label] = choice.as_dict()
                write_json(path, choices)
                logger.info("%s: learning rate %g (dev loss %s)", label, choice.chosen, choice.dev_loss)
            return float(choices[label]["chosen"])

        experts = [f"expert-{domain}" for domain in SCORED_DOMAINS]
        if not all(label in choices for label in ("universal", *experts)):
            base, self.tokenizer = self.load_base()
            model = MoDULAModel(base, MoDULAConfig(variant="res", domains=list(SCORED_DOMAINS)))
            universal_rate = choose("universal", model, "universal", self.general_rows, self.dev_rows["general"])
            args = self.training_args("lr-universal", universal_rate)
            train_stage(
                model,
                "universal",
                self.general_rows,
                args,
                tokenizer=self.tokenizer,
                max_length=self.profile.max_length,
            )
            for domain in SCORED_DOMAINS:
                choose(f"expert-{domain}", model, "expert", self.expert_rows[domain], self.dev_rows[domain], domain)
        if "baseline" not in choices:
            base, self.tokenizer = self.load_base()
            molora = MoDULAModel(base, MoDULAConfig(variant="flan", domains=list(INITIAL_DOMAINS)))
            dev_rows = [row for d in ("general", *INITIAL_DOMAINS) for row in self.dev_rows[d]]
            choose("baseline", molora, "joint", self.mixed_rows(INITIAL_DOMAINS), dev_rows)
        return choices

    # -- scoring ------------------------------------------------------------------------------------------
    def evaluate(self, system: str, model) -> dict[str, Any]:
        model = model.to(self.device).eval()
        scores: dict[str, Any] = {}
        replies = []
        for domain in SCORED_DOMAINS:
            rows = self.test_rows[domain]
            result = generate_and_score(model, self.tokenizer, rows, batch_size=self.profile.eval_batch_size)
            answers = self.answer_statistics(domain, result["replies"], result["correct"])
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
        if system.startswith("modula-"):  # staged MoDULA: do the domain experts change what it answers?
            if self.profile.changed_answer_prompts:
                scores["answers_changed_by_experts"] = self.answers_changed_by_experts(model, replies)
            scores["expert_losses"] = self.expert_losses(model)
        scores["general_ppl"] = response_perplexity(
            model, self.tokenizer, self.test_rows["general"], max_length=512, batch_size=8
        )
        write_jsonl(self.output / "replies" / f"{system}.jsonl", replies)
        return scores

    def answer_statistics(self, domain: str, replies: list[str], correct: list[bool]) -> dict[str, Any]:
        """:func:`modula.scoring.answer_statistics` of ``domain``'s test rows; math is scored on the arithmetic
        problems (GSM8K apart): one answer format, one statistic."""
        rows = self.test_rows[domain]
        scored = [i for i, row in enumerate(rows) if domain != "math" or row["task"] != "gsm8k"]
        return answer_statistics([rows[i] for i in scored], [replies[i] for i in scored], [correct[i] for i in scored])

    def rescore_stored_replies(self, system: str, result: dict[str, Any]) -> dict[str, Any]:
        """``result`` with every domain's answer statistics recomputed from the replies the system gave when it was
        scored (``replies/<system>.jsonl``), so that a statistic added since covers the systems of earlier runs
        too. A domain whose stored replies are not those of today's test rows keeps its statistics."""
        path = self.output / "replies" / f"{system}.jsonl"
        if not path.is_file():
            return result
        stored = read_jsonl(path)
        for domain in SCORED_DOMAINS:
            rows = self.test_rows[domain]
            replies = [r for r in stored if r["domain"] == domain]
            if [r["prompt"] for r in replies] != [row["prompt"] for row in rows]:
                logger.warning("%s: stored %s replies are not today's test rows; statistics kept", system, domain)
                continue
            result[f"{domain}_answers"] = self.answer_statistics(
                domain, [r["reply"] for r in replies], [r["correct"] for r in replies]
            )
        return result

    def answers_changed_by_experts(self, model, replies: list[dict[str, Any]]) -> dict[str, float]:
        """Per domain, the share of the first ``Profile.changed_answer_prompts`` test prompts whose greedy answer
        (:func:`modula.scoring.reply_key`) differs between the mixture (``replies``) and the same model's
        universal expert alone (:meth:`modula.model.MoDULAModel.universal_path_only`)."""
        from modula.scoring import reply_key

        changed = {}
        for domain in SCORED_DOMAINS:
            rows = self.test_rows[domain][: self.profile.changed_answer_prompts]
            mixture = [r["reply"] for r in replies if r["domain"] == domain][: len(rows)]
            with model.universal_path_only():
                alone = generate_and_score(model, self.tokenizer, rows, batch_size=self.profile.eval_batch_size)
            differ = [
                reply_key(row, a) != reply_key(row, b)
                for row, a, b in zip(rows, mixture, alone["replies"], strict=True)
            ]
            changed[domain] = sum(differ) / len(differ)
        return changed

    def contributions(self, model, rows) -> dict[str, float]:
        """:meth:`modula.model.MoDULAModel.contributions` on the chat-formatted prompts of ``rows``."""
        from lmcommon.generation import format_chat_prompt

        texts = [format_chat_prompt(self.tokenizer, row["prompt"]) for row in rows]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        return model.contributions(batch["input_ids"], batch["attention_mask"])

    def expert_losses(self, model) -> dict[str, dict[str, Any]]:
        """:func:`modula.expert_losses.expert_losses` on the first ``Profile.expert_loss_rows`` dev rows of each
        scored domain: how much routing has to gain, and how much of it the routers took."""
        from modula.expert_losses import expert_losses

        rows = {d: self.dev_rows[d][: self.profile.expert_loss_rows] for d in SCORED_DOMAINS}
        return expert_losses(model, self.tokenizer, rows, max_length=self.profile.max_length)

    def add_missing_expert_losses(self, system: str, result: dict[str, Any]) -> dict[str, Any]:
        """``result`` of a staged MoDULA system scored before the expert losses were measured, with them measured
        on its saved model (:meth:`model_folder`); unchanged when they are there or the model is not."""
        from modula.model import MoDULAModel

        folder = self.model_folder(system)
        if not system.startswith("modula-") or "expert_losses" in result or not folder.is_dir():
            return result
        logger.info("%s: measuring the expert losses on its saved model", system)
        base, self.tokenizer = self.load_base()
        model = MoDULAModel.from_pretrained(base, folder).to(self.device).eval()
        return {**result, "expert_losses": self.expert_losses(model)}

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
            result = self.rescore_stored_replies(system, json.loads(path.read_text()))
            result = self.add_missing_expert_losses(system, result)
            write_json(path, result)
            return result
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
    output: str | Path,
    data_dir: str | Path,
    profile: Profile,
    model: str = "default",
    seed: int = 0,
    quantization=None,
) -> dict[str, Any]:
    """Trains and scores the profile's systems (``Profile.systems``), runs the plug-in comparison, draws the router
    heatmaps, and writes ``results.json`` and ``results.md`` into ``output``.

    Returns:
        ``{"profile", "model", "rows": [...], "plug_in": {...}, "wall_time_s"}`` (also in ``results.json``).
    """
    from modula.claims import learned_domains, paper_claims
    from modula.report import plug_in_summary, write_results

    started = time.perf_counter()
    experiment = Experiment(output, data_dir, profile, model=model, seed=seed, quantization=quantization)
    initial, everything = INITIAL_DOMAINS, (*INITIAL_DOMAINS, PLUGGED_DOMAIN)
    builders = {
        "base": experiment.base_model,
        "lora": lambda: experiment.train_lora(experiment.mixed_rows(initial)),
        "molora": lambda: experiment.train_molora(initial),
        "modula-flan": lambda: experiment.train_modula("flan", initial),
        "modula-res": lambda: experiment.train_modula("res", initial),
        f"modula-res+{PLUGGED_DOMAIN}": lambda: experiment.plug_in("modula-res", PLUGGED_DOMAIN, everything),
        f"molora-retrained+{PLUGGED_DOMAIN}": lambda: experiment.train_molora(everything),
    }
    rows = [experiment.run_system(system, builders[system]) for system in profile.systems]
    heatmaps = {
        row["system"]: draw_router_heatmap(row, experiment.output)
        for row in rows
        if row["system"] in ("modula-res", f"modula-res+{PLUGGED_DOMAIN}")
    }
    results = {
        "profile": asdict(profile),
        "model": model,
        "quantization": None if quantization is None else quantization.label,
        "device": experiment.device,
        "rows": rows,
        # None when the profile does not run the plug-in
        "plug_in": plug_in_summary(rows, PLUGGED_DOMAIN, INITIAL_DOMAINS),
        "router_heatmaps": heatmaps,  # before and after the plug-in
        "wall_time_s": time.perf_counter() - started,
    }
    results["claims"] = paper_claims(results, INITIAL_DOMAINS)
    results["learned"] = learned_domains(rows, SCORED_DOMAINS)
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
