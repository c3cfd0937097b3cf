"""Before a sweep runs: fit its KPIs to the platforms its runs have, and create its output folder, or check
that a folder being resumed holds this sweep (and this model version) and extend its definition."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.results import in_the_way
from sim.scenario_files import ScenarioError
from sim.sweep import design
from sim.sweep.plan import Plan, code_version, fingerprint, overrides_of, resolve, run_id
from sim.sweep.spec import Param, Sweep, SweepError
from sim.sweep.store import KPI_FORMAT, Store, atomic_write, check_kpi_format, write_json

if TYPE_CHECKING:
    from collections.abc import Iterator


def keep_shared_platforms(plan: Plan) -> list[str]:
    """Leave out the finance shares of platforms that some runs do not have (a parameter renames or removes
    them): such a run has no share of that platform, and neither NaN nor 0 would say so. Returns one note per
    share left out; a share the sweep file asks for by name is refused instead (`SweepError`)."""
    wanted = [k for k in plan.kpis if k.startswith("finance_share_")]
    if not wanted:
        return []
    seen: set[str] = set()
    absent: dict[str, str] = {}  # KPI -> the parameter values of a run without that platform
    for params in plan.points:
        varied = {k: v for k, v in params.items() if k == "platforms" or k.startswith("platforms.")}
        key = json.dumps(varied, sort_keys=True, default=str)
        if not varied or key in seen:
            continue
        seen.add(key)
        try:
            names = {p.name for p in resolve(plan.base, overrides_of(varied)).platforms}
        except ScenarioError:
            continue  # an invalid combination fails as a run, with its own message
        where = ", ".join(f"{k}={v}" for k, v in plan.shown(varied).items())
        for kpi in wanted:
            if kpi.removeprefix("finance_share_") not in names:
                absent.setdefault(kpi, where)
    asked = [k for k in plan.sweep.kpis or [] if k in absent]
    if asked:
        raise SweepError(f"{plan.path}: kpis: {asked[0]}: not every run has platform "
                         f"{asked[0].removeprefix('finance_share_')} (not with {absent[asked[0]]}); allowed: "
                         "finance shares of platforms that every run has")
    plan.kpis = [k for k in plan.kpis if k not in absent]
    return [f"{k}: left out (platform {k.removeprefix('finance_share_')} is missing in runs with {w})"
            for k, w in absent.items()]


@contextmanager
def _usable_out(out: Path) -> Iterator[None]:
    """An --out the file system refuses (a name too long, no permission, a read-only or pseudo file system) is a
    one-line `SweepError` rather than a traceback."""
    try:
        yield
    except OSError as exc:
        raise SweepError(f"{out}: cannot be used as the sweep folder ({exc.strerror or exc}); choose another "
                         "--out") from None


def check_resumable(out: Path) -> None:
    """`--resume` into a folder that does not exist is a one-line `SweepError` (a mistyped --out would
    otherwise start the whole sweep again, silently)."""
    with _usable_out(out):
        missing = not Path(out).exists()
    if missing:
        raise SweepError(f"--resume: nothing to resume at {out} (no such folder); check --out, or leave out --resume "
                         "to start the sweep there")


def prepare(plan: Plan, out: Path, *, resume: bool, ignore_code_change: bool = False) -> Store:
    """Create the store, or check that it belongs to this sweep (and this model version) when resuming."""
    with _usable_out(out):
        return _prepare(plan, out, resume=resume, ignore_code_change=ignore_code_change)


def _prepare(plan: Plan, out: Path, *, resume: bool, ignore_code_change: bool) -> Store:
    if resume:
        check_resumable(out)
    store = Store(out)
    blocker = in_the_way(out)
    if blocker is not None:
        raise SweepError(f"{out}: {blocker} exists and is not a folder; choose another --out")
    if store.exists():
        old = store.definition()
        if not resume:
            raise SweepError(f"{out}: holds a sweep already; add --resume to finish it, or choose another --out")
        stored_kpis, stored_series = list(old["kpis"]), list(old.get("series", plan.series))
        if old.get("fingerprint") != plan.fingerprint(stored_kpis, stored_series):
            planned = _planned_before(plan, old, stored_kpis, stored_series)
            different = (f"{out}: holds a different sweep ({old.get('name')}, {old.get('file')}): its planned "
                         "runs differ from this file's")
            if planned is None:
                raise SweepError(f"{different} ({_what_differs(plan, old)}); cannot resume it with this sweep file")
            dropped = len(set(planned) - {r.id for r in plan.runs})
            if dropped:
                seed = old["sweep"].get("seed")
                reseeded = (f": its master seed is {seed}, this file's {plan.sweep.seed}, which changes every run's "
                            "seed" if seed != plan.sweep.seed else "")
                raise SweepError(f"{different}: this file drops {dropped} of the folder's {len(set(planned))} "
                                 f"planned runs{reseeded} (a resume may only add runs: more replications, or grid "
                                 "values added); cannot resume it with this sweep file")
            plan.extended_from = len(planned)
        _check_kept(out, "kpis", "KPIs", plan.kpis, stored_kpis)
        _check_kept(out, "series", "daily series", plan.series, stored_series)
        if (plan.kpis, plan.series) != (stored_kpis, stored_series):
            plan.stored_kpis, plan.stored_series = stored_kpis, stored_series
        check_kpi_format(out, old, "its runs cannot be mixed with new ones: run the sweep again into another --out")
        if old.get("code_version") != code_version() and not ignore_code_change:
            raise SweepError(f"{out}: the model code (sim/) changed since this sweep started "
                             f"({old.get('code_version')} -> {code_version()}); stored runs came from the earlier "
                             "version: choose another --out, or add --ignore-code-change to keep them")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())) and not store.unstarted():
        raise SweepError(f"{out}: exists and is not a sweep folder; choose another --out")
    store.create()
    store.clean_temporary()
    if not store.exists():
        _write_definition(plan, store, plan.fingerprint())
    elif plan.extended_from is None:
        # a stop between an extension's two writes leaves the larger plan's design beside the old sweep.json
        _write_design(plan, store)
    else:
        # The runs still to do store what the folder's runs store (`runner.task_of`), so the definition keeps those
        # lists, the model version the sweep started with and its KPI format; design.parquet first, sweep.json
        # last: a stop in between leaves the old sweep.json, and the next resume extends again.
        _write_definition(plan, store, plan.fingerprint(stored_kpis, stored_series), kpis=stored_kpis,
                          series=stored_series, version=old.get("code_version"), kpi_format=old.get("kpi_format"))
    return store


def _what_differs(plan: Plan, old: dict[str, Any]) -> str:
    """Why a folder's sweep lays out other runs than this file, when this file cannot extend it: the first of
    `set`, parameter names, design and base scenario that differs, as far as sweep.json tells."""
    before = old["sweep"]
    fixed = before.get("set", {})
    changed = sorted(k for k in {*fixed, *plan.sweep.set} if fixed.get(k, None) != plan.sweep.set.get(k, None))
    if changed:
        return f"set differs in {', '.join(changed)}"
    if list(old.get("parameters", [])) != plan.parameters:
        return f"parameters differ: the folder varies {', '.join(old.get('parameters', []))}"
    if before.get("design") != plan.sweep.design:
        return f"design differs: the folder's is {before.get('design')}"
    base = f"the base scenario ({plan.sweep.base}, with the files it extends) resolves to another scenario"
    if old.get("base_hash") not in (None, plan.base_hash):
        return base
    earlier = "the folder was laid out by an earlier version of the sampling"
    return earlier if old.get("base_hash") == plan.base_hash else f"{base}, or {earlier}"


def _read_back(data: dict[str, Any]) -> Sweep:
    """A sweep as sweep.json stores it (every field, defaults included) parsed again: fields at their default
    are left out, as a sweep file leaves them (`levels` is refused for a design other than morris)."""
    def given(model: type[Sweep] | type[Param], values: dict[str, Any]) -> dict[str, Any]:
        fields = model.model_fields
        return {k: v for k, v in values.items()
                if k not in fields or v != fields[k].get_default(call_default_factory=True)}

    sweep = given(Sweep, data)
    sweep["parameters"] = {k: given(Param, v) for k, v in data["parameters"].items()}
    return Sweep.model_validate(sweep)


def _planned_before(plan: Plan, old: dict[str, Any], kpis: list[str], series: list[str]) -> list[str] | None:
    """The run ids a folder planned (in design order), when this file defines its runs the same way: the
    folder's sweep laid out again (its points and seeds) on this file's base scenario gives back the stored
    fingerprint, and `set`, parameter names and design are unchanged. None otherwise (another base scenario,
    another sweep, or a folder laid out by an earlier version of the sampling)."""
    try:
        before = _read_back(old["sweep"])
        if (before.set != plan.sweep.set or list(before.parameters) != plan.parameters
                or list(old.get("parameters", [])) != plan.parameters or before.design != plan.sweep.design):
            return None
        points, _ = design.points(before)
        seeds = design.seeds(before)
    except Exception:  # a definition this version cannot lay out again: not known to be the same sweep
        return None
    ids = [run_id(plan.base_hash, params, seed) for params in points for seed in seeds]
    return ids if fingerprint(ids, plan.parameters, kpis, series, before.design) == old.get("fingerprint") else None


def _check_kept(out: Path, key: str, what: str, wanted: list[str], stored: list[str]) -> None:
    """Only `kpis` or `series` changed: fine if the stored runs hold every one asked for (a run stores only
    those its sweep file asked for); otherwise a one-line `SweepError` naming what they lack."""
    lacking = [k for k in wanted if k not in stored]
    if lacking:
        raise SweepError(f"{out}: {key}: this file asks for {', '.join(lacking)}, which its runs do not store (a "
                         f"run stores only the {what} its sweep file asked for: {', '.join(stored)}); resume "
                         f"without {', '.join(lacking)}, or run the sweep again into another --out")


def _write_definition(plan: Plan, store: Store, fingerprint: str, *, kpis: list[str] | None = None,
                      series: list[str] | None = None, version: str | None = None,
                      kpi_format: Any = KPI_FORMAT) -> None:
    _write_design(plan, store)
    write_json(store.root / "sweep.json", {
        "name": plan.sweep.name, "file": plan.path, "fingerprint": fingerprint,
        "code_version": version or code_version(), "sweep": plan.sweep.model_dump(mode="json"), "seeds": plan.seeds,
        "kpis": plan.kpis if kpis is None else kpis, "series": plan.series if series is None else series,
        "parameters": plan.parameters, "points": len(plan.points), "runs": len(plan.runs),
        "unique_runs": len(plan.unique()), "kpi_format": kpi_format, "base_hash": plan.base_hash,
    })


def _write_design(plan: Plan, store: Store) -> None:
    """design.parquet: one row per design point (its values, and unit-cube coordinates if sampled)."""
    rows = []
    for i, params in enumerate(plan.points):
        row: dict[str, Any] = {"point": i, **plan.shown(params)}
        if plan.unit is not None:
            row.update({f"u:{name}": float(u) for name, u in zip(plan.parameters, plan.unit[i], strict=True)})
        rows.append(row)
    frame = pd.DataFrame(rows)
    atomic_write(store.root / "design.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
