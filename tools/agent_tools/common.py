"""What every agent tool shares: bounded argument types, the workflow position, safe paths.

The agent fills arguments from a conversation, so each one is checked before any side effect:
counts and lists are bounded (a model asking for 10,000 rows is refused, not obeyed), missing
values default from the workflow position ("the last run"), and a path may only be read when it is
inside the workspace, the shipped sample data, or a folder the person named in their own message
(`ToolContext.user_text`) - never because a document or a model's output mentioned it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from core.errors import InvalidInput
from core.workspace import Workspace

MAX_ROWS = 500
MAX_K = 20
MAX_MODELS = 10
QUOTE_LIMIT = 300

RowCount = Annotated[int, Field(ge=1, le=MAX_ROWS, description=f"How many rows, 1 to {MAX_ROWS}.")]
Percent = Annotated[int, Field(ge=1, le=99, description="A percentage from 1 to 99.")]
TopK = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many chunks, 1 to {MAX_K}.")]
ModelList = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_MODELS,
        description=f"Model refs (1 to {MAX_MODELS}), e.g. builtin:smollm2-135m-instruct.",
    ),
]

PREFIXES = {"dataset": "ds:", "run": "run:", "kb": "kb:", "eval": "eval:", "experiment": "exp:"}
"""How each kind of id is written in the position (`ds:coffee@v2`); tools take it either way."""

DENIED_ROOTS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/run", "/var/run")
SECRET_PARTS = (".ssh", ".aws", ".gnupg", ".netrc", ".env", ".git-credentials", ".kube")


# -- the workspace and the position ------------------------------------------------------------


def workspace(ctx: Any) -> Workspace:
    """The context's workspace, or the one from settings when the caller gave none."""
    return ctx.ws if ctx.ws is not None else Workspace.from_settings()


def strip_prefix(kind: str, value: str) -> str:
    """`ds:coffee@v2` -> `coffee@v2`; plain values pass unchanged."""
    prefix = PREFIXES.get(kind, "")
    value = value.strip()
    return value[len(prefix) :] if prefix and value.startswith(prefix) else value


def from_position(ctx: Any, kind: str) -> str | None:
    """The current `kind` (dataset, run, kb, eval...) from the workflow position, unprefixed."""
    value = (ctx.position or {}).get(kind)
    return strip_prefix(kind, value) if isinstance(value, str) and value.strip() else None


def only_one(kind: str, ctx: Any) -> str | None:
    """The workspace's single knowledge base or dataset, when there is exactly one of them."""
    if kind == "kb":
        from tools.knowledge.kb import list_kbs

        names = [row["name"] for row in list_kbs(workspace(ctx))]
    elif kind == "dataset":
        from tools.datasets.store import DatasetStore

        names = DatasetStore(workspace(ctx)).names()
    else:
        return None
    return names[0] if len(names) == 1 else None


def pick(kind: str, given: str | None, ctx: Any, question: str, example: str) -> str:
    """The argument, else the position's current one, else the only one there is, else ask."""
    if given and given.strip():
        return strip_prefix(kind, given)
    current = from_position(ctx, kind) or only_one(kind, ctx)
    if current:
        return current
    raise InvalidInput(f"{question} e.g. {example}", f"Say it, e.g. {example!r}.")


def project_of(given: str | None, ctx: Any) -> str:
    from tools.usecase import DEFAULT_PROJECT

    return given or (ctx.position or {}).get("project") or DEFAULT_PROJECT


def base_model_of(given: str | None, ctx: Any, project: str | None = None) -> str:
    """The model asked for, else the project's baseline, else the configured base model."""
    from core.models.refs import parse_ref
    from core.settings import get_settings
    from tools.usecase import get_use_case

    if given:
        parse_ref(given)
        return given
    chosen = (ctx.position or {}).get("base_model")
    if not chosen:
        chosen = get_use_case(project_of(project, ctx), workspace(ctx)).baseline_model
    return chosen or get_settings().base_model


def check_refs(refs: list[str]) -> list[str]:
    """Every model ref parsed now, so a typo is refused before any model is loaded."""
    from core.models.refs import parse_ref

    for ref in refs:
        parse_ref(ref)
    return refs


def checked_approval(rule: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
    """An approval rule that asks nothing when the call's own checks already fail.

    The rule resolves the call (which dataset, which run) to say what will happen; when that
    raises (no dataset, unknown run), the tool's run() repeats the same resolution first and
    fails with the same error before any side effect. Asking the person to approve a call that
    cannot work would only hide the question the error asks ("Which dataset?").
    """
    from functools import wraps

    from core.errors import TunesmithError

    @wraps(rule)
    def guarded(args: Any, ctx: Any) -> str | None:
        try:
            return rule(args, ctx)
        except TunesmithError:
            return None

    return guarded


# -- results -----------------------------------------------------------------------------------


def quote(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """Text from documents, datasets or model outputs as a quoted JSON string: data to show,
    never instructions to follow (and never long enough to drown the conversation)."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False)


def emitter(ctx: Any, stage: str) -> Callable[..., None]:
    """A progress callback `(done, total)` or `(stage, done, total)` that goes to ctx.emit."""

    def update(*values: Any) -> None:
        if len(values) >= 3 and isinstance(values[0], str):
            name, done, total = values[0], values[1], values[2]
        else:
            name, done, total = stage, values[0], values[1]
        ctx.emit(name, int(done), int(total or 0), "")

    return update


# -- paths the person may hand over ------------------------------------------------------------


def _named_paths(text: str) -> list[Path]:
    """Existing files or folders the person wrote in their message (`./docs`, `~/notes`, `docs`)."""
    found = []
    for word in re.split(r"[\s,;()\[\]<>]+", text or ""):
        token = word.strip("\"'`“”‘’").rstrip(".:!?")
        if not token:
            continue
        try:
            path = Path(token).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if path.exists() and path not in (Path(path.anchor), Path.home().resolve()):
            found.append(path)
    return found


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def allowed_roots(ctx: Any) -> list[Path]:
    """Where a tool may read: the workspace, the shipped sample data, and what the person named."""
    from core import sample_data

    roots = [workspace(ctx).root, sample_data.docs_dir().parent.resolve()]
    return roots + _named_paths(getattr(ctx, "user_text", ""))


def readable_path(text: str, ctx: Any, what: str = "file") -> Path:
    """`text` as an existing path that is safe to read, or InvalidInput saying why not."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"The {what} path is empty.", "Name a file or folder, e.g. ./docs.")
    path = Path(text.strip()).expanduser().resolve()
    denied = any(_inside(path, Path(root)) for root in DENIED_ROOTS)
    if denied or any(part in SECRET_PARTS or part.startswith("id_rsa") for part in path.parts):
        raise InvalidInput(
            f"{text} is a system or secret location; Tunesmith never reads it.",
            "Put your documents in a folder of their own and name that folder.",
        )
    if not path.exists():
        raise InvalidInput(f"There is no {what} at {text}.", "Check the path, or upload the file.")
    roots = allowed_roots(ctx)
    if not any(_inside(path, root) for root in roots):
        raise InvalidInput(
            f"{text} is outside the workspace and was not named in your message.",
            "Upload the file, or name its folder yourself, e.g. 'add the documents in ./docs'.",
        )
    return path
