"""The operations that reshape a dataset: show, sample, filter, delete, edit, merge and revert.

Each row operation is a plain function from rows to an `OpResult` that never touches its input
(the input is an earlier, immutable version) and accounts for every row: kept, or removed with a
reason. `apply_operation` is the one place that turns such a function into a new version: it
reads a version, applies the function, and commits the result with its parent, operation and
parameters. Quality steps (dedupe, split, ...) plug in the same way through `fn=`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import InvalidInput, NotFound
from tools.datasets import fields
from tools.datasets.fields import TokenCounter
from tools.datasets.predicates import Predicate, parse_predicate
from tools.datasets.quality.rowmeta import row_id
from tools.datasets.rows import OpResult, Removal, meta, row_format
from tools.datasets.store import DatasetRef, DatasetStore, VersionInfo, parse_dataset_ref
from tools.datasets.validation import FORMAT_KEYS, validate_row

RowOp = Callable[..., OpResult]
"""`op(rows, **params, **context) -> OpResult`; only params are stored with the version."""

EDITABLE = (
    "response",
    "prompt",
    "completion",
    "text",
    "messages",
    "messages.N.content",
    "messages.N.role",
    "meta",
    "meta.KEY",
)


# -- looking ---------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a version's rows, for `data show`."""

    rows: list[dict]
    page: int
    pages: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def page_rows(rows: list[dict], *, page: int = 1, size: int = 10) -> Page:
    """Rows `(page-1)*size` to `page*size` (pages count from 1)."""
    if size < 1 or page < 1:
        raise InvalidInput("Pages and page sizes start at 1.", "Use e.g. page=1, size=10.")
    pages = max(1, -(-len(rows) // size))
    if page > pages:
        raise InvalidInput(f"There are only {pages} pages of {size} rows.", f"Pick 1..{pages}.")
    return Page(rows[(page - 1) * size : page * size], page, pages, len(rows))


def sample_rows(rows: list[dict], *, n: int = 5, seed: int = 0) -> list[dict]:
    """`n` rows drawn at random (the same seed draws the same rows), in dataset order."""
    if n < 1:
        raise InvalidInput(f"Cannot sample {n} rows.", "Ask for 1 or more.")
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(n, len(rows))))
    return [rows[i] for i in picked]


def find_row(rows: list[dict], row_id: str) -> int:
    """The index of the row with id `row_id`."""
    for index, row in enumerate(rows):
        if str(row.get("id")) == row_id:
            return index
    raise NotFound(f"No row has the id {row_id!r}.", "`data show` lists the rows with their ids.")


# -- selecting -------------------------------------------------------------------------------


def parse_where(
    where: str | Predicate, rows: list[dict], count_tokens: TokenCounter | None
) -> Predicate:
    """Parse a filter for these rows, refusing a score no row carries (almost always a typo)."""
    predicate = (
        where if isinstance(where, Predicate) else parse_predicate(where, count_tokens=count_tokens)
    )
    present = {name for row in rows for name in fields.scores(row)}
    for name in sorted(predicate.score_names - present):
        listed = ", ".join(sorted(present)) or "none"
        raise InvalidInput(
            f"No row has the score {name!r} (scores present: {listed}).",
            "Check the name, or run the step that writes that score first.",
        )
    return predicate


def _partition(rows: list[dict], drop: Callable[[dict], bool], reason: str) -> OpResult:
    kept, removed = [], []
    for index, row in enumerate(rows):
        if drop(row):
            removed.append(Removal(row_id(row, index), reason))
        else:
            kept.append(row)
    return OpResult(kept, removed)


def filter_rows(
    rows: list[dict], where: str | Predicate, *, count_tokens: TokenCounter | None = None
) -> OpResult:
    """Keep the rows where `where` is true; the others are removed with reason "filter: <where>"."""
    predicate = parse_where(where, rows, count_tokens)
    result = _partition(rows, lambda row: not predicate(row), f"filter: {predicate.expr}")
    result.notes["where"] = predicate.expr
    return result


