"""The command line: run, check, list, compare; what a run writes; exit code 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run as cli
from sim import compare, results
from sim.metrics import MARKET_COLUMNS
from sim.scenario_files import load

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
TINY = ["--consumers", "800", "--days", "20", "--set", "burn_in_days=10", "--set", "merchants.count=40"]
SUMMARY_KEYS = {
    "days", "consumers", "merchants", "platforms", "lenders", "restructurers", "gmv", "orders", "bnpl_uptake",
    "loans_originated", "amount_originated", "charge_off_rate", "dpd90p_share_end", "recovery_rate",
    "restructurer_clients", "restructurer_fees", "lender_exits", "platform_finance_revenue_share",
    "reachable_share_6m", "reachable_share_12m",
}
FILES = {"scenario.yaml", "manifest.json", "market.csv", "platforms.csv", "lenders.csv", "summary.json",
         "dashboard.png"}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _no_nan(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "check"
    assert cli.main(["run", "scenarios/classroom.yaml", "--out", str(out), "--quiet"]) == 0
    return out


def test_classroom_run_writes_every_file(classroom: Path) -> None:
    assert {p.name for p in classroom.iterdir()} == FILES
    assert not [p for p in classroom.parent.iterdir() if p.name.startswith(".")]  # no partial folders left


def test_summary_has_the_documented_keys(classroom: Path) -> None:
    summary = _no_nan((classroom / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["days"] == 180 and summary["consumers"] == 5000 and summary["merchants"] == 150
    assert set(summary["platform_finance_revenue_share"]) == {"community", "video", "entertainment"}
    for key in ("bnpl_uptake", "charge_off_rate", "dpd90p_share_end", "reachable_share_6m", "reachable_share_12m"):
        assert summary[key] is None or 0.0 <= summary[key] <= 1.0, key  # None: undefined (nothing to divide by)
    assert summary["recovery_rate"] is None or summary["recovery_rate"] >= 0.0
    assert summary["bnpl_uptake"] > 0 and summary["charge_off_rate"] == 0.0
    # the classroom market writes nothing off in its 180 days: no recovery rate, not a rate of 0
    assert summary["recovery_rate"] is None


def test_the_summary_lending_figures_are_consumer_loans_as_the_doc_says(classroom: Path) -> None:
    """docs/outputs.md described `loans_originated`, `amount_originated` and `charge_off_rate` as "loans made",
    "principal lent" and "principal written off / principal lent": they leave out shop loans, which a reader
    adding up lenders.csv (consumer and shop loans) found did not match."""
    summary = json.loads((classroom / "summary.json").read_text())
    market = pd.read_csv(classroom / "market.csv")
    assert market["merchant_amount_originated"].sum() > 0  # shops borrowed: the two readings differ
    assert summary["loans_originated"] == market["loans_originated"].sum()
    assert summary["amount_originated"] == pytest.approx(market["amount_originated"].sum())
    doc = (ROOT / "docs/outputs.md").read_text().split("## `summary.json`")[1].split("\n## ")[0]
    rows = {line.split(" | ")[0]: line for line in doc.splitlines() if line.startswith("| `")}
    for key in ("| `loans_originated`, `amount_originated`", "| `charge_off_rate`", "| `recovery_rate`"):
        assert "consumer" in rows[key], key


def test_tables(classroom: Path) -> None:
    market = pd.read_csv(classroom / "market.csv")
    assert tuple(market.columns) == MARKET_COLUMNS
    assert list(market["day"]) == list(range(1, 181))
    for name, who in (("platforms.csv", 3), ("lenders.csv", 6)):
        table = pd.read_csv(classroom / name)
        assert list(table.columns[:2]) == ["day", "name"]
        assert len(table) == 180 * who
    assert not market.isna().any().any()


def test_manifest_and_resolved_scenario(classroom: Path) -> None:
    manifest = _no_nan((classroom / "manifest.json").read_text())
    for key in ("seed", "scenario_hash", "versions", "wall_time_s", "git_commit", "scenario_files"):
        assert key in manifest
    assert manifest["versions"]["mesa"]
    again = load(str(classroom / "scenario.yaml")).scenario
    assert results.scenario_hash(again) == manifest["scenario_hash"]
    assert again == load("scenarios/classroom.yaml").scenario


def test_dashboard_is_a_png(classroom: Path) -> None:
    assert (classroom / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shorthand_overrides_and_replacing_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert cli.main(["scenarios/classroom.yaml", *TINY, "--seed", "4", "--out", str(out)]) == 0
    assert "charge-off rate" in capsys.readouterr().out  # the KPI table
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["days"], summary["consumers"], summary["seed"]) == (20, 800, 4)
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 0


def test_a_run_without_write_offs_has_no_recovery_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing written off over the recorded days: recovery_rate is null (strict JSON), "n/a" in the table with
    the reason, never 0.0 (which reads as "nothing recovered")."""
    out = tmp_path / "r"
    assert cli.main(["run", "scenarios/classroom.yaml", "--consumers", "500", "--days", "3", "--set",
                     "burn_in_days=0", "--set", "merchants.count=30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    text = (out / "summary.json").read_text()
    summary = _no_nan(text)
    assert summary["recovery_rate"] is None and summary["charge_off_rate"] in (0.0, None)
    assert summary["reachable_share_6m"] is None and summary["reachable_share_12m"] is None
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert isinstance(summary["orders"], int) and isinstance(summary["gmv"], float)  # amounts stay numbers
    assert any(line.split() == ["recovery", "rate", "n/a"] for line in printed.splitlines())
    assert "recovery rate: n/a, nothing written off" in printed
    assert "reachable at 12 months: n/a, no borrower reached 12 months overdue" in printed


def _readme_variant(tmp_path: Path) -> Path:
    """The README's example scenario file (the community platform buys a licence), extending the library's baseline."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("# scenarios/my_variant.yaml"):].split("```", 1)[0]
    path = tmp_path / "my_variant.yaml"
    path.write_text(block.replace("extends: baseline.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}"))
    return path


@pytest.mark.parametrize("cash_m", [None, 5000])
def test_the_readme_variant_buys_its_licence_and_a_platform_that_cannot_pay_is_noted(
    cash_m: int | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's "buys a licence" example pays for one and lends under it once the delay is over (it named an
    already licensed micro-lender: nothing bought, and all that lender's interest counted as the platform's); with
    the default cash the purchase fails, which the run says rather than leaving the strategy silently inert."""
    out = tmp_path / "r"
    cash = ["--set", f"platforms.community.cash_m={cash_m}"] if cash_m else []
    assert cli.main(["run", str(_readme_variant(tmp_path)), "--consumers", "800", "--set", "merchants.count=20",
                     "--set", "burn_in_days=185", "--days", "2", *cash, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lenders = pd.read_csv(out / "lenders.csv")
    own = lenders[lenders["name"] == "community_credit"]
    assert len(own) == 2  # the platform's own lender, on both recorded days
    note = "note: community could not pay for its licence"
    if cash_m is None:
        assert own["active"].all() and (own["equity"] > 0).all() and note not in printed
    else:
        assert not own["active"].any() and (own["equity"] == 0).all() and note in printed


def test_a_quiet_run_still_notes_a_licence_it_could_not_buy_and_its_folder_keeps_the_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --quiet the note was not printed, and the run folder kept it nowhere: platforms.csv says `own_license`
    all run, with no lending revenue and nothing saying why (compare's manifest keeps its notes)."""
    out = tmp_path / "r"
    assert cli.main(["run", str(_readme_variant(tmp_path)), "--consumers", "800", "--set", "merchants.count=20",
                     "--set", "burn_in_days=185", "--days", "2", "--set", "platforms.community.cash_m=5000",
                     "--out", str(out), "--quiet"]) == 0
    note = ("note: community could not pay for its licence (registered capital and licence cost above its cash), so "
            "it never lent under a licence of its own (docs/model.md 3.3.4); raise its cash_m")
    assert note in capsys.readouterr().out.splitlines()
    assert json.loads((out / "manifest.json").read_text())["notes"] == [note]
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert json.loads((tmp_path / "plain" / "manifest.json").read_text())["notes"] == []


def test_compare_notes_what_run_notes_naming_the_scenario_and_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A licence the platform cannot pay for left compare's table silently showing an inert strategy: it prints
    `run`'s note under the table, naming the scenario and the seeds, and keeps it in manifest.json."""
    out = tmp_path / "c"
    assert cli.main(["compare", str(ROOT / "scenarios" / "baseline.yaml"), str(_readme_variant(tmp_path)),
                     "--seeds", "2", "--consumers", "800", "--set", "merchants.count=20", "--set", "burn_in_days=185",
                     "--days", "2", "--set", "platforms.community.cash_m=5000", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    note = ("note: my_variant: community could not pay for its licence (registered capital and licence cost above its "
            "cash), so it never lent under a licence of its own (docs/model.md 3.3.4); raise its cash_m (seeds 1, 2)")
    assert note in printed.splitlines()
    assert "note: baseline" not in printed  # the baseline's community platform does not seek a licence
    assert json.loads((out / "manifest.json").read_text())["notes"] == [note]


def test_summary_refuses_a_non_finite_figure_rather_than_hiding_it() -> None:
    """Undefined ratios are None before the final check, so a NaN left is a bug: it stops, naming the figure."""
    with pytest.raises(ValueError, match=r"summary.platform_finance_revenue_share.video is nan"):
        results._finite({"gmv": 1.0, "platform_finance_revenue_share": {"video": float("nan")}})
    assert results._finite({"recovery_rate": None}) == {"recovery_rate": None}
    assert results.defined_ratio(1, 0) is None and results.defined_ratio(1, 4) == 0.25
    assert results.format_kpi("recovery_rate", None) == "n/a" and results.format_kpi("recovery_rate", 0.5) == "50.00%"


def test_default_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(ROOT / "scenarios/classroom.yaml"), *TINY, "--seed", "3", "--quiet"]) == 0
    (run_dir,) = (tmp_path / "outputs" / "classroom").iterdir()
    assert run_dir.name.endswith("-seed3") and (run_dir / "summary.json").is_file()


def test_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(results.folders, "dashboard", boom)  # where the run folder's writer looks it up
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "r"), "--quiet"]) == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["run", "tests/bad_scenarios/unknown_key.yaml"],
    ["run", "scenarios/classroom.yaml", "--consumers", "-5"],
    ["run", "scenarios/classroom.yaml", "--set", "platforms.comunity.kind=community"],
    ["check", "scenarios/classroom.yaml", "tests/bad_scenarios/empty.yaml"],
    ["compare", "scenarios/classroom.yaml", "tests/bad_scenarios/cycle_a.yaml"],
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = [] if args[0] == "check" else ["--out", str(tmp_path / "out")]
    assert cli.main([*args, *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "run.py", "run", "tests/bad_scenarios/misspelt_choice.yaml", "--out",
                           str(tmp_path / "x")], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2
    assert proc.stderr == ("error: tests/bad_scenarios/misspelt_choice.yaml: platforms.community.finance.strategy: "
                           "'own_licence' is not allowed (did you mean 'own_license'?); allowed: none, "
                           "traffic_diversion, own_license\n")
    assert proc.stdout == "" and not (tmp_path / "x").exists()


def test_out_refuses_an_unrelated_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path), "--quiet"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("extra", ["notes.md", "runs.csv"])
def test_out_keeps_a_folder_holding_files_a_run_does_not_write(
    extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder with the researcher's notes added, or a compare folder (also with a manifest.json), was
    replaced whole: the notes or the comparison were deleted without a word."""
    _no_simulation(monkeypatch)
    for name in (*FILES, extra):
        (tmp_path / name).write_text("kept")
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"holds {extra}, which a run folder does not write" in err
    assert (tmp_path / extra).read_text() == "kept"


def test_compare_keeps_a_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _no_simulation(monkeypatch)
    for name in FILES:
        (tmp_path / name).write_text("kept")
    assert cli.main(["compare", "scenarios/classroom.yaml", *TINY, "--seeds", "1", "--out", str(tmp_path)]) == 2
    assert "which a compare folder does not write" in capsys.readouterr().err
    assert {p.name for p in tmp_path.iterdir()} == FILES


@pytest.mark.parametrize("command", ["run", "compare"])
def test_out_the_current_folder_is_refused_before_any_simulation(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out .` ran the whole simulation, then failed with a traceback (a folder with an empty name)."""
    _no_simulation(monkeypatch)
    scenario = str(ROOT / "scenarios" / "classroom.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli.main([command, scenario, *TINY, "--out", "."]) == 2
    err = capsys.readouterr().err
    assert err == "error: .: is the current folder or holds it, which an output cannot replace; choose a new folder\n"
    assert list(tmp_path.iterdir()) == []


def test_runs_started_in_the_same_second_keep_both_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The default folder is named by the second: a second run in it replaced the first."""
    import datetime as dt

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Frozen:
            return cls(2026, 11, 23, 8, 0, 0)

    monkeypatch.setattr(cli, "datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    scenario = str(ROOT / "scenarios" / "classroom.yaml")
    for consumers in ("800", "900"):
        assert cli.main(["run", scenario, *TINY, "--consumers", consumers, "--quiet"]) == 0
    printed = [line.removeprefix("outputs: ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("outputs: ")]
    base = Path("outputs") / "classroom" / "20261123-080000-seed0"
    assert printed == [str(base), f"{base}-2"]
    counts = [json.loads((tmp_path / p / "summary.json").read_text())["consumers"] for p in printed]
    assert counts == [800, 900]


def test_every_library_scenario_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(LIBRARY) >= 9
    assert cli.main(["check", *map(str, LIBRARY)]) == 0
    assert capsys.readouterr().out.count("ok  ") == len(LIBRARY)


def test_list_shows_each_scenario_with_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [p.stem for p in LIBRARY]
    assert all(len(line.split()) > 2 and "INVALID" not in line for line in lines)


@pytest.mark.parametrize("command", [[], ["run"], ["check"], ["list"], ["compare"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: run.py" in capsys.readouterr().out


def test_compare_uses_common_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "scenarios/classroom.yaml", "scenarios/closed_loop.yaml", "--seeds", "2", *TINY,
            "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    assert {p.name for p in out.iterdir()} == {"runs.csv", "comparison.csv", "comparison.png", "manifest.json"}
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs.groupby("scenario")["seed"].apply(tuple)) == [(1, 2), (1, 2)]
    table = pd.read_csv(out / "comparison.csv")
    defined = table[table["n"] > 0]
    assert (defined["ci_low"] <= defined["mean"] + 1e-9).all() and (defined["mean"] <= defined["ci_high"] + 1e-9).all()
    assert (defined[defined["scenario"] == "classroom"]["diff"] == 0).all()
    assert table.loc[table["n"] == 0, "note"].str.startswith("undefined for every seed").all()
    assert "95%" in capsys.readouterr().out
    meta = json.loads((out / "manifest.json").read_text())  # it can be traced to its code, as a run can
    assert {"scenario_hashes", "command", "finished_at", "git_commit", "versions"} <= set(meta)
    assert len(set(meta["scenario_hashes"])) == 2 and "numpy" in meta["versions"]
    assert "scipy" in meta["versions"]  # its t quantiles make the intervals beyond 31 seeds
    doc = (ROOT / "docs/outputs.md").read_text()
    assert all(f"`{key}`" in doc for key in meta)


def test_outputs_doc_covers_every_column_and_key(classroom: Path) -> None:
    doc = (ROOT / "docs/outputs.md").read_text()
    columns = [*MARKET_COLUMNS, *pd.read_csv(classroom / "platforms.csv", nrows=1).columns,
               *pd.read_csv(classroom / "lenders.csv", nrows=1).columns, *SUMMARY_KEYS,
               *json.loads((classroom / "manifest.json").read_text())]
    missing = [c for c in columns if f"`{c}`" not in doc]
    assert not missing


def test_option_errors_name_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "scenarios/classroom.yaml", "--days", "0"]) == 2
    assert capsys.readouterr().err == "error: --days 0: days: 0 is out of range; allowed: >= 1 and <= 3650\n"


@pytest.mark.parametrize("command", ["compare", "validate", "calibrate"])
def test_commands_running_seeds_1_to_n_refuse_a_seed_they_would_ignore(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`compare --set seed=5` (and validate's, calibrate's) ran seeds 1..N as ever, silently: compare has no --seed
    (it points to --seeds), but the --set slipped through."""
    _no_simulation(monkeypatch)
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    args = {
        "compare": ["compare", "scenarios/classroom.yaml", "--out", str(tmp_path / "c")],
        "validate": ["validate", "--only", "reachable_6m", "--doc", str(tmp_path / "v.md")],
        "calibrate": ["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                      "regulation.rate_cap:0.1:0.3", "--out", str(tmp_path / "c")],
    }[command]
    assert cli.main([*args, "--set", "seed=5"]) == 2
    assert capsys.readouterr().err == (f"error: --set seed=5: {command} runs seeds 1..N (--seeds N) whatever the "
                                       "scenario's seed; leave seed out\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]
    if command != "compare":  # validate and calibrate resize every run to --consumers (default 20,000)
        assert cli.main([*args, "--set", "consumers.count=5000"]) == 2
        assert capsys.readouterr().err == (f"error: --set consumers.count=5000: {command} sets the consumers with "
                                           "--consumers N (shops scaled in proportion); give that instead\n")


def test_a_library_name_without_its_path_says_which_file_to_give(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`list` prints the library's names; a newcomer then types one as the scenario. It was only "file not found"
    (or "unknown command"), without the path that runs it; a file's `extends:` of a library name from outside
    `scenarios/` likewise."""
    assert cli.main(["run", "classroom"]) == 2
    assert capsys.readouterr().err == ("error: classroom: file not found; the library's classroom is "
                                       "scenarios/classroom.yaml\n")
    assert cli.main(["classroom"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'classroom'; to run the library's classroom: "
                          "python run.py run scenarios/classroom.yaml; commands: run,") and err.count("\n") == 1
    mine = Path("my_class_test.yaml")  # beside README.md, as docs/teaching.md has `python run.py app my_class.yaml`
    try:
        mine.write_text("extends: classroom.yaml\n")
        assert cli.main(["check", str(mine)]) == 2
        assert capsys.readouterr().err == (
            "error: my_class_test.yaml: extends: file 'classroom.yaml' not found (looked for classroom.yaml); to "
            "extend the library's classroom, write extends: scenarios/classroom.yaml\n")
    finally:
        mine.unlink()
    assert cli.main(["check", "scenarios/nothing_like_it.yaml"]) == 2  # no library file of that name: no hint
    assert capsys.readouterr().err == "error: scenarios/nothing_like_it.yaml: file not found\n"


# --- output paths checked up front; nothing half-written; no silent NaN ---------------------------------------


def _no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command starts a simulation: its output path must be refused before that."""
    from sim import MarketModel, validation

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a simulation started before the output path was checked")

    monkeypatch.setattr(MarketModel, "__init__", refuse)
    monkeypatch.setattr(validation, "validate", refuse)


def _under_a_file(kind: str, tmp_path: Path) -> list[str]:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"base: {ROOT / 'scenarios/classroom.yaml'}\ndesign: grid\n"
                     "parameters:\n  regulation.rate_cap: {values: [0.12, 0.24]}\n")
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    return {
        "run": ["run", "scenarios/classroom.yaml", "--out", "README.md/x"],
        "compare": ["compare", "scenarios/classroom.yaml", "scenarios/closed_loop.yaml", "--out", "README.md/x"],
        "validate": ["validate", "--only", "reachable_6m", "--workers", "1", "--doc", "README.md/x.md"],
        "sweep": ["sweep", str(sweep), "--out", "README.md/x"],
        "calibrate": ["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                      "regulation.rate_cap:0.1:0.3", "--out", "README.md/x"],
    }[kind]


@pytest.mark.parametrize("kind", ["run", "compare", "validate", "sweep", "calibrate"])
def test_an_output_path_under_a_file_is_refused_before_any_simulation(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_simulation(monkeypatch)
    assert cli.main(_under_a_file(kind, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "README.md exists and is not a folder" in err
    assert (ROOT / "README.md").is_file()


@pytest.mark.parametrize("kind", ["validate", "facts"])
@pytest.mark.parametrize("content", [b"\xff\xfe binary", b"# My own notes\n\nNot a report.\n"])
def test_a_doc_that_is_not_an_earlier_report_is_refused_before_any_simulation(
    kind: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report keeps the notes of the file it replaces. A --doc that was not UTF-8 gave a UnicodeDecodeError
    traceback after the whole run (and its figures were already written beside it); a text file of the user's
    (`--doc README.md`) was replaced by the report, its text lost. Both are refused first, and left as they were."""
    from sim import facts

    _no_simulation(monkeypatch)
    monkeypatch.setattr(facts, "measure", lambda *_, **__: pytest.fail("a simulation started"))
    doc = tmp_path / "mine.md"
    doc.write_bytes(content)
    only = ["--only", "reachable_6m"] if kind == "validate" else ["--only", "4a"]
    assert cli.main([kind, *only, "--workers", "1", "--quiet", "--doc", str(doc)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --doc: {doc} ") and err.count("\n") == 1, err
    assert "not UTF-8 text" in err if content.startswith(b"\xff") else "is not an earlier report" in err
    assert doc.read_bytes() == content and sorted(tmp_path.iterdir()) == [doc]


def _refused_by_the_file_system(kind: str, tmp_path: Path) -> list[str]:
    """Commands whose output the file system refuses: a name whose temporary sibling (`.NAME.partial-...`) is longer
    than a file name may be. No permission, a read-only or a pseudo file system fail the same way (an OSError on the
    first folder made), but cannot be set up for a test that may run as root."""
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    long = str(tmp_path / "new" / ("x" * 240))
    return {
        "run": ["run", "scenarios/classroom.yaml", "--out", long],
        "compare": ["compare", "scenarios/classroom.yaml", "--out", long],
        "validate": ["validate", "--only", "reachable_6m", "--workers", "1", "--doc", long + ".md"],
        "facts": ["facts", "--only", "4a", "--workers", "1", "--doc", long + ".md"],
        "calibrate": ["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                      "regulation.rate_cap:0.1:0.3", "--out", long],
    }[kind]


@pytest.mark.parametrize("kind", ["run", "compare", "validate", "facts", "calibrate"])
def test_an_output_path_the_file_system_refuses_is_refused_before_any_simulation(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was a traceback (exit 1) when the outputs were written, after the whole simulation, which for facts or
    calibrate can take an hour; found with `--out` in a folder the user may not write to."""
    from sim import facts

    _no_simulation(monkeypatch)
    monkeypatch.setattr(facts, "measure", lambda *_, **__: pytest.fail("a simulation started"))
    args = _refused_by_the_file_system(kind, tmp_path)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "cannot be written" in err and "File name too long" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]  # the folders it would have made are gone


def test_a_failed_write_removes_the_parent_folders_it_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """outputs/<scenario>/ is made for the run folder; when the write fails it must not stay behind empty."""
    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(results.folders, "dashboard", boom)  # where the run folder's writer looks it up
    out = tmp_path / "outputs" / "classroom" / "r"
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(out), "--quiet"]) == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_disk_full_during_the_write_is_one_line_and_leaves_nothing(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The file system refusing an output half way (a full disk) gave a traceback. It is one line naming the
    folder and the reason, exit 1, and the partial folder and the parents it made are gone."""
    import errno

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if command == "run":
        monkeypatch.setattr(results.folders, "dashboard", full)  # where each writer looks its figure up
    else:
        monkeypatch.setattr(compare, "figure", full)
    out = tmp_path / "outputs" / "classroom" / "r"
    seeds = [] if command == "run" else ["--seeds", "2"]
    assert cli.main([command, "scenarios/classroom.yaml", *TINY, *seeds, "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {out}: could not be written (No space left on device); nothing written\n"
    assert list(tmp_path.iterdir()) == []


def test_a_report_the_disk_refuses_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """validate and facts write their reports in one step (`written_in_one_step`): a full disk there gave a
    traceback too."""
    import errno

    from sim.cli import written_in_one_step
    from sim.results import WriteFailed

    doc = tmp_path / "reports" / "validation.md"
    with pytest.raises(WriteFailed) as failed, written_in_one_step(doc) as staged:
        staged.stage(doc.parent / "figures" / "validation_series.png").write_bytes(b"a figure")
        staged.doc.write_text("half a report")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert failed.value.strerror == f"{doc}: could not be written (No space left on device); nothing written"
    assert list(tmp_path.iterdir()) == []


def test_the_revenue_panel_takes_a_run_without_platforms() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.agents.platform import REVENUE_SOURCES

    empty = pd.DataFrame(columns=["day", "name", *(f"revenue_{k}" for k in REVENUE_SOURCES)])
    fig, ax = plt.subplots()
    results._revenue(ax, pd.DataFrame(), empty, pd.DataFrame())  # raised a casting error on object sums
    plt.close(fig)


def test_compare_leaves_out_the_finance_share_of_a_platform_a_scenario_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(f"extends: {ROOT / 'scenarios/classroom.yaml'}\nname: fewer\n"
                     "platforms:\n  - {name: entertainment, remove: true}\n")
    out = tmp_path / "cmp"
    assert cli.main(["compare", "scenarios/classroom.yaml", str(fewer), "--seeds", "1", "--consumers", "500",
                     "--days", "3", "--set", "burn_in_days=0", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "nan%" not in printed and " nan " not in printed
    assert "finance share: entertainment: left out (no such platform in fewer)" in printed
    runs, table = pd.read_csv(out / "runs.csv"), pd.read_csv(out / "comparison.csv")
    assert "finance_share_entertainment" not in runs and "finance_share_video" in runs
    assert set(table["kpi"]) == set(runs.columns) - {"scenario", "seed"}
    manifest = _no_nan((out / "manifest.json").read_text())
    assert manifest["left_out"] == {"finance_share_entertainment": ["fewer"]}
    # in 3 days nothing is written off: the only empty cells are undefined ratios, each explained
    empty = {c: sorted(runs.loc[runs[c].isna(), "scenario"]) for c in runs if runs[c].isna().any()}
    assert empty["recovery_rate"] == ["classroom", "fewer"]
    assert manifest["undefined"] == {k: {n: [1] for n in v} for k, v in empty.items()}
    for kpi in empty:
        rows = table[table["kpi"] == kpi]
        assert (rows["n"] == 0).all() and rows["note"].str.startswith("undefined for every seed").all()
        assert f"n/a: {compare.label(kpi)} undefined (" in printed
    assert not table[table["n"] > 0].drop(columns="note").isna().any().any()


def test_compare_averages_a_kpi_over_the_seeds_that_define_it_and_counts_the_rest() -> None:
    """recovery_rate undefined (nothing written off) for some seeds: not averaged in as 0, counted, and paired
    differences only over seeds both scenarios define."""
    nan = float("nan")
    runs = pd.DataFrame({"scenario": ["a"] * 3 + ["b"] * 3, "seed": [1, 2, 3] * 2, "gmv": [1.0, 2.0, 3.0] * 2,
                         "recovery_rate": [0.5, nan, 0.7, 0.6, 0.9, nan],
                         "reachable_share_12m": [nan] * 6})
    rows = compare.table(runs).set_index(["scenario", "kpi"])
    a, b = rows.loc[("a", "recovery_rate")], rows.loc[("b", "recovery_rate")]
    assert (a["n"], a["undefined"], a["mean"]) == (2, 1, pytest.approx(0.6))  # not (0.5 + 0 + 0.7) / 3
    assert (b["n"], b["undefined"], b["mean"]) == (2, 1, pytest.approx(0.75))
    assert (b["n_paired"], b["diff"]) == (1, pytest.approx(0.1))  # seed 1 only
    assert b["note"] == ("undefined for 1 of 3 seeds (nothing written off): mean over the other 2; difference "
                         "over the 1 seed both scenarios define")
    never = rows.loc[("b", "reachable_share_12m")]
    assert never["n"] == 0 and pd.isna(never["mean"]) and not never["significant"]
    assert never["note"].startswith("undefined for every seed (no borrower reached 12 months overdue)")
    assert rows.loc[("b", "gmv"), "note"] == "" and rows.loc[("b", "gmv"), "n"] == 3
    text = compare.text_table(compare.table(runs))
    assert "60.00% [" in text and "(1 n/a)" in text and "n/a (every seed)" in text and "nan" not in text
    assert ("n/a: recovery rate undefined (nothing written off) for 1 of 3 seeds of a, 1 of 3 seeds of b; "
            "left out of means") in text


def test_compare_intervals_are_student_t_at_any_seed_count_and_one_seed_has_none() -> None:
    """Beyond 31 seeds the quantile was 1.96, too narrow (93.9% coverage at 32 seeds); one defined value
    printed as a zero-width "interval"."""
    from scipy import stats

    for n in (2, 5, 31, 32, 40, 200):
        values = np.random.default_rng(n).normal(size=n)
        _, lo, hi = compare.interval(values)
        want = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
        assert (lo, hi) == pytest.approx(want, rel=1e-3), n
    nan = float("nan")
    runs = pd.DataFrame({"scenario": ["a"] * 2 + ["b"] * 2, "seed": [1, 2] * 2, "gmv": [1.0, 2.0, 3.0, 5.0],
                         "recovery_rate": [0.5, 0.6, 0.7, nan]})
    text = compare.text_table(compare.table(runs))
    assert "70.00% [no interval: 1 seed]" in text and "nan" not in text


def test_compare_intervals_stay_within_what_a_kpi_can_be() -> None:
    """Two seeds stretch a t-interval twelve-fold: a share's read [-8.5%, 118.5%]. Intervals are cut to the KPI's
    possible range (shares of a whole in [0, 1], every KPI at least 0); a paired difference of shares is cut to
    [-1, 1], of an amount not at all."""
    runs = pd.DataFrame({"scenario": ["a"] * 2 + ["b"] * 2, "seed": [1, 2] * 2,
                         "bnpl_uptake": [0.05, 0.95, 0.50, 0.52], "charge_off_rate": [0.01, 0.90, 0.01, 0.02],
                         "orders": [10.0, 400.0, 20.0, 21.0]})
    rows = compare.table(runs).set_index(["scenario", "kpi"])
    uptake, rate, orders = (rows.loc[("a", k)] for k in ("bnpl_uptake", "charge_off_rate", "orders"))
    assert (uptake["ci_low"], uptake["ci_high"]) == (0.0, 1.0)
    assert rate["ci_low"] == 0.0 and rate["ci_high"] > 1.0  # write-offs can come from loans lent before the window
    assert orders["ci_low"] == 0.0
    assert rows.loc[("b", "bnpl_uptake"), "diff_low"] == -1.0  # two shares differ by at most 1
    assert rows.loc[("b", "orders"), "diff_low"] < -1000.0  # an amount's difference keeps its t-interval
    tight = rows.loc[("b", "bnpl_uptake")]
    assert 0.0 < tight["ci_low"] < 0.51 < tight["ci_high"] < 1.0  # an interval inside the range is left as it is
    assert "[0.00%, 100.00%]" in compare.text_table(compare.table(runs))


def test_compare_prints_counts_without_spurious_decimals_and_money_in_whole_yuan() -> None:
    """Counts' means read "57.00" and a zero fee "0.00", like a rounded share."""
    runs = pd.DataFrame({"scenario": ["a"] * 3, "seed": [1, 2, 3], "lender_exits": [0.0, 0.0, 0.0],
                         "restructurer_clients": [57.0, 57.0, 57.0], "loans_originated": [1.0, 0.0, 0.0],
                         "restructurer_fees": [0.0, 12.4, 30.2]})
    lines = {line.split("  ")[0]: line for line in compare.text_table(compare.table(runs)).splitlines()}
    assert lines["lender exits"].split()[-3:] == ["0", "[0,", "0]"]
    assert lines["intermediary clients"].split()[-3:] == ["57", "[57,", "57]"]
    assert lines["loans originated"].split()[-3] == "0.33"
    assert lines["intermediary fees (RMB)"].split()[-3] == "14"


def test_the_compare_footnote_explains_a_star_only_where_there_is_one() -> None:
    """The "* ... excludes 0" footnote was printed under tables with no star in them."""
    runs = pd.DataFrame({"scenario": ["a"] * 3 + ["b"] * 3, "seed": [1, 2, 3] * 2,
                         "gmv": [1.0, 2.0, 3.0, 11.0, 12.1, 13.0], "orders": [5.0, 9.0, 7.0, 6.0, 7.0, 8.0]})
    text = compare.text_table(compare.table(runs))
    assert "]*" in text and "* the paired difference from a over the same seeds excludes 0 (95%)" in text
    calm = compare.text_table(compare.table(runs.drop(columns="gmv")))
    assert "*" not in calm and "no paired difference from a over the same seeds excludes 0 (95%)" in calm


def test_validate_replaces_its_report_in_one_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report is written next to its final name and renamed: an interrupted validation keeps the old one."""
    from sim import validation

    doc = tmp_path / "validation.md"
    doc.write_text("old report\n<!-- notes -->\n")
    seen: list[Path] = []

    def interrupted(*_: object, doc: Path, write_as: Callable[[Path], Path], **__: object) -> None:
        seen.append(write_as(doc))
        seen[0].write_text("half a rep")
        raise KeyboardInterrupt

    monkeypatch.setattr(validation, "validate", interrupted)
    args = ["validate", "--only", "reachable_6m", "--workers", "1", "--quiet", "--doc", str(doc)]
    assert cli.main(args) == 130
    assert seen[0] != doc and seen[0].parent == doc.parent  # same folder: the figure links stay right
    assert doc.read_text() == "old report\n<!-- notes -->\n" and sorted(tmp_path.iterdir()) == [doc]

    def finished(*_: object, doc: Path, write_as: Callable[[Path], Path], **__: object) -> tuple[list, list]:
        write_as(doc).write_text("new report\n")
        return [], []

    monkeypatch.setattr(validation, "validate", finished)
    assert cli.main(args) == 0
    assert doc.read_text() == "new report\n" and sorted(tmp_path.iterdir()) == [doc]


def test_one_seed_marks_no_difference_significant() -> None:
    """With one seed there is no interval: a difference, however large, is not called significant."""
    from sim.compare import table

    runs = pd.DataFrame({"scenario": ["a", "b"], "seed": [1, 1], "gmv": [1.0, 5.0]})
    rows = table(runs)
    assert rows.loc[rows["scenario"] == "b", "diff"].item() == 4.0
    assert not rows["significant"].any()
    two = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "seed": [1, 2, 1, 2], "gmv": [1.0, 1.1, 5.0, 5.2]})
    assert table(two).loc[lambda r: r["scenario"] == "b", "significant"].item()



def test_check_invariants_checks_every_day_and_a_broken_identity_exits_1_writing_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check-invariants` is the command line's way to the daily identity checks (an extension that moves
    money wrongly is caught there); a broken identity is a bug, not bad input: exit 1, one line, no folder."""
    import sim.model
    from sim.invariants import InvariantError

    days_checked = []
    real_check = sim.model.invariants.check

    def check(model: object) -> None:
        real_check(model)
        days_checked.append(model.t)
        if len(days_checked) == 25:
            raise InvariantError("day 15: money is not conserved (off by 1.00 RMB)")

    monkeypatch.setattr(sim.model.invariants, "check", check)
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert days_checked == []
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--check-invariants", "--out", str(tmp_path / "broken"),
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == ("error: broken identity, a bug in the model: day 15: money is not conserved (off by 1.00 RMB); "
                   "nothing written\n")
    assert days_checked == list(range(25)) and not (tmp_path / "broken").exists()  # every day, from the first


def test_a_lender_closed_during_the_burn_in_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`lender_exits` counts recorded days only; a lender that closed in the burn-in would otherwise vanish from
    the story without a word (it starts the recorded days inactive)."""
    argv = ["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "o")]
    assert cli.main([*argv, "--set", "lenders.micro_a.min_capital_m=5000"]) == 0  # at its equity: the first cost
    printed = capsys.readouterr().out
    assert "note: micro_a closed during the burn-in (equity below minimum capital)" in printed
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["lender_exits"] == 0
    assert cli.main(argv) == 0
    assert "closed during the burn-in" not in capsys.readouterr().out


def test_a_reader_that_goes_away_ends_the_command_quietly_with_141() -> None:
    """`run.py list | head -1` ended in a BrokenPipeError traceback. The pipe's reading end is closed before the
    command writes (it takes a moment to import), so its first write meets a reader that has gone, every time."""
    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "run.py", "list"], cwd=ROOT, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    os.close(read)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.decode()) == (141, "")


def test_check_names_what_a_file_adds_beyond_the_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`{name: vidio, ...}` (a typo for video) adds a fourth platform with default values, as the merge rule says;
    `check` showed only "4 platforms". It names the items beyond the defaults; the library's views add none."""
    typo = tmp_path / "typo.yaml"
    typo.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                    "platforms:\n  - {name: vidio, take_rate: 0.05}\n")
    assert cli.main(["check", str(typo), "scenarios/baseline.yaml", "scenarios/microlender_consolidation.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ok  {typo}: typo, 4 platforms, 6 lenders, 365 days; beyond the defaults: platform vidio"
    assert lines[1] == "ok  scenarios/baseline.yaml: baseline, 3 platforms, 6 lenders, 365 days"
    assert lines[2].endswith("10 lenders, 365 days; beyond the defaults: lenders micro_d, micro_e, micro_f, micro_g")


def test_check_and_list_load_neither_mesa_nor_the_plotting_and_table_libraries() -> None:
    """`check` is what one runs while editing a scenario file: it took about 2.7 s, nearly all of it importing Mesa,
    pandas and matplotlib through `sim/__init__.py`, which it never uses (0.5 s without them)."""
    heavy = ("mesa", "matplotlib", "pandas", "scipy", "dask", "networkx", "pyarrow")
    code = ("import sys, run\n"
            "assert run.main(['check', 'scenarios/baseline.yaml']) == 0 and run.main(['list']) == 0\n"
            f"print(sorted(set({heavy!r}) & set(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_check_counts_one_of_a_kind_in_the_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\ndays: 1\n"
                   "platforms: [{name: video, remove: true}, {name: community, remove: true}]\n")
    assert cli.main(["check", str(one)]) == 0
    assert capsys.readouterr().out == f"ok  {one}: one, 1 platform, 6 lenders, 1 day\n"


def test_compare_scenarios_from_python_is_the_command_lines_compare(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sim.compare_scenarios` (a notebook's `run.py compare`) gives the command's runs.csv, comparison.csv and
    printed table for the same files, seeds and changes, from `Scenario` objects or paths, labelled by a mapping."""
    from sim import Scenario, compare_scenarios

    files = ["scenarios/classroom.yaml", "scenarios/closed_loop.yaml"]
    out = tmp_path / "cmp"
    assert cli.main(["compare", *files, "--seeds", "2", *TINY, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    changes = [f"days={TINY[TINY.index('--days') + 1]}", f"consumers.count={TINY[TINY.index('--consumers') + 1]}",
               *(TINY[i + 1] for i, flag in enumerate(TINY) if flag == "--set")]
    scenarios = [load(f, changes).scenario for f in files]
    assert all(isinstance(s, Scenario) for s in scenarios)
    result = compare_scenarios(scenarios, seeds=2)
    pd.testing.assert_frame_equal(pd.read_csv(out / "runs.csv"), result.runs, check_dtype=False)
    written = pd.read_csv(out / "comparison.csv").fillna({"note": ""})  # an empty note reads back as NaN
    pd.testing.assert_frame_equal(written, result.table, check_dtype=False)
    assert printed.startswith(str(result) + "\n")
    labelled = compare_scenarios({"A": scenarios[0], "B": files[1]}, seeds=1)
    assert list(dict.fromkeys(labelled.runs["scenario"])) == ["A", "B"]
    with pytest.raises(ValueError, match=r"^compare_scenarios: scenarios is empty; give at least one scenario"):
        compare_scenarios([], seeds=2)


def test_the_key_figures_box_fits_on_the_page_whatever_the_number_of_lines() -> None:
    """Eight platforms and every ratio undefined make some 30 lines: the last ones, the reasons for n/a, ran off
    the page (seen with five n/a reasons in a classroom run without lenders)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.results import picture

    names = [f"platform_{k}" for k in range(8)]
    summary = {key: 0 for key in SUMMARY_KEYS} | {"platform_finance_revenue_share": dict.fromkeys(names)}
    summary |= {k: None for k in results.UNDEFINED_WHEN}
    fig, axes = picture.page()
    box = axes.flat[-1]
    picture._kpi_box(box, summary)
    renderer = fig.canvas.get_renderer()
    text = box.texts[0]
    assert text.get_text().count("\n") >= 28
    assert "finance share: platform_7: n/a" in text.get_text().replace("\n", " ")
    drawn = text.get_window_extent(renderer)
    assert drawn.y0 >= 0 and drawn.y1 <= box.get_window_extent(renderer).y1, drawn  # on the page, below the title
    plt.close(fig)


def test_a_one_day_run_shows_its_points_on_the_dashboard() -> None:
    """`run --days 1` drew every line panel empty: a line through one point is invisible without a marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim import MarketModel
    from sim.results import picture

    small = ["days=1", "burn_in_days=10", "consumers.count=800", "merchants.count=40"]
    model = MarketModel(load("scenarios/classroom.yaml", small).scenario, rng=1)
    model.run()
    fig = picture.figure(model)
    single = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(single) >= 10  # visits by platform, orders, BNPL shares, balances, write-offs, lenders' equity
    assert all(line.get_marker() not in (None, "None", "", " ") for line in single)
    assert ", 1 day, " in fig.get_suptitle()
    # the time panels say their x is the day (they had no x label); the revenue panel's bars are platforms
    labels = {ax.get_title(): ax.get_xlabel() for ax in fig.axes if ax.get_title()}
    assert labels.pop("Platform revenue by source") == ""
    labels.pop("Key figures")
    assert len(labels) == 6 and set(labels.values()) == {"recorded day"}
    plt.close(fig)


def test_the_manifest_command_can_be_pasted_back_into_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command was the arguments joined with spaces: `--set events=[{day: 90, kind: crackdown}]` came back as
    four words, so the recorded command of a run with a spaced override did not re-run it."""
    import shlex

    argv = ["run.py", "run", "scenarios/classroom.yaml", "--set", "events=[{day: 90, kind: crackdown}]",
            "--out", "runs/it's here"]
    monkeypatch.setattr(sys, "argv", argv)
    assert shlex.split(results.provenance()["command"]) == argv
    plain = ["run.py", "run", "scenarios/classroom.yaml", "--seed", "2"]
    monkeypatch.setattr(sys, "argv", plain)
    assert results.provenance()["command"] == "run.py run scenarios/classroom.yaml --seed 2"  # unchanged when plain


def test_compare_says_when_the_scenarios_differ_in_horizon_burn_in_or_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's worked example compares community_ads_only (burn-in 120 days) with community_merchant_loans
    (365): the short burn-in alone halves the charge-off rate of the first recorded year, and compare starred that
    difference as if the strategy made it, without a word that the two runs were not set up alike."""
    resolved = [load("scenarios/community_ads_only.yaml", ["consumers.count=20000"]),
                load("scenarios/community_merchant_loans.yaml", ["consumers.count=20000"])]
    runs = pd.DataFrame({"scenario": ["community_ads_only"] * 2 + ["community_merchant_loans"] * 2,
                         "seed": [1, 2] * 2, "gmv": [1.0, 2.0, 1.5, 2.5]})
    monkeypatch.setattr(compare, "run_all", lambda *_, **__: (runs, []))
    text, target = compare.compare(resolved, 2, tmp_path / "cmp", quiet=True)
    note = ("note: the scenarios differ in burn_in_days (community_ads_only 120, community_merchant_loans 365): "
            "their KPIs are not like for like")
    assert note in text
    meta = json.loads((target / "manifest.json").read_text())
    assert meta["differences"] == [line for line in text.splitlines() if line.startswith(note)]
    alike = [load("scenarios/baseline.yaml"), load("scenarios/closed_loop.yaml")]
    assert compare.setup_differences(alike) == []  # same days, burn-in, consumers and shops: nothing to say
    assert "differs" not in str(compare.Comparison(runs, compare.table(runs), {}, []))


def test_a_diversion_with_nothing_to_divert_is_noted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first `--set` example, `platforms.community.finance.strategy=traffic_diversion`, changes nothing
    in the baseline market but the `strategy` column: its community platform has no partners and no credit product.
    A researcher comparing it with `none` saw identical tables and no word why; `run` now notes it (as it notes a
    licence a platform could not pay for), in manifest.json too."""
    diverting = ["--set", "platforms.community.finance.strategy=traffic_diversion"]
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, *diverting, "--out", str(tmp_path / "d"),
                     "--quiet"]) == 0
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "none"), "--quiet"]) == 0
    note = ("note: community: strategy traffic_diversion has nothing to divert (no finance.partners and finance.bnpl, "
            "cash_loans and merchant_loans all false): while it is in force the platform runs as under strategy none")
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(printed) == 1 and printed[0].startswith(note)
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["notes"] == printed
    # what the note says: the tables are those of strategy none
    assert (tmp_path / "d" / "market.csv").read_bytes() == (tmp_path / "none" / "market.csv").read_bytes()
    working = [*diverting, "--set", "platforms.community.finance.partners=[cfc]",
               "--set", "platforms.community.finance.cash_loans=true"]
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, *working, "--out", str(tmp_path / "w"), "--quiet"]) == 0
    assert json.loads((tmp_path / "w" / "manifest.json").read_text())["notes"] == []


def test_credit_products_switched_on_under_strategy_none_are_noted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--set platforms.community.finance.bnpl=true` on the baseline offers no BNPL: under strategy `none` no lender
    funds it, and the tables were those of the unchanged market, without a word."""
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--set", "platforms.community.finance.bnpl=true",
                     "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, "--out", str(tmp_path / "none"), "--quiet"]) == 0
    note = ("note: community: finance.bnpl is on, but under strategy none no lender offers it there, so it changed "
            "nothing; set finance.strategy to traffic_diversion (with partners) or own_license")
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")] == [note]
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["notes"] == [note]
    assert (tmp_path / "b" / "market.csv").read_bytes() == (tmp_path / "none" / "market.csv").read_bytes()
    # a strategy event that may switch it on later: no note (the products serve from then on)
    later = ["--set", "platforms.community.finance.bnpl=true", "--set", "platforms.community.finance.partners=[cfc]",
             "--set", "events=[{day: 10, kind: strategy, target: community, value: traffic_diversion}]"]
    assert cli.main(["run", "scenarios/classroom.yaml", *TINY, *later, "--out", str(tmp_path / "e"), "--quiet"]) == 0
    assert json.loads((tmp_path / "e" / "manifest.json").read_text())["notes"] == []


def test_a_lender_closed_on_the_first_recorded_day_counts_as_an_exit() -> None:
    """`lender_exits` counted lenders active in the first row of lenders.csv, taken at the end of day 1, and the
    burn-in's closures are those before day 1: a lender that closed during day 1 was in neither, so the summary
    said 0 exits while market.csv's `active_lenders` had one lender fewer from day 1."""
    from sim import MarketModel, Scenario

    model = MarketModel(Scenario(consumers={"count": 300}, merchants={"count": 10}, burn_in_days=5, days=3), rng=1)
    model.burn_in()
    lender = model.lender_by_name["micro_c"]
    lender.min_capital = 2 * lender.equity  # its capital check on day 1 closes it
    model.run()
    assert lender.exit_day == 1 and not results.closed_in_burn_in(model)
    assert results.summarize(model)["lender_exits"] == 1
    assert model.market_table()["active_lenders"].tolist() == [len(model.lender_list) - 1] * 3
