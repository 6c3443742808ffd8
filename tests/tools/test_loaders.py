"""Document loaders: each format's text and sections, encodings, and every refusal reason.

Fixtures are built in tmp_path at test time: PDFs are written by hand (a Helvetica text object per
page) and then encrypted with pypdf, DOCX files are made with python-docx.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from core.errors import DocumentRefused
from tools.knowledge.loaders import SUPPORTED_SUFFIXES, LoadedDocument, load_document

MIB = 1024 * 1024


def pdf_bytes(pages: list[str]) -> bytes:
    """A minimal valid PDF, one page per string (lines split on \\n); "" gives a blank page."""
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", font]  # object 2 is filled in below
    kids = []
    for text in pages:
        shown = " T* ".join(f"({line}) Tj" for line in text.split("\n"))
        content = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET" if text else ""
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return out


def encrypted(pdf: bytes, user_password: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def load(path: Path, max_bytes: int = 10 * MIB) -> LoadedDocument:
    doc = load_document(path, max_bytes=max_bytes)
    for section in doc.sections:  # the contract every format must keep
        assert doc.text[section.start : section.start + len(section.text)] == section.text
        assert section.text == section.text.strip() and section.text
    return doc


def refusal(path: Path, max_bytes: int = 10 * MIB) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as caught:
        load_document(path, max_bytes=max_bytes)
    assert caught.value.hint, "every refusal says what to do"
    return caught.value


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_sections_follow_the_heading_hierarchy(tmp_path):
    source = (
        "Preface line.\n\n"
        "# Shipping\nWe ship worldwide.\n\n"
        "## Returns ##\nReturns within 30 days.\n"
        "### Damaged items\nSend a photo.\n"
        "## Fees\nNo fees.\n"
        "#hashtag is not a heading\n"
        "# Contact\n"
    )
    doc = load(write(tmp_path, "policy.md", source))
    assert doc.kind == "markdown"
    assert doc.text == source
    got = [(s.heading, s.text) for s in doc.sections]
    assert got == [
        ("", "Preface line."),
        ("Shipping", "We ship worldwide."),
        ("Shipping > Returns", "Returns within 30 days."),
        ("Shipping > Returns > Damaged items", "Send a photo."),
        ("Shipping > Fees", "No fees.\n#hashtag is not a heading"),
    ]


def test_markdown_ignores_hash_lines_inside_fenced_code(tmp_path):
    source = (
        "# Setup\n\n```bash\n# install it\npip install x\n```\n\n"
        "~~~~\n## still code\n~~~\nstill code too\n~~~~\n\n## Next\nDone.\n"
    )
    doc = load(write(tmp_path, "setup.markdown", source))
    assert [s.heading for s in doc.sections] == ["Setup", "Setup > Next"]
    assert "# install it" in doc.sections[0].text
    assert "## still code" in doc.sections[0].text


# --- Plain text and encodings -----------------------------------------------------------------


def test_plain_text_normalises_newlines_to_lf(tmp_path):
    doc = load(write(tmp_path, "notes.txt", b"first line\r\nsecond\rthird\n\nnext para\n"))
    assert doc.kind == "text"
    assert doc.text == "first line\nsecond\nthird\n\nnext para\n"
    assert [s.text for s in doc.sections] == ["first line\nsecond\nthird\n\nnext para"]


WESTERN = "Café crème brûlée – “smart quotes”, naïve façade, déjà vu. Ça coûte 5 €.\n" * 3


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", WESTERN),
        ("utf-8-sig", WESTERN),
        ("utf-16", WESTERN),  # Python writes a BOM
        ("utf-16-be", None),  # with an explicit BOM below
        ("cp1252", WESTERN),
        ("latin-1", "Grüße aus Köln. Das Wetter ist schön, die Straße ist voll.\n"),
    ],
)
def test_text_encodings_decode_to_the_original_text(tmp_path, encoding, expected):
    if expected is None:
        expected, data = WESTERN, "\ufeff".encode("utf-16-be") + WESTERN.encode("utf-16-be")
    else:
        data = expected.encode(encoding)
    doc = load(write(tmp_path, f"{encoding}.rst", data))
    assert doc.text == expected


# --- HTML -------------------------------------------------------------------------------------


def test_html_keeps_visible_text_and_uses_headings(tmp_path):
    page = """<!doctype html><html><head><title>T</title><style>p {color: red}</style></head>
    <body><nav><a href="/">Home</a> | <a href="/x">Menu item</a></nav>
    <script>var secret = "do not index";</script>
    <p>Intro   text with <b>bold</b>
       and a line<br>break &amp; an entity.</p>
    <h1>Shipping</h1><p>We ship worldwide.</p><div>Second block</div>
    <h2>Returns</h2><ul><li>Within 30 days</li><li>With receipt</li></ul>
    <pre>  code   kept
    as is</pre>
    <h2>Fees</h2><table><tr><th>Item</th><th>Fee</th></tr>
    <tr><td>Box</td><td>2 EUR</td></tr></table>
    </body></html>"""
    doc = load(write(tmp_path, "page.htm", page))
    assert doc.kind == "html"
    for dropped in ("secret", "Menu item", "color"):
        assert dropped not in doc.text
    got = [(s.heading, s.text) for s in doc.sections]
    assert got[0] == ("", "Intro text with bold and a line\nbreak & an entity.")
    assert got[1] == ("Shipping", "We ship worldwide.\n\nSecond block")
    assert got[2][0] == "Shipping > Returns"
    assert "Within 30 days\n\nWith receipt" in got[2][1]
    assert "  code   kept\n" in got[2][1]
    assert got[3] == ("Shipping > Fees", "Item | Fee\n\nBox | 2 EUR")


def test_html_without_a_closing_head_tag_keeps_its_body(tmp_path):
    page = "<html><head><title>Shop</title><meta charset=utf-8><body><p>Open daily.</p>"
    doc = load(write(tmp_path, "bare.html", page))
    assert doc.text == "Open daily."


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_has_one_section_per_page_with_its_number(tmp_path):
    pdf = pdf_bytes(["Refund policy\nRefunds take five days.", "", "Contact us by mail."])
    doc = load(write(tmp_path, "policy.pdf", pdf))
    assert doc.kind == "pdf"
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "Refund policy\nRefunds take five days."),
        (3, "Contact us by mail."),
    ]


def test_pdf_encrypted_without_a_user_password_still_loads(tmp_path):
    doc = load(write(tmp_path, "locked.pdf", encrypted(pdf_bytes(["Open to all."]), "")))
    assert doc.sections[0].text == "Open to all."


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (encrypted(pdf_bytes(["Top secret."]), "secret"), "encrypted PDF"),
        (pdf_bytes(["Cut short."])[:200], "corrupt PDF"),
        (b"%PDF-1.4\n" + bytes(range(256)) * 8, "corrupt PDF"),
        (b"this is not a pdf at all", "corrupt PDF: it has no %PDF- header"),
        (pdf_bytes(["", ""]), "scanned PDF without a text layer"),
    ],
    ids=["encrypted", "truncated", "garbage", "no-header", "blank-pages"],
)
def test_pdf_refusals(tmp_path, content, reason):
    error = refusal(write(tmp_path, "bad.pdf", content))
    assert error.message.startswith(reason)
    if reason == "encrypted PDF":
        assert "qpdf --decrypt" in error.hint
    if reason.startswith("scanned"):
        assert "OCR" in error.hint


# --- CSV and JSONL ----------------------------------------------------------------------------


def test_csv_rows_carry_the_header_and_their_row_number(tmp_path):
    source = 'sku;name;note\nA1;Lamp;"bright; warm"\n\nB2;Desk;"two\nlines"\nC3;Chair;\n'
    doc = load(write(tmp_path, "stock.csv", source))
    assert doc.kind == "csv"
    assert [(s.row, s.text) for s in doc.sections] == [
        (1, "sku: A1\nname: Lamp\nnote: bright; warm"),
        (2, "sku: B2\nname: Desk\nnote: two\nlines"),
        (3, "sku: C3\nname: Chair"),
    ]


def test_tsv_splits_on_tabs_even_with_commas_in_fields(tmp_path):
    source = "question\tanswer\nWhy, though?\tBecause, that is why.\n"
    doc = load(write(tmp_path, "faq.tsv", source))
    assert doc.sections[0].text == "question: Why, though?\nanswer: Because, that is why."
    assert doc.sections[0].row == 1


def test_csv_with_only_a_header_is_refused(tmp_path):
    assert "no data rows" in refusal(write(tmp_path, "empty.csv", "a,b,c\n\n")).message


def test_jsonl_records_render_as_key_value_lines(tmp_path):
    lines = [
        json.dumps({"q": "Can I return it?", "a": "Yes", "tags": ["returns", "policy"], "n": 3}),
        "",
        json.dumps({"meta": {"lang": "en"}, "empty": None}),
        json.dumps("a bare string"),
    ]
    doc = load(write(tmp_path, "faq.jsonl", "\n".join(lines) + "\n"))
    assert doc.kind == "jsonl"
    assert [(s.row, s.text) for s in doc.sections] == [
        (1, 'q: Can I return it?\na: Yes\ntags: ["returns","policy"]\nn: 3'),
        (2, 'meta: {"lang":"en"}'),
        (3, "a bare string"),
    ]


def test_jsonl_bad_line_is_refused_with_its_line_number(tmp_path):
    path = write(tmp_path, "bad.jsonl", '{"a": 1}\n\n{"a": 2,}\n')
    error = refusal(path)
    assert error.message.startswith("line 3 is not JSON")


# --- DOCX -------------------------------------------------------------------------------------


def test_docx_uses_heading_styles_for_the_heading_path(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Before any heading.")
    document.add_heading("Handbook", level=0)
    document.add_heading("Leave", level=1)
    document.add_paragraph("Ask two weeks ahead.")
    document.add_paragraph("Your manager approves it.")
    document.add_heading("Sick leave", level=2)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Days", "Paid"), ("1-3", "yes")], strict=True):
        row.cells[0].text, row.cells[1].text = cells
    document.save(tmp_path / "handbook.docx")
    doc = load(tmp_path / "handbook.docx")
    assert doc.kind == "docx"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("", "Before any heading."),
        ("Handbook > Leave", "Ask two weeks ahead.\n\nYour manager approves it."),
        ("Handbook > Leave > Sick leave", "Days | Paid\n\n1-3 | yes"),
    ]


def test_docx_is_refused_when_python_docx_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "docx", None)  # makes `import docx` raise ImportError
    error = refusal(write(tmp_path, "a.docx", b"PK\x03\x04 not really"))
    assert "install python-docx" in error.hint


def test_corrupt_docx_is_refused(tmp_path):
    assert refusal(write(tmp_path, "a.docx", b"PK\x03\x04 broken zip")).message.startswith(
        "corrupt DOCX"
    )


# --- Refusals common to all formats -----------------------------------------------------------


def test_supported_suffixes_cover_every_kind():
    assert set(SUPPORTED_SUFFIXES.values()) == {
        "markdown", "text", "html", "pdf", "csv", "jsonl", "docx",
    }  # fmt: skip


def test_unsupported_suffix_lists_the_supported_ones(tmp_path):
    error = refusal(write(tmp_path, "setup.exe", b"MZ\x90\x00"))
    assert "unsupported file type '.exe'" in error.message
    assert ".md" in error.hint and ".pdf" in error.hint and ".jsonl" in error.hint


def test_over_the_size_limit_names_both_sizes_and_the_setting(tmp_path):
    path = write(tmp_path, "big.txt", "word " * (int(1.5 * MIB) // 5))
    error = refusal(path, max_bytes=1 * MIB)
    assert error.message == "1.5 MB is over the 1 MB limit"
    assert "TUNESMITH_MAX_DOCUMENT_MB" in error.hint
    just_over = write(tmp_path, "edge.txt", "x" * (MIB + 10))
    assert refusal(just_over, max_bytes=MIB).message == "1.00001 MB is over the 1 MB limit"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"  \n\t\r\n  ", "only whitespace"),
        ("blank.jsonl", b"\n\n", "only whitespace"),
        ("binary.txt", b"GIF89a\x01\x00\x01\x00\x00\xff\x00" * 20, "not text"),
        ("controls.log", bytes(range(1, 9)) * 40 + b"some words", "not text"),
        ("nothing.html", b"<html><script>x()</script></html>", "no text found"),
    ],
)
def test_content_refusals(tmp_path, name, content, reason):
    assert refusal(write(tmp_path, name, content)).message.startswith(reason)


def test_not_a_regular_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it for reading would block forever
    assert refusal(fifo).message.startswith("not a regular file")
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert "folder" in refusal(folder).message
    assert refusal(tmp_path / "missing.md").message == "file not found"
