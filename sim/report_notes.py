"""Generated reports with a hand-written part: what follows `NOTES_MARKER` survives a regeneration.

docs/validation.md, docs/stylized_facts.md and docs/performance.md are written by commands, but their notes
(why a figure fails, what a measurement was run on) are written by people and must not be lost when the
tables are regenerated, nor copied into code where they would drift from the report.
"""

from __future__ import annotations

from pathlib import Path

NOTES_MARKER = "<!-- notes -->"


def notes_of(previous: Path) -> str:
    """The hand-written part of a report (from the marker on), or an empty notes section."""
    old = previous.read_text(encoding="utf-8") if previous.exists() else ""
    return old[old.index(NOTES_MARKER):] if NOTES_MARKER in old else f"{NOTES_MARKER}\n## Notes\n"


def keep_notes(new: str, previous: Path) -> str:
    """The generated text `new` followed by the notes of the report it replaces."""
    return new.rstrip("\n") + "\n\n" + notes_of(previous)
