"""The shipped sample data: documents, golden outputs and retrieval questions stay consistent.

Later steps lean on this data (ingest, synthesis, the knowledge-base retrieval test), so these
tests pin what they rely on: which files exist, what pypdf and csv read out of them, and that every
golden output is grounded in facts the documents state.
"""

from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from core import sample_data

ASSETS = Path(__file__).resolve().parents[1] / "assets"

EXPECTED_DOCUMENTS = {
    "about.md",
    "brand-voice.md",
    "brew-guide.pdf",
    "products.md",
    "shipping-returns.md",
    "stockists.csv",
    "subscriptions.md",
}

# One phrase per PDF page, as pypdf must extract it (words separated by single spaces).
PDF_PAGE_PHRASES = [
    "Bloom: pour 50 grams of water",
    "800 grams of cold water (a ratio of 1:8)",
    "Espresso needs at least 7 days of rest",
]

CSV_COLUMNS = ["stockist", "address", "city", "state", "kind", "carries", "hours"]
CSV_ROWS = 24

# Everything the company sells by name. Golden outputs may only mention products from this list,
# and the list itself must match the product page.
PRODUCT_NAMES = [
    "Foghorn Blend",
    "Low Tide",
    "Driftwood Dark",
    "Crow's Nest",
    "Lantern Decaf",
    "Saltmarsh Geisha",
    "Winter Harbor",
    "Harbor Mug",
    "Net Loft Pour-Over Kit",
]
CREW_FIRST_NAMES = {"Maren", "Teo", "Priya", "Dell"}
ALLOWED_EMOJI = {"\N{WATER WAVE}", "\N{ANCHOR}", "\N{HOT BEVERAGE}"}
MONEY = re.compile(r"\$\d[\d,]*(?:\.\d\d)?")


def _pdf_pages() -> list[str]:
    reader = PdfReader(sample_data.docs_dir() / "brew-guide.pdf")
    return [page.extract_text() for page in reader.pages]


def _csv_rows() -> tuple[list[str], list[dict[str, str]]]:
    with (sample_data.docs_dir() / "stockists.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _docs_corpus() -> str:
    """All text a knowledge base would see: Markdown as written, PDF as extracted, CSV as read."""
    docs = sample_data.list_documents()
    parts = [p.read_text(encoding="utf-8") for p in docs if p.suffix == ".md"]
    parts += _pdf_pages()
    parts += [" ".join(row.values()) for row in _csv_rows()[1]]
    return "\n".join(parts)


def _questions() -> list[dict[str, str]]:
    return yaml.safe_load((ASSETS / "retrieval_questions.yaml").read_text(encoding="utf-8"))


# --- the documents -----------------------------------------------------------------------------


def test_list_documents_returns_every_sample_document_inside_docs_dir():
    docs = sample_data.list_documents()

    assert {p.name for p in docs} == EXPECTED_DOCUMENTS
    assert docs == sorted(docs)
    for path in docs:
        assert path.parent == sample_data.docs_dir()
        assert path.is_file() and path.stat().st_size > 0, path


def test_list_documents_skips_hidden_and_unknown_files(tmp_path, monkeypatch):
    for name in ("b.md", "a.csv", "c.PDF", ".hidden.md", "notes.txt", "image.png"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "folder.md").mkdir()
    monkeypatch.setattr(sample_data, "docs_dir", lambda: tmp_path)

    assert [p.name for p in sample_data.list_documents()] == ["a.csv", "b.md", "c.PDF"]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED_DOCUMENTS if n.endswith(".md")))
def test_markdown_page_has_a_title_sections_and_substance(name):
    text = (sample_data.docs_dir() / name).read_text(encoding="utf-8")

    assert text.startswith("# "), "a page opens with its title"
    assert len(re.findall(r"^## ", text, flags=re.M)) >= 3
    assert 400 <= len(text.split()) <= 1200


def test_pdf_has_three_pages_each_extracting_its_own_phrase_as_readable_text():
    path = sample_data.docs_dir() / "brew-guide.pdf"
    pages = _pdf_pages()

    assert path.stat().st_size < 100_000
    assert len(pages) == len(PDF_PAGE_PHRASES) == 3
    for number, (text, phrase) in enumerate(zip(pages, PDF_PAGE_PHRASES, strict=True), start=1):
        assert phrase in text, f"page {number}"
        assert f"page {number} of 3" in text
        for other in PDF_PAGE_PHRASES:
            assert other == phrase or other not in text, f"page {number} holds another page's text"
        lines = [line for line in text.splitlines() if line.strip()]
        assert sum(map(len, lines)) / len(lines) > 30, "text came out one glyph per line"
    assert "94 °C (201 °F)" in pages[0], "WinAnsi characters survive extraction"


