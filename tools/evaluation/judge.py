"""A rubric score per answer from a judge model: "is it right?" where word overlap cannot tell.

ROUGE and BLEU punish a correct answer in other words; a judge reads the question, the reference
and the answer (prompts/judge_answer.yaml, all three inside delimited blocks as data) and grades
1-5. Score parsing and the scale are the dataset judge's
(tools/datasets/quality/judge.py), so both judges read answers the same way; the warning
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

from core.errors import InvalidInput
from core.models.engine import ChatRequest, Engine, Progress
from core.models.refs import parse_ref
from prompts import load_prompt, render
from tools.datasets.quality.judge import MAX_SCORE, MIN_SCORE, parse_score

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
    try:
        parsed = parse_ref(ref)
    except InvalidInput:
        return None
    if parsed.scheme != "builtin":
        return None
    return (
        f"The judge {parsed.canonical} is a tiny builtin model: its scores are close to noise. "
        "Use a stronger judge (an openai:, ollama: or larger hf: model) before trusting them."
    )


def normalised(score: float) -> float:
    """A 1-5 score on 0-1: 1 -> 0.0, 3 -> 0.5, 5 -> 1.0."""
    return (score - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)


def _as_data(text: str) -> str:
    """Text with the block delimiters defused, so an answer cannot close its block early."""
    return _BLOCK_TAG.sub(lambda m: m.group().replace("<", "‹").replace(">", "›"), text)


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
    pending = {
        i: judge_request(q, r, a)
        for i, (q, r, a) in enumerate(zip(questions, references, answers, strict=True))
    }
    scores: list[float | None] = [None] * len(pending)
    asked = 0
    for _attempt in range(max_attempts):
        if not pending:
            break
        order = list(pending)
        replies = engine.generate(
            [pending[i] for i in order], batch_size=batch_size, progress=progress
        )
        asked += len(order)
        retry: dict[int, ChatRequest] = {}
        for i, reply in zip(order, replies, strict=True):
            score = parse_score(reply.text) if reply.ok else None
            if score is not None:
                scores[i] = score
            elif reply.ok:
                retry[i] = _retry_request(pending[i], reply.text)
            else:  # a failed request is sent again as it was
                retry[i] = pending[i]
        pending = retry
    return JudgeScores(
        scores=scores,
        model=engine.ref,
        prompt_version=int(load_prompt(PROMPT)["version"]),
        requests=asked,
        warning=weak_judge_warning(engine.ref),
        unscored=[i for i, s in enumerate(scores) if s is None],
    )


def _retry_request(request: ChatRequest, answer: str) -> ChatRequest:
    messages = [
        *request.messages,
        {"role": "assistant", "content": answer},
        {"role": "user", "content": render(PROMPT, "retry").strip()},
    ]
    return ChatRequest(messages, request.max_new_tokens, request.temperature)
