"""Bad input never crashes and never writes: one line on stderr, exit code 2, no output folder.

Covers every malformed scenario file in tests/bad_scenarios/ (the older ones, whose messages are pinned in
tests/test_scenario_files.py, and the newer ones in tests/bad_scenarios/more/), bad `--set` values and bad
command-line options, through `run`, `check` and `compare`, in-process and in a real process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

import run as cli
from sim.scenario import ConsumerParams, PlatformParams, Scenario
from sim.scenario_files import load
from tests.test_scenario_files import BAD_FILES

ROOT = Path(__file__).resolve().parent.parent
OLD = "tests/bad_scenarios"
MORE = "tests/bad_scenarios/more"

NAME_RULE = "must be 1 to 100 letters, digits, '_', '-' or '.' (not '.' or '..'); it names the output folder"
ITEM_NAME_RULE = ("must be 1 to 100 letters, digits, '_' or '-' (no '.', '=' or spaces); it addresses the item in "
                  "--set paths and names its columns")

# file in tests/bad_scenarios/more -> the whole message after "error: "
MORE_FILES = {
    "a_directory": f"{MORE}/a_directory.yaml: is a folder, not a YAML file",
    "bad_event_value": f"{MORE}/bad_event_value.yaml: events.0.value: 'forbid' is not one of allow, restrict, ban",
    "binary_file": f"{MORE}/binary_file.yaml: not a text file (UTF-8 expected)",
    "cycle3_a": f"{MORE}/cycle3_a.yaml: extends: cycle cycle3_a.yaml -> cycle3_b.yaml -> cycle3_c.yaml -> "
                "cycle3_a.yaml",
    "cycle3_b": f"{MORE}/cycle3_b.yaml: extends: cycle cycle3_b.yaml -> cycle3_c.yaml -> cycle3_a.yaml -> "
                "cycle3_b.yaml",
    "cycle3_c": f"{MORE}/cycle3_c.yaml: extends: cycle cycle3_c.yaml -> cycle3_a.yaml -> cycle3_b.yaml -> "
                "cycle3_c.yaml",
    "duplicate_lender": f"{MORE}/duplicate_lender.yaml: lenders: duplicate name 'cfc'",
    "extends_directory": f"{MORE}/extends_directory.yaml: extends: 'a_directory.yaml' is a folder, not a YAML file "
                         f"({MORE}/a_directory.yaml)",
    "extends_empty": f"{MORE}/extends_empty.yaml: extends: '' is not a file path (expected e.g. 'baseline.yaml')",
    "extends_non_utf8": f"{MORE}/latin1_bytes.yaml: not a text file (UTF-8 expected)",
    "huge_float_count": f"{MORE}/huge_float_count.yaml: consumers.count: 1000000000000.0 is written as a decimal "
                        "(with a point or an exponent); write a whole number: 1000000000000 (allowed: >= 0 and "
                        "<= 50000000)",
    "huge_integer": f"{MORE}/huge_integer.yaml: days: 99999999999999999999999999999 is out of range; "
                    "allowed: >= 1 and <= 3650",
    "latin1_bytes": f"{MORE}/latin1_bytes.yaml: not a text file (UTF-8 expected)",
    # valid UTF-8 with NUL bytes: a two-line YAML message ("unacceptable character #x0000", then "in <unicode string>")
    "utf16le_no_bom": f"{MORE}/utf16le_no_bom.yaml: not a text file (UTF-8 expected)",
    "utf32le_no_bom": f"{MORE}/utf32le_no_bom.yaml: not a text file (UTF-8 expected)",
    "utf32": f"{MORE}/utf32.yaml: not a text file (UTF-8 expected)",
    "nul_byte": f"{MORE}/nul_byte.yaml: not a text file (UTF-8 expected)",
    "control_character": f"{MORE}/control_character.yaml: line 2, column 15: YAML error: control character #x001b is "
                         "not allowed",
    "merge_key_unknown": f"{MORE}/merge_key_unknown.yaml: line 2, column 1: YAML error: could not determine a "
                         "constructor for the tag 'tag:yaml.org,2002:merge'",
    "name_not_text": f"{MORE}/name_not_text.yaml: name: [\"not\", \"text\"] is not text (quote it)",
    "named_list_number": f"{MORE}/named_list_number.yaml: platforms: 7 is not a list",
    "nan_value": f"{MORE}/nan_value.yaml: lenders.cfc.apr: NaN is not a finite number",
    "no_categories": f"{MORE}/no_categories.yaml: merchants.categories: [] has 0 items; at least 1 expected",
    "tier_shares_zero": f"{MORE}/tier_shares_zero.yaml: consumers.tier_shares: [0, 0, 0]: the shares must not all "
                        "be zero",
    "negative_seed": f"{MORE}/negative_seed.yaml: seed: -1 is out of range; allowed: >= 0",
    "overflow_to_infinity": f"{MORE}/overflow_to_infinity.yaml: regulation.rate_cap: Infinity is not a finite "
                            "number",
    "overflow_order_value": f"{MORE}/overflow_order_value.yaml: platforms.video.order_value: Infinity is not a "
                            "finite number",
    "infinite_value": f"{MORE}/infinite_value.yaml: platforms.video.order_value: Infinity is not a finite number",
    "nan_in_list": f"{MORE}/nan_in_list.yaml: consumers.tier_income.0: NaN is not a finite number",
    "bad_tier_pair": f"{MORE}/bad_tier_pair.yaml: platforms.video.deposit.tiers.0: [0, 1000, 5] has 3 items; "
                     "exactly 2 expected",
    "python_tag": f"{MORE}/python_tag.yaml: line 1, column 7: YAML error: could not determine a constructor for "
                  "the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    "section_null": f"{MORE}/section_null.yaml: consumers is an empty section (null): give it keys, or remove it",
    "self_cycle": f"{MORE}/self_cycle.yaml: extends: cycle self_cycle.yaml -> self_cycle.yaml",
    "top_level_string": f"{MORE}/top_level_string.yaml: the top level must be a mapping of keys, got 'just a string'",
    "two_documents": f"{MORE}/two_documents.yaml: line 2, column 1: YAML error: but found another document",
    "unknown_event_platform": f"{MORE}/unknown_event_platform.yaml: events.0.target: unknown name 'comunity' "
                              "(known: community, entertainment, video); did you mean 'community'?",
    "unknown_license_lender": f"{MORE}/unknown_license_lender.yaml: platforms.community.finance.license_lender: "
                              "unknown lender "
                              "'ghost_lender' (known: video_credit, big_bank, cfc, micro_a, micro_b, micro_c)",
    # the name is the output folder: it must not lead out of outputs/
    "name_escapes": f"{MORE}/name_escapes.yaml: name: '../../escaped': {NAME_RULE}",
    "name_absolute": f"{MORE}/name_absolute.yaml: name: '/tmp/x': {NAME_RULE}",
    "key_is_list": f"{MORE}/key_is_list.yaml: line 1, column 3: YAML error: a key must be a name, not a list or "
                   "mapping",
    # the schema's message named Python's None: "None: null keys should be strings"
    "null_key": f"{MORE}/null_key.yaml: line 2, column 1: YAML error: key null is null, not a name (quote it, "
                "'null', if you mean the text)",
    # the schema's message was "regulation.1: 1 keys should be strings": no word of the keys allowed
    "number_key": f"{MORE}/number_key.yaml: regulation: key 1 is not a name; allowed keys: rate_cap, balance_limit, "
                  "co_lending_min_share, license_moratorium, registered_capital_m, registered_capital_cross_m, "
                  "complaint_drag, complaint_cost",
    "bool_key": f"{MORE}/bool_key.yaml: key true is not a name; allowed keys: name, description, seed, days, "
                "burn_in_days, market, consumers, merchants, platforms, lenders, restructurers, regulation, "
                "collections, events",
    "yaml_alias": f"{MORE}/yaml_alias.yaml: line 2, column 5: YAML error: alias *b is not allowed; write the value "
                  "out (or share values with extends:)",
    # no silent conversion between true/false, text and numbers
    "days_yes": f"{MORE}/days_yes.yaml: days: 'yes' is not a whole number",
    "days_text": f"{MORE}/days_text.yaml: days: '30' is not a whole number",
    "bool_as_number": f"{MORE}/bool_as_number.yaml: platforms.video.finance.bnpl: 1 is not true or false",
    "event_value_bool": f"{MORE}/event_value_bool.yaml: events.0.value: true is not a number",
    "no_platforms": f"{MORE}/no_platforms.yaml: platforms: [] has 0 items; a scenario needs at least 1 platform",
    # accepted silently before, though meaningless or harmful
    "event_after_last_day": f"{MORE}/event_after_last_day.yaml: events.0.day: 31 is after the last recorded day, so "
                            "it would never happen; allowed: 1 to days (30)",
    "festival_day_out_of_range": f"{MORE}/festival_day_out_of_range.yaml: market.festival_days: [169, 366]: 366 is "
                                 "not a day of the year; allowed: 1 to 365",
    "tier_negative_deposit": f"{MORE}/tier_negative_deposit.yaml: platforms.video.deposit.tiers: [[0, 1000], "
                             "[10000, -500]]: tier 1 has a negative number; floors and deposits must be >= 0",
    "tier_floors_not_increasing": f"{MORE}/tier_floors_not_increasing.yaml: platforms.video.deposit.tiers: "
                                  "[[0, 1000], [100000, 10000], [10000, 5000]]: tier 2 floor 10000 is not above "
                                  "tier 1 floor 100000; floors must be strictly increasing",
    "tier_duplicate_floor": f"{MORE}/tier_duplicate_floor.yaml: platforms.video.deposit.tiers: [[0, 1000], "
                            "[10000, 5000], [10000, 8000]]: tier 2 floor 10000 is not above tier 1 floor 10000; "
                            "floors must be strictly increasing",
    "duplicate_partner": f"{MORE}/duplicate_partner.yaml: platforms.entertainment.finance.partners: duplicate "
                         "lender 'cfc'",
    "restrict_cumulative_below_consecutive": f"{MORE}/restrict_cumulative_below_consecutive.yaml: "
                                             "platforms.video.deposit.restrict_cumulative: 3 is below "
                                             "restrict_consecutive 4; it must be at least that (instalments missed "
                                             "in total include those missed in a row)",
    "platform_name_with_dot": f"{MORE}/platform_name_with_dot.yaml: platforms.video.app.name: 'video.app': "
                              f"{ITEM_NAME_RULE}",
    "lender_name_with_space": f"{MORE}/lender_name_with_space.yaml: lenders.big bank.name: 'big bank': "
                              f"{ITEM_NAME_RULE}",
    "restructurer_name_with_equals": f"{MORE}/restructurer_name_with_equals.yaml: restructurers.a=b.name: 'a=b': "
                                     f"{ITEM_NAME_RULE}",
    "platform_empty_name": f"{MORE}/platform_empty_name.yaml: platforms.0: every platform needs a name (got '')",
    "strategy_outside_finance": f"{MORE}/strategy_outside_finance.yaml: platforms.community.strategy: unknown key "
                                "here (did you mean platforms.community.finance.strategy?)",
    "min_capital_above_equity": f"{MORE}/min_capital_above_equity.yaml: lenders.micro_a.min_capital_m: 6000 is "
                                "above lenders.micro_a.equity_m 5000, so the lender would close at its first capital "
                                "check; allowed: at most equity_m",
    "licence_capital_below_min_capital": f"{MORE}/licence_capital_below_min_capital.yaml: "
                                         "lenders.video_credit.min_capital_m: 1000 is above the registered capital "
                                         "video pays into it for its licence (regulation.registered_capital_cross_m "
                                         "100), so the lender would close on the day it is licensed; allowed: at most "
                                         "that",
}

ALL_FILES = {
    **{f"{OLD}/{name}.yaml": f"{OLD}/{name}.yaml: {msg}" for name, msg in BAD_FILES.items()},
    f"{OLD}/cycle_b.yaml": f"{OLD}/cycle_b.yaml: extends: cycle cycle_b.yaml -> cycle_a.yaml -> cycle_b.yaml",
    f"{OLD}/extends_then_bad.yaml": f"{OLD}/extends_then_bad.yaml: consumers.count: 5000000000 is out of range; "
                                    "allowed: >= 0 and <= 50000000",
    **{f"{MORE}/{name}.yaml": msg for name, msg in MORE_FILES.items()},
    f"{MORE}/no_such_file.yaml": f"{MORE}/no_such_file.yaml: file not found",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def one_line_error(err: str) -> str:
    """The message of a one-line 'error: ...' stderr (fails on anything else)."""
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("error: ").removesuffix("\n")


def test_at_least_forty_bad_files_and_every_fixture_used() -> None:
    on_disk = {str(p.relative_to(ROOT)) for folder in (OLD, MORE) for p in (ROOT / folder).glob("*.yaml")}
    assert on_disk == set(ALL_FILES) - {f"{MORE}/no_such_file.yaml"}
    assert len(ALL_FILES) >= 40


@pytest.mark.parametrize("path", sorted(ALL_FILES))
def test_bad_file_run_exits_2_with_its_message_and_writes_nothing(
    path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", path, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert one_line_error(capsys.readouterr().err) == ALL_FILES[path]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["check", "compare"])
@pytest.mark.parametrize("path", [f"{MORE}/binary_file.yaml", f"{MORE}/utf16le_no_bom.yaml", f"{MORE}/self_cycle.yaml",
                                  f"{MORE}/a_directory.yaml", f"{OLD}/unknown_key.yaml"])
def test_check_and_compare_give_the_same_message(
    command: str, path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ["--out", str(tmp_path / "out")] if command == "compare" else []
    assert cli.main([command, "scenarios/classroom.yaml", path, *out]) == 2
    captured = capsys.readouterr()
    assert one_line_error(captured.err) == ALL_FILES[path]
    assert list(tmp_path.iterdir()) == []


def test_default_output_folder_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / MORE / "latin1_bytes.yaml", tmp_path / "x.yaml")
    assert cli.main(["x.yaml", "--quiet"]) == 2
    assert one_line_error(capsys.readouterr().err) == "x.yaml: not a text file (UTF-8 expected)"
    assert [p.name for p in tmp_path.iterdir()] == ["x.yaml"]  # no outputs/ folder


@pytest.mark.parametrize("command", ["run", "check", "compare"])
@pytest.mark.parametrize(("file_name", "name"), [("my scen (v2).yaml", "my_scen_v2"), ("..yaml", "scenario"),
                                                 ("a+b.c.yaml", "a_b.c")])
def test_a_file_name_outside_the_name_rule_gives_a_valid_default_name(
    command: str, file_name: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default name comes from the file name: characters the name rule refuses were blamed on the extended
    file's `name:`, which nobody wrote. They become `_`; a file name that leaves nothing gives `scenario`."""
    (tmp_path / file_name).write_text(f"extends: {ROOT / 'scenarios/classroom.yaml'}\n")
    assert load(str(tmp_path / file_name)).scenario.name == name
    if command == "run":
        argv = ["run", str(tmp_path / file_name), "--days", "2", "--consumers", "50", "--set", "merchants.count=5",
                "--set", "burn_in_days=0", "--quiet", "--out", str(tmp_path / "o")]
    else:
        argv = [command, str(tmp_path / file_name), *(["--out", str(tmp_path / "o"), "--seeds", "1", "--days", "2",
                                                      "--consumers", "50", "--set", "merchants.count=5",
                                                      "--set", "burn_in_days=0"] if command == "compare" else [])]
    assert cli.main(argv) == 0, capsys.readouterr().err


