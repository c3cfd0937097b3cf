"""Where an output came from: the scenario's hash, the command, the code's commit and the library versions,
gathered in a run's manifest."""

from __future__ import annotations

import hashlib
import json
import platform as _platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.results.summary import seed_of

if TYPE_CHECKING:
    from sim.model import MarketModel
    from sim.scenario import Scenario

PACKAGES = ("platform-finance-sim", "mesa", "numpy", "pandas", "pydantic", "matplotlib", "pyyaml", "tqdm", "scipy")


def scenario_hash(scenario: Scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent.parent.parent  # the repository (this file is in sim/results/)
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

    # quoted as a shell would need it: a `--set 'events=[{day: 90, kind: crackdown}]'` joined with bare spaces could
    # not be pasted back to re-run the output
    return {"command": shlex.join(sys.argv), "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
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
