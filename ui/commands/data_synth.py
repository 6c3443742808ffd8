"""`tunesmith data synth`: training rows from your documents and golden outputs, then cleaned.

Synthesis (tools/synth) makes the rows and is resumable; this command then runs the quality
pipeline (PII redaction, deduplication, grounding scores, a train/eval split grouped by source
document, a leakage check) and commits the result as one dataset version whose parameters record
the request and every step.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ui.commands.data import JSON_OPTION, app, print_steps, print_version
from ui.console import err, out, print_json, progress_bar, quiet_libraries


@app.command("synth")
def synth(
    name: str = typer.Argument(help="Dataset to create (or add a version to)."),
    kb: str = typer.Option(..., "--kb", help="Knowledge base whose chunks ground the rows."),
    strategy: str = typer.Option(
        "golden", "--strategy", help="golden (inputs for your outputs), grounded or augment."
    ),
    golden: Path | None = typer.Option(
        None, "--golden", help="Golden outputs: JSONL with 'text', or texts between blank lines."
    ),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Seed examples for augment: a JSONL file or NAME@vN."
    ),
    n: int | None = typer.Option(None, "--n", help="Rows to make (golden: one per output)."),
    model: str | None = typer.Option(
        None, "--model", help="Model ref that writes (default: base)."
    ),
    use_case: str = typer.Option("", "--use-case", help="The use case in your words."),
    batch_size: int = typer.Option(8, "--batch-size", help="Requests per generate call."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Longest model answer."),
    seed: int = typer.Option(0, "--seed", help="Sampling and split seed."),
    eval_fraction: float = typer.Option(0.1, "--eval-fraction", help="Share of rows for eval."),
    pii: str = typer.Option("redact", "--pii", help="redact or drop rows with PII."),
    dedupe: str = typer.Option("embedding", "--dedupe", help="embedding, minhash or exact."),
    min_grounding: float | None = typer.Option(
        None, "--min-grounding", help="Remove rows less grounded than this (0-1)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Synthesize training pairs with retrieval, clean them, split them, and save a version.

    Interrupted? Run the same command again: finished rows are kept and it continues.
    """
    from core.errors import InvalidInput
    from tools.datasets.rows import OpResult
    from tools.synth import SynthRequest
    from tools.synth.commit import quality_steps, synthesize_and_commit

    quiet_libraries()
    request = SynthRequest(
        dataset=name,
        kb=kb,
        strategy=strategy,
        n=n,
        model=model,
        golden_path=golden,
        seeds=seeds,
        use_case=use_case,
        seed=seed,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
    )
    steps = quality_steps(kb, strategy, pii, dedupe, min_grounding, eval_fraction, seed)
    with progress_bar(not json_out) as update:
        try:
            done = synthesize_and_commit(
                request,
                steps=steps,
                progress=lambda p: update(
                    "synthesizing", p.done, p.total, f"{p.kept} kept, {p.rejected} rejected"
                ),
            )
        except InvalidInput as error:
            err.print(error.message)
            raise typer.Exit(1) from None
    info, result, reports = done.info, done.result, done.reports
    if json_out:
        print_json(
            {
                "version": info.to_dict(),
                "synthesis": result.to_dict(),
                "quality": [r.to_dict() for r in reports],
            }
        )
        return
    s = result.summary
    out.print(
        f"Synthesized {s['kept']} of {s['target']} rows with {s['model']} "
        f"({s['strategy']}, prompt v{s['prompt_version']}) in {s['seconds']} s"
        + (f"; resumed {s['resumed']} finished items" if s.get("resumed") else "")
    )
    if s["reasons"]:
        out.print(f"  rejected {s['rejected']}: {s['reasons']}")
    if result.shortfall_reason:
        out.print(f"  [yellow]fewer than asked:[/] {result.shortfall_reason}")
    print_steps([r.to_dict() for r in reports])
    print_version(info, OpResult(done.rows, done.removed))
