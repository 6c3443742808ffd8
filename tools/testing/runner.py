"""Run a suite against a model: generate every case's answer in one batch, then check it.

The order is cheap first: the suite is validated (and a judge check without a judge model is
refused) before any model loads; all answers are generated in one batched call; similarity checks
embed every answer and expected text in one MiniLM call; rubric checks go to the judge in one
batch. A case passes only when every one of its checks passes, and a failed generation fails its
case with the engine's error, never the whole suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.models.engine import ChatRequest
from core.workspace import Workspace
from tools.testing.checks import judge_failure, similarity_failure, text_failures
from tools.testing.suite import Case, Suite, load_suite

Progress = Callable[[int, int, str], None]
"""`progress(done, total, stage)`: stages are "generate", "similarity" and "judge"."""


@dataclass
class CaseResult:
    """One case: passed or not, why not (one reason per failed check), and the answer."""

    name: str
    passed: bool
    failures: list[str]
    output: str
    prompt: str = ""
    line: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0


@dataclass
class SuiteResult:
    """Every case's result plus the counts; `warnings` say what to trust less (a weak judge)."""

    suite: str
    model: str
    cases: list[CaseResult]
    judge: str | None = None
    kb: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(case.passed for case in self.cases)

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "model": self.model,
            "judge": self.judge,
            "kb": self.kb,
            "passed": self.passed,
            "failed": self.failed,
            "total": self.total,
            "warnings": self.warnings,
            "cases": [asdict(case) for case in self.cases],
        }


def run_suite(
    model_ref: str,
    suite: str | Path | Suite,
    *,
    judge: str | None = None,
    kb: str | None = None,
    k: int = 3,
    ws: Workspace | None = None,
    progress: Progress | None = None,
) -> SuiteResult:
    """Answer every case of `suite` with `model_ref` and check the answers.

    `judge` (a model ref) overrides the suite's `judge:` key. `kb` puts the top-`k` chunks of a
    knowledge base in each prompt, as `tunesmith try --kb` does.
    """
    from tools.playground import get_engine
    from tools.testing.judge import judge_warning

    loaded = load_suite(suite)
    judge_ref = (judge or "").strip() or loaded.judge
    if loaded.needs_judge and not judge_ref:
        first = next(case for case in loaded.cases if case.judge is not None)
        raise InvalidInput(
            f"Case {first.name!r} has a judge check, but no judge model is set.",
            "Pass --judge MODEL_REF (e.g. openai:gpt-4o-mini), or add `judge: MODEL_REF` to the "
            "suite.",
        )
    if kb and k < 1:
        raise InvalidInput(f"k must be at least 1, not {k}.", "Use -k 3 for the three best chunks.")
    step = progress or (lambda done, total, stage: None)

    prompts, hits = _prompts(loaded, kb, k, ws)
    engine = get_engine(model_ref, ws)
    requests = [ChatRequest(m, max_new_tokens=loaded.max_new_tokens) for m in prompts]
    generations = engine.generate(requests, progress=lambda d, t: step(d, t, "generate"))

    results = []
    for case, generation, case_hits in zip(loaded.cases, generations, hits, strict=True):
        output = generation.text.strip() if generation.ok else ""
        failures = (
            text_failures(case, output)
            if generation.ok
            else [f"the model gave no answer: {generation.error}"]
        )
        results.append(
            CaseResult(
                name=case.name,
                passed=False,
                failures=failures,
                output=output,
                prompt=case.prompt,
                line=case.line,
                sources=[h.chunk.citation() for h in case_hits],
                prompt_tokens=generation.prompt_tokens,
                output_tokens=generation.output_tokens,
                latency_s=generation.latency_s,
            )
        )
    answered = [
        (case, result)
        for case, result, gen in zip(loaded.cases, results, generations, strict=True)
        if gen.ok
    ]
    _check_similarity(answered, step)

    warnings: list[str] = []
    if loaded.needs_judge:
        warning = judge_warning(judge_ref)
        if warning:
            warnings.append(warning)
        _check_judge(answered, get_engine(judge_ref, ws), step)
    for result in results:
        result.passed = not result.failures
    return SuiteResult(loaded.name, engine.ref, results, judge_ref or None, kb, warnings)


def _prompts(
    suite: Suite, kb: str | None, k: int, ws: Workspace | None
) -> tuple[list[list[dict]], list[list[Any]]]:
    """Each case's messages (with retrieved chunks when `kb` is set) and the chunks it got."""
    if not kb:
        return [list(case.messages) for case in suite.cases], [[] for _ in suite.cases]
    from tools.knowledge.context import with_retrieval

    pairs = [with_retrieval(list(case.messages), kb, k, ws=ws) for case in suite.cases]
    return [messages for messages, _ in pairs], [found for _, found in pairs]


def _check_similarity(answered: list[tuple[Case, CaseResult]], step: Progress) -> None:
    """Embed each answer and its expected text in one batch; record and judge the cosine."""
    chosen = [(case, result) for case, result in answered if case.similar_to is not None]
    if not chosen:
        return
    from core.embeddings import get_embedder

    texts = [text for case, r in chosen for text in (r.output, case.similar_to.text)]
    vectors = get_embedder().encode(texts)
    for i, (case, result) in enumerate(chosen):
        similarity = float(vectors[2 * i] @ vectors[2 * i + 1])
        result.scores["similarity"] = round(similarity, 4)
        failure = similarity_failure(case.similar_to, similarity)
        if failure:
            result.failures.append(failure)
    step(len(chosen), len(chosen), "similarity")


def _check_judge(answered: list[tuple[Case, CaseResult]], engine: Any, step: Progress) -> None:
    from tools.testing.judge import grade

    chosen = [(case, result) for case, result in answered if case.judge is not None]
    if not chosen:
        return
    items = [(case.judge.rubric, case.prompt, result.output) for case, result in chosen]
    for (case, result), (score, last) in zip(chosen, grade(engine, items), strict=True):
        if score is not None:
            result.scores["judge"] = score
        failure = judge_failure(case.judge, score, last)
        if failure:
            result.failures.append(failure)
    step(len(chosen), len(chosen), "judge")
