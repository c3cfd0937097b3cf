"""One teaching session: the scenario, the controls' overrides, the model (or two) and a followed consumer.

Pure Python (no Solara), so it can be tested and timed on its own. Every control change goes through
`sim.scenario_files.load` with the control as a `--set`-style override: a value the schema refuses
leaves the running model untouched and returns a one-line message. An event fired during a run (`fire`) is
given to the running models with `MarketModel.add_event`, which checks it as the scenario with that event
appended, so they play on without restarting (see `sim.app.events`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.app import events, follow
from sim.app.variant import Variant, default_platform, default_values, inert
from sim.model import MarketModel
from sim.scenario import Event, Scenario
from sim.scenario_files import ScenarioError, load, parse_yaml

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT_SCENARIO = LIBRARY / "classroom.yaml"
PLATFORM_FIELDS = {
    "strategy": "finance.strategy",
    "license_lender": "finance.license_lender",
    "bnpl": "finance.bnpl",
    "cash_flow_cover": "finance.merchant_cash_flow_cover",
    "deposit_cap": "deposit.cap",
    "settlement_sweep": "deposit.settlement_sweep",
    "ad_policy": "restructurer_ad_policy",
}
"""Per-platform controls and the scenario path each one sets under `platforms.<name>.`."""
GLOBAL_FIELDS = {"rate_cap": "regulation.rate_cap", "consumers": "consumers.count", "seed": "seed", "days": "days"}
MAX_CONSUMERS = 200_000
"""The most consumers the live dashboard takes: the page plays day by day, side by side two runs in turn, and each
tab has its own models. Measured on two cores (CPU seconds to play 365 days, warm-up included, drawing the views
after each batch; alone / side by side): the classroom market 1.6 / 3.7 s at 50,000 consumers, 3.9 / 11 s at
200,000, 13 / 24 s at 1,000,000; the baseline market (a year of warm-up) 5 / 10 s, 10 / 16 s and 21 / 42 s, and
1.2 GB side by side at 1,000,000. Twice the library's 100,000 keeps a year under about 15 s; more is for the
command line."""
WHOLE = {"consumers", "seed", "days"}
"""Controls that take a whole number: `5000.0`, `1e9` or `5e3` typed there is read as the number it writes."""
MAX_DIGITS = 40
"""A typed whole number with more digits than this is left for the schema to refuse (`1e999999999` would take
long to write out in digits)."""
LABELS = {
    "strategy": "finance strategy", "license_lender": "licence lender", "bnpl": "BNPL",
    "cash_flow_cover": "shop-loan cash-flow cover", "deposit_cap": "deposit cap",
    "settlement_sweep": "settlement sweep", "ad_policy": "intermediary ad policy",
    "rate_cap": "rate cap", "consumers": "number of consumers", "seed": "seed", "days": "days",
}


def unplayable(scenario: Scenario, path: str | Path) -> str | None:
    """Why the live dashboard will not play a scenario file (its consumers outside 1 to `MAX_CONSUMERS`): one line
    naming the file and the key, worded as the consumers field's refusal, with the command line that runs the file.
    None if it plays."""
    count = scenario.consumers.count
    if 1 <= count <= MAX_CONSUMERS:
        return None
    why = (": the dashboard needs at least 1 consumer, to follow one" if count < 1
           else " for the live dashboard, which plays day by day")
    return (f"{path}: consumers.count = {count}: {count} is out of range{why}; allowed: 1 to {MAX_CONSUMERS:,} "
            f"(run it with: python run.py run {path})")


def library() -> list[str]:
    """Scenario files of the library, by file name."""
    return sorted(p.name for p in LIBRARY.glob("*.yaml"))


def key_of(control: str, platform: str | None = None) -> str:
    """The dotted scenario path a control sets."""
    if platform is not None:
        return f"platforms.{platform}.{PLATFORM_FIELDS[control]}"
    return GLOBAL_FIELDS[control]


def value_text(value: Any) -> str:
    """A control value as a YAML scalar for an override."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def whole_text(text: str) -> str:
    """A whole number typed with a decimal point or an exponent (`5000.0`, `1e9`, `5e3`) as its digits, so that the
    schema judges the number (1e9 consumers: out of range) rather than its notation: it refuses a point or an
    exponent in a file ("write a whole number: 5000"), which is right for a file but not for a field where an
    instructor types a count. Anything else (`5000.5`, `abc`) is left as typed, for the schema's own message."""
    if not re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][+-]?\d+)?", text):
        return text
    number = Decimal(text)  # exact: a float would turn seed 12345678901234567.0 into another number
    if number.adjusted() > MAX_DIGITS or number != number.to_integral_value():
        return text
    return str(int(number))


