"""What each check of a suite case says about one answer: a list of failures, each a reason.

A failure names what was expected and what came back ("missing '30 days'", "112 words > 80"), so
a person reads why a case failed without opening the output. The text checks are pure functions;
similarity and judge scores are computed in batches by the runner and judged here.
"""

from __future__ import annotations

import re

from tools.testing.suite import Case, JudgeCheck, SimilarTo


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of non-space characters."""
    return len(text.split())


def text_failures(case: Case, output: str) -> list[str]:
    """Failures of the checks that need no model (contains, regex, length limits).

    contains/not_contains ignore case: "Thirty days" and "thirty days" answer the same question.
    """
    failures: list[str] = []
    lowered = output.casefold()
    failures += [f"missing {s!r}" for s in case.contains if s.casefold() not in lowered]
    failures += [f"contains forbidden {s!r}" for s in case.not_contains if s.casefold() in lowered]
    failures += [f"no match for regex {p!r}" for p in case.regex if not re.search(p, output)]
    if case.max_words is not None and (words := word_count(output)) > case.max_words:
        failures.append(f"{words} words > max_words {case.max_words}")
    if case.max_chars is not None and len(output) > case.max_chars:
        failures.append(f"{len(output)} characters > max_chars {case.max_chars}")
    return failures


def similarity_failure(check: SimilarTo, similarity: float) -> str | None:
    if similarity >= check.threshold:
        return None
    return f"similarity {similarity:.2f} < {check.threshold:.2f} to {_short(check.text)!r}"


def judge_failure(check: JudgeCheck, score: float | None, last_answer: str = "") -> str | None:
    if score is None:
        return f"the judge gave no score (it answered {_short(last_answer)!r})"
    if score >= check.min_score:
        return None
    return f"judge score {score:g} < min_score {check.min_score:g} ({_short(check.rubric)})"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
