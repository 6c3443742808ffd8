"""A small, readable row predicate language, parsed without eval.

People (and the agent) select rows by typing what they mean:

    len(completion) > 200            tokens < 512              tokens(prompt) >= 8
    contains(prompt, "refund")       regex(completion, "\\d{3}")
    score.grounding >= 0.5           source == "products.md"   split == "eval"   id != "r00007"
    not contains(any, "lorem") and (split == "train" or len(source) > 1)

Fields: prompt (the input), completion / response (the output), text (input and output), any
(every string the trainer sees, system turns included), id, split, source (the row's documents;
`==` and `contains` match any of them, `!=` none of them). Numbers: len(FIELD), tokens (input and
output together), tokens(FIELD), score.NAME (a row without that score never matches a
comparison on it). `contains` ignores case; `regex` is a Python regular expression searched
anywhere in the text (prefix it with (?i) to ignore case). In a quoted string, backslash escapes
only the quote and itself, so regex escapes like \\d are written as they are.

The text is tokenised and parsed by recursive descent into closures; a syntax error points at its
column with a caret and lists the valid forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from core.errors import InvalidInput
from tools.datasets import fields
from tools.datasets.fields import TokenCounter, count_words
from tools.datasets.quality.text import row_text
from tools.datasets.rows import prompt_and_response

VALID_FORMS = (
    "len(FIELD) > 200",
    "tokens < 512",
    "tokens(FIELD) >= 8",
    'contains(FIELD, "refund")',
    'regex(FIELD, "\\d{3}")',
    "score.NAME >= 0.5",
    'source == "products.md"',
    'split == "eval"',
    'id == "r00001"',
)
TEXT_FIELDS = ("prompt", "completion", "response", "text", "any", "id", "split")
FIELD_NAMES = (*TEXT_FIELDS, "source")
_HINT = (
    f"Valid forms: {'; '.join(VALID_FORMS)}. FIELD is one of {', '.join(FIELD_NAMES)}. "
    "Combine with and, or, not and parentheses."
)
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?(?![\w.]))|(?P<name>[A-Za-z_][\w-]*(?:\.[\w-]+)*)"
    r"|(?P<op>==|!=|<=|>=|<|>|=)|(?P<punct>[(),])|(?P<quote>[\"']))"
)


class _RowView:
    """One row as the predicate sees it, with each derived value computed once."""

    def __init__(self, row: dict, count_tokens: TokenCounter) -> None:
        self.row = row
        self.count_tokens = count_tokens

    @cached_property
    def _pair(self) -> tuple[str, str]:
        return prompt_and_response(self.row)

    def text(self, name: str) -> str | None:
        if name == "prompt":
            return self._pair[0]
        if name in ("completion", "response"):
            return self._pair[1]
        if name == "text":
            return row_text(self.row)
        if name == "any":
            return fields.all_text(self.row)
        if name == "id":
            return str(self.row.get("id", ""))
        return fields.split_of(self.row)

    def texts(self, name: str) -> list[str]:
        """A field as a list: the documents for `source`, else the one text (none if absent)."""
        if name == "source":
            return fields.sources(self.row)
        value = self.text(name)
        return [] if value is None else [value]

    def tokens(self) -> int:
        return self.count_tokens(self._pair[0]) + self.count_tokens(self._pair[1])


Test = Callable[[_RowView], bool]
Number = Callable[[_RowView], float | None]


@dataclass(frozen=True)
class Predicate:
    """A parsed predicate: call it on a row to get True or False."""

    expr: str
    test: Test = field(repr=False)
    score_names: frozenset[str] = frozenset()
    count_tokens: TokenCounter = field(default=count_words, repr=False)

    def __call__(self, row: dict) -> bool:
        return self.test(_RowView(row, self.count_tokens))

    def __str__(self) -> str:
        return self.expr


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, punct, string, end
    text: str
    value: Any
    column: int  # 1-based


def _fail(expr: str, column: int, what: str) -> InvalidInput:
    caret = " " * (column - 1) + "^"
    return InvalidInput(
        f"Cannot read the filter: {what} at column {column}:\n  {expr}\n  {caret}", _HINT
    )


def _read_string(expr: str, start: int) -> tuple[str, int]:
    """The quoted string opening at `start`, and the index after its closing quote."""
    quote, chars, i = expr[start], [], start + 1
    while i < len(expr):
        char = expr[i]
        if char == "\\" and i + 1 < len(expr) and expr[i + 1] in (quote, "\\"):
            chars.append(expr[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(chars), i + 1
        chars.append(char)
        i += 1
    raise _fail(expr, start + 1, "this string has no closing quote")


def _tokenise(expr: str) -> list[_Token]:
    tokens, i = [], 0
    while expr[i:].strip():
        match = _TOKEN.match(expr, i)
        if not match:
            column = i + len(expr[i:]) - len(expr[i:].lstrip()) + 1
            raise _fail(expr, column, f"unexpected {expr[column - 1]!r}")
        kind = match.lastgroup or ""
        column = match.start(kind) + 1
        if kind == "quote":
            value, i = _read_string(expr, match.start(kind))
            tokens.append(_Token("string", expr[match.start(kind) : i], value, column))
            continue
        text = match.group(kind)
        value: Any = float(text) if kind == "number" else text
        if kind == "op" and text == "=":
            text = value = "=="
        if kind == "name" and text.lower() in ("and", "or", "not"):
            text = value = text.lower()
        tokens.append(_Token(kind, text, value, column))
        i = match.end()
    tokens.append(_Token("end", "", None, len(expr) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; each rule returns a closure over a _RowView."""

    def __init__(self, expr: str, count_tokens: TokenCounter) -> None:
        self.expr = expr
        self.tokens = _tokenise(expr)
        self.pos = 0
        self.count_tokens = count_tokens
        self.score_names: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, token: _Token, what: str) -> InvalidInput:
        return _fail(self.expr, token.column, what)

    def expect(self, text: str, what: str) -> _Token:
        token = self.take()
        if token.text != text:
            found = f"found {token.text!r}" if token.kind != "end" else "the filter ends"
            raise self.fail(token, f"expected {what}, {found}")
        return token

    def is_word(self, word: str) -> bool:
        return self.peek.kind == "name" and self.peek.text == word

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> Test:
        if self.peek.kind == "end":
            raise self.fail(self.peek, "the filter is empty")
        test = self.or_expr()
        if self.peek.kind != "end":
            raise self.fail(self.peek, f"expected and, or or the end, found {self.peek.text!r}")
        return test

    def or_expr(self) -> Test:
        parts = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else lambda view: any(p(view) for p in parts)

    def and_expr(self) -> Test:
        parts = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else lambda view: all(p(view) for p in parts)

    def not_expr(self) -> Test:
        if self.is_word("not"):
            self.take()
            inner = self.not_expr()
            return lambda view: not inner(view)
        if self.peek.text == "(" and self.peek.kind == "punct":
            self.take()
            inner = self.or_expr()
            self.expect(")", "')'")
            return inner
        return self.test()

    def test(self) -> Test:
        token = self.take()
        if token.kind != "name" or token.text in ("and", "or", "not"):
            found = "the end" if token.kind == "end" else repr(token.text)
            raise self.fail(
                token, f"expected a field, len(...), contains(...) or regex(...), found {found}"
            )
        if self.peek.text == "(" and self.peek.kind == "punct":
            return self.call(token)
        return self.comparison(token)

    def field_arg(self, allow_source: bool = True) -> str:
        token = self.take()
        names = FIELD_NAMES if allow_source else TEXT_FIELDS
        if token.kind != "name" or token.text not in names:
            raise self.fail(token, f"expected a field ({', '.join(names)})")
        return token.text

    def call(self, name: _Token) -> Test:
        function = name.text
        if function not in ("len", "tokens", "contains", "regex"):
            raise self.fail(
                name, f"unknown function {function!r}; use len, tokens, contains or regex"
            )
        self.expect("(", "'('")
        column = self.field_arg(allow_source=function != "tokens")
        if function in ("len", "tokens"):
            self.expect(")", "')'")
            label = f"{function}({column})"
            if function == "tokens":
                return self.compare_number(label, lambda v: v.count_tokens(v.text(column) or ""))
            if column == "source":
                return self.compare_number(label, lambda view: len(view.texts("source")))
            return self.compare_number(label, lambda view: len(view.text(column) or ""))
        self.expect(",", "',' and a quoted string")
        pattern = self.take()
        if pattern.kind != "string":
            raise self.fail(pattern, f"{function} needs a quoted string here")
        self.expect(")", "')'")
        if function == "contains":
            needle = pattern.value.casefold()
            return lambda view: any(needle in t.casefold() for t in view.texts(column))
        try:
            compiled = re.compile(pattern.value)
        except re.error as exc:
            raise self.fail(pattern, f"this is not a valid regular expression ({exc})") from None
        return lambda view: any(compiled.search(t) for t in view.texts(column))

    def comparison(self, name: _Token) -> Test:
        word = name.text
        if word == "tokens":
            return self.compare_number(word, lambda view: view.tokens())
        if word.startswith("score."):
            score = word.removeprefix("score.")
            self.score_names.add(score)
            return self.compare_number(word, lambda view: fields.scores(view.row).get(score))
        if word not in FIELD_NAMES:
            raise self.fail(name, f"unknown field {word!r}")
        op = self.take()
        if op.kind != "op":
            raise self.fail(op, f"expected == or != after {word}")
        if op.text not in ("==", "!="):
            raise self.fail(op, f"{word} is text: compare it with == or !=, or use len({word})")
        literal = self.take()
        if literal.kind != "string":
            raise self.fail(literal, f"{word} is text: compare it with a quoted string")
        wanted = literal.value
        if op.text == "==":
            return lambda view: wanted in view.texts(word)
        return lambda view: wanted not in view.texts(word)

    def compare_number(self, label: str, value: Number) -> Test:
        op = self.take()
        if op.kind != "op":
            raise self.fail(op, f"expected a comparison ({', '.join(_COMPARISONS)}) after {label}")
        literal = self.take()
        if literal.kind == "end":
            raise self.fail(literal, f"expected a number after {op.text}")
        if literal.kind != "number":
            raise self.fail(literal, f"{label} is a number: compare it with a number")
        compare = _NUMBER_OPS[op.text]
        limit = literal.value

        def test(view: _RowView) -> bool:
            found = value(view)
            return found is not None and compare(found, limit)

        return test


_NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def parse_predicate(expr: str, *, count_tokens: TokenCounter | None = None) -> Predicate:
    """Parse `expr` into a Predicate; raise InvalidInput pointing at the column where it fails.

    `count_tokens` counts tokens for `tokens` and `tokens(FIELD)` (default: whitespace words;
    the CLI passes the base model's tokenizer).
    """
    if not isinstance(expr, str):
        raise InvalidInput(f"A filter must be text, not {type(expr).__name__}.", _HINT)
    counter = count_tokens or count_words
    parser = _Parser(expr, counter)
    test = parser.parse()
    return Predicate(expr.strip(), test, frozenset(parser.score_names), counter)