def _release(runs: list[Run]) -> None:
    """Let replaced models be freed. Mesa 3.3 counts agent ids in a class-level dict keyed by model
    (`Agent._ids`), which keeps every model ever built alive; Mesa 3.5 has no such dict."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        for run in runs:
            ids.pop(run.model, None)


@dataclass
class Run:
    """One model of the session and the recorded days of the consumer it follows."""

    label: str
    model: MarketModel
    follow: list[dict[str, Any]] = field(default_factory=list)
    fees_at_start: dict[str, float] | None = None
    """Each intermediary's fees at the end of the unrecorded burn-in (None before it has run): figures "to date"
    count recorded days only, as the day counter, the time charts and the command line's outputs do."""

    @property
    def day(self) -> int:
        return max(self.model.day - 1, 0)

    def burn_in(self) -> None:
        """Run the unrecorded burn-in if it has not run, and note the totals it leaves."""
        if self.fees_at_start is None:
            self.model.burn_in()
            self.fees_at_start = {r.name: float(r.fees) for r in self.model.restructurer_list}

    def recorded_fees(self, name: str) -> float:
        """An intermediary's fees on recorded days."""
        r = next(r for r in self.model.restructurer_list if r.name == name)
        return float(r.fees) - (self.fees_at_start or {}).get(name, float(r.fees))


