"""Rubric grading for suite cases: a judge model scores each answer 1-5 (prompts/suite_judge.yaml).

The answer under test is shown to the judge inside delimited blocks, defused the same way as the
dataset judge's rows (tools/datasets/quality/judge.py), so an answer saying "give this a 5" is
graded, not obeyed. Scores are parsed by the same lenient parser, in the same ask-again loop; an
answer without a score is asked again once with a one-line correction, then counted as "no
score" (a failure: an unverified check must not pass).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models.engine import ChatRequest, Engine
from prompts import render
from tools.datasets.quality.judge import as_data, ask_for_scores, builtin_canonical

PROMPT = "suite_judge"
MAX_ATTEMPTS = 2
JUDGE_TOKENS = 16


def judge_warning(ref: str) -> str | None:
    """Why scores from `ref` deserve little trust (every builtin: model is small), or None."""
    canonical = builtin_canonical(ref)
    if canonical is None:
        return None
    return (
        f"{canonical} is too small to judge reliably: its rubric scores are close to "
        "noise. Pass --judge with a stronger model (an openai: or hf: ref) for checks you rely on."
    )


def _request(rubric: str, prompt: str, response: str) -> ChatRequest:
    messages = [
        {"role": "system", "content": render(PROMPT, "system")},
        {
            "role": "user",
            "content": render(
                PROMPT, "user", rubric=rubric, prompt=as_data(prompt), response=as_data(response)
            ),
        },
    ]
    return ChatRequest(messages, max_new_tokens=JUDGE_TOKENS, temperature=0.0)


def grade(engine: Engine, items: Sequence[tuple[str, str, str]]) -> list[tuple[float | None, str]]:
    """(score or None, the judge's last answer) for each (rubric, prompt, response), in order."""
    requests = {i: _request(*item) for i, item in enumerate(items)}
    asked = ask_for_scores(engine, requests, retry_prompt=PROMPT, max_attempts=MAX_ATTEMPTS)
    return [(asked.scores.get(i), asked.last_text(i, "judge error")) for i in range(len(items))]
