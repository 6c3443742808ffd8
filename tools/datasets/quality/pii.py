"""Personal data in rows: emails, phone numbers, IBANs and payment-card numbers; redact or drop.

A fine-tuned model can repeat what it was trained on, so a customer's email in a support ticket
must not reach the trainer. Detection favours precision on business text, where prices, dates,
order and tracking numbers are everywhere:

* email: local@domain.tld.
* phone: international (+ and country code, 8-15 digits in all, separators optional) or US
  formatted (555-123-4567, (555) 123-4567, 555.123.4567, optional +1). A bare run of digits is
  not a phone: it is far more often an order number. Dates (2026-11-27, 11/27/2026) and prices
  ($17.00) do not have these shapes.
* iban: a country code from the IBAN registry, the exact length for that country, and the ISO
  13616 check (the number, first four characters moved to the end and letters as 10..35, is 1
  mod 97). Printed groups of four are accepted.
* card: 13-19 digits, either unbroken or in card-shaped groups (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4)
  separated by spaces or dashes, starting with 2-6 (the issuer ranges of Visa, Mastercard, Amex,
  Discover, JCB, Diners, UnionPay), passing the Luhn check, not one repeated digit.
Digits right after a label such as "order #", "invoice no.", "tracking number" or "ref" are never
flagged as phones or cards. Spans are claimed in the order email, iban, card, phone, so one number
is reported once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.errors import InvalidInput
from tools.datasets.quality.rowmeta import row_id
from tools.datasets.rows import OpResult, Removal

PII_KINDS = ("email", "iban", "card", "phone")
PLACEHOLDERS = {"email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "phone": "[PHONE]"}
MODES = ("redact", "drop")

# fmt: off
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
# fmt: on

_NOT_BEFORE_NUMBER = r"(?<![\w$€£¥#+/.,-])"
_NOT_AFTER_NUMBER = r"(?!\w|[.,/-]?\d)"
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}\b")
_CARD = re.compile(_NOT_BEFORE_NUMBER + r"\d(?:[ -]?\d){12,18}" + _NOT_AFTER_NUMBER)
_CARD_GROUPS = re.compile(r"^(?:4 4 4 4|4 4 4 4 3|4 6 5|4 6 4)$")
_PHONE_INTL = re.compile(
    _NOT_BEFORE_NUMBER + r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}" + _NOT_AFTER_NUMBER
)
_PHONE_US = re.compile(
    _NOT_BEFORE_NUMBER + r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}" + _NOT_AFTER_NUMBER
)
_LABEL = re.compile(
    r"\b(?:order|invoice|receipt|tracking|shipment|parcel|ref|reference|sku|isbn|serial|"
    r"confirmation|booking|ticket|case)\s*(?:#|no\.?|nr\.?|number|id|code)?\s*[:#]?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PiiMatch:
    kind: str
    start: int
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    """The Luhn check: doubling every second digit from the right, the sum is a multiple of 10."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """Registered country, the length for that country, and the mod-97 check (ISO 13616)."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    if not moved.isalnum() or not moved.isascii():
        return False
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _labelled(text: str, start: int) -> bool:
    """Whether the number at `start` follows a label like "order #" (then it is not PII)."""
    return bool(_LABEL.search(text[max(0, start - 40) : start]))


def _emails(text: str) -> Iterable[tuple[int, int]]:
    return (m.span() for m in _EMAIL.finditer(text))


def _ibans(text: str) -> Iterable[tuple[int, int]]:
    for match in _IBAN.finditer(text):
        length = IBAN_LENGTHS.get(match.group()[:2].upper())
        if length is None:
            continue
        # The candidate may run into a following word: cut it after `length` characters, which
        # must end a printed group (the next character is a space or the end of the candidate).
        counted = 0
        for offset, char in enumerate(match.group()):
            counted += char != " "
            if counted == length:
                end = match.start() + offset + 1
                at_group_end = end == match.end() or text[end] == " "
                if at_group_end and iban_valid(text[match.start() : end].replace(" ", "")):
                    yield match.start(), end
                break


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        groups = " ".join(str(len(g)) for g in re.split(r"[ -]", match.group()))
        shaped = " " not in groups or _CARD_GROUPS.match(groups)
        issuer = digits[0] in "23456"
        plausible = shaped and issuer and len(set(digits)) > 1 and luhn_valid(digits)
        if plausible and not _labelled(text, match.start()):
            yield match.span()


