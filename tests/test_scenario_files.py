"""Scenario files: extends, overrides, and the exact one-line message for each kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario_files import ScenarioError, load, to_yaml

ROOT = Path(__file__).resolve().parent.parent
BAD = "tests/bad_scenarios"
OWN = "platforms.community.finance.strategy=own_license"

# file in tests/bad_scenarios -> the message after "<path>: "
BAD_FILES = {
    "syntax_error": "line 3, column 1: YAML error: expected ',' or ']', but got '<stream end>'",
    "tab_indent": "line 2, column 1: YAML error: found character '\\t' that cannot start any token",
    "duplicate_key": "line 2, column 1: YAML error: duplicate key 'days'",
    "empty": "the file is empty; a scenario file is a mapping such as 'days: 365'",
    "only_comment": "the file is empty; a scenario file is a mapping such as 'days: 365'",
    "top_level_list": "the top level must be a mapping of keys, got a list",
    "wrong_type_int": "days: 'many' is not a whole number",
    "fractional_count": "merchants.count: 12.5 is not a whole number",
    "percent_string": "lenders.cfc.apr: '24%' is not a number",
    "not_a_bool": "platforms.video.finance.bnpl: 'maybe' is not true or false",
    "unknown_key": "consumers.cuont: unknown key (did you mean 'count'?)",
    "unknown_top_key": "dayz: unknown key (did you mean 'days'?)",
    "negative_population": "consumers.count: -100 is out of range; allowed: >= 0 and <= 50000000",
    "out_of_range": "regulation.rate_cap: 1.5 is out of range; allowed: >= 0 and <= 1",
    "zero_exclusive": "market.real_population_m: 0 is out of range; allowed: >= 0.001 and <= 10000",
    "missing_extends": "extends: file 'no_such_file.yaml' not found (looked for tests/bad_scenarios/no_such_file.yaml)",
    "cycle_a": "extends: cycle cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml",
    "extends_not_path": "extends: 42 is not a file path (expected e.g. 'baseline.yaml')",
    "duplicate_platform": "platforms: duplicate name 'shop'",
    "unknown_lender": "platforms.community.finance.partners: unknown lender 'mikro_a' "
                      "(known: video_credit, big_bank, cfc, micro_a, micro_b, micro_c); did you mean 'micro_a'?",
    "misspelt_choice": "platforms.community.finance.strategy: 'own_licence' is not allowed (did you mean "
                       "'own_license'?); allowed: none, traffic_diversion, own_license",
    # named only the key: now the lenders it could name (video_credit is video's: one platform per licence)
    "own_license_without_lender": "platforms.community.finance.license_lender: own_license needs a licence "
                                  "lender; one of big_bank, cfc, micro_a, micro_b, micro_c (video_credit is "
                                  "video's)",
    "wrong_list_length": "consumers.tier_income: [9000, 5000] has 2 items; exactly 3 expected",
    "platform_without_name": "platforms.0: every platform needs a name (got null)",
    "named_list_not_list": "platforms: a mapping is not a list",
    # said "5000 is not a mapping of keys": the fix is the section's count
    "section_not_mapping": "consumers is a section, not a value; did you mean consumers: {count: 5000}?",
    "unknown_event_target": "events.0.target: unknown name 'debt_optimiser' (known: debt_optimizer, law_firm); "
                            "did you mean 'debt_optimizer'?",
    "event_day_zero": "events.0.day: 0 is out of range; allowed: >= 1",
    "event_value_out_of_range": "events.0.value: rate_cap is a yearly rate between 0 and 1, got 24.0",
    "co_lending_below_minimum": "platforms.video.finance.co_lending_own_share: 0.1 is below "
                                "regulation.co_lending_min_share 0.3",
    "remove_unknown": "platforms.ghost: cannot remove unknown platform 'ghost'",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def error_of(path: str, overrides: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        load(path, overrides or [])
    return str(info.value)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_message(name: str) -> None:
    path = f"{BAD}/{name}.yaml"
    assert error_of(path) == f"{path}: {BAD_FILES[name]}"


def test_at_least_twenty_kinds_and_every_fixture_used() -> None:
    assert len(BAD_FILES) >= 20
    on_disk = {p.stem for p in (ROOT / BAD).glob("*.yaml")}
    assert on_disk - {"cycle_b", "extends_then_bad"} == set(BAD_FILES)


def test_error_names_the_file_that_set_the_value() -> None:
    msg = error_of(f"{BAD}/extends_then_bad.yaml")
    assert msg == (f"{BAD}/extends_then_bad.yaml: consumers.count: 5000000000 is out of range; "
                   "allowed: >= 0 and <= 50000000")


def test_missing_file() -> None:
    assert error_of("scenarios/nope.yaml") == "scenarios/nope.yaml: file not found"


OVERRIDE_ERRORS = {
    "days": "--set days: expected KEY=VALUE, e.g. consumers.count=20000",
    "consumers.count=abc": "--set consumers.count=abc: consumers.count: 'abc' is not a whole number",
    "consumers.cuont=4": "--set consumers.cuont=4: consumers.cuont: unknown key (did you mean 'count'?)",
    "platforms.comunity.finance.strategy=own_license":
        "--set platforms.comunity.finance.strategy=own_license: platforms: unknown platform 'comunity' "
        "(did you mean 'community'?); known: community, video, entertainment",
    "lenders.cfc.apr=2": "--set lenders.cfc.apr=2: lenders.cfc.apr: 2 is out of range; allowed: >= 0 and <= 1",
    "regulaton.rate_cap=0.1": "--set regulaton.rate_cap=0.1: regulaton: unknown key (did you mean 'regulation'?)",
    "days.max=3": "--set days.max=3: days is 365, not a section with keys",
    "events.0.day=3": "--set events.0.day=3: events: no item '0' (the list has 0 items, numbered from 0)",
}


@pytest.mark.parametrize("override", sorted(OVERRIDE_ERRORS))
def test_bad_override_message(override: str) -> None:
    assert error_of("scenarios/baseline.yaml", [override]) == OVERRIDE_ERRORS[override]


def test_override_by_name_changes_only_that_platform() -> None:
    s = load("scenarios/baseline.yaml", [OWN, "platforms.community.finance.license_lender=micro_a"]).scenario
    strategies = {p.name: p.finance.strategy for p in s.platforms}
    assert strategies == {"community": "own_license", "video": "own_license", "entertainment": "traffic_diversion"}
    assert s.platforms[0].finance.license_lender == "micro_a"


def test_override_error_blames_the_override() -> None:
    assert error_of("scenarios/baseline.yaml", [OWN]) == (
        f"--set {OWN}: platforms.community.finance.license_lender: own_license needs a licence lender; one of "
        "big_bank, cfc, micro_a, micro_b, micro_c (video_credit is video's)")


def test_override_values_are_yaml() -> None:
    s = load("scenarios/classroom.yaml", ["consumers.tier_income=[1000, 2000, 3000]", "events=[{day: 5, kind: "
                                          "crackdown}]", "platforms.video.finance.bnpl=false"]).scenario
    assert s.consumers.tier_income == [1000.0, 2000.0, 3000.0]
    assert s.events[0].kind == "crackdown"
    assert s.platforms[1].finance.bnpl is False


def test_extends_merges_named_lists_by_name(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("name: base\ndays: 30\nplatforms:\n  - {name: video, mau_m: 100}\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nplatforms:\n  - {name: video, take_rate: 0.1}\n"
                     "  - {name: entertainment, remove: true}\n  - {name: extra, kind: marketplace}\n")
    s = load(str(child)).scenario
    assert s.name == "child" and s.days == 30
    by_name = {p.name: p for p in s.platforms}
    assert list(by_name) == ["community", "video", "extra"]
    assert by_name["video"].mau_m == 100 and by_name["video"].take_rate == 0.1
    assert by_name["video"].finance.bnpl is True  # untouched defaults stay


def test_resolved_yaml_round_trips(tmp_path: Path) -> None:
    s = load("scenarios/community_merchant_loans.yaml", ["seed=7"]).scenario
    out = tmp_path / "scenario.yaml"
    out.write_text(to_yaml(s, "# resolved\n"))
    again = load(str(out)).scenario
    assert again == s


@pytest.mark.parametrize("overrides", [
    ["restructurers.law_firm.remove=true"],  # a default removed came back
    ["platforms=[" + ", ".join(f"{{name: p{i}}}" for i in range(8)) + "]"],  # 3 defaults + 8: refused as 11
    ["platforms.community.remove=true", "platforms=[{name: community, mau_m: 50}]"],  # re-added: now last
])
def test_resolved_yaml_keeps_the_named_lists_whole_and_in_order(overrides: list[str], tmp_path: Path) -> None:
    """A resolved scenario.yaml lists every platform, lender and restructurer; loaded as changes to the defaults,
    removed defaults came back and re-added ones moved. It says its lists are complete, so it re-runs as is."""
    s = load("scenarios/classroom.yaml", overrides).scenario
    out = tmp_path / "scenario.yaml"
    out.write_text(to_yaml(s, "# resolved\n"))
    assert load(str(out)).scenario == s
    # a file extending it changes its items as usual
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: scenario.yaml\nplatforms: [{{name: {s.platforms[0].name}, mau_m: 7}}]\n")
    changed = load(str(child)).scenario
    assert changed.platforms[0].mau_m == 7 and [p.name for p in changed.platforms] == [p.name for p in s.platforms]


def test_complete_lists_must_be_true_or_false(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("complete_lists: 'yes'\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: complete_lists: 'yes' is not true or false$"):
        load(str(bad))


def test_docs_reference_matches_the_schema() -> None:
    from sim.scenario import Scenario
    from sim.scenario_files import DOCS_PATH, schema_reference

    text = schema_reference()
    assert DOCS_PATH.read_text(encoding="utf-8") == text, "regenerate with: python -m sim.scenario_files"
    for name in Scenario.model_fields:
        assert f"| `{name}` |" in text
    assert "| `platforms.<name>.finance.strategy` |" in text and "| `lenders.<name>.apr` |" in text


def test_docs_reference_lists_the_keys_a_file_has_beyond_the_schema() -> None:
    """`extends`, an item's `remove` and `complete_lists` are read from every file (a run's scenario.yaml starts
    with `complete_lists: true`) but the scenario reference, which claims every key, named none of them."""
    from sim.scenario_files import schema_reference
    from sim.scenario_files.common import REMOVE_KEY
    from sim.scenario_files.layers import COMPLETE_KEY

    text = schema_reference()
    for key in ("extends", REMOVE_KEY, COMPLETE_KEY):
        assert f"| `{key}` |" in text, key


def test_override_mapping_merges_key_by_key_like_files() -> None:
    base = load("scenarios/classroom.yaml").scenario
    s = load("scenarios/classroom.yaml", ["platforms.video.finance={bnpl: false}", "consumers={count: 500}",
                                          "lenders.cfc={apr: 0.1}"]).scenario
    assert s.platforms[1].finance.bnpl is False
    assert s.platforms[1].finance.model_dump(exclude={"bnpl"}) == base.platforms[1].finance.model_dump(exclude={"bnpl"})
    assert s.consumers.count == 500 and s.consumers.income_sigma == base.consumers.income_sigma
    cfc = next(lender for lender in s.lenders if lender.name == "cfc")
    assert cfc.apr == 0.1 and cfc.equity_m == next(x for x in base.lenders if x.name == "cfc").equity_m
    # any other value replaces (a list whole), and an error inside a merged mapping blames the override
    s = load("scenarios/classroom.yaml", ["platforms.video.finance.partners=[cfc]"]).scenario
    assert s.platforms[1].finance.partners == ["cfc"]
    bad = "platforms.video.finance={bnpl: maybe}"
    assert error_of("scenarios/classroom.yaml", [bad]) == (
        f"--set {bad}: platforms.video.finance.bnpl: 'maybe' is not true or false")


def test_names_are_folder_names(tmp_path: Path) -> None:
    ok = tmp_path / "my variant.yaml"
    ok.write_text("extends: " + str(ROOT / "scenarios" / "classroom.yaml") + "\nname: v2.1_low-cap\n")
    assert load(str(ok)).scenario.name == "v2.1_low-cap"
    for name in ("../up", "a/b", "", ".", "x" * 101):
        assert "name: " in error_of(str(ok), [f"name='{name}'"])
    # without a name: the file's name made a folder name (it was refused, blaming a name: nobody wrote)
    no_name = tmp_path / "no name.yaml"
    no_name.write_text("days: 30\n")
    assert load(str(no_name)).scenario.name == "no_name"


def test_no_platform_left_blames_the_file_that_removed_them(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text("extends: " + str(ROOT / "scenarios" / "classroom.yaml") + "\nplatforms:\n"
                     + "".join(f"  - {{name: {n}, remove: true}}\n" for n in ("community", "video", "entertainment")))
    assert error_of(str(child)) == f"{child}: platforms: [] has 0 items; a scenario needs at least 1 platform"


def test_an_empty_named_list_drops_every_item(tmp_path: Path) -> None:
    """`restructurers: []` in a file kept the default intermediaries (nothing to merge), while `--set
    restructurers=[]` dropped them: both now mean none."""
    child = tmp_path / "child.yaml"
    child.write_text("extends: " + str(ROOT / "scenarios" / "classroom.yaml") + "\nrestructurers: []\n")
    assert load(str(child)).scenario.restructurers == []
    assert load("scenarios/classroom.yaml", ["restructurers=[]"]).scenario.restructurers == []
    child.write_text("extends: " + str(ROOT / "scenarios" / "classroom.yaml") + "\nplatforms: []\n")
    assert error_of(str(child)) == f"{child}: platforms: [] has 0 items; a scenario needs at least 1 platform"


def test_remove_false_keeps_the_item_and_remove_is_a_known_key(tmp_path: Path) -> None:
    """`remove: false` was refused as an unknown key, whose list of allowed keys left `remove` out."""
    child = tmp_path / "child.yaml"
    base = "extends: " + str(ROOT / "scenarios" / "classroom.yaml") + "\nrestructurers:\n"
    child.write_text(base + "  - {name: law_firm, remove: false}\n")
    assert [r.name for r in load(str(child)).scenario.restructurers] == ["debt_optimizer", "law_firm"]
    child.write_text(base + "  - {name: law_firm, remvoe: true}\n")
    assert error_of(str(child)) == f"{child}: restructurers.law_firm.remvoe: unknown key (did you mean 'remove'?)"
    child.write_text(base + "  - {name: law_firm, remove: yes}\n")
    assert error_of(str(child)) == f"{child}: restructurers.law_firm.remove: 'yes' is not true or false"


def test_remove_in_a_list_given_whole_says_why_it_is_refused() -> None:
    """`--set 'lenders=[{name: micro_a, remove: true}]'` said "remove: unknown key (did you mean 'remove'?)": a list
    value replaces the whole list, where `remove` has nothing to remove from."""
    message = error_of("scenarios/classroom.yaml", ["lenders=[{name: micro_a, remove: true}]"])
    assert "did you mean 'remove'" not in message
    assert message == ("--set lenders=[{name: micro_a, remove: true}]: lenders.micro_a.remove: a list value replaces "
                       "the whole list, where remove has no meaning: list only the items to keep (to drop one item of "
                       "the current list: --set lenders.micro_a.remove=true)")


def test_set_removes_a_named_item_by_its_path() -> None:
    """`--set platforms.entertainment.remove=true` (and a sweep parameter of that path) was an unknown key, though
    `remove: true` works in a file."""
    names = lambda overrides: [p.name for p in load("scenarios/classroom.yaml", overrides).scenario.platforms]  # noqa: E731
    assert names(["platforms.entertainment.remove=true"]) == ["community", "video"]
    assert names(["platforms.entertainment.remove=false"]) == ["community", "video", "entertainment"]
    assert error_of("scenarios/classroom.yaml", ["platforms.nope.remove=true"]) == (
        "--set platforms.nope.remove=true: platforms.nope: cannot remove unknown platform 'nope'")


# --- scalars by the YAML 1.2 core schema, not PyYAML's YAML 1.1 -------------------------------------------

def test_leading_zero_is_refused_naming_the_key(tmp_path: Path) -> None:
    # YAML 1.1 reads 010 as octal 8 (silently); a researcher who typed it almost surely meant 10
    days = tmp_path / "days.yaml"
    days.write_text("days: 010\n")
    assert error_of(str(days)) == f"{days}: days: '010' has a leading zero; write 10 (or 0o10 for octal)"
    platform = tmp_path / "platform.yaml"
    platform.write_text("platforms:\n  - {name: video, order_value: 0100}\n")
    assert error_of(str(platform)) == (f"{platform}: platforms.video.order_value: '0100' has a leading zero; "
                                       "write 100 (or 0o100 for octal)")
    festival = "market.festival_days=[011, 315]"
    assert error_of("scenarios/classroom.yaml", [festival]) == (
        f"--set {festival}: market.festival_days.0: '011' has a leading zero; write 11 (or 0o11 for octal)")
    assert error_of("scenarios/classroom.yaml", ["days=09"]) == "--set days=09: days: '09' has a leading zero; write 9"
    # 0 itself, octal and hex as YAML 1.2 writes them, and a quoted '010' (text) are not leading zeros
    s = load("scenarios/classroom.yaml", ["seed=0", "days=0o17", "market.festival_days=[0x1F, +100]"]).scenario
    assert (s.seed, s.days, s.market.festival_days) == (0, 15, [31, 100])
    assert error_of("scenarios/classroom.yaml", ["days='010'"]) == "--set days='010': days: '010' is not a whole number"


def test_a_number_with_thousands_separators_is_named_as_written(tmp_path: Path) -> None:
    """`200,000` is text to YAML ("is not a number" alone left the reader looking for the fault), and in a {...}
    mapping `{cap: 20,000}` became `cap: 20` and a key `000` ("'000' has a leading zero; write 0")."""
    limit = tmp_path / "limit.yaml"
    limit.write_text("regulation:\n  balance_limit: 200,000\n")
    assert error_of(str(limit)) == (f"{limit}: regulation.balance_limit: '200,000' is not a number; write it without "
                                    "the thousands separators: 200000")
    cap = tmp_path / "cap.yaml"
    cap.write_text("platforms:\n  - {name: video, deposit: {cap: 1,200,500, tiers: []}}\n")
    assert error_of(str(cap)).endswith("YAML error: platforms.video.deposit.cap: '1,200,500': a comma ends an entry "
                                       "of a {...} mapping; write the number without thousands separators: 1200500")
    assert error_of("scenarios/classroom.yaml", ["platforms.video.deposit={cap: 20,000}"]).endswith(
        "platforms.video.deposit.cap: '20,000': a comma ends an entry of a {...} mapping; write the number without "
        "thousands separators: 20000")
    # a {...} mapping whose entries are numbers and names stays as it was
    s = load("scenarios/classroom.yaml", ["platforms.video.deposit={cap: 20000, settlement_sweep: true}"]).scenario
    assert next(p for p in s.platforms if p.name == "video").deposit.cap == 20000


def test_numbers_with_an_exponent_need_no_dot() -> None:
    s = load("scenarios/classroom.yaml", ["consumers.shock_rate=1e-3", "lenders.cfc.apr=2E-1",
                                          "platforms.video.order_value=1.5e3", "regulation.rate_cap=.5"]).scenario
    assert s.consumers.shock_rate == 0.001 and type(s.consumers.shock_rate) is float
    assert next(x for x in s.lenders if x.name == "cfc").apr == 0.2
    assert s.platforms[1].order_value == 1500.0 and s.regulation.rate_cap == 0.5
    assert error_of("scenarios/classroom.yaml", ["regulation.rate_cap=-.inf"]) == (
        "--set regulation.rate_cap=-.inf: regulation.rate_cap: -Infinity is not a finite number")
    assert error_of("scenarios/classroom.yaml", ["regulation.rate_cap=.NaN"]) == (
        "--set regulation.rate_cap=.NaN: regulation.rate_cap: NaN is not a finite number")


def test_only_true_and_false_are_booleans(tmp_path: Path) -> None:
    for word in ("on", "off", "yes", "no"):
        assert error_of("scenarios/classroom.yaml", [f"platforms.video.finance.bnpl={word}"]) == (
            f"--set platforms.video.finance.bnpl={word}: platforms.video.finance.bnpl: '{word}' is not true or false")
    path = tmp_path / "bnpl.yaml"
    path.write_text("platforms:\n  - name: video\n    finance: {bnpl: on}\n")
    assert error_of(str(path)) == f"{path}: platforms.video.finance.bnpl: 'on' is not true or false"
    s = load("scenarios/classroom.yaml", ["platforms.video.finance.bnpl=False",
                                          "platforms.community.finance.bnpl=TRUE"])
    assert s.scenario.platforms[1].finance.bnpl is False and s.scenario.platforms[0].finance.bnpl is True


def test_sexagesimal_and_underscores_are_text() -> None:
    # YAML 1.1 reads 1:30 as 90 (base 60) and 1_000 as 1000
    assert error_of("scenarios/classroom.yaml", ["days=1:30"]) == "--set days=1:30: days: '1:30' is not a whole number"
    assert error_of("scenarios/classroom.yaml", ["consumers.count=1_000"]) == (
        "--set consumers.count=1_000: consumers.count: '1_000' is not a whole number")


def test_sweep_files_read_scalars_the_same_way(tmp_path: Path) -> None:
    from sim.sweep.plan import load_sweep
    from sim.sweep.spec import SweepError

    path = tmp_path / "s.yaml"
    path.write_text(f"base: {ROOT / 'scenarios' / 'classroom.yaml'}\ndesign: grid\n"
                    "parameters:\n  consumers.shock_rate: {values: [1e-3, 2E-3]}\n")
    assert [p["consumers.shock_rate"] for p in load_sweep(str(path)).points] == [0.001, 0.002]
    path.write_text("design: grid\nreplications: 010\n")
    with pytest.raises(SweepError) as info:
        load_sweep(str(path))
    assert str(info.value) == f"{path}: replications: '010' has a leading zero; write 10 (or 0o10 for octal)"


def _typed(value: object) -> object:
    """A value with the type of every scalar (True == 1 in Python)."""
    if isinstance(value, dict):
        return {_typed(k): _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


LIBRARY = sorted((ROOT / "scenarios").rglob("*.yaml"))


def test_the_library_reads_as_with_yaml_1_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped scenario, sweep and target file reads to the same data as with PyYAML's YAML 1.1 rules,
    and every scenario resolves to the same scenario."""
    import yaml

    import sim.scenario_files as sf
    from sim.results import scenario_hash
    from sim.scenario_files import strict_yaml

    assert len(LIBRARY) >= 15
    for path in LIBRARY:
        text = path.read_text(encoding="utf-8")
        assert _typed(sf.parse_yaml(text)) == _typed(yaml.safe_load(text)), path
    scenarios = [str(p.relative_to(ROOT)) for p in LIBRARY if p.parent.name == "scenarios"]
    now = {p: scenario_hash(load(p).scenario) for p in scenarios}
    monkeypatch.setattr(strict_yaml, "parse_yaml", lambda text, loc=(): yaml.safe_load(text))  # read_yaml's
    assert {p: scenario_hash(load(p).scenario) for p in scenarios} == now


