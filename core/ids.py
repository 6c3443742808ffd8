"""Artifact ids: the one way the agent, CLI, UI and Slack point at the same things.

`kb:<name>`, `ds:<name>@v<N>`, `run:<id>`, `eval:<id>`, `model:<ref>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInput
from core.names import validate_name

KINDS = {
    "kb": "knowledge base",
    "ds": "dataset",
    "run": "run",
    "eval": "evaluation",
    "model": "model",
}
_VERSIONED = re.compile(r"^(?P<name>[^@]+)@v(?P<version>\d+)$")


@dataclass(frozen=True)
class ArtifactId:
    kind: str
    name: str
    version: int | None = None

    def __str__(self) -> str:
        suffix = f"@v{self.version}" if self.version is not None else ""
        return f"{self.kind}:{self.name}{suffix}"


def parse_artifact_id(text: str) -> ArtifactId:
    """Parse `kind:name[@vN]`; names are validated, model refs are kept verbatim."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS or not rest:
        forms = ", ".join(f"{k}:<name>" for k in KINDS)
        raise InvalidInput(
            f"{text!r} is not an artifact id.", f"Use one of: {forms}; ds: takes @vN."
        )
    if kind == "model":
        return ArtifactId(kind, rest)
    version = None
    match = _VERSIONED.match(rest)
    if match:
        if kind != "ds":
            raise InvalidInput(
                f"{text!r}: only datasets have versions.", f"Drop the @v part: {kind}:…"
            )
        rest, version = match["name"], int(match["version"])
    return ArtifactId(kind, validate_name(rest, KINDS[kind] + " name"), version)
