"""From a dataset version to the rows TRL trains on.

Rows are validated again here, even though the store only holds rows that passed on import: a
training job runs minutes or hours after the data was made, from a file that may have been edited
by hand, and a bad row should stop it at once with its line number, not an hour in. The reserved
keys `id` and `meta` never reach the trainer; `meta.split` decides train or eval (rows without a
split train). Nothing here imports torch; `to_hf_dataset` imports `datasets` when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TunesmithError
from tools.datasets.rows import meta, row_format
from tools.datasets.store import DatasetStore, VersionInfo, rows_digest
from tools.datasets.validation import check_records, read_json_lines

if TYPE_CHECKING:
    from datasets import Dataset

TRAIN, EVAL = "train", "eval"


class BadData(TunesmithError):
    """The rows cannot be trained on as they are (no training rows, a changed file...)."""


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(train rows, eval rows) by `meta.split`; rows without a split are training rows."""
    train, evals = [], []
    for row in rows:
        (evals if meta(row).get("split") == EVAL else train).append(row)
    return train, evals


def _checked(records: Any, source: str) -> list[dict]:
    rows = check_records(records, source=source).rows
    train, _ = split_rows(rows)
    if not train:
        raise BadData(
            f"{source} has no training rows: every row is marked meta.split=eval.",
            "Split the dataset again (`tunesmith data split`) so some rows train.",
        )
    return rows


def load_training_rows(
    dataset_ref: str, store: DatasetStore
) -> tuple[list[dict], list[dict], VersionInfo]:
    """Read and check a dataset version: (train rows, eval rows, its info).

    When the version has no eval rows the eval list is empty: the caller says so (no eval loss).
    Raises DatasetInvalid (every faulty row, with its line) or BadData.
    """
    info, rows = store.read(dataset_ref)
    checked = _checked(enumerate(rows, start=1), info.ref)
    train, evals = split_rows(checked)
    return train, evals, info


def read_rows_file(path: str | Path, *, sha256: str = "", source: str = "") -> list[dict]:
    """Read and check the JSONL file of a dataset version, as a job does (no registry needed).

    `sha256` (the version's content hash, from the registry at launch) catches a file that was
    changed after the run was launched, which would make the run train on other data than asked.
    """
    path = Path(path)
    source = source or path.name
    if not path.is_file():
        raise BadData(
            f"The dataset file {path} of {source} is missing.",
            "Restore the workspace's datasets folder, or launch the run on another version.",
        )
    records = list(read_json_lines(path))
    if sha256:
        stored = [record for _, record in records]
        if all(isinstance(r, dict) for r in stored) and rows_digest(stored) != sha256:
            raise BadData(
                f"The rows of {source} changed after the run was launched ({path}).",
                "Datasets are immutable: commit the edit as a new version and train on that.",
            )
    return _checked(records, source)


def trainer_columns(row: dict) -> dict[str, Any]:
    """The columns TRL reads for one row: messages, prompt + completion, or text.

    Reserved keys go, and so does anything else outside the format (e.g. a message's `name`), so
    every row of a dataset has the same columns, which `datasets` requires.
    """
    fmt = row_format(row)
    if fmt == "messages":
        return {"messages": [{"role": m["role"], "content": m["content"]} for m in row["messages"]]}
    if fmt == "completion":
        return {"prompt": row["prompt"], "completion": row["completion"]}
    return {"text": row["text"]}


def to_hf_dataset(rows: list[dict]) -> Dataset:
    """A `datasets.Dataset` of `rows` in the columns TRL expects, without `id` and `meta`."""
    from datasets import Dataset

    return Dataset.from_list([trainer_columns(row) for row in rows])
