"""A rubric score per answer from a judge model: "is it right?" where word overlap cannot tell.

ROUGE and BLEU punish a correct answer in other words; a judge reads the question, the reference
and the answer (prompts/judge_answer.yaml, all three inside delimited blocks as data) and grades
1-5. Score parsing, the scale, the defusing of block tags and the ask-again loop are the dataset
judge's (tools/datasets/quality/judge.py), so both judges read answers the same way; the warning
here covers every builtin: model, since none of them can grade. An answer with no
score is asked again with a one-line correction; one still without a score is left unscored
(a missing score is not a low score) and counted in the summary.

Scale: the raw 1-5 score is kept per row as `judge_score`; the metric `judge` is (score - 1) / 4 on
0-1, so it sits on the same axis, with the same kind of interval, as the overlap metrics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.models.engine import ChatRequest, Engine, Progress
from prompts import load_prompt, render
from tools.datasets.quality.judge import (
    MAX_SCORE,
    MIN_SCORE,
    as_data,
    ask_for_scores,
    builtin_canonical,
)

PROMPT = "judge_answer"
MAX_ATTEMPTS = 2
_BLOCK_TAG = re.compile(r"</?\s*(question|reference_answer|assistant_answer)\s*>", re.IGNORECASE)


@dataclass
class JudgeScores:
    """Raw 1-5 scores (None where the judge gave none), and what the summary says about them."""

    scores: list[float | None]
    model: str
    prompt_version: int
    requests: int
    warning: str | None = None
    unscored: list[int] = field(default_factory=list)

    def record(self) -> dict:
        return {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "scale": "judge = (score - 1) / 4 on 0-1; judge_score per row is the raw 1-5",
            "scored": sum(s is not None for s in self.scores),
            "unscored": len(self.unscored),
            "requests": self.requests,
            "warning": self.warning,
        }


def weak_judge_warning(ref: str) -> str | None:
    """A warning when the judge is a builtin model: they are far too small to grade answers."""
    canonical = builtin_canonical(ref)
    if canonical is None:
        return None
    return (
        f"The judge {canonical} is a tiny builtin model: its scores are close to noise. "
        "Use a stronger judge (an openai:, ollama: or larger hf: model) before trusting them."
    )


def normalised(score: float) -> float:
    """A 1-5 score on 0-1: 1 -> 0.0, 3 -> 0.5, 5 -> 1.0."""
    return (score - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)


def _as_data(text: str) -> str:
    """Text with this prompt's block delimiters defused, so an answer cannot close its block."""
    return as_data(text, _BLOCK_TAG)


def judge_request(question: str, reference: str, answer: str, max_new_tokens: int = 16):
    """The rubric conversation that asks for one answer's score."""
    user = render(
        PROMPT,
        "user",
        question=_as_data(question),
        reference=_as_data(reference),
        answer=_as_data(answer),
    )
    messages = [
        {"role": "system", "content": render(PROMPT, "system")},
        {"role": "user", "content": user},
    ]
    return ChatRequest(messages, max_new_tokens=max_new_tokens, temperature=0.0)


def judge_answers(
    engine: Engine,
    questions: Sequence[str],
    references: Sequence[str],
    answers: Sequence[str],
    *,
    max_attempts: int = MAX_ATTEMPTS,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> JudgeScores:
    """Score every answer 1-5 with `engine`; retries only the answers that got no score."""
    requests = {
        i: judge_request(q, r, a)
        for i, (q, r, a) in enumerate(zip(questions, references, answers, strict=True))
    }
    asked = ask_for_scores(
        engine,
        requests,
        retry_prompt=PROMPT,
        max_attempts=max_attempts,
        batch_size=batch_size,
        progress=progress,
    )
    scores: list[float | None] = [asked.scores.get(i) for i in range(len(requests))]
    return JudgeScores(
        scores=scores,
        model=engine.ref,
        prompt_version=int(load_prompt(PROMPT)["version"]),
        requests=asked.requests,
        warning=weak_judge_warning(engine.ref),
        unscored=[i for i, s in enumerate(scores) if s is None],
    )