# --- YAML that would exhaust the stack or the memory --------------------------------------------------------


def alias_bomb() -> str:
    """About 1 KB: nine levels of lists of nine aliases of the level before (9**9 values once expanded)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join([*lines, "description: *l8"]) + "\n"


@pytest.mark.parametrize(("text", "message"), [
    (alias_bomb(), "line 2, column 10: YAML error: alias *l0 is not allowed; write the value out (or share values "
                   "with extends:)"),
    ("days: " + "[" * 5000 + "]" * 5000 + "\n", "line 1, column 56: YAML error: nested more than 50 levels deep"),
], ids=["alias_bomb", "deep_nesting"])
def test_hostile_yaml_stops_at_once_with_one_line(text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "hostile.yaml").write_text(text)
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", "hostile.yaml", "--quiet"], capture_output=True,
                          text=True, cwd=tmp_path, check=False, timeout=120)  # a hang fails here
    assert proc.returncode == 2
    assert one_line_error(proc.stderr) == f"hostile.yaml: {message}"
    assert [p.name for p in tmp_path.iterdir()] == ["hostile.yaml"]


# --- --set values --------------------------------------------------------------------------------------

SET_ERRORS = {
    "consumers.count=1.0e+400": "consumers.count: Infinity is not a whole number",
    "consumers.count=9999999999999999999999": "consumers.count: 9999999999999999999999 is out of range; "
                                              "allowed: >= 0 and <= 50000000",
    "days=.nan": "days: NaN is not a whole number",
    # a whole number written `2e4` or `30.0` is a float in YAML: "20000.0 is not a whole number" read as nonsense
    "consumers.count=2e4": "consumers.count: 20000.0 is written as a decimal (with a point or an exponent); write a "
                           "whole number: 20000 (allowed: >= 0 and <= 50000000)",
    "events=[{day: 30.0, kind: crackdown}]": "events.0.day: 30.0 is written as a decimal (with a point or an "
                                             "exponent); write a whole number: 30 (allowed: >= 1)",
    "consumers.count=2.5": "consumers.count: 2.5 is not a whole number",
    # a key one section off (a platform's strategy is in its finance section) listed only the keys allowed there
    "platforms.video.strategy=none": "platforms.video.strategy: unknown key here (did you mean "
                                     "platforms.video.finance.strategy?)",
    "rate_cap=0.15": "rate_cap: unknown key here (did you mean regulation.rate_cap?)",
    # a number for a section with a count said "5000 is not a mapping of keys"
    "consumers=5000": "consumers is a section, not a value; did you mean --set consumers.count=5000?",
    "merchants=400": "merchants is a section, not a value; did you mean --set merchants.count=400?",
    "consumers=2e4": "consumers is a section, not a value; did you mean --set consumers.count=20000?",
    # no whole number, no count to suggest: the section's keys (said "2.5 is not a mapping of keys")
    "consumers=2.5": "consumers is a section, not a value (2.5 given); set one of its keys, --set consumers.KEY=2.5, "
                     f"KEY one of: {', '.join(ConsumerParams.model_fields)}",
    "market=3": "market is a section, not a value (3 given); set one of its keys, --set market.KEY=3, KEY one of: "
                "real_population_m, start_day_of_year, festival_days, festival_multiplier",  # no count key
    "count=5000": "count: unknown key here (did you mean consumers.count or merchants.count?)",
    "regulation.rate_cap=.nan": "regulation.rate_cap: NaN is not a finite number",
    "days=[1": "value '[1' is not valid YAML",
    "=5": "expected KEY=VALUE, e.g. consumers.count=20000",
    "lenders.0.apr=0.1": "lenders: unknown lender '0'; known: video_credit, big_bank, cfc, micro_a, micro_b, micro_c",
    "regulation.rate_cap=": "regulation.rate_cap: null is not a number",
    "platforms=5": "platforms: 5 is not a list",
    "events=[{day: 1, kind: crackdown, value: 0.5}]": "events.0.value: a crackdown takes no value, got 0.5",
    # an event's value left out was "got None" (Python's word); a misspelt one had no "did you mean"
    "events=[{day: 5, kind: rate_cap}]": "events.0.value: rate_cap needs a value, a number >= 0; none given",
    "events=[{day: 5, kind: ad_policy, target: video}]": "events.0.value: ad_policy needs a value, one of allow, "
                                                         "restrict, ban; none given",
    "events=[{day: 5, kind: strategy, target: video, value: own_licence}]": "events.0.value: 'own_licence' is not "
                                                                            "one of none, traffic_diversion, "
                                                                            "own_license (did you mean "
                                                                            "'own_license'?)",
    "events=[{day: 1, kind: nope}]": "events.0.kind: 'nope' is not allowed; allowed: crackdown, rate_cap, ad_policy, "
                                     "balance_limit, strategy",
    "seed=-1": "seed: -1 is out of range; allowed: >= 0",
    "platforms.video.tier_shares=[1,2]": "platforms.video.tier_shares: [1, 2] has 2 items; exactly 3 expected",
    "name=": "name: null is not text (quote it)",
    "name=!!python/object/apply:os.system [true]": "value '!!python/object/apply:os.system [true]' is not valid YAML",
    "regulation.rate_cap=-0.1": "regulation.rate_cap: -0.1 is out of range; allowed: >= 0 and <= 1",
    "name=../../escaped": f"name: '../../escaped': {NAME_RULE}",
    "name=/x": f"name: '/x': {NAME_RULE}",
    "name=..": f"name: '..': {NAME_RULE}",
    "days=yes": "days: 'yes' is not a whole number",
    'days="30"': "days: '30' is not a whole number",
    "platforms.video.finance.bnpl=1": "platforms.video.finance.bnpl: 1 is not true or false",
    "events=[{day: 5, kind: rate_cap, value: true}]": "events.0.value: true is not a number",
    "platforms=[]": "platforms: [] has 0 items; a scenario needs at least 1 platform",
    "platforms.video=null": "platforms.video is a section, not a value (null given); set one of its keys, "
                            f"--set platforms.video.KEY=null, KEY one of: {', '.join(PlatformParams.model_fields)}",
    "consumers={count: 1, count: 2}": "value '{count: 1, count: 2}': duplicate key 'count'",
    "days=*a": "value '*a': alias *a is not allowed; write the value out (or share values with extends:)",
    "events=" + "[" * 60 + "]" * 60: f"value '{'[' * 56}...: nested more than 50 levels deep",  # value shortened
    "events=[{day: 181, kind: crackdown}]": "events.0.day: 181 is after the last recorded day, so it would never "
                                            "happen; allowed: 1 to days (180)",
    "market.festival_days=[0]": "market.festival_days: [0]: 0 is not a day of the year; allowed: 1 to 365",
    "platforms.video.deposit.tiers=[[0, -1]]": "platforms.video.deposit.tiers: [[0, -1]]: tier 0 has a negative "
                                               "number; floors and deposits must be >= 0",
    "platforms.video.finance.partners=[cfc, cfc]": "platforms.video.finance.partners: duplicate lender 'cfc'",
    # blamed scenarios/classroom.yaml: the new name is not text, so the item went by its position
    "platforms.video.name=": "platforms.1.name: null is not text (quote it)",
    "platforms.video.name=[1]": "platforms.1.name: [1] is not text (quote it)",
    "consumers={~: 1}": "value '{~: 1}': key ~ is null, not a name (quote it, '~', if you mean the text)",
    "platforms.video.name=my video": "platforms.my video.name: 'my video': must be 1 to 100 letters, digits, '_' "
                                     "or '-' (no '.', '=' or spaces); it addresses the item in --set paths and names "
                                     "its columns",  # blames the --set that renamed it, not the file
    "platforms.video.deposit.restrict_cumulative=2": "platforms.video.deposit.restrict_cumulative: 2 is below "
                                                     "restrict_consecutive 3; it must be at least that (instalments "
                                                     "missed in total include those missed in a row)",
    # accepted, then a traceback on the event day, infinite money, NaN demand or a negative balance (fuzzing)
    "events=[{day: 2, kind: balance_limit, value: 2e12}]": "events.0.value: balance_limit needs a number <= 1e+12, "
                                                           "got 2000000000000.0",
    "events=[{day: 2, kind: rate_cap, value: 0.1, target: video}]": "events.0.target: a rate_cap event applies to "
                                                                    "the whole market; leave out target (got 'video')",
    "market.real_population_m=1e-310": "market.real_population_m: 1e-310 is out of range; allowed: >= 0.001 and "
                                       "<= 10000",
    "consumers.tier_income=[-5000, 6500, 4200]": "consumers.tier_income.0: -5000 is out of range; allowed: >= 0",
    "consumers.tier_income=[1e39, 6500, 4200]": "consumers.tier_income.0: 1e+39 is out of range; allowed: <= 1e+12",
    # a traceback "Probabilities do not sum to 1", a NumPy overflow warning, or risk overflowing to inf (exit 0)
    "consumers.tier_shares=[1e308,1e308,1e308]": "consumers.tier_shares.0: 1e+308 is out of range; allowed: <= 1e+06 "
                                                 "(and 2 more)",
    "platforms.video.tier_shares=[1e308,1e308,0]": "platforms.video.tier_shares.0: 1e+308 is out of range; allowed: "
                                                   "<= 1e+06 (and 1 more)",
    "consumers.tier_risk_shift=[1e39,0,0]": "consumers.tier_risk_shift.0: 1e+39 is out of range; allowed: <= 3",
    "consumers.tier_risk_shift=[0,-4,0]": "consumers.tier_risk_shift.1: -4 is out of range; allowed: >= -3",
    # a contact horizon overflowing a float32 to inf: every borrower reachable forever (exit 0)
    "collections.contact_shape=0.01": "collections.contact_shape: 0.01 is out of range; allowed: >= 0.1 and <= 10",
    "merchants.demand_half_life_days=1e-300": "merchants.demand_half_life_days: 1e-300: must be 0 (never) or at "
                                              "least 1 day",
    "platforms.video.deposit.tiers=[[1e300, 1]]": "platforms.video.deposit.tiers: [[1e+300, 1]]: tier 0 has a number "
                                                  "above 1e+12; floors and deposits must be <= 1e+12",
}


@pytest.mark.parametrize("override", sorted(SET_ERRORS))
def test_bad_set_exits_2_with_its_message_and_writes_nothing(
    override: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "scenarios/classroom.yaml", "--set", override, "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == f"--set {override}: {SET_ERRORS[override]}"
    assert list(tmp_path.iterdir()) == []


def test_edges_of_the_new_rules_still_load() -> None:
    """No deposit tiers (no deposit), equal restriction limits, an event on the last day, festivals on days 1 and
    365 and non-ASCII letters in a name are all meaningful."""
    scenario = load("scenarios/classroom.yaml", [
        "platforms.video.deposit.tiers=[]", "platforms.video.deposit.restrict_cumulative=3",
        "events=[{day: 180, kind: crackdown}]", "market.festival_days=[1, 365]",
        "restructurers=[{name: 债务_优化-2}]",
    ]).scenario
    assert scenario.platforms[1].deposit.tiers == [] and scenario.events[0].day == scenario.days


@pytest.mark.parametrize("kind", ["platforms", "lenders", "restructurers"])
@pytest.mark.parametrize("name", ["", "a.b", "a=b", "a b", "tab\t", "x" * 101])
def test_item_names_are_set_path_segments(kind: str, name: str) -> None:
    """Also for scenarios built in Python (files refuse an empty name earlier: see platform_empty_name)."""
    data = Scenario().model_dump(mode="json")
    data[kind][0]["name"] = name
    with pytest.raises(ValidationError, match=re.escape(ITEM_NAME_RULE)):
        Scenario.model_validate(data)


# --- command-line options ----------------------------------------------------------------------------------

# argv -> the one line on stderr for what argparse itself refuses (a type, a missing or unknown argument).
HELP = " (python {} --help lists the options)"
OPTION_ERRORS = {
    ("run", "scenarios/classroom.yaml", "--seed", "abc"): "run.py run: argument --seed: invalid int value: 'abc'",
    ("run", "scenarios/classroom.yaml", "--days", "1e3"): "run.py run: argument --days: invalid int value: '1e3'",
    ("run", "scenarios/classroom.yaml", "--consumers", "10k"): "run.py run: argument --consumers: invalid int value: "
                                                               "'10k'",
    ("run", "scenarios/classroom.yaml", "--set"): "run.py run: argument --set: expected one argument",
    ("run",): "run.py run: the following arguments are required: scenario",
    ("check",): "run.py check: the following arguments are required: scenarios",
    # named by the command that does not take them, with the option meant
    ("run", "scenarios/classroom.yaml", "--sed", "3"): "run.py run: unrecognized arguments: --sed 3; did you mean "
                                                       "--seed?",
    ("compare", "scenarios/classroom.yaml", "--seed=3"): "run.py compare: unrecognized arguments: --seed=3; did you "
                                                         "mean --seeds?",
    ("check", "scenarios/classroom.yaml", "--frobnicate"): "run.py check: unrecognized arguments: --frobnicate",
    ("compare", "scenarios/classroom.yaml", "--seeds", "x"): "run.py compare: argument --seeds: invalid int value: "
                                                             "'x'",
    ("facts", "--no-guesses", "--guess", "x"): "run.py facts: argument --guess: not allowed with argument "
                                               "--no-guesses",
}
OUR_OPTION_ERRORS = {
    ("run", "scenarios/classroom.yaml", "--days", "0"): "--days 0: days: 0 is out of range; allowed: >= 1 and <= 3650",
    ("run", "scenarios/classroom.yaml", "--days", "4000"): "--days 4000: days: 4000 is out of range; allowed: >= 1 "
                                                           "and <= 3650",
    ("run", "scenarios/classroom.yaml", "--consumers", "-1"): "--consumers -1: consumers.count: -1 is out of range; "
                                                              "allowed: >= 0 and <= 50000000",
    ("run", "scenarios/classroom.yaml", "--seed", "-3"): "--seed -3: seed: -3 is out of range; allowed: >= 0",
    ("compare", "scenarios/classroom.yaml", "--seeds", "0"): "--seeds: 0 is out of range; allowed: >= 1 and <= 1000",
    # counts without a ceiling built list(range(N)) or N processes: a MemoryError traceback, or no memory left
    ("compare", "scenarios/classroom.yaml", "--seeds", "1000000000"): "--seeds: 1000000000 is out of range; allowed: "
                                                                      ">= 1 and <= 1000",
    ("calibrate", "scenarios/classroom.yaml", "--targets", "scenarios/targets/micro_lenders.yaml", "--seeds",
     "1000000000"): "--seeds: 1000000000 is out of range; allowed: >= 1 and <= 1000",
    ("calibrate", "scenarios/classroom.yaml", "--targets", "scenarios/targets/micro_lenders.yaml", "--budget",
     "1000000000"): "--budget: 1000000000 is out of range; allowed: >= 1 and <= 10000",
    ("calibrate", "scenarios/classroom.yaml", "--targets", "scenarios/targets/micro_lenders.yaml", "--consumers",
     "1000000000"): "--consumers: 1000000000 is out of range; allowed: >= 500 and <= 50000000",
    ("calibrate", "scenarios/classroom.yaml", "--targets", "scenarios/targets/micro_lenders.yaml", "--workers",
     "100000"): "--workers: 100000 is out of range; allowed: >= 1 and <= 256",
    ("validate", "--seeds", "1000000000"): "--seeds: 1000000000 is out of range; allowed: >= 1 and <= 1000",
    ("validate", "--consumers", "1000000000"): "--consumers: 1000000000 is out of range; allowed: >= 1000 and <= "
                                               "50000000",
    ("validate", "--workers", "100000"): "--workers: 100000 is out of range; allowed: >= 1 and <= 256",
    ("facts", "--seeds", "1000000000"): "--seeds: 1000000000 is out of range; allowed: >= 2 and <= 1000",
    ("facts", "--workers", "100000"): "--workers: 100000 is out of range; allowed: >= 1 and <= 256",
    ("frobnicate",): "unknown command 'frobnicate'; commands: run, check, list, compare, app, calibrate, "
                     "facts, sensitivity, sweep, validate",
    ("compar", "scenarios/classroom.yaml"): "unknown command 'compar' (did you mean 'compare'?); commands: run, "
                                            "check, list, compare, app, calibrate, facts, sensitivity, sweep, validate",
    ("frobnicate.yaml",): "frobnicate.yaml: file not found",
    ("run", "scenarios/classroom.yaml", "--out", "README.md"): "README.md exists and is not a folder",
    # otherwise the --set won without a word
    ("run", "scenarios/classroom.yaml", "--days", "30", "--set", "days=60"): "--days 30 and --set days=60 both set "
                                                                             "days; give one of them",
    ("compare", "scenarios/classroom.yaml", "--consumers", "500", "--set", "consumers.count = 900"):
        "--consumers 500 and --set consumers.count = 900 both set consumers.count; give one of them",
    # an option that breaks one of several files names that file (alone, the message did not say which)
    ("compare", "scenarios/classroom.yaml", "scenarios/restructurer_crackdown.yaml", "--days", "5"):
        "scenarios/restructurer_crackdown.yaml: --days 5: events.0.day: 183 is after the last recorded day, so it "
        "would never happen; allowed: 1 to days (5)",
    ("check", "scenarios/classroom.yaml", "scenarios/restructurer_crackdown.yaml", "--set", "days=5"):
        "scenarios/restructurer_crackdown.yaml: --set days=5: events.0.day: 183 is after the last recorded day, so "
        "it would never happen; allowed: 1 to days (5)",
    ("check", "scenarios/restructurer_crackdown.yaml", "--set", "days=5"):
        "--set days=5: events.0.day: 183 is after the last recorded day, so it would never happen; allowed: 1 to "
        "days (5)",
}


@pytest.mark.parametrize("argv", sorted(OPTION_ERRORS))
def test_bad_option_exits_2_with_one_line_naming_the_command(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    assert info.value.code == 2
    command = OPTION_ERRORS[argv].split(":", 1)[0]
    assert one_line_error(capsys.readouterr().err) == OPTION_ERRORS[argv] + HELP.format(command)


@pytest.mark.parametrize("argv", sorted(OUR_OPTION_ERRORS))
def test_bad_option_value_exits_2_with_one_line(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    before = _outputs()
    assert cli.main(list(argv)) == 2
    assert one_line_error(capsys.readouterr().err) == OUR_OPTION_ERRORS[argv]
    assert _outputs() == before  # nothing new under outputs/


def _outputs() -> set[Path]:
    return set((ROOT / "outputs").rglob("*")) if (ROOT / "outputs").exists() else set()


@pytest.mark.parametrize(("argv", "last_line"), [
    (["run", f"{MORE}/binary_file.yaml"], f"error: {ALL_FILES[f'{MORE}/binary_file.yaml']}"),
    (["run", "scenarios/classroom.yaml", "--seed", "abc"], "error: " + OPTION_ERRORS[("run", "scenarios/classroom.yaml",
                                                                                     "--seed", "abc")]
     + HELP.format("run.py run")),
])
def test_real_process(argv: list[str], last_line: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "run.py", *argv, "--out", str(tmp_path / "o")], capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == last_line + "\n"
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_too_many_intermediaries_are_refused_by_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Consumers hold their intermediary's index in an int8: the schema stops at 127, and the message counts the
    items rather than quoting them all."""
    items = ", ".join(f"{{name: r{i}}}" for i in range(128))
    assert cli.main(["run", "scenarios/classroom.yaml", "--set", f"restructurers=[{items}]",
                     "--out", str(tmp_path / "o")]) == 2
    error = one_line_error(capsys.readouterr().err)
    assert error.startswith("--set restructurers=")
    assert error.endswith(": restructurers: 128 items; at most 127 expected")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("override", "message"), [
    ("platforms.community.finance={strategy: own_license, license_lender: video_credit}",
     # the override set community's key: the message named only video's, which no file or override here had set
     "platforms.community.finance.license_lender and platforms.video.finance.license_lender both name "
     "'video_credit'; a licensed lender belongs to one platform"),
    ("events=[{day: 10, kind: strategy, target: community, value: own_license}]",
     "events.0.value: own_license needs a licence lender, and community has none (set "
     "platforms.community.finance.license_lender)"),
    ("events=[{day: 10, kind: strategy, value: own_license}]",
     "events.0.value: own_license needs a licence lender, and community, entertainment have none (set "
     "platforms.community.finance.license_lender)"),
])
def test_rules_across_platforms_and_events(override: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Two platforms owning one lender ran with the lender's revenue booked to the last of them; a strategy event
    to own_license without a licence lender ran as a silent no-op. Both are refused as a file would be."""
    assert cli.main(["check", "scenarios/classroom.yaml", "--set", override]) == 2
    assert one_line_error(capsys.readouterr().err).endswith(f": {message}")


def test_the_co_lending_floor_binds_only_platforms_that_lend_under_their_licence() -> None:
    """A stricter co-lending rule refused every platform's default own share, even on platforms that never
    co-lend; it binds a platform with strategy own_license, or one an event turns to it."""
    from sim.scenario_files import ScenarioError, load

    assert load("scenarios/classroom.yaml", ["regulation.co_lending_min_share=1",
                                             "platforms.video.finance.strategy=none"]).scenario
    with pytest.raises(ScenarioError, match=re.escape("video.finance.co_lending_own_share: 0.3 is below")):
        load("scenarios/classroom.yaml", ["regulation.co_lending_min_share=1"])
    with pytest.raises(ScenarioError, match=re.escape("video.finance.co_lending_own_share: 0.3 is below")):
        load("scenarios/classroom.yaml", ["regulation.co_lending_min_share=1", "platforms.video.finance.strategy=none",
                                          "events=[{day: 10, kind: strategy, target: video, value: own_license}]"])


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "scenarios/restructurer_crackdown.yaml", "--days", "30"],
     "--days 30: events.0.day: 183 is after the last recorded day, so it would never happen; allowed: 1 to days (30)"),
    (["check", "scenarios/classroom.yaml", "--set", "regulation.co_lending_min_share=1"],
     "--set regulation.co_lending_min_share=1: platforms.video.finance.co_lending_own_share: 0.3 is below "
     "regulation.co_lending_min_share 1.0"),
    (["check", "scenarios/classroom.yaml", "--set", "lenders.cfc.name=bank2"],
     "--set lenders.cfc.name=bank2: platforms.video.finance.partners: unknown lender 'cfc' (known: video_credit, "
     "big_bank, bank2, micro_a, micro_b, micro_c)"),
    # the event that turns the platform to its licence is the change that breaks the floor
    (["check", "scenarios/classroom.yaml", "--set", "regulation.co_lending_min_share=0.9", "--set",
      "platforms.video.finance.strategy=none", "--set",
      "events=[{day: 10, kind: strategy, target: video, value: own_license}]"],
     "--set events=[{day: 10, kind: strategy, target: video, value: own_license}]: "
     "platforms.video.finance.co_lending_own_share: 0.3 "
     "is below regulation.co_lending_min_share 0.9"),
    (["check", "scenarios/classroom.yaml", "--set", "lenders.micro_b.equity_m=100"],
     "--set lenders.micro_b.equity_m=100: lenders.micro_b.min_capital_m: 2000 is above lenders.micro_b.equity_m 100, "
     "so the lender would close at its first capital check; allowed: at most equity_m"),
])
def test_a_rule_between_keys_blames_the_latest_change(argv: list[str], message: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """These blamed the scenario file, which set neither the value that changed nor, for the co-lending floor,
    the own share (a default)."""
    assert cli.main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "run" else [])]) == 2
    assert one_line_error(capsys.readouterr().err) == message
    assert list(tmp_path.iterdir()) == []


# --- calibrate ---------------------------------------------------------------------------------------------

CONTINUOUS = ("the fit varies a parameter continuously, so only decimal parameters can be fitted (fix this one with "
              "--set, or compare values with sweep)")
CALIBRATE_PARAMS = {
    "lenders.micro_a.cash_loan_terms:3:12": f"--params lenders.micro_a.cash_loan_terms: "
                                            f"lenders.micro_a.cash_loan_terms is a whole number; {CONTINUOUS}",
    "days:10:20": f"--params days: days is a whole number; {CONTINUOUS}",
    "merchants.count:10:20": f"--params merchants.count: merchants.count is a whole number; {CONTINUOUS}",
    "consumers.count:500:600": f"--params consumers.count: consumers.count is a whole number; {CONTINUOUS}",
    "seed:0:9": f"--params seed: seed is a seed; {CONTINUOUS}",
    "lenders.micro_a.apr,days:1:2": f"--params lenders.micro_a.apr,days: days is a whole number; {CONTINUOUS}",
}


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.calibration

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("simulated before refusing the input")

    monkeypatch.setattr(sim.calibration, "run_measured", refuse)
    monkeypatch.setattr(sim.calibration, "measure_seeds", refuse)


@pytest.mark.parametrize("param", sorted(CALIBRATE_PARAMS))
def test_calibrate_refuses_a_parameter_it_cannot_vary_continuously_before_any_simulation(
    param: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_simulation: None
) -> None:
    """Whole-number parameters and the seed passed the check of their bounds (3 and 12 are whole), then the
    first step between them (7.5) failed mid-fit, blaming a --set the user never typed."""
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: micro_yield, value: 0.11}\n")
    assert cli.main(["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params", param,
                     "--budget", "2", "--seeds", "1", "--consumers", "500", "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == CALIBRATE_PARAMS[param]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]


NOT_TEXT = {
    "cp1252": b"# 2024 \x96 2025\n- {name: micro_yield, value: 0.11}\n",
    "utf16_bom": "- {name: micro_yield, value: 0.11}\n".encode("utf-16"),
    "utf16le_no_bom": "- {name: micro_yield, value: 0.11}\n".encode("utf-16-le"),
    "nul": b"- {name: micro_yield, value: 0.11}\n\x00",
}


@pytest.mark.parametrize("kind", sorted(NOT_TEXT))
def test_a_targets_file_that_is_not_utf8_text_is_refused_in_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_simulation: None
) -> None:
    """Targets files gave a UnicodeDecodeError traceback (exit 1), or a two-line YAML message for NULs."""
    targets = tmp_path / "t.yaml"
    targets.write_bytes(NOT_TEXT[kind])
    assert cli.main(["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                     "lenders.micro_a.apr:0.1:0.2", "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == f"{targets}: not a text file (UTF-8 expected)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]


@pytest.mark.parametrize("kind", ["utf16le_no_bom", "nul"])
def test_a_sweep_file_with_nul_bytes_is_refused_in_one_line(kind: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The sweep reader shares the scenario files' loader (sim.scenario_files.read_yaml)."""
    sweep = tmp_path / "s.yaml"
    text = "base: scenarios/classroom.yaml\n"
    sweep.write_bytes(text.encode("utf-16-le") if kind == "utf16le_no_bom" else text.encode() + b"\x00")
    assert cli.main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == f"{sweep}: not a text file (UTF-8 expected)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


GOOD_TARGET = "targets: [{name: micro_yield, value: 0.11}]\n"
# a targets file's text -> the message after "error: <file>: "
TARGETS_ERRORS = {
    # ignored: the fit then said "no parameters to fit: give --params", without a word on the typo
    GOOD_TARGET + "parms: ['lenders.micro_a.apr:0.1:0.2']\n": "parms: unknown key (did you mean 'params'?); allowed: "
                                                               "targets, params",
    GOOD_TARGET + "null: 2\n": "line 2, column 1: YAML error: key null is null, not a name (quote it, 'null', if "
                               "you mean the text)",
    GOOD_TARGET + "2: x\n": "2: unknown key; allowed: targets, params",
    "- {name: micro_yield, value: 0.11, wieght: 2}\n": "target micro_yield: wieght: unknown key (did you mean "
                                                       "'weight'?); allowed: name, value, weight",
    # accepted as 1
    "- {name: micro_yield, value: 0.11, weight: true}\n": "target micro_yield: weight: true is not a number",
    "- {name: micro_yield, value: true}\n": "target micro_yield: value: true is not a number",
    "- {name: micro_yield, value: '0.11'}\n": "target micro_yield: value: '0.11' is not a number",
    # counted twice
    "- {name: micro_yield, value: 0.11}\n- {name: micro_yield, value: 0.12}\n": "target micro_yield: listed twice; "
                                                                                "give each target once (a weight "
                                                                                "counts it more)",
    # "parameter 'r': expected PATH:LOW:HIGH" (the string's first letter)
    GOOD_TARGET + "params: r\n": "params: expected a list of PATH:LOW:HIGH (e.g. "
                                 "['consumers.shock_rate:0.0005:0.004']), got 'r'",
    GOOD_TARGET + "params: [{path: a, low: 1}]\n": "params.0: {path: a, low: 1} is not PATH:LOW:HIGH text (e.g. "
                                                   "'consumers.shock_rate:0.0005:0.004')",
    GOOD_TARGET + "params: ['lenders.micro_a.apr:nan:0.2']\n": "params lenders.micro_a.apr:nan:0.2: LOW and HIGH "
                                                                "must be finite numbers (not nan or inf)",
    # an infinite loss, and empty loss cells in history.csv
    "- {name: micro_yield, value: 0.11, weight: 1e308}\n": "target micro_yield: weight 1e+308 is not allowed; "
                                                           "allowed: a finite number >= 0 and <= 1e+06",
    "- {name: micro_yield, value: 1e-320}\n": "target micro_yield: value 9.99989e-321 is not allowed; allowed: a "
                                              "finite number, 0 or between 1e-09 and 1e+12 either side of 0",
    "- {name: micro_yield, value: 0.11, weight: 0}\n": "every target has weight 0: nothing to fit",
}


@pytest.mark.parametrize("text", sorted(TARGETS_ERRORS))
def test_a_loose_targets_file_is_refused_naming_the_file_and_key(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_simulation: None
) -> None:
    targets = tmp_path / "t.yaml"
    targets.write_text(text)
    assert cli.main(["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                     "lenders.micro_a.opex_rate:0.01:0.03", "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == f"{targets}: {TARGETS_ERRORS[text]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yaml"]


@pytest.mark.parametrize(("param", "message"), [
    ("regulation.rate_cap:nan:0.3", "--params regulation.rate_cap:nan:0.3: LOW and HIGH must be finite numbers (not "
                                    "nan or inf)"),  # was "LOW must be below HIGH"
    ("regulation.rate_cap:0.1:inf", "--params regulation.rate_cap:0.1:inf: LOW and HIGH must be finite numbers (not "
                                    "nan or inf)"),
    ("regulation.rate_cap", "--params: 'regulation.rate_cap': expected PATH:LOW:HIGH, e.g. "
                            "consumers.shock_rate:0.0005:0.004"),
])
def test_calibrate_refuses_bounds_that_are_not_finite(param: str, message: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str], no_simulation: None) -> None:
    targets = tmp_path / "t.yaml"
    targets.write_text(GOOD_TARGET)
    assert cli.main(["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params", param,
                     "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == message


def test_an_unknown_target_names_the_targets_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.calibration

    monkeypatch.setattr(sim.calibration, "run_measured", lambda *_, **__: [{"micro_yield": 0.1}])
    monkeypatch.setattr(sim.calibration, "measure_seeds", None)  # no fit
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: micro_yeild, value: 0.11}\n")
    assert cli.main(["calibrate", "scenarios/classroom.yaml", "--targets", str(targets), "--params",
                     "lenders.micro_a.opex_rate:0.01:0.03", "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys.readouterr().err) == f"{targets}: unknown target(s) micro_yeild; known: micro_yield"


def test_a_crackdown_on_no_intermediaries_is_allowed_untargeted_and_refused_targeted(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """`restructurers: []` on a crackdown scenario is its no-intermediary counterfactual: the untargeted crackdown
    then changes nothing, and is allowed (documented at events.<n>.target). A crackdown naming an intermediary
    that is gone is refused; the list of known names was empty, "(known: )"."""
    assert load("scenarios/restructurer_crackdown.yaml", ["restructurers=[]"]).scenario.events[0].target is None
    override = "events=[{day: 183, kind: crackdown, target: law_firm}]"
    assert cli.main(["check", "scenarios/restructurer_crackdown.yaml", "--set", "restructurers=[]",
                     "--set", override]) == 2
    assert one_line_error(capsys.readouterr().err) == (f"--set {override}: events.0.target: unknown name 'law_firm' "
                                                       "(known: none: the scenario has no restructurers)")
