"""docs/stylized_facts.md: the stylized facts at the defaults and under each guess, with a figure and a CSV."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.facts import BASE, DEFAULTS, LARGER, YEAR, Guess, Outcome, Side, by_fact
from sim.scenario_files import load


def default_of(key: str) -> Any:
    """The baseline's value of a dotted key (`lenders.video_credit.apr`: list items by name)."""
    node: Any = load(BASE.path()).scenario
    for part in key.split("."):
        if isinstance(node, list):
            node = next(item for item in node if item.name == part)
        else:
            node = getattr(node, part)
    return node


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    return f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+.3g}"


def _interval(o: Outcome) -> str:
    return f"{_num(o.stats[1])} to {_num(o.stats[2])}"


def _relative(o: Outcome, base: Outcome) -> str:
    """The effect as a multiple of its size at the defaults; a fact that does not hold says why, in bold."""
    ref = base.stats[0]
    size = f"{o.stats[0] / ref:.2f}x" if math.isfinite(ref) and ref > 0 else _num(o.stats[0])
    return size if o.holds else f"**{size} {o.verdict()}**"


def _count(sets: tuple[str, ...], key: str) -> str:
    return f"{int(dict(s.split('=', 1) for s in sets)[key]):,}"


def _side_setup(side: Side) -> str:
    """A side as its scenario file and the overrides beyond the market's size."""
    sets = [f"`{x}`" for x in side.overrides if x not in YEAR + LARGER]
    return " ".join([f"`scenarios/{side.scenario}.yaml`", *sets])