def delete_rows(
    rows: list[dict],
    *,
    ids: Iterable[str] | None = None,
    where: str | Predicate | None = None,
    count_tokens: TokenCounter | None = None,
) -> OpResult:
    """Remove the rows with the given ids, or the rows where `where` is true (one of the two).

    Unknown ids are refused rather than skipped: a typo should not pass for a deletion.
    """
    if (ids is None) == (where is None):
        raise InvalidInput("Say which rows to delete.", "Give row ids, or a filter, not both.")
    if where is not None:
        predicate = parse_where(where, rows, count_tokens)
        result = _partition(rows, predicate, f"delete: {predicate.expr}")
        result.notes["where"] = predicate.expr
        return result
    wanted = list(dict.fromkeys(str(i) for i in ids or []))
    known = {str(row.get("id")) for row in rows}
    unknown = [i for i in wanted if i not in known]
    if unknown or not wanted:
        raise NotFound(
            f"No row has the id(s) {', '.join(map(repr, unknown))}."
            if unknown
            else "No ids given.",
            "`data show` lists the rows with their ids.",
        )
    doomed = set(wanted)
    result = _partition(rows, lambda row: str(row.get("id")) in doomed, "delete: by id")
    result.notes["ids"] = wanted
    return result


# -- editing ---------------------------------------------------------------------------------


def _bad_field(field: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"Cannot edit {field!r}: {why}.", f"Editable fields: {', '.join(EDITABLE)}."
    )


def _message_index(messages: Any, text: str, field: str) -> int:
    if not isinstance(messages, list):
        raise _bad_field(field, "the row has no messages")
    try:
        number = int(text)
    except ValueError:
        raise _bad_field(field, f"{text!r} is not a message number") from None
    if number == 0 or abs(number) > len(messages):
        raise _bad_field(field, f"the row has messages 1..{len(messages)} (or -1 for the last)")
    return number - 1 if number > 0 else len(messages) + number


def resolve_field(row: dict, name: str) -> str:
    """The edit path of `response` or `prompt` in this row's format; other paths unchanged.

    response: the completion, the text, or the last assistant turn. prompt: the prompt, or the
    last user turn before that assistant turn (text rows have none).
    """
    if name not in ("response", "prompt"):
        return name
    fmt = row_format(row)
    if fmt == "completion":
        return "completion" if name == "response" else "prompt"
    if fmt == "text":
        if name == "prompt":
            raise _bad_field(name, "text rows have no prompt")
        return "text"
    roles = [m.get("role") if isinstance(m, dict) else None for m in row.get("messages", [])]
    last = max(i for i, role in enumerate(roles) if role == "assistant")
    if name == "response":
        return f"messages.{last + 1}.content"
    user = max((i for i, role in enumerate(roles[:last]) if role == "user"), default=None)
    if user is None:
        raise _bad_field(name, "the row has no user turn before its last assistant turn")
    return f"messages.{user + 1}.content"


def set_field(row: dict, field: str, value: Any) -> dict:
    """A deep copy of `row` with `field` (an edit path, see EDITABLE) set to `value`."""
    new = copy.deepcopy(row)
    parts = field.split(".")
    head = parts[0]
    if head == "id":
        raise _bad_field(field, "ids never change, they are how versions are compared")
    if head == "meta" and len(parts) == 2:
        new["meta"] = {**meta(new), parts[1]: value}
    elif head == "messages" and len(parts) == 3 and parts[2] in ("content", "role"):
        index = _message_index(new.get("messages"), parts[1], field)
        if not isinstance(new["messages"][index], dict):
            raise _bad_field(field, f"message {parts[1]} is not an object")
        new["messages"][index][parts[2]] = value
    elif len(parts) == 1 and head in ("meta", "messages", "prompt", "completion", "text"):
        fmt = row_format(row)
        if head != "meta" and head not in FORMAT_KEYS[fmt]:
            raise _bad_field(field, f"the row is in the {fmt} format")
        new[head] = value
    else:
        raise _bad_field(field, "no such field")
    return new


def get_field(row: dict, field: str) -> Any:
    """The value at an edit path (None when the path leads nowhere)."""
    value: Any = row
    for part in field.split("."):
        if isinstance(value, list):
            index = int(part)
            value = value[index - 1 if index > 0 else index]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def edit_row(rows: list[dict], row_id: str, field: str, value: Any) -> OpResult:
    """Set one field of one row (see EDITABLE; `response` and `prompt` as in resolve_field).

    The edited row is validated against the dataset's format before anything else happens.
    """
    index = find_row(rows, row_id)
    row = rows[index]
    path = resolve_field(row, field)
    edited = validate_row(set_field(row, path, value), row_format=row_format(row), line=index + 1)
    kept = [*rows[:index], edited, *rows[index + 1 :]]
    notes = {"id": row_id, "field": path, "before": get_field(row, path), "after": value}
    return OpResult(kept, notes=notes)


