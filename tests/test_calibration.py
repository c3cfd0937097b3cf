"""Calibration recovers known parameters from synthetic targets, and its outputs load and report."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.calibration import (
    CalibrationError,
    Evaluation,
    Fit,
    Param,
    Target,
    calibrate,
    loss_of,
    read_targets,
    simulate,
    simulate_seeds,
    with_given,
)
from sim.calibration_report import nested, validate_command, write_outputs
from sim.scenario_files import load
from sim.validation import measure_seeds

BASELINE = str(Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml")
SMALL = ["days=90", "burn_in_days=30"]
CONSUMERS = 3000
SEEDS = [1, 2]
TRUE = {"platforms.video.purchase_rate": 0.02, "platforms.video.order_value": 300.0}


@pytest.mark.slow
def test_calibration_recovers_known_parameters(tmp_path: Path) -> None:
    figures = simulate(BASELINE, TRUE, SEEDS, CONSUMERS, SMALL)
    targets = [Target("video_buyers_per_dau", figures["video_buyers_per_dau"]),
               Target("video_gmv_per_buyer", figures["video_gmv_per_buyer"])]
    params = [Param.parse("platforms.video.purchase_rate:0.005:0.05"),
              Param.parse("platforms.video.order_value:60:900")]
    start = {"platforms.video.purchase_rate": 0.04, "platforms.video.order_value": 120.0}
    fit = calibrate(BASELINE, targets, params, budget=40, seeds=SEEDS, consumers=CONSUMERS, start=start, extra=SMALL)
    assert fit.best.loss < 0.01 * fit.start.loss
    for path, true in TRUE.items():
        assert fit.best.values[path] == pytest.approx(true, rel=0.1), path
    fitted = write_outputs(fit, BASELINE, tmp_path, SEEDS, CONSUMERS)
    s = load(str(fitted)).scenario
    video = next(p for p in s.platforms if p.name == "video")
    assert video.purchase_rate == pytest.approx(fit.best.values["platforms.video.purchase_rate"], rel=1e-4)
    assert (tmp_path / "loss.png").is_file() and "fitted" in (tmp_path / "fit_report.md").read_text()


def test_an_undefined_figure_is_a_miss_not_a_crash() -> None:
    """None (how a run summary writes an undefined ratio) counts like NaN: a miss of 1, never a TypeError."""
    targets = [Target("reachable_6m", 0.15, 2.0), Target("npl_recovery", 0.1)]
    assert loss_of({"reachable_6m": None, "npl_recovery": 0.1}, targets) == pytest.approx(2.0)
    assert loss_of({"reachable_6m": float("nan"), "npl_recovery": 0.1}, targets) == pytest.approx(2.0)
    assert loss_of({"npl_recovery": 0.1}, targets) == pytest.approx(2.0)


def test_seeds_that_leave_a_figure_undefined_count_as_misses() -> None:
    """A figure defined on a share d of the seeds counts d x its squared error + (1 - d): the mean over the
    seeds that define it alone would rate a point where it vanishes on most seeds as a perfect fit."""
    targets = [Target("npl_recovery", 0.1, 2.0)]
    assert loss_of({"npl_recovery": 0.1}, targets, {"npl_recovery": 0.75}) == pytest.approx(2.0 * 0.25)
    assert loss_of({"npl_recovery": 0.2}, targets, {"npl_recovery": 0.5}) == pytest.approx(2.0 * (0.5 + 0.5))
    assert loss_of({"npl_recovery": 0.2}, targets, {}) == pytest.approx(2.0)


def test_a_figure_undefined_on_some_seeds_is_their_mean_and_the_report_says_how_many(tmp_path: Path) -> None:
    """200 consumers over 100 recorded days: the entertainment platform's figures are undefined on one seed of four.
    The figure is the mean of the other three (as validation averages), the loss charges the fourth as a miss,
    and the report says "3 of 4 seeds"."""
    seeds, extra = [1, 2, 3, 4], ["days=100", "burn_in_days=300"]
    runs = measure_seeds(BASELINE, extra, seeds, 200, workers=1)
    figures, defined = simulate_seeds(BASELINE, {}, seeds, 200, extra)
    name = "entertainment_buyers_per_dau"
    values = [r[name] for r in runs if r[name] is not None and r[name] == r[name]]
    assert len(values) == 3 and defined[name] == 0.75
    assert figures[name] == pytest.approx(sum(values) / 3, rel=1e-12)
    target = Target(name, figures[name])
    fit = calibrate(BASELINE, [target], [Param.parse("platforms.entertainment.purchase_rate:0.001:0.1")], budget=1,
                    seeds=seeds, consumers=200, extra=extra)
    assert fit.start.defined == {name: 0.75} and fit.start.loss == pytest.approx(0.25)
    write_outputs(fit, BASELINE, tmp_path / "cal", seeds, 200)
    assert f"| {name} | {target.value:.4g} | 1 | {target.value:.4g} (3 of 4 seeds) |" in (
        tmp_path / "cal" / "fit_report.md").read_text()


def test_parameter_and_target_specifications(tmp_path: Path) -> None:
    assert Param.parse("consumers.shock_rate:0.0005:0.004") == Param("consumers.shock_rate", 0.0005, 0.004)
    for bad in ("consumers.shock_rate", "a:1:x", "a:2:1"):
        with pytest.raises(CalibrationError):
            Param.parse(bad)
    assert nested({"lenders.micro_a.apr": 0.2, "collections.contact_shape": 0.7}) == {
        "lenders": [{"name": "micro_a", "apr": 0.2}], "collections": {"contact_shape": 0.7}}
    f = tmp_path / "t.yaml"
    f.write_text("targets:\n  - {name: reachable_6m, value: 0.15}\nparams: ['collections.contact_shape:0.3:1']\n")
    targets, params = read_targets(f)
    assert targets == [Target("reachable_6m", 0.15, 1.0)] and params[0].high == 1.0
    f.write_text("- {name: x}\n")
    with pytest.raises(CalibrationError):
        read_targets(f)
    with pytest.raises(CalibrationError, match="unknown target"):
        calibrate(BASELINE, [Target("nonsense", 1.0)], params, budget=1, consumers=1000, extra=SMALL)


def test_a_parameter_is_fitted_once() -> None:
    """Bounds given on the command line replace the targets file's for that parameter; a parameter named
    twice (alone or tied) is refused, since one of its two dimensions would have no effect."""
    file = [Param.parse("lenders.micro_a.apr:0.1:0.16"), Param.parse("collections.contact_shape:0.3:1")]
    merged = with_given(file, [Param.parse("lenders.micro_a.apr:0.1:0.14")])
    assert merged == [Param("collections.contact_shape", 0.3, 1.0), Param("lenders.micro_a.apr", 0.1, 0.14)]
    twice = [Param.parse("lenders.micro_a.apr,lenders.micro_b.apr:0.1:0.2"), Param.parse("lenders.micro_b.apr:0.1:0.2")]
    with pytest.raises(CalibrationError, match=r"more than once: lenders\.micro_b\.apr"):
        calibrate(BASELINE, [Target("micro_yield", 0.11)], twice, budget=1, consumers=1000, extra=SMALL)


@pytest.mark.slow
def test_an_evaluation_is_the_same_whether_its_seeds_run_in_one_process_or_several() -> None:
    """Seeds run in worker processes (spawned: nothing inherited) give exactly the figures of a serial run;
    shares of rare events are pooled over seeds (hits / trials), not averaged."""
    longer = ["days=200", "burn_in_days=200"]  # delinquency spells reach 6 months: reachability is measured
    serial = simulate(BASELINE, TRUE, [1, 2, 3], CONSUMERS, longer, workers=1)
    parallel = simulate(BASELINE, TRUE, [1, 2, 3], CONSUMERS, longer, workers=2)
    assert serial.keys() == parallel.keys()
    assert all(serial[k] == parallel[k] or (serial[k] != serial[k] and parallel[k] != parallel[k]) for k in serial)
    assert serial["reach_6m_spells"] > 0
    # reach_6m_hits / reach_6m_spells are seed means here, so their ratio is the pooled share
    assert serial["reachable_6m"] == pytest.approx(serial["reach_6m_hits"] / serial["reach_6m_spells"])


def test_targets_are_read_by_the_rules_of_scenario_files(tmp_path: Path) -> None:
    """Target files were read by YAML 1.1: `1e-2` was text (refused), `010` octal 8."""
    f = tmp_path / "t.yaml"
    f.write_text("- {name: charge_off_rate, value: 1e-2}\n")
    assert read_targets(f)[0][0].value == pytest.approx(0.01)
    f.write_text("- {name: charge_off_rate, value: 010}\n")
    with pytest.raises(CalibrationError, match="'010' has a leading zero; write 10"):
        read_targets(f)


def test_non_finite_targets_are_refused(tmp_path: Path) -> None:
    """A NaN or infinite target made every loss NaN, and a "fitted" scenario was written anyway."""
    f = tmp_path / "t.yaml"
    for value in (".nan", ".inf", "-.inf"):
        f.write_text(f"targets:\n  - {{name: charge_off_rate, value: {value}}}\n")
        with pytest.raises(CalibrationError, match=r"target charge_off_rate: value -?(nan|inf) is not allowed; "
                                                   r"allowed: a finite number, 0 or between 1e-09 and 1e\+12 "
                                                   r"either side of 0$"):
            read_targets(f)
    f.write_text("- {name: charge_off_rate, value: 0.01, weight: .nan}\n")
    with pytest.raises(CalibrationError, match="weight nan is not allowed"):
        read_targets(f)


def test_parameter_bounds_are_checked_before_any_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The high bound was only met at the first evaluation, blamed on a `--set` the user never gave."""
    import sim.calibration
    import sim.pool

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("simulated before checking the bounds")

    monkeypatch.setattr(sim.calibration, "run_measured", refuse)
    monkeypatch.setattr(sim.calibration, "measure_seeds", refuse)
    with pytest.raises(CalibrationError, match=r"^--params regulation\.rate_cap:0\.1:5: regulation\.rate_cap: 5 "
                                               r"is out of range; allowed: >= 0 and <= 1$"):
        calibrate(BASELINE, [Target("charge_off_rate", 0.01)], [Param.parse("regulation.rate_cap:0.1:5")],
                  budget=1, consumers=1000, extra=SMALL)
    f_params = [Param.parse("regulation.rate_cap:-1:0.5", "t.yaml: params")]
    with pytest.raises(CalibrationError, match=r"^t\.yaml: params regulation\.rate_cap:-1:0\.5: .* -1 is out of"):
        calibrate(BASELINE, [Target("charge_off_rate", 0.01)], f_params, budget=1, consumers=1000, extra=SMALL)