def write_csv(outcomes: list[Outcome], path: Path) -> None:
    """One row per fact and setting: the numbers behind both tables."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["fact", "setting", "parameter", "value", "seeds", "mean_difference", "low", "high", "verdict",
                    "side_a_mean", "side_b_mean"])
        for o in outcomes:
            g = o.setting.guess
            w.writerow([o.fact.id, o.setting.label, g.name if g else "", "" if o.setting.value is None
                        else o.setting.value, o.fact.seeds, *(f"{v:.6g}" for v in o.stats), o.verdict(),
                        f"{sum(o.a) / len(o.a):.6g}", f"{sum(o.b) / len(o.b):.6g}"])


def figure(outcomes: list[Outcome], path: Path) -> None:
    """Each fact's effect in every setting, as a multiple of its size at the defaults, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = by_fact(outcomes)
    cols = min(5, len(groups))
    rows = math.ceil(len(groups) / cols)
    labels = [o.setting.label for o in next(iter(groups.values()))]
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols + 2.6, 0.22 * len(labels) * rows + 1.2),
                             sharey=True, squeeze=False)
    for ax, (fid, outs) in zip(axes.flat, groups.items(), strict=False):
        ref = outs[0].stats[0] if outs[0].setting is DEFAULTS and outs[0].stats[0] > 0 else 1.0
        for y, o in enumerate(outs):
            mean, low, high = (v / ref for v in o.stats)
            colour = "#4e79a7" if o.holds else "#e15759"
            ax.plot([low, high], [y, y], color=colour, lw=1.5)
            ax.plot([mean], [y], "o", color=colour, ms=3.5)
        ax.axvline(0, color="black", lw=0.8)
        ax.axvline(1, color="grey", lw=0.6, ls=":")
        ax.set_title(f"fact {fid}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0, 0].invert_yaxis()  # the y axis is shared: once puts the defaults on top in every panel
    fig.supxlabel("effect / its size at the defaults (red: the fact does not hold there)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(outcomes: list[Outcome], guesses: tuple[Guess, ...], figures_dir: Path, doc: Path,
           command: str, write_as: Callable[[Path], Path] = Path) -> str:
    """The markdown report; the figure and the CSV are written to `figures_dir` (linked relative to `doc`), each
    at `write_as(its path)` (the command line's temporary names, put in place with the report)."""
    groups = by_fact(outcomes)
    facts = [outs[0].fact for outs in groups.values()]
    at_defaults = {fid: next(o for o in outs if o.setting is DEFAULTS) for fid, outs in groups.items()}
    held = sum(o.holds for o in at_defaults.values())
    everywhere = [fid for fid, outs in groups.items() if all(o.holds for o in outs)]
    table, picture = write_as(figures_dir / "stylized_facts.csv"), write_as(figures_dir / "stylized_facts.png")
    table.parent.mkdir(parents=True, exist_ok=True)
    write_csv(outcomes, table)
    figure(outcomes, picture)
    rel = figures_dir.relative_to(doc.parent) if doc.parent in (figures_dir, *figures_dir.parents) else figures_dir

    lines = [
        "# Stylized facts, and how much they rest on guesses", "",
        f"Generated by `{command}` (do not edit above the notes; edit `sim/facts.py`). Each fact of the source "
        "articles is a comparison of two markets over the same seeds (common random numbers): the per-seed "
        "difference b - a, its mean and 95% t-interval. A fact **holds** when the mean is positive and the "
        "interval excludes 0. Markets: "
        f"{_count(YEAR, 'consumers.count')} consumers and {_count(YEAR, 'merchants.count')} shops (fact 6: "
        f"{_count(LARGER, 'consumers.count')} and {_count(LARGER, 'merchants.count')}), "
        f"{_count(YEAR, 'burn_in_days')} days of burn-in, one recorded year. `tests/test_stylized_facts.py` asserts "
        "the same comparisons at the defaults.", "",
        f"**At the defaults {held} of {len(facts)} facts hold.**"
        + (f" **Under the guesses, {len(everywhere)} of {len(facts)} hold at both ends of every range.**"
           if guesses else ""), "",
        "## The facts at the defaults", "",
        "| fact | claim | difference (b - a) | seeds | mean | 95% interval | verdict |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for f in facts:
        o = at_defaults[f.id]
        lines.append(f"| {f.id} | {f.claim} | {f.difference} | {f.seeds} | {_num(o.stats[0])} | {_interval(o)} "
                     f"| {'holds' if o.holds else '**' + o.verdict() + '**'} |")
    lines += ["", "The two markets of each fact, b and a (a library scenario file and the overrides beyond the "
              "market's size):", ""]
    for f in facts:
        sides = "; ".join(f"{name} = {s.label} ({_side_setup(s)})" for name, s in (("b", f.side_b), ("a", f.side_a)))
        extra = " Side a must also be exactly 0 on every seed." if f.a_is_zero else ""
        lines.append(f"- **{f.id}** {sides}.{extra}" + (f" {f.note}" if f.note else ""))
    if guesses:
        lines += [
            "", "## Robustness to the guesses", "",
            "Parameters that no source pins down, each moved to both ends of a plausible range (on both markets "
            "of every fact, the other parameters at their defaults). Fitted parameters are left out: the "
            "calibration and the validation report speak for them.", "",
            "| parameter | default | low | high | why uncertain |", "|---|---:|---:|---:|---|",
        ]
        for g in guesses:
            lines.append(f"| `{g.name}` | {default_of(g.keys[0]):g} | {g.low:g} | {g.high:g} | {g.why} |")
        lines += [
            "", "Each fact's effect as a multiple of its size at the defaults (a fact that does not hold says why, "
            "in bold). Intervals are in the CSV and the figure.", "",
            "| setting | " + " | ".join(f.id for f in facts) + " |",
            "|---|" + "---:|" * len(facts),
        ]
        for i, o0 in enumerate(next(iter(groups.values()))):
            cells = [_relative(groups[f.id][i], at_defaults[f.id]) for f in facts]
            lines.append(f"| {o0.setting.label} | " + " | ".join(cells) + " |")
        fails = [(fid, o) for fid, outs in groups.items() for o in outs if not o.holds]
        lines += ["", "Where a fact does not hold:" if fails else "Every fact holds in every setting."]
        lines += [""] * bool(fails) + [f"- fact {fid}, {o.setting.label}: mean {_num(o.stats[0])}, 95% interval "
                                       f"{_interval(o)} ({o.verdict()})" for fid, o in fails]
    lines += ["", f"![each fact in every setting]({rel / 'stylized_facts.png'})", "",
              f"Numbers: [{rel / 'stylized_facts.csv'}]({rel / 'stylized_facts.csv'}).", ""]
    return "\n".join(lines)

