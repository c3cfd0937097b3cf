"""The README's Python examples run as written, in order, as one notebook session (a stale name or argument
there is the first thing a newcomer meets)."""

from __future__ import annotations

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
