"""What a run leaves behind: summary KPIs, tidy CSVs, a manifest, a dashboard, written atomically."""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import platform as _platform
import secrets
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.agents.platform import REVENUE_SOURCES

if TYPE_CHECKING:
    from sim.model import MarketModel
    from sim.scenario import Scenario

PACKAGES = ("platform-finance-sim", "mesa", "numpy", "pandas", "pydantic", "matplotlib", "pyyaml", "tqdm")
KPI_LABELS = {
    "gmv": "GMV (RMB, simulated)",
    "orders": "orders",
    "bnpl_uptake": "BNPL share of orders",
    "loans_originated": "loans originated",
    "amount_originated": "amount lent (RMB)",
    "charge_off_rate": "charge-off rate",
    "dpd90p_share_end": "90+ dpd share at end",
    "recovery_rate": "recovery rate",
    "restructurer_clients": "intermediary clients",
    "restructurer_fees": "intermediary fees (RMB)",
    "lender_exits": "lender exits",
    "reachable_share_6m": "reachable at 6 months",
    "reachable_share_12m": "reachable at 12 months",
}


# The reported ratios: None (JSON null) when there is nothing to divide by, and why, in words for tables and notes.
UNDEFINED_WHEN = {
    "bnpl_uptake": "no orders",
    "charge_off_rate": "nothing lent",
    "dpd90p_share_end": "no principal outstanding on the last day",
    "recovery_rate": "nothing written off",
    "reachable_share_6m": "no borrower reached 6 months overdue",
    "reachable_share_12m": "no borrower reached 12 months overdue",
}
FINANCE_SHARE_UNDEFINED_WHEN = "no platform revenue"
NOT_AVAILABLE = "n/a"


def defined_ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is zero: a reported ratio with nothing to divide by is undefined
    (a 0 would read as "nothing recovered" or "perfect credit")."""
    return float(num) / float(den) if den else None


def undefined_reason(kpi: str) -> str:
    """Why a ratio KPI can be undefined (`finance_share_<platform>` included), for notes under tables."""
    return FINANCE_SHARE_UNDEFINED_WHEN if kpi.startswith("finance_share_") else UNDEFINED_WHEN.get(kpi, "undefined")


def seed_of(model: MarketModel) -> int | None:
    """The run's seed; None for a run seeded with a `SeedSequence` (Python API), which no integer names."""
    return None if isinstance(model.seed, np.random.SeedSequence) else int(model.scenario.seed)


def summarize(model: MarketModel) -> dict[str, Any]:
    """The run's headline figures (see docs/outputs.md); a ratio with a zero denominator is None."""
    m = model.market_table()
    s = model.scenario
    total = m.sum(numeric_only=True) if len(m) else pd.Series(dtype=float)
    get = lambda col: float(total.get(col, 0.0))  # noqa: E731
    written_off = get("charged_off_principal")
    last = m.iloc[-1] if len(m) else {}
    # the day's share is 0 in the market table when nothing is outstanding; as a headline it is undefined
    dpd90p_end = float(last["dpd90p_share"]) if len(m) and last["outstanding_principal"] > 0 else None
    out: dict[str, Any] = {
        "scenario": s.name,
        "seed": seed_of(model),
        "days": len(m),
        "consumers": int(model.consumers.n),
        "merchants": int(s.merchants.count),
        "platforms": len(model.platform_list),
        "lenders": len(model.lender_list),
        "restructurers": len(model.restructurer_list),
        "gmv": get("gmv"),
        "orders": int(get("orders")),
        "bnpl_uptake": defined_ratio(get("bnpl_orders"), get("orders")),
        "loans_originated": int(get("loans_originated")),
        "amount_originated": get("amount_originated"),
        "charge_off_rate": defined_ratio(written_off, get("amount_originated")),
        "dpd90p_share_end": dpd90p_end,
        "recovery_rate": defined_ratio(get("recoveries"), written_off),
        "restructurer_clients": int(last.get("restructurer_clients", 0)) if len(m) else 0,
        "restructurer_fees": get("restructurer_fees"),
        "lender_exits": _lender_exits(model),
        "platform_finance_revenue_share": _finance_shares(model),
        "reachable_share_6m": model.collections.reachable_share(180),
        "reachable_share_12m": model.collections.reachable_share(360),
    }
    return _finite(out)