def _phones(text: str) -> Iterable[tuple[int, int]]:
    for pattern in (_PHONE_INTL, _PHONE_US):
        for match in pattern.finditer(text):
            digits = sum(c.isdigit() for c in match.group())
            if 8 <= digits <= 15 and not _labelled(text, match.start()):
                yield match.span()


_DETECTORS: dict[str, Callable[[str], Iterable[tuple[int, int]]]] = {
    "email": _emails,
    "iban": _ibans,
    "card": _cards,
    "phone": _phones,
}


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(kinds)
    unknown = [k for k in chosen if k not in PII_KINDS]
    if unknown or not chosen:
        raise InvalidInput(
            f"Unknown PII kinds: {', '.join(unknown) or '(none given)'}.",
            f"Choose from: {', '.join(PII_KINDS)}.",
        )
    return chosen


def find_pii(text: str, kinds: Iterable[str] = PII_KINDS) -> list[PiiMatch]:
    """Every PII span in `text`, in text order, without overlaps (earlier kinds win)."""
    chosen = set(kinds)
    found: list[PiiMatch] = []
    for kind in PII_KINDS:
        if kind not in chosen:
            continue
        for start, end in _DETECTORS[kind](text):
            if all(end <= m.start or start >= m.end for m in found):
                found.append(PiiMatch(kind, start, end, text[start:end]))
    return sorted(found, key=lambda m: m.start)


def redact(text: str, matches: list[PiiMatch]) -> str:
    """`text` with each match replaced by its placeholder ([EMAIL], [PHONE], [IBAN], [CARD])."""
    for match in sorted(matches, key=lambda m: m.start, reverse=True):
        text = text[: match.start] + PLACEHOLDERS[match.kind] + text[match.end :]
    return text


def _map_texts(row: dict, change: Callable[[str], str]) -> dict:
    """A copy of `row` with `change` applied to every trained text field (meta untouched)."""
    out = dict(row)
    for key in ("prompt", "completion", "text"):
        if isinstance(row.get(key), str):
            out[key] = change(row[key])
    if isinstance(row.get("messages"), list):
        out["messages"] = [
            {**m, "content": change(m["content"])}
            if isinstance(m, dict) and isinstance(m.get("content"), str)
            else m
            for m in row["messages"]
        ]
    return out


def pii_filter(
    rows: list[dict], mode: str = "redact", kinds: Iterable[str] = PII_KINDS
) -> OpResult:
    """Redact PII in every text field (mode "redact") or remove rows that contain it ("drop").

    The notes count matches by kind and the rows affected. Text in meta is not examined: it never
    reaches the trainer.
    """
    if mode not in MODES:
        raise InvalidInput(f"Unknown PII mode {mode!r}.", f"Use one of: {', '.join(MODES)}.")
    chosen = check_kinds(kinds)
    counts: Counter[str] = Counter()
    rows_with_pii = 0
    kept: list[dict] = []
    removed: list[Removal] = []
    for i, row in enumerate(rows):
        found: list[PiiMatch] = []

        def change(text: str, found: list[PiiMatch] = found) -> str:
            matches = find_pii(text, chosen)
            found.extend(matches)
            return redact(text, matches)

        redacted = _map_texts(row, change)
        counts.update(m.kind for m in found)
        rows_with_pii += bool(found)
        if not found:
            kept.append(row)
        elif mode == "drop":
            kinds_found = sorted({m.kind for m in found}, key=PII_KINDS.index)
            removed.append(Removal(row_id(row, i), f"PII: {', '.join(kinds_found)}"))
        else:
            kept.append(redacted)
    notes = {
        "mode": mode,
        "kinds": list(chosen),
        "found": dict(counts),
        "rows_with_pii": rows_with_pii,
    }
    return OpResult(kept, removed, notes)
