"""The whole workflow, non-interactively, on the sample data: what `tunesmith demo` runs.

Gullhaven Coffee Roasters (core.sample_data) wants a model that writes in its voice. The demo
does what a person would do in the chat, in order, with the same functions the agent's tools call:
set the use case, index the documents, compare baselines in the prompt lab, synthesize a dataset
from the golden outputs, train one run, evaluate base and tuned on the held-out split (with a
side-by-side comparison), ask for advice, run the test suite and export. Every step is timed and
names the artifacts it made, so the demo doubles as a tour of the workspace.

It is sized to finish on 2 CPU cores in under 15 minutes with the builtin SmolLM2-135M: a short
LoRA run, a dozen synthesized rows and short answers. The model will not get much better in
20 steps; the point is that every piece runs end to end and that the report shows base and tuned
side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import sample_data
from core.errors import TunesmithError

BUILTIN = "builtin:smollm2-135m-instruct"
USE_CASE = (
    "Write Gullhaven Coffee Roasters' social posts and customer replies in its own voice, "
    "using the facts in its documents."
)
USE_CASE_SYSTEM = (
    "You write for Gullhaven Coffee Roasters, a small coffee roaster by the sea. Warm, plain, "
    "specific; no hype. Keep to the facts you are given."
)


@dataclass
class DemoOptions:
    """What the demo runs on. The defaults are the embedded models and the sample data.

    `writer` writes the synthetic inputs (default: the base model); `baselines` are the models the
    prompt lab compares (default: the base model, with a plain and a brand-voice prompt when no
    second model is given); `judge` grades the test suite's rubric case (default: the suite's own,
    the builtin). Tests swap in a tiny local model and a scripted writer and judge.
    """

    base_model: str = BUILTIN
    writer: str | None = None
    judge: str | None = None
    baselines: list[str] = field(default_factory=list)
    project: str = "demo"
    kb: str = "sample"
    dataset: str = "demo-coffee"
    synth_rows: int = 12
    max_steps: int = 20
    max_new_tokens: int = 64
    lab_inputs: int = 3
    run_timeout_s: float = 1800.0


@dataclass
class StepOutcome:
    """One finished step: what it did in a line, where its artifacts are, how long it took."""

    name: str
    summary: str
    artifacts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class DemoState:
    """What the steps hand each other: ids of the artifacts made so far."""

    options: DemoOptions
    ws: Any
    emit: Callable[[str, int, int, str], None]
    ids: dict[str, Any] = field(default_factory=dict)


def _use_case(state: DemoState) -> StepOutcome:
    from tools.usecase import set_use_case

    golden = sample_data.read_golden()[: state.options.lab_inputs]
    examples = [{"input": g["context"], "output": g["text"]} for g in golden]
    set_use_case(
        state.options.project,
        state.ws,
        description=USE_CASE,
        system_prompt=USE_CASE_SYSTEM,
        max_words=90,
        examples=examples,
    )
    return StepOutcome(
        "use case",
        f"project {state.options.project!r}: answers under 90 words, {len(examples)} examples",
    )


def _knowledge(state: DemoState) -> StepOutcome:
    from tools.knowledge.kb import add_documents

    report = add_documents(state.options.kb, [sample_data.docs_dir()], ws=state.ws)
    counts = ", ".join(
        f"{report.count(s)} {s}" for s in ("added", "unchanged", "replaced") if report.count(s)
    )
    path = state.ws.artifact_dir("kb", state.options.kb)
    return StepOutcome("knowledge base", f"kb:{state.options.kb}: {counts}", {"kb": str(path)})


def _prompt_lab(state: DemoState) -> StepOutcome:
    from tools.promptlab import run_experiment

    options = state.options
    models = options.baselines or [options.base_model]
    templates = [_template(plain=False)] if len(models) > 1 else [_template(True), _template()]
    artifacts, lines = {}, []
    for template in templates:
        saved = run_experiment(
            template,
            models,
            "usecase",
            project=options.project,
            max_new_tokens=options.max_new_tokens,
            ws=state.ws,
            progress=lambda stage, done, total, name=template["name"]: state.emit(
                f"prompt lab {name}", done, total, stage
            ),
        )
        artifacts[f"matrix ({template['name']})"] = str(saved.html_path)
        lines.append(f"exp:{saved.id} ({template['name']})")
    note = (
        f"{', '.join(models)} compared"
        if len(models) > 1
        else f"{models[0]} with a plain and a brand-voice prompt (only one model ships offline)"
    )
    return StepOutcome("prompt lab", f"{note}: {'; '.join(lines)}", artifacts)


def _template(plain: bool = False) -> dict[str, str]:
    """The prompt-lab template: the bare request, or the brand voice as a system prompt."""
    if plain:
        return {"name": "plain", "system": "", "user": "{{ input }}"}
    return {
        "name": "brand-voice",
        "system": USE_CASE_SYSTEM,
        "user": "Write the post or reply for this situation: {{ input }}",
    }


def _synthesis(state: DemoState) -> StepOutcome:
    from tools.synth import SynthRequest
    from tools.synth.commit import quality_steps, synthesize_and_commit

    options = state.options
    request = SynthRequest(
        dataset=options.dataset,
        kb=options.kb,
        strategy="golden",
        model=options.writer or options.base_model,
        golden_path=sample_data.golden_path(),
        n=options.synth_rows,
        use_case=USE_CASE,
        max_new_tokens=48,
    )
    steps = quality_steps(options.kb, "golden", eval_fraction=0.25)
    done = synthesize_and_commit(
        request,
        steps=steps,
        ws=state.ws,
        progress=lambda p: state.emit("synthesis", p.done, p.total, f"{p.kept} kept"),
    )
    state.ids["dataset"] = done.info.ref
    store_path = state.ws.root / "datasets" / options.dataset
    split = {"train": 0, "eval": 0}
    for row in done.rows:
        part = (row.get("meta") or {}).get("split")
        if part in split:
            split[part] += 1
    return StepOutcome(
        "synthesis",
        f"{done.info.ref}: {done.info.rows} rows ({split['train']} train, {split['eval']} eval) "
        f"from {done.result.summary['target']} golden outputs",
        {"dataset": str(store_path)},
    )


def _training(state: DemoState) -> StepOutcome:
    from trainers.defaults import default_recipe
    from trainers.jobs.runner import launch

    options = state.options
    recipe, _ = default_recipe(options.base_model, state.ids["dataset"], method="lora")
    recipe = recipe.with_overrides(
        {
            "max_steps": options.max_steps,
            "eval_steps": max(1, options.max_steps // 3),
            "save_steps": options.max_steps,
            "logging_steps": 1,
        }
    )
    run = launch(recipe, ws=state.ws)
    run = _wait_for_run(state, run.id)
    if run.status != "succeeded":
        raise TunesmithError(
            f"The demo's training run {run.id} ended {run.status}: {run.cause}",
            f"Read its log: tunesmith runs logs {run.id}",
        )
    state.ids["run"] = run.id
    result = run.summary.get("result") or {}
    first, last = result.get("first_loss"), result.get("last_loss")
    loss = f", loss {first:.3f} -> {last:.3f}" if first is not None and last is not None else ""
    artifacts = {"run folder": str(run.run_dir)}
    if run.paths.loss_png.exists():
        artifacts["loss curve"] = str(run.paths.loss_png)
    return StepOutcome("training", f"run:{run.id}: {options.max_steps} LoRA steps{loss}", artifacts)


def _wait_for_run(state: DemoState, run_id: str) -> Any:
    """Poll the run until it finishes, streaming its step count as progress."""
    from trainers.jobs.layout import read_metrics
    from trainers.jobs.registry import FINISHED, get_run
    from trainers.jobs.runner import refresh

    deadline = time.monotonic() + state.options.run_timeout_s
    while True:
        refresh(state.ws)
        run = get_run(state.ws, run_id)
        steps = [r["step"] for r in read_metrics(run.paths.metrics) if "step" in r]
        state.emit("training", max(steps, default=0), state.options.max_steps, run.status)
        if run.status in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise TunesmithError(
                f"The demo's training run {run_id} did not finish in "
                f"{state.options.run_timeout_s:.0f} s.",
                f"It goes on in the background: tunesmith runs show {run_id}",
            )
        time.sleep(1.0)


def _evaluation(state: DemoState) -> StepOutcome:
    from tools.evaluation.compare import save_comparison
    from tools.evaluation.runner import evaluate

    options = state.options
    models = [options.base_model, f"run:{state.ids['run']}"]
    saved = evaluate(
        models,
        state.ids["dataset"],
        project=options.project,
        max_new_tokens=options.max_new_tokens,
        ws=state.ws,
        progress=lambda ref, d, t: state.emit(f"eval {ref}", d, t, ""),
    )
    state.ids["evals"] = [s.id for s in saved]
    comparison = save_comparison(state.ids["evals"], ws=state.ws)
    lines = []
    for item in saved:
        rouge = item.summary["metrics"].get("rouge_l", {}).get("mean")
        label = "base" if item.summary["model"] == options.base_model else "tuned"
        lines.append(f"{label} ROUGE-L {rouge:.3f}" if rouge is not None else label)
    return StepOutcome(
        "evaluation",
        f"{', '.join(lines)} on {saved[0].summary['n']} held-out examples",
        {
            "base report": str(saved[0].html_path),
            "tuned report": str(saved[1].html_path),
            "comparison": str(comparison.html_path),
        },
    )


def _advice(state: DemoState) -> StepOutcome:
    from tools.tuning.advice import advise_run

    base_eval, tuned_eval = state.ids["evals"]
    advice = advise_run(state.ids["run"], tuned_eval, base_eval, ws=state.ws)
    first = advice.proposals[0].reason if advice.proposals else "no change: the run looks healthy"
    kinds = ", ".join(f.kind for f in advice.findings) or "none"
    files = {f"proposal {n}": path for n, path in enumerate(advice.recipe_files, 1) if path}
    return StepOutcome("advice", f"findings: {kinds}; next: {first}", files)


def _tests(state: DemoState) -> StepOutcome:
    from tools.testing import run_suite

    result = run_suite(
        f"run:{state.ids['run']}",
        sample_data.suite_path(),
        judge=state.options.judge,
        ws=state.ws,
        progress=lambda done, total, *_: state.emit("tests", done, total, ""),
    )
    failed = [c.name for c in result.cases if not c.passed]
    detail = f" (failed: {', '.join(failed)})" if failed else ""
    return StepOutcome("tests", f"{result.passed} of {result.total} cases passed{detail}", {})


def _export(state: DemoState) -> StepOutcome:
    from tools.export import export_run

    result = export_run(state.ids["run"], merge=True, ws=state.ws)
    return StepOutcome(
        "export",
        f"merged model with tokenizer and model card ({len(result.files)} files)",
        {"model folder": str(result.path), "model card": str(result.card_path)},
    )


STEPS: list[tuple[str, Callable[[DemoState], StepOutcome]]] = [
    ("use case", _use_case),
    ("knowledge base", _knowledge),
    ("prompt lab", _prompt_lab),
    ("synthesis", _synthesis),
    ("training", _training),
    ("evaluation", _evaluation),
    ("advice", _advice),
    ("tests", _tests),
    ("export", _export),
]


def run_demo(
    options: DemoOptions | None = None,
    *,
    ws: Any = None,
    emit: Callable[[str, int, int, str], None] | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
) -> list[StepOutcome]:
    """Run every step in order; return their outcomes. A failing step stops the demo with its error.

    `emit(stage, done, total, detail)` reports progress inside long steps; `on_step` is called as
    each step finishes, so a door can print it at once.
    """
    from core.workspace import Workspace

    state = DemoState(
        options or DemoOptions(),
        ws or Workspace.from_settings(),
        emit or (lambda stage, done, total, detail="": None),
    )
    outcomes = []
    for _, step in STEPS:
        started = time.monotonic()
        outcome = step(state)
        outcome.seconds = time.monotonic() - started
        outcomes.append(outcome)
        if on_step:
            on_step(outcome)
    return outcomes


def total_seconds(outcomes: list[StepOutcome]) -> float:
    return sum(o.seconds for o in outcomes)


def artifact_lines(outcomes: list[StepOutcome]) -> list[str]:
    """`name: path` for every artifact, in step order (what the demo prints at the end)."""
    return [f"{name}: {path}" for o in outcomes for name, path in o.artifacts.items()]
