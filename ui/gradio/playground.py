"""Playground tab: one prompt to two models (the base and a tuned run) side by side, with
optional retrieval from a knowledge base.

The answers come from tools.playground.answer, the same turn the CLI and the agent use (it keeps
loaded engines cached, so the second question does not reload the model).
"""

from __future__ import annotations

import gradio as gr

from ui.gradio.common import shows_errors, workspace

MAX_NEW_TOKENS = 128


def answer(ref: str, question: str, kb: str | None, k: int) -> str:
    """One model's answer as Markdown, with its cost and the citations it was given."""
    from tools.playground import answer as ask

    reply = ask(ref, question, kb=kb or None, k=k, max_new_tokens=MAX_NEW_TOKENS, ws=workspace())
    cost = f"*{reply.output_tokens} tokens in {reply.latency_s:.2f} s*"
    sources = "\n".join(f"- {c}" for c in reply.sources)
    retrieved = f"\n\n**Retrieved:**\n{sources}" if sources else ""
    return f"{reply.text or '(empty answer)'}\n\n{cost}{retrieved}"


@shows_errors
def side_by_side(
    base: str | None, tuned: str | None, question: str, kb: str | None, k: float
) -> tuple:
    """The same prompt to both models; an empty picker answers "(no model)"."""
    if not (question or "").strip():
        raise gr.Error("Type a prompt first.")
    refs = [(r or "").strip() for r in (base, tuned)]
    return tuple(answer(r, question, kb, int(k)) if r else "(no model)" for r in refs)


def model_choices() -> tuple[list[str], list[str]]:
    """Base refs on offer (the configured base model) and the succeeded runs, newest first."""
    from core.models.tuned import succeeded_runs
    from core.settings import get_settings

    runs = [f"run:{row.id}" for row, _ in reversed(succeeded_runs())]
    return [get_settings().base_model], runs


def build() -> tuple:
    """Lay out the tab; return (refresh function, its outputs)."""
    from ui.gradio.knowledge import kb_names

    with gr.Row():
        base = gr.Dropdown(label="Base model", allow_custom_value=True, choices=[])
        tuned = gr.Dropdown(label="Tuned model", allow_custom_value=True, choices=[])
    with gr.Row():
        kb = gr.Dropdown(label="Retrieve from (optional)", choices=[], scale=3)
        k = gr.Slider(1, 8, value=3, step=1, label="chunks", scale=1)
    question = gr.Textbox(label="Prompt", lines=3, elem_id="playground-prompt")
    ask = gr.Button("Ask both", variant="primary")
    with gr.Row():
        base_out = gr.Markdown(label="Base", elem_id="playground-base")
        tuned_out = gr.Markdown(label="Tuned", elem_id="playground-tuned")
    ask.click(side_by_side, inputs=[base, tuned, question, kb, k], outputs=[base_out, tuned_out])

    def refresh() -> tuple:
        bases, runs = model_choices()
        kbs = kb_names()
        return (
            gr.update(choices=bases, value=bases[0]),
            gr.update(choices=runs, value=runs[0] if runs else None),
            gr.update(choices=["", *kbs], value=""),
        )

    return refresh, [base, tuned, kb]
