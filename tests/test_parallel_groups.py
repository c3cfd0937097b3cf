"""The suite relies on pytest-xdist's `--dist loadgroup`: tests that share model runs (the per-process cache
of `tests.conftest.run_small`) or a Dask cluster carry an `xdist_group` mark so that they run on one worker.
pytest 9.2 broke this silently (pytest-xdist#1386; pyproject.toml pins pytest below 9.2): the marks were
ignored, the runs were made twice and nothing failed. This checks the grouping itself, in a real
`pytest -n 2 --dist loadgroup` on a throwaway test file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GROUPED = 6

TESTS = "import pytest\n\n" + "".join(
    f'@pytest.mark.xdist_group("shared")\ndef test_grouped_{i}():\n    pass\n\n\ndef test_free_{i}():\n    pass\n\n\n'
    for i in range(GROUPED)
)


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(TESTS)
    cmd = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
           "-o", "addopts=", "test_grouped.py"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout[-2000:]
    workers = re.findall(r"\[(gw\d)\].*PASSED test_grouped\.py::test_grouped_\d", out.stdout)
    assert len(workers) == GROUPED, out.stdout[-2000:]
    assert len(set(workers)) == 1, f"one group ran on {sorted(set(workers))}"