# -- combining -------------------------------------------------------------------------------


def merge_rows(left: list[dict], right: list[dict]) -> OpResult:
    """`left` then `right`; a right row whose id is taken gets `<id>-2` (or -3, ...)."""
    if left and right and row_format(left[0]) != row_format(right[0]):
        raise InvalidInput(
            f"Cannot merge {row_format(left[0])} rows with {row_format(right[0])} rows.",
            "A dataset has one format: export one side and import it with a column mapping first.",
        )
    taken = {row_id(row, i) for i, row in enumerate(left)}
    renamed: dict[str, str] = {}
    merged = list(left)
    for index, row in enumerate(right):
        rid = row_id(row, index)
        new_id, suffix = rid, 2
        while new_id in taken:
            new_id, suffix = f"{rid}-{suffix}", suffix + 1
        if new_id != rid:
            renamed[rid] = new_id
            row = {**row, "id": new_id}
        taken.add(new_id)
        merged.append(row)
    return OpResult(merged, notes={"left": len(left), "right": len(right), "renamed": renamed})


# -- versions --------------------------------------------------------------------------------

OPERATIONS: dict[str, RowOp] = {"filter": filter_rows, "delete": delete_rows, "edit": edit_row}
"""Row operations `apply_operation` knows by name; others are passed with `fn=`."""


def _commit(
    store: DatasetStore,
    base: VersionInfo,
    operation: str,
    params: dict,
    result: OpResult,
    rows_in: int,
) -> VersionInfo:
    if not result.kept:
        raise InvalidInput(
            f"{operation} would leave {base.ref} with no rows; nothing was saved.",
            "Loosen the condition, or check it on `data show` first.",
        )
    summary = {
        "rows_in": rows_in,
        "kept": len(result.kept),
        "removed": len(result.removed),
        "reasons": result.reasons(),
        "notes": result.notes,
    }
    return store.commit(
        base.dataset,
        result.kept,
        operation=operation,
        parent=base.version,
        params=params,
        summary=summary,
    )


def apply_operation(
    store: DatasetStore,
    ref: str | DatasetRef,
    op_name: str,
    params: dict[str, Any],
    *,
    fn: RowOp | None = None,
    **context: Any,
) -> tuple[VersionInfo, OpResult]:
    """Read `ref`, apply the operation, commit the result as the next version (parent: ref's).

    `params` must be JSON (they are stored with the version); `context` holds what is not
    (a token counter, an engine) and is passed to the operation without being recorded.
    """
    operation = fn or OPERATIONS.get(op_name)
    if operation is None:
        raise InvalidInput(
            f"Unknown operation {op_name!r}.", f"Use one of {', '.join(OPERATIONS)}."
        )
    base, rows = store.read(ref)
    result = operation(rows, **params, **context)
    return _commit(store, base, op_name, params, result, len(rows)), result


def merge_versions(
    store: DatasetStore, left: str | DatasetRef, right: str | DatasetRef
) -> tuple[VersionInfo, OpResult]:
    """Merge the rows of `right` into `left`'s dataset as its next version (parent: left's)."""
    base, left_rows = store.read(left)
    other, right_rows = store.read(right)
    result = merge_rows(left_rows, right_rows)
    params = {"other": other.ref}
    return _commit(store, base, "merge", params, result, len(left_rows) + len(right_rows)), result


def revert_to(store: DatasetStore, ref: str | DatasetRef) -> VersionInfo:
    """Make an earlier version the latest again: a new version with exactly its rows.

    Nothing is deleted; the versions in between stay, and the new one's parent is the version it
    replaces, so the lineage reads "v5: revert to v2".
    """
    target = parse_dataset_ref(ref) if isinstance(ref, str) else ref
    if target.version is None:
        raise InvalidInput(f"Say which version of {target.name} to go back to.", "Use NAME@vN.")
    old, rows = store.read(target)
    latest = store.info(target.name)
    if latest.version == old.version:
        raise InvalidInput(f"{old.ref} is already the latest version.", "Pick an earlier one.")
    return store.commit(
        old.dataset,
        rows,
        operation="revert",
        parent=latest.version,
        params={"to": old.version},
        summary={"rows": len(rows), "to": old.ref, "from": latest.ref},
    )
