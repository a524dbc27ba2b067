"""The paper's claims beside what one run of the experiment measured, each marked ``holds``, ``does not hold``,
``not distinguishable`` (the 95% intervals overlap) or ``not measurable here``, with the figures behind it.

The rules are written out in each function, so a reader can check a verdict by hand from ``results.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modula.report import accuracy_interval, with_interval

HOLDS = "holds"
FAILS = "does not hold"
UNCLEAR = "not distinguishable"
NOT_MEASURABLE = "not measurable here"

COST_CUT = 0.8  # the paper: plugging in a domain costs over 80% less than re-training the mixture
PERPLEXITY_SLACK = 1.05  # "general ability kept": general-response perplexity at most 5% above the base model's


def _claim(claim: str, verdict: str, measured: str) -> dict[str, str]:
    return {"claim": claim, "verdict": verdict, "measured": measured}


def compare_systems(
    rows: Mapping[str, Mapping[str, Any]], better: str, worse: str, domains: Sequence[str], claim: str
) -> dict[str, str]:
    """``better`` beats ``worse`` on ``domains``: holds when it is ahead on average and on at least one domain its
    95% interval lies wholly above the other's, with no domain the other way round; does not hold in the mirror
    case; otherwise not distinguishable."""
    if better not in rows or worse not in rows:
        return _claim(claim, NOT_MEASURABLE, f"{better} or {worse} was not run")
    a, b = rows[better], rows[worse]
    intervals = {d: (accuracy_interval(a, d), accuracy_interval(b, d)) for d in domains}
    if any(x is None or y is None for x, y in intervals.values()):
        return _claim(claim, NOT_MEASURABLE, "the rows carry no intervals (scored before they were kept)")
    mean_gap = sum(a[d] - b[d] for d in domains) / len(domains)
    above = [d for d, (x, y) in intervals.items() if x[0] > y[1]]
    below = [d for d, (x, y) in intervals.items() if y[0] > x[1]]
    measured = f"{better} - {worse}: " + ", ".join(f"{d} {100 * (a[d] - b[d]):+.1f}" for d in domains)
    measured += f" (mean {100 * mean_gap:+.1f} points)"
    if mean_gap > 0 and above and not below:
        return _claim(claim, HOLDS, measured + f"; intervals apart on {', '.join(above)}")
    if mean_gap < 0 and below and not above:
        return _claim(claim, FAILS, measured + f"; intervals apart on {', '.join(below)}")
    return _claim(claim, UNCLEAR, measured + "; the 95% intervals overlap on every domain or disagree")


def plug_in_cost_claim(plug: Mapping[str, Any]) -> dict[str, str]:
    """Holds when the plug-in saves over 80% of both training time and tokens against re-training MoLoRA."""
    claim = f"plugging in a domain costs over {100 * COST_CUT:.0f}% less training than re-training the mixture"
    saving = plug.get("saving", {})
    if "train_time_s" not in saving or "tokens_seen" not in saving:
        return _claim(claim, NOT_MEASURABLE, "no re-trained MoLoRA costs")
    measured = ", ".join(f"{key} -{100 * value:.0f}%" for key, value in saving.items())
    verdict = HOLDS if saving["train_time_s"] > COST_CUT and saving["tokens_seen"] > COST_CUT else FAILS
    return _claim(claim, verdict, measured)


def old_domains_claim(plug: Mapping[str, Any]) -> dict[str, str]:
    """Holds when every old domain's score after the plug-in lies inside its 95% interval before."""
    claim = "the old domains keep their scores after the plug-in"
    old = plug.get("old_domains", {})
    if not old or any(entry["kept"] is None for entry in old.values()):
        return _claim(claim, NOT_MEASURABLE, "no intervals before the plug-in")
    measured = ", ".join(
        f"{d} {100 * e['before']:.1f} -> {100 * e['after']:.1f} (interval before "
        f"[{100 * e['before_interval'][0]:.1f}, {100 * e['before_interval'][1]:.1f}])"
        for d, e in old.items()
    )
    return _claim(claim, HOLDS if all(e["kept"] for e in old.values()) else FAILS, measured)


