"""Training time per token of the default run's LoRA and MoDULA-Res systems (`modula demo`'s default profile: the
same rows, budgets, learning rates and Trainer settings), stage by stage, in one run. A step benchmark
(bench/modula_step.py) times one batch; this one times what the experiment actually trains: padding, sequence
lengths, the Trainer's loop and each stage's parameters included. Evaluation and saving are not timed.

Usage: python bench/modula_run_cost.py [--output runs/modula-run-cost]   (about 30 minutes on 2 CPU cores)
"""

from __future__ import annotations

import argparse
import tempfile

from lmcommon.shipped import find_data
from modula.experiment import INITIAL_DOMAINS, PROFILES, Experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None, help="run folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        experiment = Experiment(args.output or scratch, find_data("data/modula", "modula"), PROFILES["default"])
        experiment.train_lora(experiment.mixed_rows(INITIAL_DOMAINS))
        experiment.train_modula("res", INITIAL_DOMAINS)
    reports = experiment.stage_reports
    print(f"default profile, device {experiment.device}; training only\n")
    print("| system | stage | steps | tokens | train s | ms per token |\n|---|---|---:|---:|---:|---:|")
    totals: dict[str, list[float]] = {}
    for report in reports:
        system = "LoRA r16" if report.stage == "lora" else "MoDULA-Res"
        stage = report.stage if report.domain is None else f"{report.stage} ({report.domain})"
        per_token = 1e3 * report.wall_time_s / report.tokens_seen
        cells = [
            system,
            stage,
            report.steps,
            f"{report.tokens_seen:,}",
            f"{report.wall_time_s:.0f}",
            f"{per_token:.2f}",
        ]
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
        total = totals.setdefault(system, [0.0, 0.0])
        total[0] += report.tokens_seen
        total[1] += report.wall_time_s
    lora_rate = totals["LoRA r16"][1] / totals["LoRA r16"][0]
    for system, (tokens, seconds) in totals.items():
        rate = seconds / tokens
        ratio = f"{1e3 * rate:.2f} ({rate / lora_rate:.2f}x LoRA)"
        print(f"| **{system}** | all | | {tokens:,.0f} | {seconds:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