class Session:
    """The state behind one browser tab. Methods take a lock, so a play thread and the controls can share it."""

    def __init__(self, scenario: str | Path = DEFAULT_SCENARIO) -> None:
        self.lock = threading.RLock()
        self.waiting = 0  # threads waiting in `hold` for the lock: a play batch gives way to them
        self._waiting_lock = threading.Lock()
        self.drawn = (0, 0)  # (generation, day) of the runs as the page last drew them (`mark_drawn`)
        self._drawn = threading.Condition()
        self.path = str(scenario)
        self.start_path = self.path  # the file the app was started with (it stays in the Scenario dropdown)
        self.settings: dict[str, str] = {}  # dotted key -> value text, applied as overrides
        self.labels: dict[str, str] = {}  # dotted key -> control name for messages
        self.compare = False
        self.variant = Variant()
        self.follow_id = 0
        self.error: str | None = None
        self.runs: list[Run] = []
        self.fired: list[Event] = []  # events fired since the last rebuild, in order (a rebuild clears them)
        self.generation = 0  # bumped by every rebuild: a play batch started on older runs stops
        self.speed = 0.0  # simulated days per second over the last play batch
        self.play_threads = 0  # running play threads: after Pause, one still finishes its batch
        self.play_threads_lock = threading.Lock()
        # Set by the Pause button beside the page state: the play thread stops on it and sets the state again,
        # so a pause still takes if a redraw from the play thread overwrote the button's state update
        self.pause_requested = False
        self.rng = np.random.default_rng()  # for picking a random consumer to follow
        self.scenario = self._load(self.settings)
        self.variant = Variant(default_platform(self.scenario))
        self._last_batch: float | None = None
        self.rebuild()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """The session's lock for a control or a drawing, ahead of the play thread. The lock is not fair: a play
        batch takes it day after day, and a button pressed while playing (an event fired) waited for it while the
        runs played on for hundreds of days; `play_batch` ends its batch, and starts none, while someone waits."""
        with self._waiting_lock:
            self.waiting += 1
        try:
            self.lock.acquire()
        finally:
            with self._waiting_lock:
                self.waiting -= 1
        try:
            yield
        finally:
            self.lock.release()

    def mark_drawn(self, at: tuple[int, int]) -> None:
        """The page has drawn the runs of generation `at[0]` on day `at[1]`."""
        with self._drawn:
            self.drawn = max(self.drawn, at)
            self._drawn.notify_all()

    def wait_drawn(self, timeout: float) -> bool:
        """Wait until the page has drawn the runs as they are now (at most `timeout` seconds); whether it has.

        The play thread waits so after each batch. A button's handler (an event fired while playing) draws the
        page in its own thread, and the play thread's redraw then only marks that drawing out of date: played on
        at once, it marked every drawing out of date, the handler redrew the page over and over, never returned,
        and the page froze (no further clicks, not even Pause, were handled) while the runs played on."""
        target = (self.generation, self.day)
        with self._drawn:
            return self._drawn.wait_for(lambda: self.drawn >= target, timeout)

    # --- scenario and overrides ---------------------------------------------------------------

    def overrides(self, settings: dict[str, str] | None = None) -> list[str]:
        return [f"{k}={v}" for k, v in (self.settings if settings is None else settings).items()]

    def _load(self, settings: dict[str, str]) -> Scenario:
        """The scenario file with the controls' overrides. A rule between two controls is blamed on the latest
        change (the last override): `set` moves the control it changes to the end."""
        overrides = self.overrides(settings)
        names = {f"{k}={v}": f"{self.labels.get(k, k)} = {'(none)' if v == 'null' else v}" for k, v in settings.items()}
        return load(self.path, overrides, names).scenario

    def _playable(self, settings: dict[str, str] | None = None) -> Scenario:
        """`_load` (with the controls in force unless `settings` are given), refusing a file the page will not play
        (`unplayable`) with a ScenarioError: the file is read again on every rebuild, and it may have been edited
        since the app started (to a million consumers, which no control had asked for)."""
        scenario = self._load(self.settings if settings is None else settings)
        refused = unplayable(scenario, self.path)
        if refused:
            raise ScenarioError(refused)
        return scenario

    def scenarios(self) -> dict[str, str]:
        """The Scenario dropdown: file name -> path. The library's files, and the file the app was started with
        (a teacher's own) if it is not one of them, so it can be chosen again after trying another."""
        choices = {name: str(LIBRARY / name) for name in library()}
        start = Path(self.start_path).resolve()
        if start.parent != LIBRARY.resolve():
            name = start.name if start.name not in choices else f"{start.name} ({start.parent})"
            choices = {name: str(start), **choices}
        return choices

    @property
    def scenario_name(self) -> str:
        """The current scenario as the dropdown names it."""
        here = Path(self.path).resolve()
        return next((name for name, path in self.scenarios().items() if Path(path).resolve() == here), here.name)

    def choose_scenario(self, name: str) -> str | None:
        """Switch to a scenario of the dropdown (clears the controls); a message if it cannot be loaded."""
        path = self.scenarios().get(name)
        if path is None:
            return self._fail(f"scenario: {name!r} is not in the list; choose one of {', '.join(self.scenarios())}")
        with self.lock:
            old = self.path
            self.path = path
            try:
                scenario = self._playable({})
            except (ScenarioError, ValueError) as exc:
                self.path = old
                return self._fail(str(exc))
            self.settings, self.labels, self.scenario = {}, {}, scenario
            if not self.variant.targets(scenario):
                self.variant = Variant(default_platform(scenario))
            return self.rebuild(scenario)

    def set(self, control: str, value: Any, platform: str | None = None) -> str | None:
        """Apply a control (rebuilding the model) or refuse it with a one-line message."""
        key = key_of(control, platform)
        text = value_text(value)
        if control in WHOLE:
            text = whole_text(text)
        # the changed control last: a rule it breaks with another control names this one
        settings = {**{k: v for k, v in self.settings.items() if k != key}, key: text}
        with self.lock:
            self.labels[key] = f"{platform} {LABELS[control]}" if platform else LABELS[control]
            if not text:  # a field cleared and entered: YAML reads it as null ("rate cap = : null is not a number")
                return self._fail(f"{self.labels[key]} is empty: type a value")
            refused = (self._refuse_consumers(settings, key) if control == "consumers"
                       else self._refuse_in_app(control, settings[key]))
            if refused:
                return self._fail(refused)
            try:
                scenario = self._playable(settings)
            except (ScenarioError, ValueError) as exc:
                return self._fail(str(exc))
            if scenario == self.scenario:
                # the value in force, perhaps spelt otherwise ("0.240", "5e3"): a rebuild would only restart the run
                self.error = None
                return None
            self.settings, self.scenario = settings, scenario
            return self.rebuild(scenario)

    def _refuse_in_app(self, control: str, text: str) -> str | None:
        """Refusals worded for the control rather than the scenario file."""
        if control != "days" or not self.scenario.events:
            return None
        try:
            days = int(text)
        except ValueError:
            return None  # the schema's own message names the bad value
        last = max(e.day for e in self.scenario.events)
        if days < last:
            # the schema refuses an event after the last day (it would silently never happen)
            return f"days: {days} is before this scenario's event on day {last}; choose at least {last}"
        return None

    def _refuse_consumers(self, settings: dict[str, str], key: str) -> str | None:
        """A whole number of consumers outside what the live dashboard plays (its range, not the file's: none leaves
        nobody to follow, and `MAX_CONSUMERS`), with the command line that runs a bigger market with these
        controls. Anything else is for the schema to judge."""
        try:
            count = parse_yaml(settings[key])  # as the override will read it
        except Exception:
            return None
        if not isinstance(count, int) or isinstance(count, bool) or 1 <= count <= MAX_CONSUMERS:
            return None
        said, allowed = f"{LABELS['consumers']} = {settings[key]}", f"allowed: 1 to {MAX_CONSUMERS:,}"
        if count < 1:
            # the schema allows 0 (a market of shops only), but the dashboard has nobody to follow
            return f"{said}: {count} is out of range: the dashboard needs at least 1 consumer, to follow one; {allowed}"
        try:
            self._load(settings)  # a market the command line can run (the schema's own limit is higher)
        except (ScenarioError, ValueError):
            return f"{said}: {count} is out of range for the live dashboard, which plays day by day; {allowed}"
        others = {k: v for k, v in settings.items() if k != key}
        command = events.command_line(self.path, int(others.get("days", self.scenario.days)), self.overrides(others),
                                      [])
        # `--consumers` alone keeps the file's shops: scale them too, so the bigger market has the same proportions
        shops = round(self.scenario.merchants.count * count / max(self.scenario.consumers.count, 1))
        return (f"{said}: {count} is out of range for the live dashboard, which plays day by day; {allowed} (for a "
                f"bigger market: {command} --consumers {count} --set merchants.count={max(shops, 1)})")

    def set_compare(self, on: bool, platform: str | None = None, setting: str | None = None,
                    value: str | None = None) -> str | None:
        """Side-by-side mode (see `sim.app.variant`). Without a value, B takes a valid one that differs from A's."""
        with self.lock:
            v = self.variant
            new = Variant(platform or v.platform or default_platform(self.scenario), setting or v.setting, v.value)
            if value is not None:
                new.value = value_text(value)
                if not new.value:  # B's field cleared and entered: YAML reads it as null, as in A's fields (`set`)
                    return self._fail(f"side-by-side refused: run B's value ({new.describe().rstrip(' =')}) is "
                                      "empty: type a value")
            elif on:
                new.value = self._first_valid(new, default_values(self.scenario, new.platform, new.setting))
            try:
                scenario = self._playable()  # the file as it is now, for A (and B reads it too)
            except (ScenarioError, ValueError) as exc:
                return self._fail(str(exc))
            b = None
            if on:
                # B first: a value B cannot take (a typo in "to") changes nothing, and run A keeps its day
                try:
                    b = self._scenario_b(new)
                except (ScenarioError, ValueError) as exc:
                    return self._fail(f"side-by-side refused: {exc}")
            if bool(on) == self.compare and scenario == self.scenario and (b is None or b == self._scenario_b(v)):
                # the runs would be the ones in progress ("to" typed again as "0.0" for 0): keep them going
                self.variant, self.error = new, None
                return None
            self.compare, self.variant = bool(on), new
            return self.rebuild(scenario)

    def _scenario_b(self, variant: Variant) -> Scenario:
        overrides = variant.overrides(self.scenario)
        return load(self.path, [*self.overrides(), *overrides],
                    {o: f"run B: {variant.describe()}" for o in overrides}).scenario

    def _first_valid(self, variant: Variant, values: list[str]) -> str:
        for value in values:
            try:
                self._scenario_b(Variant(variant.platform, variant.setting, value))
                return value
            except (ScenarioError, ValueError):
                continue
        return values[0] if values else ""

    def same_runs(self) -> bool:
        """Side by side with a run B that is run A (B's value is already A's): the dashed lines hide behind
        the solid ones, which looks like "no effect"."""
        return len(self.runs) > 1 and self.runs[1].model.scenario == self.runs[0].model.scenario

    def inert_settings(self) -> list[str]:
        """A note for each platform whose strategy or BNPL switch changes nothing in run A or B (`variant.inert`),
        labelled with the run when only B has it."""
        notes: dict[str, None] = {}
        for run in self.runs:
            for p in run.model.scenario.platforms:
                note = inert(p)
                if note and (run.label == "A" or note not in notes):
                    notes[note if run.label == "A" else f"run B: {note}"] = None
        return list(notes)

    def _fail(self, message: str) -> str:
        self.error = message
        return message

    def value(self, control: str, platform: str | None = None) -> Any:
        """The control's current value in the scenario in force."""
        node: Any = self.scenario
        if platform is not None:
            node = next(p for p in self.scenario.platforms if p.name == platform)
            parts = PLATFORM_FIELDS[control].split(".")
        else:
            parts = GLOBAL_FIELDS[control].split(".")
        for part in parts:
            node = getattr(node, part)
        return node

    # --- running ------------------------------------------------------------------------------

    def rebuild(self, scenario: Scenario | None = None) -> str | None:
        """Build the model(s) afresh (the Reset button) from the scenario file as it is now, with the controls'
        overrides. Run B is read from the file when it is built, so run A is too: A from the file as it was and B
        from an edited one differed by more than B's one setting, and Reset did not take up an edit, although an
        event refused after an edit says to press it. A file that no longer loads, or that the page will not play,
        gets a message and the runs in progress are left alone. `scenario`: the file with the controls, as the caller
        has just read and checked it (read again otherwise)."""
        with self.lock:
            try:
                scenario = scenario if scenario is not None else self._playable()
            except (ScenarioError, ValueError) as exc:
                if not self.runs:
                    raise  # the first build: the page has nothing to keep
                return self._fail(str(exc))
            self.scenario = scenario
            self.error = None
            message = None
            runs = [Run("A", MarketModel(self.scenario, rng=self.scenario.seed))]
            if self.compare:
                try:
                    runs.append(Run("B", MarketModel(self._scenario_b(self.variant), rng=self.scenario.seed)))
                except (ScenarioError, ValueError) as exc:  # a change to A that B cannot take
                    self.compare = False
                    message = self._fail(f"side-by-side refused: {exc}")
            _release(self.runs)
            self.runs = runs
            self.fired = []  # the new runs start at day 0 with the scenario's own events only
            self.generation += 1
            self.follow_id = min(self.follow_id, max(runs[0].model.consumers.n - 1, 0))
            self.speed = 0.0
            self._last_batch = None
            return message

    def close(self) -> None:
        """The tab is gone: let its models be freed. They stay usable (agents are only made when a model
        is built), so a play batch still running when the page closes finishes harmlessly."""
        with self.lock:
            _release(self.runs)

    @property
    def day(self) -> int:
        """Recorded days simulated so far."""
        return self.runs[0].day

    @property
    def finished(self) -> bool:
        return not self.runs[0].model.running

    def step(self, days: int = 1) -> int:
        """Advance every run by up to `days` recorded days; the number of days advanced."""
        done = 0
        with self.lock:
            for _ in range(days):
                if self.finished:
                    break
                for run in self.runs:
                    run.burn_in()
                    run.model.step()
                self._record()
                done += 1
        return done

    def start_playing(self) -> None:
        """A play thread starts: its first batch is timed from its own start, so that a pause just before
        does not count as slow simulation."""
        with self.lock:
            self._last_batch = None

    def play_batch(self, budget_s: float = 0.25, max_days: int = 60, generation: int | None = None) -> int:
        """Step for about `budget_s` seconds (at least one day) and update `speed`.

        The lock is taken one day at a time (so controls and drawing get in between), hence a rebuild
        can land mid-batch: the batch then stops, and does not play the new runs. With `generation`
        (a play thread's), a batch on runs rebuilt since does nothing. While a control waits for the lock
        (`hold`), the batch ends at the next day, and a new one does nothing.

        `speed` is days over the wall time since the previous batch ended, so it includes drawing
        the page in between: the rate students see. The unrecorded burn-in is not counted."""
        if self.waiting:
            return 0  # a control waits for the lock: let it in first
        with self.lock:
            generation = self.generation if generation is None else generation
            if generation != self.generation:
                return 0
            for run in self.runs:
                if run.fees_at_start is None:
                    run.burn_in()
                    self._last_batch = None
        started = time.perf_counter()
        done = 0
        while done < max_days:
            with self.lock:
                if generation != self.generation or self.finished:
                    break
                done += self.step(1)
            if time.perf_counter() - started >= budget_s or self.waiting:
                break
        with self.lock:
            if generation != self.generation:
                return done  # rebuilt: the new runs' speed starts afresh
            now = time.perf_counter()
            since = self._last_batch if self._last_batch is not None and now - self._last_batch < 5.0 else started
            if done and now > since:
                self.speed = done / (now - since)
            self._last_batch = now
        return done

    # --- events fired during the run ----------------------------------------------------------------

    def events(self) -> list[Event]:
        """The runs' events: the scenario's own, then those fired in the dashboard (in the order they apply on a
        day both fall on)."""
        return [*self.scenario.events, *self.fired]

    def fire(self, kind: str, target: str | None = None, value: Any = None) -> str | None:
        """Fire an event on the next recorded day of the run(s) in progress, without restarting them: it takes
        effect tomorrow, as a scenario event of that day does (`MarketModel.add_event`, which checks it as the
        scenario with the event appended). Refused (a message, nothing changed) if run A or run B cannot take it,
        or if the file has changed since the runs started (the command line would not give these runs)."""
        with self.lock:
            day = self.day + 1
            if self.finished:
                return self._fail(f"event: the run has ended on day {self.day}, so there is no tomorrow to fire it on; "
                                  "press Reset (or set Days higher) and fire it during the run")
            new = events.draft(day, kind, target, value)
            label = f"event {events.describe(new)} from day {day}"
            for run, extra in zip(self.runs, ([], self.variant.overrides(self.scenario)), strict=False):
                try:
                    started = load(self.path, [*self.overrides(), *extra]).scenario
                except (ScenarioError, ValueError):
                    started = None  # the file no longer loads: it has changed since the run started
                if started is None or started.model_copy(update={"events": run.model.scenario.events}) != \
                        run.model.scenario:
                    return self._fail(f"event: {self.path} has changed since run {run.label} started; press Reset "
                                      "to run the file as it is now")
                try:
                    run.model.check_event(new, label=label)  # A and B both take it, or neither does
                except ScenarioError as exc:
                    return self._fail(f"{'run B: ' if run.label == 'B' else ''}{exc}")
            scheduled = [run.model.add_event(new, label=label) for run in self.runs]
            self.fired.append(scheduled[0])
            self.error = None
            return None

    def command_lines(self) -> dict[str, str]:
        """Each run as `python run.py run ...` (label -> command), to reproduce it: with the events fired, the run's
        whole `events` list (`--set events=` replaces the file's)."""
        fired = self.events() if self.fired else []
        return {run.label: events.command_line(self.path, self.scenario.days, [*self.overrides(), *extra], fired)
                for run, extra in zip(self.runs, ([], self.variant.overrides(self.scenario)), strict=False)}

    def marks(self) -> list[dict[str, Any]]:
        """The charts' vertical marks: each event's day and what it does, and whether it was fired here."""
        own = [{"day": e.day, "text": events.describe(e), "fired": False} for e in self.scenario.events]
        return own + [{"day": e.day, "text": events.describe(e), "fired": True} for e in self.fired]

    # --- the followed consumer ------------------------------------------------------------------

    def follow(self, consumer: int) -> str | None:
        """Follow another consumer from today on; a message if the id is out of range."""
        with self.lock:
            n = self.runs[0].model.consumers.n
            if n == 0:
                return self._fail("this market has no consumers to follow")
            if not 0 <= consumer < n:
                return self._fail(f"consumer id: {consumer} is out of range; allowed: 0 to {n - 1}")
            self.follow_id = int(consumer)
            self.runs[0].follow = []
            self._record()
            self.error = None
            return None

    def follow_random(self) -> str | None:
        """Follow a random consumer who has taken a loan (in the warm-up or since); a message if nobody has."""
        with self.lock:
            who = follow.random_borrower(self.runs[0].model, self.rng)
            if who is None:
                return self._fail(f"random borrower: {self._no_borrower()}")
            return self.follow(who)

    def _no_borrower(self) -> str:
        """Why there is no borrower to follow, as things stand: before the warm-up (which the first Step or Play
        runs), during the run, or after it. It said "press Step or Play" in all three, also once a small market's
        warm-up had run without a loan, and on a finished run, where Step does nothing."""
        run = self.runs[0]
        burn = run.model.scenario.burn_in_days
        warm_up = f"the unrecorded {burn}-day warm-up"
        if run.fees_at_start is None:
            first = f"are made in {warm_up}, which the first Step or Play runs" if burn else "can come on day 1"
            return f"nobody has borrowed yet; the first loans {first}"
        n = run.model.consumers.n
        market = f"in this market of {n:,} consumer{'' if n == 1 else 's'}"
        if self.finished:
            played = f"{self.day} day{'' if self.day == 1 else 's'}"
            days = f"{played} and {warm_up}" if burn else played
            return (f"nobody borrowed in this run ({days}) {market}; follow a consumer by id, or set more consumers "
                    "or another seed (Reset alone plays the same run again)")
        since = f" ({warm_up} included)" if burn else ""
        return (f"nobody has borrowed by day {self.day}{since} {market}; follow a consumer by id, or try again "
                "later in the run")

    def _record(self) -> None:
        run = self.runs[0]
        m = run.model
        if not m.t or not 0 <= self.follow_id < m.consumers.n:
            return
        row = m.consumers[self.follow_id]
        entry = {
            "day": run.day, "cash": float(row["cash"]), "debt": float(row["debt"]), "orders": int(row["orders"]),
            "bnpl_orders": int(row["bnpl_orders"]), "loans_taken": int(row["loans_taken"]),
            "days_overdue": follow.days_overdue(m, self.follow_id), "client_of": int(row["client_of"]),
        }
        if run.follow and run.follow[-1]["day"] == entry["day"]:
            run.follow[-1] = entry
        else:
            run.follow.append(entry)