def _fake_fit() -> Fit:
    point = Evaluation({"regulation.rate_cap": 0.2}, {"charge_off_rate": 0.02}, 1.0)
    return Fit([Param("regulation.rate_cap", 0.1, 0.3)], [Target("charge_off_rate", 0.01)], point, point, [point])


def test_the_validate_command_leaves_out_an_item_the_library_lacks() -> None:
    """Fitting a lender only the scenario has (community_merchant_loans' community_credit) printed a validate
    command that stopped at once: unknown lender 'community_credit'. The command must run on every scenario
    validate uses, and say what it left out."""
    import shlex

    import run
    from sim.validation.figures import FIGURES, LIBRARY

    point = Evaluation({"lenders.community_credit.apr": 0.15, "regulation.rate_cap": 0.2}, {}, 1.0)
    fit = Fit([Param("lenders.community_credit.apr", 0.1, 0.2), Param("regulation.rate_cap", 0.1, 0.3)], [], point,
              point, [point])
    command = validate_command(fit)
    words = shlex.split(command, comments=True)
    args = run.parser().parse_args(words[2:])
    assert args.overrides == ["regulation.rate_cap=0.2"]
    for stem in {f.scenario for f in FIGURES}:
        load(str(LIBRARY / f"{stem}.yaml"), args.overrides)
    assert command.endswith("# left out, not in the library's scenarios: lenders.community_credit.apr")


