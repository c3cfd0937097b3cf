"""The README's Python examples run as written, in order, as one notebook session (a stale name or argument
there is the first thing a newcomer meets)."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.slow
def test_the_readme_python_examples_run_as_one_session(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert len(BLOCKS) >= 4
    monkeypatch.chdir(ROOT)  # the examples name scenario files relative to the project
    session: dict[str, object] = {"__name__": "readme"}
    for i, block in enumerate(BLOCKS, 1):
        exec(compile(block, f"README.md python block {i}", "exec"), session)
    assert "cap 15%" in capsys.readouterr().out  # the last example prints its comparison


def test_the_readme_command_table_lists_every_option_of_each_command() -> None:
    """The README's table of commands is where a newcomer learns what each takes: `compare` listed only `--seeds`
    and `--out` while the worked example under it passes `--consumers`, and `check` had no `--set`."""
    import argparse

    import run as cli

    text = (ROOT / "README.md").read_text()
    commands = next(a.choices for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in cli.BUILT_IN:
        row = re.search(rf"^\| `python run\.py {name}\b([^`]*)` \|", text, flags=re.M)
        assert row, f"no row for {name} in the README's command table"
        given = set(re.findall(r"--[a-z][a-z-]*", row.group(1)))
        options = {s for action in commands[name]._actions for s in action.option_strings
                   if s.startswith("--") and s != "--help"}
        assert given == options, f"{name}: README lists {sorted(given)}, the command takes {sorted(options)}"


def test_the_readme_says_which_commands_rewrite_a_committed_document() -> None:
    """`python benchmarks/run.py`, as the README's table gave it, overwrites the committed docs/performance.md (and
    runs 1M consumers); the table said so for `validate` only."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    rows = {"python benchmarks/run.py": benchmark.DOC.relative_to(ROOT).as_posix(),
            "python run.py validate": "docs/validation.md", "python run.py facts": "docs/stylized_facts.md"}
    text = (ROOT / "README.md").read_text()
    for command, doc in rows.items():
        row = next((line for line in text.splitlines() if line.startswith("|") and f"`{command}`" in line), "")
        assert f"it rewrites `{doc}`" in row, command


def test_a_quick_look_at_speed_does_not_replace_the_committed_measurement() -> None:
    """`benchmarks/run.py --sizes 10000 --skip-reference`, the README's quick look, rewrote docs/performance.md
    with "not run" rows for 1M consumers and the reference (and every later run's manifest read `-dirty`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    defaults = {"sizes": "10000,100000,1000000", "reference_sizes": "10000", "skip_reference": False,
                "days": 365, "burn_in": None, "seed": 0, "no_profile": False}
    committed = argparse.Namespace(**{**defaults, "reference_sizes": "10000,100000"})
    assert benchmark.default_out(committed) == benchmark.DOC
    assert benchmark.default_out(argparse.Namespace(**defaults)) == benchmark.DOC
    for quick in ({"sizes": "10000"}, {"skip_reference": True}, {"days": 30}, {"burn_in": 0}, {"no_profile": True},
                  {"reference_sizes": "100000"}):
        assert benchmark.default_out(argparse.Namespace(**{**defaults, **quick})) == benchmark.PARTIAL_DOC, quick
    assert "outputs" in benchmark.PARTIAL_DOC.relative_to(ROOT).parts  # not committed (.gitignore)


@pytest.mark.parametrize("doc", ["README.md", "docs/teaching.md"])
def test_commands_that_scale_consumers_scale_shops_too(doc: str) -> None:
    """`--consumers` leaves `merchants.count` as it is (run.py's help says so; `calibrate` and `validate` scale
    shops themselves). The README's worked example ran 20,000 consumers with the baseline's 2,000 shops, five
    times the shops per consumer of the market it stands for, and did not say so; docs/teaching.md suggested a
    million consumers with the classroom's 150 shops. Each command keeps its scenario file's shops per consumer."""
    from sim.scenario_files import load

    text = (ROOT / doc).read_text()
    commands = re.sub(r"\\\n\s*", " ", "\n".join([*re.findall(r"```bash\n(.*?)```", text, flags=re.S),
                                                  *re.findall(r"`(python run\.py [^`]*)`", text)]))
    scaled = [line for line in commands.splitlines() if re.search(r"--consumers \d", line) and "run.py" in line]
    assert scaled
    for line in scaled:
        scenario = load(str(ROOT / re.search(r"(scenarios/\S+\.yaml)", line).group(1))).scenario
        consumers = int(re.search(r"--consumers (\d+)", line).group(1))
        shops = re.search(r"--set merchants\.count=(\d+)", line)
        assert shops, line
        assert math.isclose(consumers / int(shops.group(1)), scenario.consumers.count / scenario.merchants.count), line
    if doc == "README.md":
        assert "shops stay at the scenario's `merchants.count`" in text
