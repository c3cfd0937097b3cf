"""`python run.py facts`: the stylized-facts report, its robustness table, verdicts and bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sim import facts
from sim.facts_report import default_of
from sim.report_notes import NOTES_MARKER

ROOT = Path(__file__).resolve().parent.parent


def outcome(a: list[float], b: list[float], a_is_zero: bool = False) -> facts.Outcome:
    fact = facts.Fact("x", "claim", "b minus a", "approval_rate", facts.BASE, "approval_rate", facts.BASE,
                      seeds=len(a), a_is_zero=a_is_zero)
    return facts.Outcome(fact, facts.DEFAULTS, a, b)


@pytest.mark.parametrize("a, b, a_is_zero, verdict", [
    ([1.0, 2.0, 3.0], [2.0, 3.1, 4.0], False, "holds"),
    ([1.0, 2.0, 3.0], [1.5, 1.8, 3.9], False, "not clear of 0"),  # differences 0.5, -0.2, 0.9
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], False, "no effect"),
    ([1.0, 2.0, 3.0], [0.0, 1.1, 2.0], False, "reversed"),
    ([0.0, 0.0, 0.0], [2.0, 3.1, 4.0], True, "holds"),
    ([0.0, 0.5, 0.0], [2.0, 3.1, 4.0], True, "side a not 0"),
    ([1.0, float("nan"), 3.0], [2.0, 3.1, 4.0], False, "undefined"),  # never a silent NaN, nor a pass
])
def test_a_fact_holds_only_when_the_interval_of_its_paired_difference_is_above_zero(
        a: list[float], b: list[float], a_is_zero: bool, verdict: str) -> None:
    o = outcome(a, b, a_is_zero)
    assert o.verdict() == verdict
    assert o.holds == (verdict == "holds")


def test_each_guess_is_a_real_parameter_with_its_default_inside_the_range() -> None:
    for g in facts.GUESSES:
        for key in g.keys:
            assert g.low < default_of(key) < g.high, key


def test_markets_shared_between_facts_run_once() -> None:
    """Facts 1, 2, 4a and 5a all read the baseline year: one run per seed, read for every metric they need."""
    jobs = facts.jobs_of(facts.select(["1", "4a", "5a"]), [facts.DEFAULTS])
    base = [(key, metrics) for key, metrics in jobs.items() if key[1] == facts.BASE.overrides]
    assert len(base) == 10
    assert all(metrics == {"shop_loss_rate_programme", "shop_loss_rate_third_party", "finance_revenue_community",
                           "finance_revenue_entertainment", "approval_rate"} for _, metrics in base)
    assert len(jobs) == 20  # and the 12% cap's ten


@pytest.mark.xdist_group("facts_command")
def test_facts_writes_the_report_with_a_row_for_each_end_of_each_guess(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import run as cli

    doc = tmp_path / "docs" / "sf.md"
    code = cli.main(["facts", "--only", "4a", "--seeds", "2", "--guess", "consumers.bnpl_preference",
                     "--doc", str(doc), "--quiet", "--workers", "2"])
    out, text = capsys.readouterr().out, doc.read_text()
    rows = list(csv.DictReader(open(tmp_path / "docs" / "figures" / "stylized_facts.csv")))
    assert [r["setting"] for r in rows] == ["defaults", "consumers.bnpl_preference = 0.06",
                                            "consumers.bnpl_preference = 0.24"]
    assert code == (0 if rows[0]["verdict"] == "holds" else 1)
    assert "--only 4a --seeds 2 --guess consumers.bnpl_preference" in text
    assert "| `consumers.bnpl_preference` | 0.12 | 0.06 | 0.24 |" in text
    for r in rows:  # each setting's row in the robustness table, as a multiple of the effect at the defaults
        ratio = float(r["mean_difference"]) / float(rows[0]["mean_difference"])
        assert f"| {r['setting']} | {'' if r['verdict'] == 'holds' else '**'}{ratio:.2f}x" in text
    assert (tmp_path / "docs" / "figures" / "stylized_facts.png").stat().st_size > 0
    assert out.count("fact 4a") == 3 and f"report: {doc}" in out
    assert list(doc.parent.glob(".*partial*")) == []


@pytest.mark.xdist_group("facts_command")
def test_a_new_report_keeps_the_hand_written_notes(tmp_path: Path) -> None:
    import run as cli

    doc = tmp_path / "sf.md"
    doc.write_text(f"old report\n\n{NOTES_MARKER}\n## Notes\n\nWhy fact 9 is odd.\n")
    cli.main(["facts", "--only", "4a", "--seeds", "2", "--no-guesses", "--doc", str(doc), "--quiet", "--workers", "1"])
    text = doc.read_text()
    assert "old report" not in text and text.startswith("# Stylized facts")
    assert text.endswith(f"{NOTES_MARKER}\n## Notes\n\nWhy fact 9 is odd.\n")
    assert "Robustness" not in text  # --no-guesses: the defaults only


def test_a_guess_set_on_several_items_is_chosen_by_any_of_its_keys() -> None:
    import run as cli
    from sim.cli.facts import _chosen

    both = next(g for g in facts.GUESSES if len(g.keys) > 1)
    for key in both.keys:
        _, guesses = _chosen(cli.parser().parse_args(["facts", "--guess", key]))
        assert guesses == (both,)


@pytest.mark.parametrize("args, message", [
    (["--only", "1,7"], "--only: 7: no such fact; allowed: 1, 2, 3a"),
    (["--guess", "consumers.shock"], "--guess: consumers.shock: not a guessed parameter; allowed: consumers.shock"),
    (["--seeds", "1"], "--seeds: 1 is out of range; allowed: >= 2"),
    (["--workers", "0"], "--workers: 0 is out of range"),
])
def test_facts_refuses_bad_options_in_one_line(args: list[str], message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import run as cli

    assert cli.main(["facts", *args, "--doc", str(tmp_path / "sf.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_committed_report_covers_every_fact_and_guess() -> None:
    """docs/stylized_facts.md is generated by the full command: a stale one would miss a fact or a guess."""
    text = (ROOT / "docs" / "stylized_facts.md").read_text(encoding="utf-8")
    assert text.startswith("# Stylized facts") and "Generated by `python run.py facts`" in text
    for f in facts.FACTS:
        assert f"| {f.id} | {f.claim} |" in text
    for g in facts.GUESSES:
        assert f"| `{g.name}` |" in text


def test_an_unmakeable_doc_path_is_refused_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import run as cli

    (tmp_path / "file").write_text("x")
    assert cli.main(["facts", "--only", "4a", "--doc", str(tmp_path / "file" / "sf.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.xdist_group("facts_command")
def test_a_partial_run_never_overwrites_the_committed_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--only`, `--seeds`, `--guess` or `--no-guesses` without `--doc` write to outputs/facts/, not docs/."""
    import run as cli
    from sim import validation

    monkeypatch.setattr(validation, "ROOT", tmp_path)  # where a report goes by default, as for validate
    cli.main(["facts", "--only", "4a", "--seeds", "2", "--no-guesses", "--quiet", "--workers", "1"])
    assert (tmp_path / "outputs" / "facts" / "stylized_facts.md").exists()
    assert not (tmp_path / "docs").exists()


RATIOS = ("shop_loss_rate_programme", "shop_loss_rate_third_party", "programme_recovery", "collection_rate",
          "approval_rate", "marginal_lending_share")


def test_a_ratio_with_nothing_to_divide_by_is_undefined_not_0() -> None:
    """Before any day nothing is lent, scored or late: each ratio is NaN, which makes a fact "undefined", where a 0
    read as no losses or no approvals (and 1 as a full programme recovery). After a run each has a value."""
    import math

    from sim import MarketModel
    from tests.conftest import run_small, small_scenario

    fresh = MarketModel(small_scenario(days=1, burn_in_days=0), rng=1)
    assert all(math.isnan(facts.METRICS[k](fresh)) for k in RATIOS)
    ran = run_small(seed=1)
    assert all(math.isfinite(facts.METRICS[k](ran)) for k in RATIOS)
