"""The experiment's results table (JSON and Markdown) and the plug-in cost comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lmcommon.data import atomic_write, write_json

SCORE_COLUMNS = ("math", "gsm8k", "medical", "finance")


def domain_average(row: dict[str, Any], domains: Sequence[str]) -> float:
    """Mean accuracy over ``domains``."""
    return sum(row[d] for d in domains) / len(domains)


def accuracy_interval(row: Mapping[str, Any], domain: str) -> list[float] | None:
    """The 95% interval of a row's accuracy on ``domain`` (None for rows scored before intervals were kept)."""
    answers = row.get(f"{domain}_answers")
    return list(answers["accuracy_interval"]) if answers else None


def _own_expert_overall(row: dict[str, Any]) -> dict[str, float]:
    """Per domain with an expert: the mean router weight on it over its own test prompts ({} without routers)."""
    return {d: entry["overall"] for d, entry in row.get("routing", {}).get("own_expert", {}).items()}


def plug_in_summary(rows: Sequence[dict[str, Any]], domain: str, old_domains: Sequence[str]) -> dict[str, Any] | None:
    """Plugging ``domain`` into MoDULA-Res against re-training MoLoRA on every domain, judged by cost and by
    behaviour.

    Returns:
        Both systems' costs, the ratios plug-in / re-train (and the saving, 1 - ratio, the paper's "lower training
        cost"); the new domain's score before and after the plug-in (and re-trained MoLoRA's); each old domain's
        score before and after with its 95% interval and whether the score after lies inside the interval before
        (``kept``); and the mean router weight on each domain's own expert before and after. Without a re-trained
        MoLoRA among ``rows`` its entries are None and there are no ratios; without the plug-in, None.
    """
    by_name = {row["system"]: row for row in rows}
    if f"modula-res+{domain}" not in by_name:
        return None
    before, plugged = by_name["modula-res"], by_name[f"modula-res+{domain}"]
    retrained = by_name.get(f"molora-retrained+{domain}")
    costs = ("trainable_parameters", "tokens_seen", "train_time_s")
    ratios = {key: plugged[key] / retrained[key] for key in costs if retrained and retrained[key]}
    old = {}
    for name in old_domains:
        interval = accuracy_interval(before, name)
        old[name] = {
            "before": before[name],
            "before_interval": interval,
            "after": plugged[name],
            "after_interval": accuracy_interval(plugged, name),
            "kept": None if interval is None else interval[0] <= plugged[name] <= interval[1],
        }
    return {
        "plug_in": {key: plugged[key] for key in costs},
        "molora_retrain": {key: retrained[key] for key in costs} if retrained else None,
        "ratio": ratios,
        "saving": {key: 1.0 - value for key, value in ratios.items()},
        "new_domain_score": {
            "plug_in": plugged[domain],
            "molora_retrain": retrained[domain] if retrained else None,
            "before": before[domain],
            "gain": plugged[domain] - before[domain],
            "before_interval": accuracy_interval(before, domain),
            "plug_in_interval": accuracy_interval(plugged, domain),
            # what the plug-in's answers score against always answering the majority label (the trivial answer)
            **{
                key: plugged.get(f"{domain}_answers", {}).get(key)
                for key in ("majority_rate", "macro_f1", "macro_f1_interval", "majority_macro_f1")
            },
        },
        "old_domains": old,
        "old_domains_before": {d: before[d] for d in old_domains},
        "old_domains_after": {d: plugged[d] for d in old_domains},
        "routing_before": _own_expert_overall(before),
        "routing_after": _own_expert_overall(plugged),
    }


def _format(value: Any, key: str) -> str:
    if value is None:
        return "–"
    if key in ("trainable_parameters", "tokens_seen"):
        return f"{value / 1e6:.2f}M" if value >= 1e5 else f"{value:,}"
    if key.endswith("_s"):
        return f"{value:.0f}"
    if key == "general_ppl":
        return f"{value:.2f}"
    return f"{100 * value:.1f}"