def test_csv_parses_into_the_expected_columns_with_quoted_commas_and_utf8():
    columns, rows = _csv_rows()

    assert columns == CSV_COLUMNS
    assert len(rows) == CSV_ROWS
    for line, row in enumerate(rows, start=2):
        assert None not in row, f"line {line} has too many fields"
        assert all(row[c] for c in CSV_COLUMNS), f"line {line} has an empty field"
    assert sum("," in row["address"] for row in rows) >= 5
    assert rows[1]["stockist"] == "Café Solène"
    assert rows[1]["carries"] == "Foghorn Blend, Crow's Nest, Lantern Decaf"
    carried = {name.strip() for row in rows for name in row["carries"].split(",")}
    assert carried <= set(PRODUCT_NAMES)


# --- golden outputs ----------------------------------------------------------------------------


def test_golden_outputs_are_valid_rows_with_unique_ids_and_known_kinds():
    lines = sample_data.golden_path().read_text(encoding="utf-8").splitlines()
    golden = sample_data.read_golden()

    assert len(golden) == len(lines)
    assert 18 <= len(golden) <= 24
    ids = [g["id"] for g in golden]
    assert len(set(ids)) == len(ids)
    for g in golden:
        assert re.fullmatch(r"g\d\d", g["id"])
        assert set(g) <= {"id", "kind", "text", "context"}
        assert g["kind"] in sample_data.GOLDEN_KINDS
        assert isinstance(g["text"], str) and len(g["text"].split()) >= 20
        assert isinstance(g.get("context", ""), str)
    assert {g["kind"] for g in golden} == set(sample_data.GOLDEN_KINDS)


def test_product_names_are_the_ones_on_the_product_page():
    products = (sample_data.docs_dir() / "products.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (.+)$", products, flags=re.M))

    assert headings - {"Gift cards"} == set(PRODUCT_NAMES)


def test_golden_outputs_only_mention_products_and_prices_the_documents_state():
    corpus = _docs_corpus()
    golden = sample_data.read_golden()
    mentioned = {name for g in golden for name in PRODUCT_NAMES if name in g["text"]}

    assert len(mentioned) >= 6, "the golden outputs should cover most of the product line"
    for name in mentioned:
        assert name in corpus
    for g in golden:
        for amount in MONEY.findall(g["text"]):
            assert amount in corpus, f"{g['id']} quotes {amount}, which no document states"


def test_golden_outputs_follow_the_brand_voice_guide():
    for g in sample_data.read_golden():
        text = g["text"]
        emoji = {c for c in text if ord(c) >= 0x2600}
        assert text.count("!") <= 1, g["id"]
        assert emoji <= ALLOWED_EMOJI and sum(ord(c) >= 0x2600 for c in text) <= 1, g["id"]
        if g["kind"] == "social_post":
            tags = re.findall(r"#\w+", text)
            assert text.startswith("Forecast: "), g["id"]
            assert "#GullhavenCoffee" in tags and len(tags) <= 2, g["id"]
        else:
            signed = re.search(r"Fair winds, (\w+) at Gullhaven$", text)
            assert text.startswith("Hi "), g["id"]
            assert signed and signed.group(1) in CREW_FIRST_NAMES, g["id"]
            assert len(text.split()) <= 120, g["id"]


# --- retrieval questions -----------------------------------------------------------------------


def test_retrieval_questions_point_at_existing_documents_and_cover_all_of_them():
    questions = _questions()
    names = {p.name for p in sample_data.list_documents()}

    assert 12 <= len(questions) <= 20
    for q in questions:
        assert set(q) == {"question", "source"}
        assert q["question"].endswith("?")
        assert (sample_data.docs_dir() / q["source"]).is_file(), q["source"]
    assert len({q["question"] for q in questions}) == len(questions)
    assert {q["source"] for q in questions} == names


def test_sample_data_files_ship_as_package_data():
    pyproject = Path(sample_data.__file__).resolve().parents[2] / "pyproject.toml"
    setuptools_cfg = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = setuptools_cfg["package-data"]["*"]

    for suffix in {p.suffix for p in sample_data.list_documents()} | {".jsonl"}:
        assert f"*{suffix}" in patterns, suffix
    # docs/ has no __init__.py: it ships only while package discovery includes namespace folders.
    assert not (sample_data.docs_dir() / "__init__.py").exists()
    assert setuptools_cfg["packages"]["find"].get("namespaces", True) is True
