"""One seed per run: the same scenario and seed give identical results; streams are independent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import MarketModel
from tests.conftest import run_small, small_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_same_seed_gives_identical_tables() -> None:
    a, b = run_small(seed=5), run_small(seed=5)
    pd.testing.assert_frame_equal(a.market_table(), b.market_table())
    pd.testing.assert_frame_equal(a.lender_table(), b.lender_table())


def test_other_seed_gives_other_results() -> None:
    a, b = run_small(seed=5), run_small(seed=6)
    assert not a.market_table()["gmv"].equals(b.market_table()["gmv"])


def test_scenario_seed_is_used_when_no_rng_is_given() -> None:
    s = small_scenario(seed=9, days=10)
    a = MarketModel(s).run().market_table()
    b = MarketModel(s, rng=9).run().market_table()
    pd.testing.assert_frame_equal(a, b)


def test_the_same_seed_sequence_gives_the_same_market_twice() -> None:
    """A SeedSequence (e.g. a child spawned for a batch) is a seed like an integer: passing the same object
    twice must not give a second, different market (`spawn` advances its caller)."""
    s = small_scenario(days=10)
    seq = np.random.SeedSequence(2024)
    a = MarketModel(s, rng=seq).run().market_table()
    b = MarketModel(s, rng=seq).run().market_table()
    pd.testing.assert_frame_equal(a, b)
    c = MarketModel(s, rng=np.random.SeedSequence(2024)).run().market_table()
    pd.testing.assert_frame_equal(a, c)


def test_common_random_numbers_across_strategies() -> None:
    """Two scenarios that differ only in a strategy see the same consumers and the same shocks."""
    a = MarketModel(small_scenario(days=5), rng=3)
    b = MarketModel(small_scenario(days=5, platforms={"community": {"restructurer_ad_policy": "ban"}}), rng=3)
    for column in ("risk", "income", "platforms", "payday"):
        assert np.array_equal(getattr(a.consumers, column), getattr(b.consumers, column))
    a.run(), b.run()
    assert a.market_table()["shocks"].tolist() == b.market_table()["shocks"].tolist()


def _other_project_interpreters() -> list[Path]:
    """Interpreters of the project's other virtualenvs (`make test` makes `.venv`; CI adds `.venv312` with
    Python 3.12 and the newest Mesa and NumPy), not the one running these tests."""
    here = Path(sys.prefix).resolve()
    return [venv / "bin" / "python" for venv in sorted(ROOT.glob(".venv*"))
            if venv.resolve() != here and (venv / "bin" / "python").exists()]


# A run long enough to reach a binomial draw that NumPy 2.4 and 2.5 make differently (found by search).
CROSS_CHECK_RUN = ("closed_loop", 1)
HASH_ONE_RUN = """
import json, platform, sys
import mesa, numpy
from benchmarks.identity_check import _scenarios, run_hashes
name, seed = sys.argv[1], int(sys.argv[2])
versions = f"Python {platform.python_version()}, NumPy {numpy.__version__}, Mesa {mesa.__version__}"
print(json.dumps({"versions": versions, "hashes": run_hashes(name, _scenarios()[name], seed)}))
"""


def _hashes_of_the_cross_check_run(python: str | Path, **env: str) -> dict[str, Any]:
    """The cross-check run's hashes and versions, run by `python` in a child process with `env` added."""
    done = subprocess.run([str(python), "-c", HASH_ONE_RUN, *map(str, CROSS_CHECK_RUN)], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=300,
                          check=False)
    assert done.returncode == 0, f"{python} could not run the model:\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _hashes_here() -> dict[str, str]:
    from benchmarks.identity_check import _scenarios, run_hashes

    name, seed = CROSS_CHECK_RUN
    return run_hashes(name, _scenarios()[name], seed)


def test_same_outputs_on_the_other_supported_interpreter() -> None:
    """The same scenario and seed give byte-identical tables and summary on Python 3.11 with NumPy 2.4 and
    Mesa 3.3 as on Python 3.12 with NumPy 2.5 and Mesa 3.5 (float sums are exactly rounded with `fsum`,
    whose result, unlike built-in `sum`'s since 3.12, does not depend on the Python version; binomial
    draws come from `sim.binomial`, not from NumPy's sampler, which 2.5 changed)."""
    others = _other_project_interpreters()
    if not others:
        pytest.skip("no other project virtualenv (.venv*) to compare with")
    expected = _hashes_here()
    for python in others:
        theirs = _hashes_of_the_cross_check_run(python)
        assert theirs["hashes"] == expected, f"outputs differ from those of {python} ({theirs['versions']})"


def _simd_beyond_baseline() -> list[str]:
    """The CPU extensions above its build's baseline that NumPy dispatches to on this machine."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def test_same_outputs_whatever_simd_the_cpu_offers() -> None:
    """A seed gives the same tables on a CPU without AVX-512 or AVX2 as on this one. NumPy picks its float64
    exp and log (and `**`, log1p, expm1) for the CPU at run time, and the AVX-512 ones differ in the last bit, so
    the model's rules use `sim.portable_math` instead. The older CPU is this one with NumPy's dispatch and
    glibc's AVX2/FMA variants of its maths switched off."""
    extensions = _simd_beyond_baseline()
    if not extensions:
        pytest.skip("this CPU offers NumPy nothing above its baseline: there is no older CPU to compare with")
    older_cpu = _hashes_of_the_cross_check_run(sys.executable, NPY_DISABLE_CPU_FEATURES=" ".join(extensions),
                                               GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F")
    assert older_cpu["hashes"] == _hashes_here(), f"outputs differ with {' '.join(extensions)} off"
