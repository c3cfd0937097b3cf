"""Writing a run folder safely: into a temporary folder renamed into place, never over a folder or file that is
not an earlier output, leaving nothing behind on failure or interrupt."""

from __future__ import annotations

import errno
import itertools
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.results.picture import dashboard
from sim.results.summary import summarize

if TYPE_CHECKING:
    from sim.model import MarketModel

RUN_FILES = frozenset({"scenario.yaml", "manifest.json", "market.csv", "platforms.csv", "lenders.csv", "summary.json",
                       "dashboard.png"})


def write_run(model: MarketModel, target: Path, scenario_yaml: str, manifest_data: dict[str, Any], *,
              unique: bool = False) -> Path:
    """Write every output into a temporary folder next to `target`, then rename it into place; return where it
    went (with `unique`, `target` or the first free `target-2`, `target-3`...)."""
    folder = atomic_folder(Path(target), unique=unique)
    with folder as tmp:
        _write_files(model, tmp, scenario_yaml, manifest_data)
    return folder.path


class WriteFailed(OSError):
    """The file system refused an output while it was written (disk full, quota, permissions changed, I/O error):
    one line for the command line, after the partial output has been removed."""


class atomic_folder:  # lower case: used as the function it was, `with atomic_folder(target) as tmp:`
    """A temporary folder next to `target` to write into, renamed to `target` when the block completes
    (replacing an earlier output there, or with `unique` taking the first free name of `target`, `target-2`...,
    so that two runs started in the same second keep both outputs). On any failure or interrupt nothing is left
    behind: neither the temporary folder nor the parent folders this call created. `path` is where it went."""

    def __init__(self, target: Path, *, unique: bool = False) -> None:
        self.target, self.unique = Path(target), unique
        self.path = self.target

    def __enter__(self) -> Path:
        self.created = make_parents(self.target.parent)
        # Named before it is made, so that an interrupt arriving inside mkdir still finds it to remove.
        self.tmp = self.target.parent / f".{self.target.name}.partial-{secrets.token_hex(6)}"
        try:
            self.tmp.mkdir()
        except BaseException:
            self._clean()
            raise
        return self.tmp

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, *_: Any) -> None:
        if kind is None:
            try:
                self.path = _new_name(self.tmp, self.target) if self.unique else _replace(self.tmp, self.target)
                return
            except BaseException as exc:
                self._clean()
                raise_if_refused(exc, self.target)
                raise
        self._clean()
        raise_if_refused(error, self.target)

    def _clean(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        remove_empty(self.created)


def raise_if_refused(error: BaseException | None, target: Path) -> None:
    """Raise `WriteFailed` (naming `target`) in place of an OSError the file system gave (it has an errno), which a
    user cannot act on as a traceback; anything else (a bug, an interrupt) is left to propagate as it is."""
    if isinstance(error, OSError) and not isinstance(error, WriteFailed) and error.errno is not None:
        raise WriteFailed(error.errno, f"{target}: could not be written ({error.strerror}); nothing written") \
            from error


def make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing ancestors; return those created, deepest first (for `remove_empty`)."""
    folder = Path(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove folders made by `make_parents`, deepest first, stopping at the first that is not empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _write_files(model: MarketModel, folder: Path, scenario_yaml: str, manifest_data: dict[str, Any]) -> None:
    (folder / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
    model.market_table().to_csv(folder / "market.csv", index=False)
    model.platform_table().to_csv(folder / "platforms.csv", index=False)
    model.lender_table().to_csv(folder / "lenders.csv", index=False)
    summary = summarize(model)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    dashboard(model, folder / "dashboard.png")
    (folder / "manifest.json").write_text(json.dumps(manifest_data, indent=2) + "\n", encoding="utf-8")


def in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is a file (so `path` can never be created), or None."""
    for parent in Path(path).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
        if parent.is_symlink():  # a dangling link: mkdir cannot go through it either
            return parent
    return None


def refused(target: Path) -> str | None:
    """Why the file system would refuse to write `target` (no permission, a read-only or pseudo file system, a name
    too long), or None: found by making and removing, in the nearest existing folder, an entry named as the
    temporary sibling a write makes first. Nothing else is made, so two commands checking the same new path at
    once cannot remove a folder the other one relies on."""
    target = Path(target)
    base = next((p for p in target.parents if p.is_dir()), Path("."))
    probe = base / f".{target.name}.partial-{secrets.token_hex(6)}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"{target}: cannot be written ({exc.strerror or exc} in {base})"
    probe.rmdir()
    return None


def check_target(target: Path, *, marker: str = "manifest.json", kind: str = "a run folder",
                 files: frozenset[str] | Callable[[str], bool] | None = None) -> str | None:
    """Why `target` cannot receive an output (the current folder or one holding it, an unrelated non-empty folder,
    a file, or a file where one of its parent folders should be), or None. A folder holding `marker`, and no file
    but the `files` such an output writes (names, or a test of a name), is an earlier output and may be replaced
    (`files` None: any)."""
    here, where = Path.cwd(), Path(target).resolve()
    if where == here or where in here.parents:
        return f"{target}: is the current folder or holds it, which an output cannot replace; choose a new folder"
    blocker = in_the_way(target)
    if blocker is not None:
        return f"{target}: {blocker} exists and is not a folder; choose another --out"
    if not target.exists():
        return _choose_another(refused(target))
    if not target.is_dir():
        return f"{target} exists and is not a folder"
    if any(target.iterdir()) and not (target / marker).is_file():
        return f"{target} exists, is not empty and is not {kind} (no {marker}); choose another --out"
    ours = files.__contains__ if isinstance(files, frozenset) else files
    others = sorted(p.name for p in target.iterdir() if ours is not None and not ours(p.name))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        return f"{target} holds {shown}, which {kind} does not write and replacing it would delete; choose another " \
               "--out"
    return _choose_another(refused(target))


def _choose_another(problem: str | None) -> str | None:
    return problem and f"{problem}; choose another --out"


def _replace(tmp: Path, target: Path) -> Path:
    """Move `tmp` to `target`; a previous output at `target` is swapped out first."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)
    return target


def _new_name(tmp: Path, target: Path) -> Path:
    """Move `tmp` to the first of `target`, `target-2`, ... that holds nothing. A rename onto a folder with
    files in it fails, so two processes can never both take one name."""
    for k in itertools.count(1):
        name = target if k == 1 else target.with_name(f"{target.name}-{k}")
        try:
            os.rename(tmp, name)
            return name
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
    raise AssertionError("unreachable")
