"""Turn the paths a person gives to `kb add` into the files to ingest, refusing unsafe ones.

Folders are walked recursively in sorted order. Refused, each with its reason: paths with a
`..` component, symlinks that lead out of the folder they were found in, anything that is not a
regular file (devices, fifos, sockets), and missing paths. Hidden files and folders are skipped.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Candidate:
    path: Path  # resolved absolute path
    name: str  # display name: relative to the folder given, or the file name


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_file(path: Path, display: str, root: Path | None) -> Candidate | Refusal:
    if path.is_symlink():
        target = path.resolve()
        if root is not None and not _is_within(target, root):
            return Refusal(display, f"symlink points outside {root} (to {target})")
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return Refusal(display, f"cannot read: {err.strerror}")
    if not stat.S_ISREG(mode):
        return Refusal(display, "not a regular file (device, fifo or socket)")
    return Candidate(path.resolve(), display)


def discover(paths: list[str | os.PathLike]) -> tuple[list[Candidate], list[Refusal]]:
    """Expand files and folders into ingestible candidates plus refusals with reasons."""
    found: dict[Path, Candidate] = {}
    refused: list[Refusal] = []
    for raw in paths:
        given = Path(raw).expanduser()
        if ".." in given.parts:
            refused.append(Refusal(str(raw), "path contains '..': give it without '..'"))
            continue
        if not given.exists() and not given.is_symlink():
            refused.append(Refusal(str(raw), "no such file or folder"))
            continue
        if given.is_dir() and not given.is_symlink():
            root = given.resolve()
            for dirpath, dirnames, filenames in os.walk(given, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for filename in sorted(filenames):
                    if filename.startswith("."):
                        continue
                    path = Path(dirpath) / filename
                    display = str(path.relative_to(given))
                    outcome = _check_file(path, display, root)
                    _collect(outcome, found, refused)
            continue
        _collect(_check_file(given, given.name, None), found, refused)
    return list(found.values()), refused


def _collect(
    outcome: Candidate | Refusal, found: dict[Path, Candidate], refused: list[Refusal]
) -> None:
    if isinstance(outcome, Refusal):
        refused.append(outcome)
    else:
        found.setdefault(outcome.path, outcome)
