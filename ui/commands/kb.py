"""`tunesmith kb ...`: build and search knowledge bases from your documents."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.console import err, out, print_json, progress_bar, quiet_libraries

app = typer.Typer(help="Knowledge bases: your documents, chunked, embedded and searchable.")

STATUS_STYLE = {"added": "green", "replaced": "cyan", "unchanged": "dim", "refused": "red"}


@app.command("add")
def add(
    name: str = typer.Argument(help="Knowledge base name (created if new), e.g. support-docs."),
    paths: list[Path] = typer.Argument(
        help="Files or folders: .md .txt .html .pdf .csv .jsonl .docx"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Add documents. Unchanged files are skipped; changed files replace their old chunks.

    Exits 1 only if no file could be used (all refused).
    """
    from tools.knowledge.kb import add_documents

    quiet_libraries()
    with progress_bar(not json_out) as progress:
        report = add_documents(name, list(paths), progress=progress)
    if json_out:
        print_json(report.to_dict())
    else:
        for o in report.outcomes:
            detail = f"{o.chunks} chunks" if o.status != "refused" else o.reason
            out.print(f"[{STATUS_STYLE[o.status]}]{o.status:>9}[/]  {o.name}  [dim]{detail}[/]")
        s = report.summary
        counts = ", ".join(f"{report.count(k)} {k}" for k in STATUS_STYLE if report.count(k))
        out.print(
            f"\nkb:{name}: {counts or 'nothing to do'}; {report.duplicates_skipped} duplicate "
            f"chunks skipped."
        )
        if s:
            out.print(
                f"Now {s['documents']} documents, {s['chunks']} chunks; index: {s['index_reason']}."
            )
    if not report.ok:
        err.print("Nothing was added: fix the reasons above and run the command again.")
        raise typer.Exit(1)


@app.command("search")
def search(
    name: str = typer.Argument(help="Knowledge base name."),
    query: str = typer.Argument(help="What to look for, in plain words."),
    k: int = typer.Option(5, "-k", "--top", help="How many chunks to return."),
    json_out: bool = typer.Option(False, "--json", help="Print the hits as JSON."),
) -> None:
    """Search by meaning; every hit shows its score and where it came from."""
    from tools.knowledge.kb import search as run_search

    quiet_libraries()
    hits = run_search(name, query, k)
    if json_out:
        print_json([h.to_dict() for h in hits])
        return
    if not hits:
        out.print(f"kb:{name} has no chunks yet.")
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(hit.chunk.body.split())[:240]
        out.print(f"[bold]{rank}.[/] [green]{hit.score:.3f}[/]  [cyan]{hit.chunk.citation()}[/]")
        out.print(f"   {snippet}\n")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List knowledge bases."""
    from tools.knowledge.kb import list_kbs

    rows = list_kbs()
    if json_out:
        print_json(rows)
        return
    if not rows:
        out.print("No knowledge bases yet. Create one: tunesmith kb add NAME ./docs")
    for row in rows:
        s = row["summary"]
        out.print(
            f"kb:{row['name']}  {s.get('documents', 0)} documents, {s.get('chunks', 0)} chunks, "
            f"{s.get('index_kind', '?')} index  [dim]updated {row['updated_at']}[/]"
        )


@app.command("show")
def show(
    name: str = typer.Argument(help="Knowledge base name."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show a knowledge base: its index and every document with its chunk count."""
    from tools.knowledge.kb import show_kb

    info = show_kb(name)
    if json_out:
        print_json(info)
        return
    out.print(
        f"kb:{name}  generation {info['generation']}, {info['documents']} documents, "
        f"{info['chunks']} chunks, embeddings: {info['embedding_model']}"
    )
    out.print(f"index: {info['index_kind']} ({info['index_reason']})")
    for doc in info["documents_list"]:
        out.print(
            f"  {doc['chunks']:>5} chunks  {doc['kind']:<8} {doc['name']}  "
            f"[dim]{doc['size']:,} bytes, added {doc['added_at']}[/]"
        )


@app.command("remove")
def remove(
    name: str = typer.Argument(help="Knowledge base name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a knowledge base and its index (your original files are not touched)."""
    from tools.knowledge.kb import remove_kb

    if not yes and not typer.confirm(f"Delete kb:{name}?"):
        raise typer.Exit(1)
    remove_kb(name)
    out.print(f"Removed kb:{name}.")