def test_the_report_gives_the_validate_command_that_checks_the_fit_against_every_figure(tmp_path: Path) -> None:
    """Tied paths are each set; the command is one `run.py validate` takes, and its overrides give the fitted
    values in a library scenario."""
    import shlex

    import run

    tied = "lenders.micro_a.apr,lenders.micro_b.apr"
    point = Evaluation({tied: 0.1234567, "collections.contact_shape": 0.7}, {}, 1.0)
    fit = Fit([Param(tied, 0.05, 0.2), Param("collections.contact_shape", 0.5, 1)], [], point, point, [point])
    command = validate_command(fit)
    words = shlex.split(command)
    assert words[:3] == ["python", "run.py", "validate"]
    args = run.parser().parse_args(words[2:])
    assert args.overrides == ["lenders.micro_a.apr=0.1234567", "lenders.micro_b.apr=0.1234567",
                              "collections.contact_shape=0.7"]
    s = load(BASELINE, args.overrides).scenario
    assert {lend.name: lend.apr for lend in s.lenders if lend.name in ("micro_a", "micro_b")} == {
        "micro_a": 0.1234567, "micro_b": 0.1234567}
    write_outputs(_fake_fit(), BASELINE, tmp_path / "cal", [1], 500)
    assert validate_command(_fake_fit()) in (tmp_path / "cal" / "fit_report.md").read_text()