def _finance_shares(model: MarketModel) -> dict[str, float | None]:
    """Each platform's finance revenue / total revenue over the recorded days (None without revenue)."""
    table = model.platform_table()
    sums = table.groupby("name", sort=False)[["finance_revenue", "revenue"]].sum() if len(table) else None
    return {p.name: defined_ratio(sums.at[p.name, "finance_revenue"], sums.at[p.name, "revenue"])
            if sums is not None and p.name in sums.index else None for p in model.platform_list}


def _lender_exits(model: MarketModel) -> int:
    """Lenders inactive at the end among those licensed and active on recorded day 1."""
    table = model.lender_table()
    if table.empty:
        return 0
    first = table[table["day"] == table["day"].min()]
    started = set(first.loc[first["active"].astype(bool), "name"])
    return sum(1 for lend in model.lender_list if lend.name in started and not lend.active)


def closed_in_burn_in(model: MarketModel) -> list[str]:
    """Lenders whose capital ran out during the unrecorded burn-in: the recorded market starts without them, and
    `lender_exits` (which counts exits over the recorded days) does not count them."""
    return [lend.name for lend in model.lender_list if lend.exit_day is not None and lend.exit_day < 1]


def licences_denied(model: MarketModel) -> list[str]:
    """Platforms whose licence purchase under `own_license` failed for want of cash (registered capital plus licence
    cost): the attempt is dropped for the run, so the strategy never lends under a licence of its own."""
    return [p.name for p in model.platform_list if p.license_denied]


def run_notes(model: MarketModel) -> list[str]:
    """What a reader of a finished run's KPIs should know that they do not show: lenders closed during the burn-in,
    licences a platform could not pay for. One line each, without the "note: " that `run` and `compare` print."""
    closed = closed_in_burn_in(model)
    notes = [f"{', '.join(closed)} closed during the burn-in (equity below minimum capital); the recorded days "
             "start without them, and lender exits do not count them"] if closed else []
    notes += [f"{name} could not pay for its licence (registered capital and licence cost above its cash), so it "
              "never lent under a licence of its own (docs/model.md 3.3.4); raise its cash_m"
              for name in licences_denied(model)]
    return notes