def new_domain_claim(plug: Mapping[str, Any]) -> dict[str, str]:
    """Holds when the new domain's interval after the plug-in lies wholly above its interval before and the
    answers beat the trivial answer: the accuracy interval above the majority rate, or the macro-F1 interval
    above what always answering the majority label scores. Above the model before but not above the trivial
    answer does not hold (the expert learned the majority label, not the task)."""
    claim = "the plugged-in expert learns the new domain"
    new = plug.get("new_domain_score", {})
    before, after = new.get("before_interval"), new.get("plug_in_interval")
    if before is None or after is None:
        return _claim(claim, NOT_MEASURABLE, "no intervals")
    measured = f"{100 * new['before']:.1f} -> {100 * new['plug_in']:.1f} ({100 * new['gain']:+.1f} points)"
    beats_trivial = None
    if new.get("majority_rate") is not None:
        beats_trivial = after[0] > new["majority_rate"]
        measured += f"; always answering the majority label scores {100 * new['majority_rate']:.1f}"
        f1_interval, trivial_f1 = new.get("macro_f1_interval"), new.get("majority_macro_f1")
        if f1_interval is not None and trivial_f1 is not None:
            beats_trivial = beats_trivial or f1_interval[0] > trivial_f1
            measured += (
                f"; macro-F1 {100 * new['macro_f1']:.1f} [{100 * f1_interval[0]:.1f}, {100 * f1_interval[1]:.1f}] "
                f"against the majority answer's {100 * trivial_f1:.1f}"
            )
    if after[0] > before[1]:
        if beats_trivial is False:
            return _claim(claim, FAILS, measured + "; above the model before, not above the trivial answer")
        return _claim(claim, HOLDS, measured)
    return _claim(claim, FAILS if new["gain"] <= 0 else UNCLEAR, measured)


def general_ability_claim(rows: Mapping[str, Mapping[str, Any]], system: str = "modula-res") -> dict[str, str]:
    """Holds when ``system``'s perplexity on held-out general responses is at most 5% above the base model's."""
    claim = "general ability is kept (perplexity of held-out general responses)"
    if system not in rows or "base" not in rows:
        return _claim(claim, NOT_MEASURABLE, f"{system} or base was not run")
    ratio = rows[system]["general_ppl"] / rows["base"]["general_ppl"]
    measured = f"{system} {rows[system]['general_ppl']:.2f} vs base {rows['base']['general_ppl']:.2f} (x{ratio:.3f})"
    return _claim(claim, HOLDS if ratio <= PERPLEXITY_SLACK else FAILS, measured)


def learned_domains(rows: Sequence[Mapping[str, Any]], domains: Sequence[str]) -> list[dict[str, Any]]:
    """Per fine-tuned system and domain: did it learn the domain? ``above_base`` when its 95% accuracy interval lies
    wholly above the base model's, ``above_majority`` when it lies wholly above the rate of always giving the most
    frequent answer on the same rows (the trivial answer). None where a row has no intervals or no base row ran.
    """
    by_name = {row["system"]: row for row in rows}
    base = by_name.get("base")
    verdicts = []
    for row in rows:
        if row["system"] == "base":
            continue
        for domain in domains:
            interval, answers = accuracy_interval(row, domain), row.get(f"{domain}_answers")
            base_interval = accuracy_interval(base, domain) if base else None
            verdicts.append(
                {
                    "system": row["system"],
                    "domain": domain,
                    "accuracy": row[domain],
                    "interval": interval,
                    "base": base[domain] if base else None,
                    "base_interval": base_interval,
                    "majority_rate": answers["majority_rate"] if answers else None,
                    "above_base": None
                    if interval is None or base_interval is None
                    else interval[0] > base_interval[1],
                    "above_majority": None
                    if interval is None or answers is None
                    else interval[0] > answers["majority_rate"],
                }
            )
    return verdicts


def learned_markdown(verdicts: Sequence[Mapping[str, Any]]) -> str:
    """:func:`learned_domains` as a table; a domain is learned when both columns say yes."""

    def pct(value: float | None, interval: Sequence[float] | None = None) -> str:
        return "–" if value is None else with_interval(value, interval)

    def mark(flag: bool | None) -> str:
        return "–" if flag is None else ("**yes**" if flag else "no")

    lines = [
        "| system | domain | accuracy [95% CI] | base [95% CI] | majority rate | above base | above majority |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {v['system']} | {v['domain']} | {pct(v['accuracy'], v['interval'])} "
        f"| {pct(v['base'], v['base_interval'])} | {pct(v['majority_rate'])} "
        f"| {mark(v['above_base'])} | {mark(v['above_majority'])} |"
        for v in verdicts
    ]
    return "\n".join(lines) + "\n"


def paper_claims(results: Mapping[str, Any], trained_domains: Sequence[str]) -> list[dict[str, str]]:
    """Every claim the experiment can speak to, in the order of the paper's abstract."""
    rows = {row["system"]: row for row in results["rows"]}
    plug = results["plug_in"] or {}  # {} when the profile ran no plug-in: its claims are not measurable
    return [
        compare_systems(rows, "modula-res", "molora", trained_domains, "MoDULA-Res beats MoLoRA"),
        compare_systems(rows, "modula-flan", "lora", trained_domains, "MoDULA-Flan beats a single LoRA"),
        plug_in_cost_claim(plug),
        old_domains_claim(plug),
        new_domain_claim(plug),
        general_ability_claim(rows),
    ]


def claims_markdown(claims: Sequence[Mapping[str, str]]) -> str:
    lines = ["| the paper says | here | measured |", "|---|---|---|"]
    lines += [f"| {c['claim']} | **{c['verdict']}** | {c['measured']} |" for c in claims]
    return "\n".join(lines) + "\n"
