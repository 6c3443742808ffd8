"""Sample data shipped with Tunesmith: a fictional coffee roaster's documents and golden outputs.

Gullhaven Coffee Roasters does not exist. Its documents (Markdown pages, a PDF brew guide and a
CSV of stockists) and its golden outputs (social posts and support replies in the company's voice)
are what a person would feed Tunesmith to tune a model that writes like the company and answers
questions about it. Demos, the quickstart and tests use them.

The files are package data, so these helpers work from a source checkout and from an installed
wheel alike. Only the standard library is imported here.
"""

from __future__ import annotations

import json
from pathlib import Path

COMPANY_NAME = "Gullhaven Coffee Roasters"
DOCUMENT_SUFFIXES: tuple[str, ...] = (".md", ".pdf", ".csv")
GOLDEN_KINDS: tuple[str, ...] = ("social_post", "support_reply")

_ROOT = Path(__file__).resolve().parent


def docs_dir() -> Path:
    """Return the folder that holds the sample documents (Markdown, PDF and CSV)."""
    return _ROOT / "docs"


def golden_path() -> Path:
    """Return the path of `golden.jsonl`: one JSON object per line with id, kind, text, context."""
    return _ROOT / "golden.jsonl"


def suite_path() -> Path:
    """Return the path of `tests.yaml`: a model test suite for the sample company's support."""
    return _ROOT / "tests.yaml"


def list_documents() -> list[Path]:
    """Return the sample documents, sorted by file name, skipping hidden and unknown files."""
    return sorted(
        p
        for p in docs_dir().iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in DOCUMENT_SUFFIXES
    )


def read_golden() -> list[dict[str, str]]:
    """Return the golden outputs from `golden.jsonl` in file order, skipping blank lines."""
    with golden_path().open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


__all__ = [
    "COMPANY_NAME",
    "DOCUMENT_SUFFIXES",
    "GOLDEN_KINDS",
    "docs_dir",
    "golden_path",
    "list_documents",
    "read_golden",
    "suite_path",
]
