"""How the quick profile of ``modula demo`` chose its router stage: re-trains the routers of a saved MoDULA system of
a ``modula demo --quick`` run under several settings, the experts untouched, and scores each on the dev rows only.

For each setting the routers start from zero (as a new router stage does) and train on the profile's balanced
mix (ROWS per domain, learning rate LR, supervised routing term of weight WEIGHT; ``modula.routing_loss``). Printed,
one JSON line per setting: the answer loss of the first 16 dev rows of each domain under the routed mixture, the
mean router weight on each domain's own expert over those 16 dev prompts, and the accuracy on all dev rows of math
and finance (the last ``Profile.dev_examples`` training rows, which no stage trains on). The first line is the
saved model as it is. The test rows are never read.

    python tools/modula_router_settings.py RUN SYSTEM ROWS:LR:WEIGHT [ROWS:LR:WEIGHT ...]
    python tools/modula_router_settings.py runs/mq/base modula-res+finance 8:3e-3:1 24:3e-2:0 24:1e-1:1
"""

from __future__ import annotations

import json
import sys

import torch

from modula.experiment import PROFILES, SCORED_DOMAINS, Experiment
from modula.expert_losses import answer_loss
from modula.model import MoDULAModel
from modula.routers import domain_router_weights, own_expert_weights
from modula.scoring import generate_and_score
from modula.train import train_stage

DEV_LOSS_ROWS = 16


def score(model, experiment: Experiment, label: str) -> dict:
    tokenizer = experiment.tokenizer
    model.eval()
    result: dict = {"setting": label}
    # scored in the precision the profile trains in (bf16 autocast on the CPU)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for domain in SCORED_DOMAINS:
            rows = experiment.dev_rows[domain][:DEV_LOSS_ROWS]
            result[f"dev_loss_{domain}"] = round(answer_loss(model, tokenizer, rows, max_length=256, batch_size=8), 3)
        prompts = {d: [r["prompt"] for r in experiment.dev_rows[d][:DEV_LOSS_ROWS]] for d in SCORED_DOMAINS}
        weights = own_expert_weights(domain_router_weights(model, tokenizer, prompts))
        result["own_expert_weight"] = {d: round(v["overall"], 3) for d, v in weights.items()}
        for domain in ("math", "finance"):
            rows = experiment.dev_rows[domain]
            scored = generate_and_score(model, tokenizer, rows, batch_size=32)
            result[f"dev_accuracy_{domain}"] = round(100 * sum(scored["correct"]) / len(rows), 1)
    return result


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    run, system, settings = argv[0], argv[1], [s.split(":") for s in argv[2:]]
    if any(len(s) != 3 for s in settings):
        raise SystemExit(f"each setting is ROWS:LR:WEIGHT, got {argv[2:]}")
    experiment = Experiment(run, "data/modula", PROFILES["quick"])
    base, experiment.tokenizer = experiment.load_base()
    model = MoDULAModel.from_pretrained(base, experiment.model_folder(system))
    print(json.dumps(score(model, experiment, "as saved")), flush=True)
    pool = [row for domain in model.domains for row in experiment.expert_rows[domain]]
    for rows, learning_rate, weight in settings:
        for _, layer in model.modula_layers():
            layer.router.weight.data.zero_()  # a router stage starts from an even split
        report = train_stage(
            model,
            "router",
            pool,
            experiment.training_args(f"router-setting-{rows}-{learning_rate}-{weight}", float(learning_rate)),
            tokenizer=experiment.tokenizer,
            max_length=experiment.profile.max_length,
            samples_per_domain=int(rows),
            routing_loss_weight=float(weight),
        )
        label = f"{rows} rows per domain, lr {learning_rate}, routing term {weight}: {report.steps} steps"
        print(json.dumps(score(model, experiment, label)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