def results_markdown(results: dict[str, Any]) -> str:
    """The table of every system and the plug-in comparison, as Markdown."""
    rows = results["rows"]
    scores = [c for c in SCORE_COLUMNS if any(c in row for row in rows)]
    columns = [*scores, "avg", "general_ppl", "trainable_parameters", "tokens_seen", "train_time_s"]
    headers = {
        "avg": "avg (math, medical, finance)",
        "general_ppl": "general ppl ↓",
        "trainable_parameters": "trainable params",
        "tokens_seen": "tokens",
        "train_time_s": "train s",
    }
    note = results["profile"].get("note")
    lines = [note, ""] if note else []
    lines += [
        "| system | " + " | ".join(headers.get(c, c) for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for row in rows:
        row = {**row, "avg": domain_average(row, ("math", "medical", "finance"))}
        lines.append(f"| {row['system']} | " + " | ".join(_format(row.get(c), c) for c in columns) + " |")
    if results.get("learned"):
        from modula.claims import learned_markdown

        lines += [
            "",
            "Which domains each system learned: its accuracy interval wholly above the base model's and above "
            "always giving the most frequent answer (the majority rate), on the same rows:",
            "",
            learned_markdown(results["learned"]).rstrip("\n"),
        ]
    plug = results["plug_in"]
    if plug is not None:
        lines += ["", plug_in_markdown(plug)]
    lines += [
        "",
        f"Scores are accuracy in % (math: arithmetic problems; general: perplexity of held-out general responses, "
        f"lower is better). Profile {results['profile']['name']!r}, model {results['model']!r}, device "
        f"{results['device']}; this invocation ran {results['wall_time_s'] / 60:.1f} min (systems finished by an "
        f"earlier invocation are read, not re-run); training and scoring summed over the systems: "
        f"{_summed_minutes(rows):.1f} min (the universal stage, trained once, counted in both MoDULA variants).",
    ]
    measured = [row for row in rows if row.get("contributions")]
    if measured:
        lines += [
            "",
            "What each part adds to the output (mean L2 norm over adapted layers and the domains' test prompts), "
            "and the share of answers the domain experts change against the universal expert alone (first "
            f"{results['profile'].get('changed_answer_prompts', 100)} test prompts per domain; MoDULA only):",
            "",
            "| system | domain experts / universal | domain experts / W0 x | universal / W0 x | answers changed |",
            "|---|---:|---:|---:|---|",
        ]
        for row in measured:
            by_domain = list(row["contributions"].values())
            mean = {k: sum(d[k] for d in by_domain) / len(by_domain) for k in by_domain[0]}
            changed = row.get("answers_changed_by_experts")
            changed_text = ", ".join(f"{d} {100 * v:.0f}%" for d, v in changed.items()) if changed else "–"
            lines.append(
                f"| {row['system']} | {mean['domains_over_universal']:.3f} | {mean['domains_over_base']:.4f} "
                f"| {mean['universal_over_base']:.4f} | {changed_text} |"
            )
    if any(row.get("expert_losses") for row in rows):
        lines += [
            "",
            "The routing signal: answer loss (nats per response token, dev rows) under each expert alone, the routed "
            "mixture and the universal expert alone; the gap is what routing all the way to the best expert "
            "would save:",
            "",
            expert_losses_markdown(rows).rstrip("\n"),
        ]
    if results.get("claims"):
        from modula.claims import claims_markdown

        lines += ["", "The paper's claims beside this run (rules in modula.claims):", ""]
        lines.append(claims_markdown(results["claims"]).rstrip("\n"))
    if any(any(key.endswith("_answers") for key in row) for row in rows):
        lines += ["", "What the scores are made of (a constant answer scores the majority rate):", ""]
        lines.append(answers_markdown(rows).rstrip("\n"))
    return "\n".join(lines) + "\n"


def plug_in_markdown(plug: dict[str, Any]) -> str:
    """The plug-in's cost beside re-training MoLoRA (when it was run), then its behaviour."""
    keys = ("trainable_parameters", "tokens_seen", "train_time_s")
    retrained = plug["molora_retrain"]
    lines = [
        "Plug-in of the new domain (new expert + routers) against re-training MoLoRA on every domain:",
        "",
        "| | trainable params | tokens | train s |",
        "|---|---:|---:|---:|",
        "| plug-in | " + " | ".join(_format(plug["plug_in"][k], k) for k in keys) + " |",
        "| MoLoRA re-train | " + " | ".join(_format(retrained[k] if retrained else None, k) for k in keys) + " |",
        "| plug-in / re-train | "
        + " | ".join(f"{plug['ratio'][k]:.3f}" if k in plug["ratio"] else "–" for k in keys)
        + " |",
        "",
        plug_in_behaviour_markdown(plug),
    ]
    return "\n".join(lines)


def with_interval(value: float, interval: Sequence[float] | None) -> str:
    """``value`` in % with its interval in brackets when there is one: ``50.0 [40.0, 60.0]``."""
    text = f"{100 * value:.1f}"
    return text if interval is None else f"{text} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def plug_in_behaviour_markdown(plug: dict[str, Any]) -> str:
    """What the plug-in did to the scores and the routing, in a few lines of Markdown."""
    new = plug["new_domain_score"]
    lines = [
        "Old domains before -> after the plug-in (accuracy [95% interval]; kept: the score after lies inside the "
        "interval before): "
        + "; ".join(
            f"{d} {with_interval(entry['before'], entry['before_interval'])} -> "
            f"{with_interval(entry['after'], entry['after_interval'])}"
            + ("" if entry["kept"] is None else (" kept" if entry["kept"] else " NOT kept"))
            for d, entry in plug["old_domains"].items()
        ),
        f"New domain: {with_interval(new['before'], new['before_interval'])} before -> "
        f"{with_interval(new['plug_in'], new['plug_in_interval'])} after the plug-in "
        f"({100 * new['gain']:+.1f} points"
        + ("" if new["molora_retrain"] is None else f"; re-trained MoLoRA {100 * new['molora_retrain']:.1f}")
        + ").",
    ]
    for label, key in (("before", "routing_before"), ("after", "routing_after")):
        if plug.get(key):
            weights = ", ".join(f"{d} {w:.2f}" for d, w in plug[key].items())
            lines.append(f"Mean router weight on each domain's own expert, its test prompts, {label}: {weights}.")
    return "\n\n".join(lines)


def _summed_minutes(rows: Sequence[dict[str, Any]]) -> float:
    return sum(row.get("train_time_s", 0.0) + row.get("eval_time_s", 0.0) for row in rows) / 60


def answers_markdown(rows: Sequence[dict[str, Any]], domains: Sequence[str] = ("math", "medical", "finance")) -> str:
    """Per system and domain: accuracy with its 95% interval beside what a constant answer scores (the majority
    rate) and how often the system gave its most frequent answer; for the label domains macro-F1 with its interval
    beside what always answering the majority label scores. A system whose top reply share is near 100% and whose
    accuracy is near the majority rate has learned one answer, not the task.
    """
    lines = [
        "| system | domain | accuracy [95% CI] | majority rate | top reply share (reply) | macro-F1 [95% CI] "
        "| majority answer's macro-F1 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for domain in domains:
            answers = row.get(f"{domain}_answers")
            if not answers:
                continue
            low, high = answers["accuracy_interval"]
            macro = f"{100 * answers['macro_f1']:.1f}" if "macro_f1" in answers else "–"
            if "macro_f1_interval" in answers:
                macro += " [{:.1f}, {:.1f}]".format(*(100 * x for x in answers["macro_f1_interval"]))
            trivial = f"{100 * answers['majority_macro_f1']:.1f}" if "majority_macro_f1" in answers else "–"
            lines.append(
                f"| {row['system']} | {domain} | {100 * answers['accuracy']:.1f} [{100 * low:.1f}, {100 * high:.1f}] "
                f"| {100 * answers['majority_rate']:.1f} | {100 * answers['top_reply_share']:.0f}% "
                f"({answers['top_reply']}) | {macro} | {trivial} |"
            )
    return "\n".join(lines) + "\n"


def expert_losses_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """One line per staged MoDULA system and domain from ``row["expert_losses"]``
    (:func:`modula.expert_losses.expert_losses`)."""
    lines = [
        "| system | domain | each expert alone | mixture | universal alone | best expert | gap |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for row in rows:
        for domain, entry in (row.get("expert_losses") or {}).items():
            experts = ", ".join(f"{name} {loss:.3f}" for name, loss in entry["experts"].items())
            gap = "–" if entry["routing_gap"] is None else f"{entry['routing_gap']:+.3f}"
            lines.append(
                f"| {row['system']} | {domain} | {experts} | {entry['mixture']:.3f} | {entry['universal']:.3f} "
                f"| {entry['best_expert'] or '–'} | {gap} |"
            )
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, Any], output: Path) -> None:
    """``results.json`` and ``results.md`` in ``output``, atomically."""
    write_json(output / "results.json", results)
    with atomic_write(output / "results.md") as handle:
        handle.write(results_markdown(results))
