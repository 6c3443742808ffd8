"""Knowledge tab: the knowledge bases, their documents with chunk counts, and a cited search."""

from __future__ import annotations

import gradio as gr

from ui.gradio.common import shows_errors, workspace

DOC_HEADERS = ["document", "kind", "chunks", "bytes", "added"]


def kb_names() -> list[str]:
    from tools.knowledge.kb import list_kbs

    return [row["name"] for row in list_kbs(workspace())]


@shows_errors
def describe_kb(name: str | None) -> tuple[str, list[list]]:
    """A summary line and the document table of one knowledge base."""
    if not name:
        return "No knowledge base yet: upload documents in the chat, or `tunesmith kb add`.", []
    from tools.knowledge.kb import show_kb

    shown = show_kb(name, workspace())
    summary = (
        f"**kb:{name}**: {shown['documents']} documents, {shown['chunks']} chunks, "
        f"{shown['index_kind']} index ({shown['index_reason']})"
    )
    rows = [
        [d["name"], d["kind"], d["chunks"], d["size"], d["added_at"]]
        for d in shown["documents_list"]
    ]
    return summary, rows


@shows_errors
def search_kb(name: str | None, query: str, k: float) -> str:
    """The best chunks for `query`, each with its score and citation."""
    if not name:
        return "Pick a knowledge base first."
    from tools.knowledge.kb import search

    hits = search(name, query, int(k), ws=workspace())
    if not hits:
        return "No chunks matched."
    return "\n\n".join(
        f"**{i}. {hit.chunk.citation()}** (score {hit.score:.3f})\n\n> {hit.chunk.body[:600]}"
        for i, hit in enumerate(hits, 1)
    )


def refresh() -> tuple:
    names = kb_names()
    chosen = names[0] if names else None
    summary, rows = describe_kb(chosen)
    return gr.update(choices=names, value=chosen), summary, rows


def build() -> tuple:
    """Lay out the tab inside the current gr.Tab; return (refresh function, its outputs)."""
    with gr.Row():
        kb = gr.Dropdown(label="Knowledge base", choices=[], scale=4)
        refresh_btn = gr.Button("Refresh", scale=1)
    summary = gr.Markdown()
    docs = gr.Dataframe(
        headers=DOC_HEADERS, label="Documents", interactive=False, elem_id="kb-documents"
    )
    with gr.Row():
        query = gr.Textbox(
            label="Search", placeholder="e.g. refund policy", scale=4, elem_id="kb-query"
        )
        k = gr.Slider(1, 10, value=3, step=1, label="results", scale=1)
    results = gr.Markdown(elem_id="kb-results")
    refresh_btn.click(refresh, outputs=[kb, summary, docs])
    kb.change(describe_kb, inputs=kb, outputs=[summary, docs])
    query.submit(search_kb, inputs=[kb, query, k], outputs=results)
    return refresh, [kb, summary, docs]
