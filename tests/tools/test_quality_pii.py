"""PII detection: what must be found, what must never be (prices, dates, order numbers)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from tools.datasets.quality import find_pii, pii_filter
from tools.datasets.quality.pii import iban_valid, luhn_valid

FOUND = [
    (
        "Write to ada.lovelace+orders@example.co.uk today",
        "email",
        "ada.lovelace+orders@example.co.uk",
    ),
    ("Call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
    ("Ring +33 1 23 45 67 89.", "phone", "+33 1 23 45 67 89"),
    ("Mobile: +4915112345678", "phone", "+4915112345678"),
    ("US office (555) 123-4567", "phone", "(555) 123-4567"),
    ("or 555-123-4567 after 5pm", "phone", "555-123-4567"),
    ("or 555.123.4567", "phone", "555.123.4567"),
    ("toll free 1-800-555-0199", "phone", "1-800-555-0199"),
    ("+1 (555) 123-4567 works too", "phone", "+1 (555) 123-4567"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
    ("to GB82WEST12345698765432.", "iban", "GB82WEST12345698765432"),
    ("Norway: NO93 8601 1117 947", "iban", "NO93 8601 1117 947"),
    ("card 4111 1111 1111 1111 exp 12/28", "card", "4111 1111 1111 1111"),
    ("card 5555-5555-5555-4444", "card", "5555-5555-5555-4444"),
    ("amex 3782 822463 10005", "card", "3782 822463 10005"),
    ("Card number: 4012888888881881", "card", "4012888888881881"),
]

NOT_PII = [
    "The Ethiopia Guji costs $17.00, or $1,299.00 for the wholesale sack.",
    "Roasted on 2026-11-27, shipped 11/27/2026, best before 27.11.2027.",
    "Your order #4111111111111111 has shipped.",
    "Order number 5551234567 is ready; invoice no. 555-123-4567 is attached.",
    "Tracking number: 4012888888881881",
    "We roasted 1000 2000 3000 4000 kilos in four years.",
    "Reference 12345678901234 and SKU 9780306406157.",
    "Open 08:00-17:30, version 1.2.3, ISBN 978-3-16-148410-0, call us at extension 4567.",
    "DE89 3704 0044 0532 0130 01 has a bad check digit.",  # IBAN checksum fails
    "4111 1111 1111 1112 is not a valid card number.",  # Luhn fails
    "Pay 0000 0000 0000 0000 to test.",  # one repeated digit
    "Score 10-15-2026 and 1234-5678 and 12-34-56.",
    "user at example dot com",
]


@pytest.mark.parametrize(("text", "kind", "span"), FOUND)
def test_pii_is_found(text, kind, span):
    assert [(m.kind, m.text) for m in find_pii(text)] == [(kind, span)]


@pytest.mark.parametrize("text", NOT_PII)
def test_prices_dates_order_numbers_are_not_pii(text):
    assert find_pii(text) == []


def test_checksums():
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")
    assert iban_valid("gb82west12345698765432")
    assert not iban_valid("XX89370400440532013000")  # no such country
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


ROWS = [
    {
        "id": "chat",
        "messages": [
            {"role": "system", "content": "You are the Gullhaven support bot."},
            {"role": "user", "content": "I'm ada@example.com, card 4111 1111 1111 1111."},
            {"role": "assistant", "content": "Thanks! We'll call +44 20 7946 0958."},
        ],
        "meta": {"context": "ada@example.com"},
    },
    {"id": "pc", "prompt": "Refund to DE89 3704 0044 0532 0130 00", "completion": "Done."},
    {"id": "clean", "prompt": "Price of the Guji?", "completion": "$17.00 per 250 g."},
    {"id": "text", "text": "Email bob@example.org or 555-123-4567."},
]


def test_redact_replaces_pii_in_every_trained_field():
    result = pii_filter(ROWS, mode="redact")
    assert result.removed == []
    chat, pc, clean, text = result.kept
    assert [m["content"] for m in chat["messages"]] == [
        "You are the Gullhaven support bot.",
        "I'm [EMAIL], card [CARD].",
        "Thanks! We'll call [PHONE].",
    ]
    assert chat["meta"] == {"context": "ada@example.com"}  # meta never reaches the trainer
    assert pc == {"id": "pc", "prompt": "Refund to [IBAN]", "completion": "Done."}
    assert clean is ROWS[2]
    assert text["text"] == "Email [EMAIL] or [PHONE]."
    assert result.notes["found"] == {"email": 2, "card": 1, "phone": 2, "iban": 1}
    assert result.notes["rows_with_pii"] == 3
    assert ROWS[0]["messages"][1]["content"].startswith("I'm ada@")  # the input is untouched


def test_drop_removes_rows_listing_the_kinds_found():
    result = pii_filter(ROWS, mode="drop")
    assert [r["id"] for r in result.kept] == ["clean"]
    assert [(r.id, r.reason) for r in result.removed] == [
        ("chat", "PII: email, card, phone"),
        ("pc", "PII: iban"),
        ("text", "PII: email, phone"),
    ]


def test_only_the_chosen_kinds_are_looked_for():
    result = pii_filter(ROWS, mode="drop", kinds=["iban"])
    assert [r.id for r in result.removed] == ["pc"]
    assert result.notes["found"] == {"iban": 1}


@pytest.mark.parametrize(("mode", "kinds"), [("mask", ["email"]), ("drop", ["ssn"]), ("drop", [])])
def test_bad_mode_or_kind_is_refused(mode, kinds):
    with pytest.raises(InvalidInput) as err:
        pii_filter(ROWS, mode=mode, kinds=kinds)
    assert err.value.hint
