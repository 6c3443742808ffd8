"""Files dropped into the chat box: checked for size and copied into the workspace.

Gradio first stores an upload in its own temp folder; Tunesmith copies it into
`uploads/<batch>/` in the workspace (the only place the server writes or serves), under a
cleaned-up name, so a crafted file name can never become a path elsewhere.
"""

from __future__ import annotations

import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from core.atomic import atomic_open
from core.errors import InvalidInput
from core.workspace import Workspace

DEFAULT_LIMIT_MB = 50.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """The base name with anything but letters, digits, '.', '_' and '-' replaced by '_'."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip("._") or "upload"
    return cleaned[-120:]


def store_uploads(
    ws: Workspace, paths: list[str], limit_mb: float = DEFAULT_LIMIT_MB
) -> list[Path]:
    """Copy uploaded files into a fresh `uploads/<batch>/` folder; refuse any over `limit_mb`."""
    sources = [Path(p) for p in paths]
    for source in sources:
        if not source.is_file():
            raise InvalidInput(f"The upload {source.name} is not a file.", "Upload files only.")
        size_mb = source.stat().st_size / 1_000_000
        if size_mb > limit_mb:
            raise InvalidInput(
                f"{source.name} is {size_mb:.1f} MB; uploads are capped at {limit_mb:g} MB.",
                "Split the file, or add it from the terminal with `tunesmith kb add`.",
            )
    if not sources:
        return []
    batch = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    folder = ws.artifact_dir("uploads", batch)
    folder.mkdir(parents=True, exist_ok=True)
    stored = []
    for source in sources:
        target = folder / safe_filename(source.name)
        while target.exists():  # two uploads with the same cleaned name keep both
            target = target.with_stem(target.stem + "-1")
        with open(source, "rb") as src, atomic_open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)  # atomic: a reader never sees half a copy
        stored.append(target)
    return stored