def _finite(value: Any, path: str = "summary") -> Any:
    """`value` unchanged, or a ValueError naming the first NaN or infinity: undefined ratios are None already,
    so a non-finite number is a bug, and writing it as 0 (or null) would hide it."""
    if isinstance(value, dict):
        return {k: _finite(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{path} is {value}: a figure that should be a number or None (undefined)")
    return value


def scenario_hash(scenario: Scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _versions() -> dict[str, str]:
    found = {"python": _platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def provenance() -> dict[str, Any]:
    """What any output records of how it was made: the command, when, the code and the library versions."""
    from datetime import UTC, datetime

    return {"command": " ".join(sys.argv), "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_commit": _git_commit(), "versions": _versions()}


def manifest(model: MarketModel, wall_time: float, files: list[str], overrides: list[str]) -> dict[str, Any]:
    return {
        "scenario": model.scenario.name,
        "seed": seed_of(model),
        "days": int(model.scenario.days),
        "burn_in_days": int(model.scenario.burn_in_days),
        "scenario_hash": scenario_hash(model.scenario),
        "scenario_files": files,
        "overrides": overrides,
        "wall_time_s": round(wall_time, 3),
        **provenance(),
    }


# --- writing a run folder ------------------------------------------------------------------------------


RUN_FILES = frozenset({"scenario.yaml", "manifest.json", "market.csv", "platforms.csv", "lenders.csv", "summary.json",
                       "dashboard.png"})


def write_run(model: MarketModel, target: Path, scenario_yaml: str, manifest_data: dict[str, Any], *,
              unique: bool = False) -> Path:
    """Write every output into a temporary folder next to `target`, then rename it into place; return where it
    went (with `unique`, `target` or the first free `target-2`, `target-3`...)."""
    folder = atomic_folder(Path(target), unique=unique)
    with folder as tmp:
        _write_files(model, tmp, scenario_yaml, manifest_data)
    return folder.path


class atomic_folder:  # lower case: used as the function it was, `with atomic_folder(target) as tmp:`
    """A temporary folder next to `target` to write into, renamed to `target` when the block completes
    (replacing an earlier output there, or with `unique` taking the first free name of `target`, `target-2`...,
    so that two runs started in the same second keep both outputs). On any failure or interrupt nothing is left
    behind: neither the temporary folder nor the parent folders this call created. `path` is where it went."""

    def __init__(self, target: Path, *, unique: bool = False) -> None:
        self.target, self.unique = Path(target), unique
        self.path = self.target

    def __enter__(self) -> Path:
        self.created = make_parents(self.target.parent)
        # Named before it is made, so that an interrupt arriving inside mkdir still finds it to remove.
        self.tmp = self.target.parent / f".{self.target.name}.partial-{secrets.token_hex(6)}"
        try:
            self.tmp.mkdir()
        except BaseException:
            self._clean()
            raise
        return self.tmp

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:
            try:
                self.path = _new_name(self.tmp, self.target) if self.unique else _replace(self.tmp, self.target)
                return
            except BaseException:
                self._clean()
                raise
        self._clean()

    def _clean(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        remove_empty(self.created)


def make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing ancestors; return those created, deepest first (for `remove_empty`)."""
    folder = Path(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove folders made by `make_parents`, deepest first, stopping at the first that is not empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _write_files(model: MarketModel, folder: Path, scenario_yaml: str, manifest_data: dict[str, Any]) -> None:
    (folder / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    model.market_table().to_csv(folder / "market.csv", index=False)
    model.platform_table().to_csv(folder / "platforms.csv", index=False)
    model.lender_table().to_csv(folder / "lenders.csv", index=False)
    summary = summarize(model)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    dashboard(model, folder / "dashboard.png")
    (folder / "manifest.json").write_text(json.dumps(manifest_data, indent=2) + "\n", encoding="utf-8")


def in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is a file (so `path` can never be created), or None."""
    for parent in Path(path).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
        if parent.is_symlink():  # a dangling link: mkdir cannot go through it either
            return parent
    return None


def check_target(target: Path, *, marker: str = "manifest.json", kind: str = "a run folder",
                 files: frozenset[str] | Callable[[str], bool] | None = None) -> str | None:
    """Why `target` cannot receive an output (the current folder or one holding it, an unrelated non-empty folder,
    a file, or a file where one of its parent folders should be), or None. A folder holding `marker`, and no file
    but the `files` such an output writes (names, or a test of a name), is an earlier output and may be replaced
    (`files` None: any)."""
    here, where = Path.cwd(), Path(target).resolve()
    if where == here or where in here.parents:
        return f"{target}: is the current folder or holds it, which an output cannot replace; choose a new folder"
    blocker = in_the_way(target)
    if blocker is not None:
        return f"{target}: {blocker} exists and is not a folder; choose another --out"
    if not target.exists():
        return None
    if not target.is_dir():
        return f"{target} exists and is not a folder"
    if any(target.iterdir()) and not (target / marker).is_file():
        return f"{target} exists, is not empty and is not {kind} (no {marker}); choose another --out"
    ours = files.__contains__ if isinstance(files, frozenset) else files
    others = sorted(p.name for p in target.iterdir() if ours is not None and not ours(p.name))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        return f"{target} holds {shown}, which {kind} does not write and replacing it would delete; choose another " \
               "--out"
    return None


def _replace(tmp: Path, target: Path) -> Path:
    """Move `tmp` to `target`; a previous output at `target` is swapped out first."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)
    return target


def _new_name(tmp: Path, target: Path) -> Path:
    """Move `tmp` to the first of `target`, `target-2`, ... that holds nothing. A rename onto a folder with
    files in it fails, so two processes can never both take one name."""
    for k in itertools.count(1):
        name = target if k == 1 else target.with_name(f"{target.name}-{k}")
        try:
            os.rename(tmp, name)
            return name
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
    raise AssertionError("unreachable")


# --- the dashboard ----------------------------------------------------------------------------------


def dashboard(model: MarketModel, path: Path) -> None:
    """Seven panels and a KPI box on one page (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    market, plats, lends = model.market_table(), model.platform_table(), model.lender_table()
    fig, axes = plt.subplots(4, 2, figsize=(14, 15))
    fig.subplots_adjust(left=0.06, right=0.94, top=0.95, bottom=0.03, hspace=0.32, wspace=0.32)
    panels = (_traffic, _bnpl, _lending, _delinquency, _losses, _revenue, _equity)
    for ax, panel in zip(axes.flat, panels, strict=False):
        panel(ax, market, plats, lends)
        ax.grid(alpha=0.3)
    _kpi_box(axes.flat[-1], summarize(model))
    fig.suptitle(f"{model.scenario.name} — seed {seed_of(model)}, {len(market)} days, "
                 f"{model.consumers.n:,} consumers", fontsize=14)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _legend(ax: Any, **kw: Any) -> None:
    """A legend, when the panel has something labelled (a run without platforms or lenders has not)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _weekly(series: pd.Series) -> pd.Series:
    return series.rolling(7, min_periods=1).mean()


def _traffic(ax: Any, market: pd.DataFrame, plats: pd.DataFrame, _: pd.DataFrame) -> None:
    for name, g in plats.groupby("name", sort=False):
        ax.plot(g["day"], _weekly(g["visits"].astype(float)), label=f"{name} visits")
    ax.set_ylabel("visits a day (7-day mean)")
    twin = ax.twinx()
    twin.plot(market["day"], _weekly(market["orders"].astype(float)), color="black", lw=2, label="orders (all)")
    twin.set_ylabel("orders a day")
    _legend(ax, loc="upper left", fontsize=8)
    _legend(twin, loc="upper right", fontsize=8)
    ax.set_title("Traffic and orders")


def _bnpl(ax: Any, market: pd.DataFrame, plats: pd.DataFrame, _: pd.DataFrame) -> None:
    ax.plot(market["day"], 100 * _weekly(market["bnpl_uptake"]), color="black", lw=2, label="market")
    for name, g in plats.groupby("name", sort=False):
        share = (g["bnpl_orders"].astype(float) / g["orders"].replace(0, np.nan)).fillna(0.0)
        if share.any():
            ax.plot(g["day"], 100 * _weekly(share), label=name)
    ax.set_ylabel("% of orders")
    _legend(ax, fontsize=8)
    ax.set_title("BNPL share of orders (7-day mean)")


def _lending(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    ax.fill_between(market["day"], _weekly(market["amount_originated"]) / 1e3, color="tab:blue", alpha=0.35,
                    step="mid", label="lent a day (7-day mean)")
    ax.set_ylabel("lent a day (RMB k)")
    twin = ax.twinx()
    twin.plot(market["day"], market["consumer_principal"] / 1e6, color="tab:red", label="consumer balance")
    twin.plot(market["day"], market["merchant_principal"] / 1e6, color="tab:green", label="shop balance")
    twin.set_ylabel("outstanding (RMB m)")
    _legend(ax, loc="upper left", fontsize=8)
    _legend(twin, loc="upper right", fontsize=8)
    ax.set_title("Lending and balance")


def _delinquency(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    cols = ("dpd1_30_share", "dpd31_90_share", "dpd90p_share")
    ax.stackplot(market["day"], *(100 * market[c] for c in cols), labels=("1-30 dpd", "31-90 dpd", "90+ dpd"),
                 colors=("#f2c14e", "#f78154", "#b33f62"))
    ax.set_ylabel("% of outstanding principal")
    _legend(ax, loc="upper left", fontsize=8)
    ax.set_title("Delinquency buckets")


def _losses(ax: Any, market: pd.DataFrame, *_: pd.DataFrame) -> None:
    ax.plot(market["day"], market["charged_off_principal"].cumsum() / 1e6, color="tab:red", label="written off")
    ax.plot(market["day"], market["recoveries"].cumsum() / 1e6, color="tab:green", label="recovered (lenders)")
    ax.plot(market["day"], market["npl_buyer_recoveries"].cumsum() / 1e6, color="tab:gray", ls="--",
            label="recovered by NPL buyers")
    ax.set_ylabel("cumulative, RMB m")
    _legend(ax, fontsize=8)
    ax.set_title("Write-offs vs recoveries")


def _revenue(ax: Any, _: pd.DataFrame, plats: pd.DataFrame, __: pd.DataFrame) -> None:
    cols = [f"revenue_{k}" for k in REVENUE_SOURCES if f"revenue_{k}" in plats]
    # float: the sums of a run without platforms are an empty object column, which cannot be stacked
    totals = plats.groupby("name", sort=False)[cols].sum().astype(float) / 1e6
    bottom = np.zeros(len(totals))
    for col in cols:
        ax.bar(totals.index, totals[col], bottom=bottom, label=col.removeprefix("revenue_"))
        bottom += totals[col].to_numpy()
    ax.set_ylabel("RMB m over the run")
    _legend(ax, fontsize=8)
    ax.set_title("Platform revenue by source")


def _equity(ax: Any, _: pd.DataFrame, __: pd.DataFrame, lends: pd.DataFrame) -> None:
    for name, g in lends.groupby("name", sort=False):
        ax.plot(g["day"], g["equity"] / 1e6, label=name)
    ax.set_ylabel("equity (RMB m)")
    _legend(ax, fontsize=8, ncol=2)
    ax.set_title("Lender equity")


def _kpi_box(ax: Any, summary: dict[str, Any]) -> None:
    ax.axis("off")
    lines = _kpi_rows(summary, 14)
    notes = undefined_notes(summary)
    if notes:  # one wrapped line, in a smaller font, so that the box still fits its panel
        lines += textwrap.wrap("; ".join(notes), 62)
    ax.text(0.02, 0.98, "\n".join(lines), family="monospace", fontsize=9 if notes else 10, va="top")
    ax.set_title("Key figures")


def format_kpi(key: str, value: Any) -> str:
    """A KPI for a table: shares as %, counts with separators, money rounded; an undefined ratio (None) n/a."""
    if value is None:
        return NOT_AVAILABLE
    if key in UNDEFINED_WHEN:
        return f"{100 * value:.2f}%"
    if key == "finance_share" or key.startswith("finance_share_"):
        return f"{100 * value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}"


def _kpi_rows(summary: dict[str, Any], value_width: int) -> list[str]:
    """Label and formatted value of each headline figure, labels padded to the longest (platform names vary)."""
    pairs = [(label, format_kpi(key, summary[key])) for key, label in KPI_LABELS.items()]
    pairs += [(f"finance share: {name}", format_kpi("finance_share", v))
              for name, v in summary["platform_finance_revenue_share"].items()]
    width = max(len(label) for label, _ in pairs) + 1
    return [f"{label:<{width}}{value:>{value_width}}" for label, value in pairs]


def undefined_notes(summary: dict[str, Any]) -> list[str]:
    """One line per undefined ratio of a summary: which, and why (for under a table)."""
    found = [(KPI_LABELS[k], UNDEFINED_WHEN[k]) for k in UNDEFINED_WHEN if summary.get(k, 0) is None]
    found += [(f"finance share: {n}", FINANCE_SHARE_UNDEFINED_WHEN)
              for n, v in summary.get("platform_finance_revenue_share", {}).items() if v is None]
    return [f"{label}: {NOT_AVAILABLE}, {why}" for label, why in found]


def kpi_table(summary: dict[str, Any]) -> str:
    """A short text table of the headline figures, with a note for each undefined ratio (n/a)."""
    rows = [f"  {row}" for row in _kpi_rows(summary, 16)]
    rows += [f"  {note}" for note in undefined_notes(summary)]
    return "\n".join(rows)