def test_outputs_go_only_to_a_new_or_earlier_calibration_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unrelated folder is refused (by the command, before fitting); an earlier calibration is replaced
    in one step, so an interrupted write leaves it whole."""
    import matplotlib.figure

    import run

    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    (unrelated / "history.csv").write_text("mine\n")
    with pytest.raises(CalibrationError, match="not a calibrate output folder"):
        write_outputs(_fake_fit(), BASELINE, unrelated, [1], 500)
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    monkeypatch.setattr("sim.calibration.calibrate", lambda *_, **__: pytest.fail("fitted into an unrelated folder"))
    assert run.main(["calibrate", BASELINE, "--targets", str(targets), "--params", "regulation.rate_cap:0.1:0.3",
                     "--out", str(unrelated)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --out: {unrelated} exists, is not empty and is not a calibrate")
    assert [p.name for p in unrelated.iterdir()] == ["history.csv"]
    assert (unrelated / "history.csv").read_text() == "mine\n"

    out = tmp_path / "cal"
    fitted = write_outputs(_fake_fit(), BASELINE, out, [1], 500)
    assert load(str(fitted)).scenario.regulation.rate_cap == pytest.approx(0.2)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted)  # after the yaml and history.csv
    with pytest.raises(KeyboardInterrupt):
        write_outputs(_fake_fit(), BASELINE, out, [2], 500)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal", "notes", "t.yaml"]  # no partial folder

    monkeypatch.undo()
    (out / "notes.md").write_text("mine\n")  # a file a calibration does not write: replacing would delete it
    with pytest.raises(CalibrationError, match=r"holds notes\.md, which a calibrate output folder does not write"):
        write_outputs(_fake_fit(), BASELINE, out, [3], 500)
    assert (out / "notes.md").read_text() == "mine\n"


def test_a_target_undefined_at_the_start_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Buyers per DAU counts monthly buyers after the first 30 recorded days. With 20 recorded days every
    evaluation gave NaN, the loss never moved, and the command "fitted" it: exit 0, `fitted nan`, `+nan%` in
    the report."""
    import run

    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: video_buyers_per_dau, value: 0.33}\n")
    out = tmp_path / "cal"
    code = run.main(["calibrate", BASELINE, "--targets", str(targets), "--params",
                     "platforms.video.purchase_rate:0.005:0.05", "--consumers", "500", "--seeds", "1", "--budget", "3",
                     "--set", "days=20", "--set", "burn_in_days=0", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: target(s) video_buyers_per_dau: undefined at the start point")
    assert err.count("\n") == 1
    assert not out.exists()


def test_report_says_n_a_for_an_undefined_figure_and_records_the_fixed_changes(tmp_path: Path) -> None:
    start = Evaluation({"regulation.rate_cap": 0.2}, {"charge_off_rate": 0.02, "npl_recovery": 0.08}, 1.0)
    best = Evaluation({"regulation.rate_cap": 0.25}, {"charge_off_rate": 0.011, "npl_recovery": float("nan")}, 0.99)
    fit = Fit([Param("regulation.rate_cap", 0.1, 0.3)], [Target("charge_off_rate", 0.01), Target("npl_recovery", 0.1)],
              best, start, [start, best], fixed=["days=730", "burn_in_days=30"])
    fitted = write_outputs(fit, BASELINE, tmp_path / "cal", [1], 500)
    report = (tmp_path / "cal" / "fit_report.md").read_text()
    assert "nan" not in report.lower().replace("n/a", "")
    assert "| npl_recovery | 0.1 | 1 | 0.08 | n/a | n/a (undefined" in report
    assert "`--set days=730 --set burn_in_days=30`" in report
    header = fitted.read_text()
    assert "#   days=730\n#   burn_in_days=30\n" in header
    assert load(str(fitted)).scenario.days != 730  # recorded, not applied
    history = (tmp_path / "cal" / "history.csv").read_text().splitlines()
    assert history[2].split(",")[3] == ""  # the undefined figure is an empty cell, not "nan"


QUICK = ["days=60", "burn_in_days=0"]  # buyers per DAU is measured after 30 recorded days
VIDEO = ["platforms.video.purchase_rate:0.005:0.05", "platforms.video.order_value:60:1500"]


def _video_targets(figures: dict[str, float]) -> list[Target]:
    return [Target("video_buyers_per_dau", figures["video_buyers_per_dau"]),
            Target("video_gmv_per_buyer", figures["video_gmv_per_buyer"])]


def test_the_search_starts_from_the_scenario_and_the_fit_is_never_worse(tmp_path: Path) -> None:
    """The search started at the middle of the bounds, whatever the scenario said, and the "fit" it wrote
    could be far worse than the scenario as given (loss 1.9e-05 for classroom's own values, a written fit of
    0.055, reported as `0.069 -> 0.055`). Targets made from the scenario itself: its own values are the best
    point, the first evaluation, and what the fitted file keeps."""
    s = load(BASELINE, QUICK).scenario
    video = next(p for p in s.platforms if p.name == "video")
    own = {"platforms.video.purchase_rate": video.purchase_rate, "platforms.video.order_value": video.order_value}
    targets = _video_targets(simulate(BASELINE, {}, SEEDS, 1000, QUICK))
    seen: list[Evaluation] = []
    fit = calibrate(BASELINE, targets, [Param.parse(p) for p in VIDEO], budget=3, seeds=SEEDS, consumers=1000,
                    extra=QUICK, progress=seen.append)
    assert seen[0] is fit.history[0] is fit.start
    assert fit.start.values == own
    assert fit.start.loss == 0.0  # the scenario as given, on the same seeds as the targets
    assert fit.notes == []
    assert len(fit.history) == 3  # the budget is the number of simulated points (the start counts once)
    assert fit.best is fit.start and not fit.improved and fit.result is fit.start
    assert all(e.loss > 0 for e in fit.history[1:])

    fitted = write_outputs(fit, BASELINE, tmp_path / "cal", SEEDS, 1000)
    written = next(p for p in load(str(fitted), QUICK).scenario.platforms if p.name == "video")
    assert (written.purchase_rate, written.order_value) == (video.purchase_rate, video.order_value)
    assert loss_of(simulate(str(fitted), {}, SEEDS, 1000, QUICK), targets) <= fit.start.loss
    report = (tmp_path / "cal" / "fit_report.md").read_text()
    assert "Loss 0 at the start (the scenario as given); the search found no improvement in 3 evaluations" in report
    assert "no improvement" in fitted.read_text().splitlines()[2]


def test_a_start_outside_the_bounds_is_clipped_and_reported(tmp_path: Path) -> None:
    s = load(BASELINE, QUICK).scenario
    rate = next(p for p in s.platforms if p.name == "video").purchase_rate
    low, high = 2 * rate, 4 * rate
    targets = _video_targets(simulate(BASELINE, {}, SEEDS, 1000, QUICK))
    params = [Param.parse(f"platforms.video.purchase_rate:{low:.10g}:{high:.10g}")]
    fit = calibrate(BASELINE, targets, params, budget=1, seeds=SEEDS, consumers=1000, extra=QUICK)
    assert fit.start.values == {"platforms.video.purchase_rate": pytest.approx(low)}
    assert len(fit.notes) == 1
    assert fit.notes[0].startswith(f"platforms.video.purchase_rate: the scenario's value {rate:.6g} lies outside "
                                   f"the bounds [{low:.6g}, {high:.6g}]; the search started at {low:.6g}")
    write_outputs(fit, BASELINE, tmp_path / "cal", SEEDS, 1000)
    report = (tmp_path / "cal" / "fit_report.md").read_text()
    assert f"- {fit.notes[0]}" in report
    assert "(the scenario as given)" not in report  # the start was not the scenario as given


def test_a_fit_worse_than_its_start_writes_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command reported `loss 0.06868 -> 0.05468` and wrote the later point although the scenario as given
    scored 1.9e-05: the written values are the start's whenever nothing beat it, and the summary says so."""
    import run

    start = Evaluation({"regulation.rate_cap": 0.2}, {"charge_off_rate": 0.0101}, 1e-4)
    worse = Evaluation({"regulation.rate_cap": 0.25}, {"charge_off_rate": 0.013}, 0.09)
    fit = Fit([Param("regulation.rate_cap", 0.1, 0.3)], [Target("charge_off_rate", 0.01)], worse, start,
              [start, worse])
    fitted = write_outputs(fit, BASELINE, tmp_path / "cal", [1], 500)
    assert load(str(fitted)).scenario.regulation.rate_cap == pytest.approx(0.2)
    report = (tmp_path / "cal" / "fit_report.md").read_text()
    assert "Loss 0.0001 at the start (the scenario as given); the search found no improvement" in report
    assert "| charge_off_rate | 0.01 | 1 | 0.0101 | 0.0101 | +1.0% |" in report

    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    monkeypatch.setattr("sim.calibration.calibrate", lambda *_, **__: fit)
    assert run.main(["calibrate", BASELINE, "--targets", str(targets), "--params", "regulation.rate_cap:0.1:0.3",
                     "--out", str(tmp_path / "cal2"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "regulation.rate_cap                      0.2\n" in out
    assert "loss 0.0001 at the start (the scenario as given); the search found no improvement in 2 evaluations" in out
    assert load(str(tmp_path / "cal2" / "baseline_fitted.yaml")).scenario.regulation.rate_cap == pytest.approx(0.2)


def test_the_fitted_file_extends_the_scenario_from_its_final_folder(tmp_path: Path) -> None:
    """An output path ending in `..` (or `.`) has no name of its own: the temporary folder was made a level
    below the output, the relative `extends` was wrong there, and the write failed after the whole search."""
    point = Evaluation({"regulation.rate_cap": 0.2}, {"charge_off_rate": 0.02}, 1.0)
    better = Evaluation({"regulation.rate_cap": 0.25}, {"charge_off_rate": 0.011}, 0.01)
    fit = Fit([Param("regulation.rate_cap", 0.1, 0.3)], [Target("charge_off_rate", 0.01)], better, point,
              [point, better])
    fitted = write_outputs(fit, BASELINE, tmp_path / "cal" / "sub" / "..", [1], 500)
    assert fitted == tmp_path / "cal" / "baseline_fitted.yaml"
    assert load(str(fitted)).scenario.regulation.rate_cap == pytest.approx(0.25)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal"]
    assert sorted(p.name for p in (tmp_path / "cal").iterdir()) == [
        "baseline_fitted.yaml", "fit_report.md", "history.csv", "loss.png"]


def test_the_fitted_file_reproduces_the_figures_reported_for_it(tmp_path: Path) -> None:
    """The fitted file, the validate command and history.csv rounded the fitted values to 6 digits: a purchase rate
    of 0.01104432198 was written 0.0110443, and the fitted file's runs on the same seeds gave other figures than
    the report's (buyers per DAU 0.28718 against 0.28764). They now hold the value simulated."""
    import shlex

    rate = "platforms.video.purchase_rate"
    values = {rate: 0.01104432198, "platforms.video.order_value": 663.7368421}
    figures = simulate(BASELINE, values, SEEDS, 1000, QUICK)
    targets = _video_targets(figures)
    start = Evaluation({rate: 0.0126, "platforms.video.order_value": 893.0}, figures, 1.0)
    best = Evaluation(values, {t.name: figures[t.name] for t in targets}, 0.0)
    fit = Fit([Param.parse(p) for p in VIDEO], targets, best, start, [start, best], fixed=QUICK)
    fitted = write_outputs(fit, BASELINE, tmp_path / "cal", SEEDS, 1000)
    again = simulate(str(fitted), {}, SEEDS, 1000, QUICK)
    assert {t.name: again[t.name] for t in targets} == best.figures
    assert f"{rate}=0.01104432198" in shlex.split(validate_command(fit))
    history = (tmp_path / "cal" / "history.csv").read_text().splitlines()
    assert history[2].split(",")[1:3] == ["0.01104432198", "663.7368421"]


def test_a_fit_is_never_written_over_the_scenario_it_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refitting an earlier fit into its own folder ran the whole search, then stopped naming a temporary folder
    (`.cal.partial-*/baseline_fitted_fitted.yaml: extends: file 'baseline_fitted.yaml' not found`): the new
    outputs replace that folder, and the file they extend with it. It is refused before any simulation, also
    for a scenario of the user's that extends a file there; the earlier fit is left as it was."""
    import run

    out = tmp_path / "cal"
    first = write_outputs(_fake_fit(), BASELINE, out, [1], 500)
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"extends: {first}\nname: mine\n")
    targets = tmp_path / "t.yaml"
    targets.write_text("- {name: charge_off_rate, value: 0.01}\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr("sim.calibration.calibrate", lambda *_, **__: pytest.fail("fitted into the scenario's folder"))
    for scenario, what in ((first, "the scenario fitted"), (mine, "a file the scenario extends")):
        assert run.main(["calibrate", str(scenario), "--targets", str(targets), "--params",
                         "regulation.rate_cap:0.1:0.3", "--out", str(out), "--quiet"]) == 2
        assert capsys.readouterr().err == (f"error: --out: {out}: holds {first}, {what}, which the new outputs would "
                                           "replace; choose another --out (or copy the file elsewhere first)\n")
    with pytest.raises(CalibrationError, match="which the new outputs would replace"):
        write_outputs(_fake_fit(), str(first), out, [1], 500)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_error_column_says_which_way_the_fit_misses(tmp_path: Path) -> None:
    """A margin of -3% against a target of -5% is above it, and was reported as `-40.0%` (divided by the signed
    target); a figure of 0.05 against a target of 0 was reported as a relative error of `+5.0%`. The loss measures
    the error relative to the target's size, or absolute for a target of 0, and the column now says the same."""
    point = Evaluation({"regulation.rate_cap": 0.2}, {"micro_net_margin": -0.03, "charge_off_rate": 0.05}, 1.0)
    targets = [Target("micro_net_margin", -0.05), Target("charge_off_rate", 0.0)]
    fit = Fit([Param("regulation.rate_cap", 0.1, 0.3)], targets, point, point, [point])
    write_outputs(fit, BASELINE, tmp_path / "cal", [1], 500)
    report = (tmp_path / "cal" / "fit_report.md").read_text()
    assert "| micro_net_margin | -0.05 | 1 | -0.03 | -0.03 | +40.0% |" in report
    assert "| charge_off_rate | 0 | 1 | 0.05 | 0.05 | +0.05 (absolute: the target is 0) |" in report
    assert loss_of(point.figures, targets) == pytest.approx(0.4 ** 2 + 0.05 ** 2)


NO_CREDIT = ["days=40", "burn_in_days=0", "platforms.video.finance.bnpl=false",
             "platforms.video.finance.cash_loans=false", "platforms.video.finance.merchant_loans=false",
             "platforms.entertainment.finance.cash_loans=false",
             *(f"lenders.{name}.advertises=false" for name in ("cfc", "micro_a", "micro_b", "micro_c"))]


def test_a_charge_off_rate_with_nothing_lent_is_undefined_not_0() -> None:
    """In a market where nothing is lent the measured charge-off rate was 0.0 (the run summary says undefined):
    a fit to a charge-off target saw "perfect credit", a miss of the target's whole size, instead of the refusal
    an undefined target gets before any search."""
    classroom = str(Path(BASELINE).with_name("classroom.yaml"))
    runs = measure_seeds(classroom, NO_CREDIT, [1], 500, workers=1)
    assert runs[0]["charge_off_rate"] != runs[0]["charge_off_rate"]  # NaN
    with pytest.raises(CalibrationError, match=r"^target\(s\) charge_off_rate: undefined at the start point"):
        calibrate(classroom, [Target("charge_off_rate", 0.01)], [Param.parse("regulation.rate_cap:0.1:0.3")],
                  budget=2, seeds=[1], consumers=500, extra=NO_CREDIT)


@pytest.mark.slow
def test_a_fit_over_worker_processes_starts_one_pool_and_fits_as_one_process_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A new pool each evaluation spent seconds starting workers: the fit now keeps one for all its evaluations,
    and its points are exactly those of a fit in this process."""
    import sim.calibration
    import sim.pool
    import sim.validation.runs

    made: list[int] = []

    def counted(workers: int | None, jobs: int):  # the real pool, counted
        made.append(jobs)
        return sim.pool.process_pool(workers, jobs)

    monkeypatch.setattr(sim.calibration, "process_pool", counted, raising=False)
    monkeypatch.setattr(sim.validation.runs, "process_pool", counted)
    targets = _video_targets(simulate(BASELINE, TRUE, SEEDS, 1000, QUICK))
    params = [Param.parse(p) for p in VIDEO]
    serial = calibrate(BASELINE, targets, params, budget=3, seeds=SEEDS, consumers=1000, extra=QUICK, workers=1)
    assert made == []
    parallel = calibrate(BASELINE, targets, params, budget=3, seeds=SEEDS, consumers=1000, extra=QUICK, workers=2)
    assert made == [len(SEEDS)]
    assert [(e.values, e.figures, e.loss) for e in parallel.history] == \
        [(e.values, e.figures, e.loss) for e in serial.history]
    assert len(serial.history) == 3
