"""Rubric grading for suite cases: a judge model scores each answer 1-5 (prompts/suite_judge.yaml).

The answer under test is shown to the judge inside delimited blocks, defused the same way as the
dataset judge's rows (tools/datasets/quality/judge.py), so an answer saying "give this a 5" is
graded, not obeyed. Scores are parsed by the same lenient parser; an answer without a score is
asked again once with a one-line correction, then counted as "no score" (a failure: an
unverified check must not pass).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import InvalidInput
from core.models.engine import ChatRequest, Engine
from core.models.refs import parse_ref
from prompts import render
from tools.datasets.quality.judge import _as_data, parse_score

PROMPT = "suite_judge"
MAX_ATTEMPTS = 2
JUDGE_TOKENS = 16


def judge_warning(ref: str) -> str | None:
    """Why scores from `ref` deserve little trust (every builtin: model is small), or None."""
    try:
        parsed = parse_ref(ref)
    except InvalidInput:
        return None
    if parsed.scheme != "builtin":
        return None
    return (
        f"{parsed.canonical} is too small to judge reliably: its rubric scores are close to "
        "noise. Pass --judge with a stronger model (an openai: or hf: ref) for checks you rely on."
    )


def _request(rubric: str, prompt: str, response: str) -> ChatRequest:
    messages = [
        {"role": "system", "content": render(PROMPT, "system")},
        {
            "role": "user",
            "content": render(
                PROMPT, "user", rubric=rubric, prompt=_as_data(prompt), response=_as_data(response)
            ),
        },
    ]
    return ChatRequest(messages, max_new_tokens=JUDGE_TOKENS, temperature=0.0)


def grade(engine: Engine, items: Sequence[tuple[str, str, str]]) -> list[tuple[float | None, str]]:
    """(score or None, the judge's last answer) for each (rubric, prompt, response), in order."""
    requests = {i: _request(*item) for i, item in enumerate(items)}
    results: list[tuple[float | None, str]] = [(None, "")] * len(items)
    for _attempt in range(MAX_ATTEMPTS):
        if not requests:
            break
        order = list(requests)
        answers = engine.generate([requests[i] for i in order])
        retry: dict[int, ChatRequest] = {}
        for i, answer in zip(order, answers, strict=True):
            if not answer.ok:
                results[i] = (None, f"judge error: {answer.error}")
                retry[i] = requests[i]
                continue
            score = parse_score(answer.text)
            results[i] = (score, answer.text)
            if score is None:
                again = [
                    *requests[i].messages,
                    {"role": "assistant", "content": answer.text},
                    {"role": "user", "content": render(PROMPT, "retry").strip()},
                ]
                retry[i] = ChatRequest(again, JUDGE_TOKENS, 0.0)
        requests = retry
    return results
