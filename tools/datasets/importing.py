"""Import rows from a JSONL file, a CSV file or a saved Hugging Face dataset folder.

Each reader turns its input into `(line, record)` pairs (CSV: the line a record starts on; HF: the
row number), a column mapping renames the person's column names to the row format's keys, and
validation checks every record before `import_dataset` commits anything: a refused import leaves
the workspace exactly as it was.

CSV and HF cells cannot hold JSON structures as such, so a `messages` or `meta` cell that is a
string is read as JSON (the CSV and HF exports write them that way). HF folders fill absent struct
fields with nulls; those nulls are dropped, since they mean "not there" rather than "null".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.names import validate_name
from tools.datasets.store import DatasetStore, VersionInfo
from tools.datasets.validation import (
    MAX_ROW_BYTES,
    DatasetInvalid,
    RowFault,
    check_records,
    oversize_fault,
    parse_json_line,
    read_json_lines,
)

FILE_FORMATS = ("jsonl", "csv", "hf")
MAP_TARGETS = ("prompt", "completion", "text", "messages", "id", "meta")
"""Where a mapped column can go: a row key, or `meta.<key>` (e.g. doc=meta.source)."""
_JSON_CELLS = ("messages", "meta")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv"}


@dataclass
class ImportReport:
    """What an import read and how it normalised the rows (stored as the version's summary)."""

    source: str
    file_format: str
    row_format: str
    rows: int
    mapping: dict[str, str] = field(default_factory=dict)
    ids_assigned: int = 0
    extra_keys: dict[str, int] = field(default_factory=dict)  # moved into meta.extra
    split: str | None = None  # the split taken from an HF DatasetDict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- column mapping ----------------------------------------------------------------------------


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`["question=prompt", "answer=completion"]` (the CLI's --map options) as a mapping."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = (part.strip() for part in pair.partition("="))
        if not sep or not source or not target:
            raise InvalidInput(f"{pair!r} is not a column mapping.", "Write SOURCE=TARGET.")
        mapping[source] = target
    return check_mapping(mapping)


def check_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """Refuse targets that are no row key and two columns mapped onto one key."""
    mapping = dict(mapping or {})
    for source, target in mapping.items():
        valid = target in MAP_TARGETS or (target.startswith("meta.") and len(target) > 5)
        if not valid:
            raise InvalidInput(
                f"Column {source!r} is mapped to {target!r}, which is not a row key.",
                f"Map columns to one of {', '.join(MAP_TARGETS)}, or meta.<key>.",
            )
    targets = list(mapping.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise InvalidInput(
            f"More than one column is mapped to {', '.join(doubled)}.",
            "Map each target key from one column.",
        )
    return mapping


def _check_columns(columns: list[str], mapping: dict[str, str], source: str) -> None:
    """Refuse, before any row is read, a mapping the columns (CSV header, HF features) rule out."""
    listed = ", ".join(columns)
    for column, target in mapping.items():
        if column not in columns:
            raise InvalidInput(
                f"{source} has no column {column!r} (its columns: {listed}).",
                "Map columns that exist, e.g. question=prompt.",
            )
        if target in columns and target not in mapping:
            raise InvalidInput(
                f"{source} has a column {target!r} and {column!r} is mapped onto it as well.",
                f"Drop the mapping of {column!r}, or map {target!r} elsewhere too.",
            )


def _remap(line: int, record: Any, mapping: dict[str, str], json_cells: bool) -> Any:
    """The record with mapped columns renamed (and JSON cells decoded), or a RowFault."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    moved = {column: out.pop(column) for column in mapping if column in out}
    into_meta: dict[str, Any] = {}
    for column, value in moved.items():
        target = mapping[column]
        if target.startswith("meta."):
            into_meta[target.removeprefix("meta.")] = value
        elif target in out:
            detail = f"has both {column!r} (mapped to {target!r}) and {target!r}"
            return RowFault(line, "unknown_format", detail)
        else:
            out[target] = value
    if json_cells:
        for key in _JSON_CELLS:
            value = out.get(key)
            if value == "":
                del out[key]
            elif isinstance(value, str):
                parsed = parse_json_line(line, value)
                if isinstance(parsed, RowFault):
                    return RowFault(line, "not_json", f"the {key} cell: {parsed.detail}")
                out[key] = parsed
    if into_meta:
        info = out.get("meta")
        out["meta"] = {**info, **into_meta} if isinstance(info, dict) else info or into_meta
    return out


# -- readers -----------------------------------------------------------------------------------


def _jsonl_records(path: Path, mapping: dict[str, str], limit: int) -> Iterator[tuple[int, Any]]:
    for line, record in read_json_lines(path, max_row_bytes=limit):
        yield line, _remap(line, record, mapping, json_cells=False)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        fault = RowFault(line, "not_utf8", f"byte 0x{data[exc.start]:02x} is not UTF-8")
        raise DatasetInvalid([fault], source=path.name) from None


def _csv_records(path: Path, mapping: dict[str, str], limit: int) -> Iterator[tuple[int, Any]]:
    """CSV records with the line each starts on (quoted fields may span several lines)."""
    reader = csv.reader(
        io.StringIO(_decode(path), newline=""),
        delimiter="\t" if path.suffix.lower() == ".tsv" else ",",
    )
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(max(previous_limit, limit + 1))  # size is checked per row, below
    try:
        header = next((fields for fields in reader if any(f.strip() for f in fields)), None)
        if header is None:
            return
        header = [name.strip() for name in header]
        doubled = sorted({name for name in header if header.count(name) > 1})
        if doubled:
            detail = f"the header names {', '.join(map(repr, doubled))} more than once"
            yield reader.line_num, RowFault(reader.line_num, "bad_csv_row", detail)
            return
        _check_columns(header, mapping, path.name)
        end = reader.line_num
        while True:
            start = end + 1
            try:
                fields = next(reader, None)
            except csv.Error as exc:  # the reader cannot go on after this, so neither do we
                kind = "row_too_large" if "field larger" in str(exc) else "bad_csv_row"
                yield start, RowFault(start, kind, str(exc))
                return
            if fields is None:
                return
            end = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                count = f"{len(fields)} field{'s' if len(fields) != 1 else ''}"
                detail = f"{count}; the header has {len(header)}"
                yield start, RowFault(start, "bad_csv_row", detail)
                continue
            size = sum(len(f.encode("utf-8")) for f in fields)
            record = {name: value for name, value in zip(header, fields, strict=True)}
            if record.get("id") == "":
                del record["id"]
            too_big = oversize_fault(start, size, limit)
            yield start, too_big or _remap(start, record, mapping, json_cells=True)
    finally:
        csv.field_size_limit(previous_limit)


def _without_nulls(record: dict) -> dict:
    """An HF record without the nulls Arrow fills in for struct fields a row did not have."""
    out = {k: v for k, v in record.items() if v is not None}
    if isinstance(out.get("messages"), list):
        out["messages"] = [
            {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m
            for m in out["messages"]
        ]
    if isinstance(out.get("meta"), dict):
        out["meta"] = {k: v for k, v in out["meta"].items() if v is not None}
    return out


def _load_hf(path: Path, split: str) -> tuple[Any, str | None]:
    """The dataset in an HF folder, and the split taken when the folder holds a DatasetDict."""
    from datasets import DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise InvalidInput(
            f"{path} is not a saved Hugging Face dataset folder ({exc}).",
            "Point at a folder written by Dataset.save_to_disk, or at a .jsonl or .csv file.",
        ) from None
    if isinstance(loaded, DatasetDict):
        if split not in loaded:
            raise InvalidInput(
                f"{path.name} has the splits {', '.join(loaded)}, not {split!r}.",
                f"Pick one of them as the split to import, e.g. {next(iter(loaded))!r}.",
            )
        return loaded[split], split
    return loaded, None


def _hf_records(
    dataset: Any, mapping: dict[str, str], limit: int, name: str
) -> Iterator[tuple[int, Any]]:
    _check_columns(list(dataset.column_names), mapping, name)
    for number, record in enumerate(dataset, start=1):
        record = _without_nulls(record)
        size = len(
            json.dumps(record, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
        )
        too_big = oversize_fault(number, size, limit)
        yield number, too_big or _remap(number, record, mapping, json_cells=True)


# -- entry points ------------------------------------------------------------------------------


def detect_file_format(path: Path) -> str:
    """jsonl, csv or hf, from the path: a folder is an HF dataset, files go by their suffix."""
    if path.is_dir():
        return "hf"
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"Cannot tell the format of {path.name} from its suffix.",
            f"Name it .jsonl or .csv, or give the format ({', '.join(FILE_FORMATS)}).",
        )
    return found


def import_file(
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    fmt: str | None = None,
    split: str = "train",
    max_row_bytes: int = MAX_ROW_BYTES,
) -> tuple[list[dict], ImportReport]:
    """Read and validate every row of `path`; raise DatasetInvalid (with all faults) or return them.

    `mapping` renames source columns to row keys ({"question": "prompt"}); `fmt` overrides the
    format guessed from the path; `split` picks the split of an HF DatasetDict folder.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidInput(f"{path} does not exist.", "Check the path, or give an absolute one.")
    fmt = fmt or detect_file_format(path)
    if fmt not in FILE_FORMATS:
        raise InvalidInput(
            f"Unknown import format {fmt!r}.", f"Use one of {', '.join(FILE_FORMATS)}."
        )
    mapping = check_mapping(mapping)
    taken_split = None
    if fmt == "hf":
        dataset, taken_split = _load_hf(path, split)
        records = _hf_records(dataset, mapping, max_row_bytes, path.name)
    elif fmt == "csv":
        records = _csv_records(path, mapping, max_row_bytes)
    else:
        records = _jsonl_records(path, mapping, max_row_bytes)
    checked = check_records(records, source=path.name)
    report = ImportReport(
        source=str(path.resolve()),
        file_format=fmt,
        row_format=checked.row_format,
        rows=len(checked.rows),
        mapping=mapping,
        ids_assigned=checked.ids_assigned,
        extra_keys=checked.extra_keys,
        split=taken_split,
    )
    return checked.rows, report


def import_dataset(
    name: str,
    path: str | Path,
    *,
    mapping: dict[str, str] | None = None,
    fmt: str | None = None,
    split: str = "train",
    store: DatasetStore | None = None,
) -> VersionInfo:
    """Import `path` as the next version of dataset `name` (v1 when new), operation "import".

    Everything is validated before the store is touched, so a refused import changes nothing.
    """
    validate_name(name, "dataset name")
    rows, report = import_file(path, mapping=mapping, fmt=fmt, split=split)
    store = store or DatasetStore()
    versions = store.versions(name)
    params = {"source": report.source, "format": report.file_format, "mapping": report.mapping}
    if report.split:
        params["split"] = report.split
    return store.commit(
        name,
        rows,
        operation="import",
        parent=versions[-1].version if versions else None,
        params=params,
        summary=report.to_dict(),
    )
