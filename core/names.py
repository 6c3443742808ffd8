"""Validation of user-supplied names before they become paths or registry keys.

A name is what a person types for a knowledge base, dataset or project. It ends up as a folder
name inside the workspace, so it is checked here once: no separators, no `..`, no control
characters, no absolute paths, a bounded length.
"""

from __future__ import annotations

import re

from core.errors import InvalidInput

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def validate_name(name: str, kind: str = "name") -> str:
    """Return `name` unchanged if it is safe to use as a folder name, else raise InvalidInput."""
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"The {kind} is empty.", "Give a short name such as 'support-docs'.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(
            f"The {kind} {name!r} contains control characters.",
            "Use letters, digits, '.', '_' or '-'.",
        )
    if "/" in name or "\\" in name or name.startswith("~"):
        raise InvalidInput(
            f"The {kind} {name!r} looks like a path.",
            "A name is one word: letters, digits, '.', '_' or '-', no slashes.",
        )
    if ".." in name:
        raise InvalidInput(f"The {kind} {name!r} contains '..'.", "Remove the '..'.")
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"The {kind} {name!r} is not allowed.",
            "Start with a letter or digit, then use up to 63 letters, digits, '.', '_' or '-'.",
        )
    return name