def test_resolved_yaml_quotes_text_that_reads_as_a_number(tmp_path: Path) -> None:
    s = load("scenarios/classroom.yaml", ["name='1e3'", "description=on"]).scenario
    assert (s.name, s.description) == ("1e3", "on")
    out = tmp_path / "scenario.yaml"
    out.write_text(to_yaml(s))
    assert load(str(out)).scenario == s


def test_docs_reference_says_what_all_zero_merchant_and_category_shares_do() -> None:
    """The reference read "weights ..., normalised to sum to 1" for platforms' merchant shares and category shares,
    which all-zero weights cannot be, and docs/reliability.md said all-zero shares are refused: they are accepted and
    spread the shops evenly (tests/test_mechanisms.py), while all-zero city-tier shares are refused."""
    from sim.scenario_files import schema_reference

    rows = {line.split(" | ")[0]: line for line in schema_reference().splitlines() if line.startswith("| `")}
    assert "all 0" in rows["| `platforms.<name>.merchant_share`"]
    assert "all 0" in rows["| `merchants.categories.<n>.share`"]
    assert load(str(ROOT / "scenarios/classroom.yaml"), ["platforms.video.merchant_share=0",
                                                          "platforms.community.merchant_share=0",
                                                          "platforms.entertainment.merchant_share=0"])
