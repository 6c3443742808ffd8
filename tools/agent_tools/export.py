"""export_model: a run's adapter or merged model, with a model card, into the workspace."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.agent_tools.common import checked_approval, pick, workspace
from tools.registry import ToolContext, ToolResult, ToolSpec


class ExportArgs(BaseModel):
    run_id: str | None = Field(None, description="The run to export (default: the current run).")
    merge: bool = Field(False, description="Merge the LoRA adapter into the base model weights.")
    gguf: bool = Field(False, description="Also convert to GGUF (needs llama.cpp installed).")


def _run_id(args: ExportArgs, ctx: ToolContext) -> str:
    return pick("run", args.run_id, ctx, "Which run should I export?", "r-20261127-101500-ab12")


@checked_approval
def export_approval(args: ExportArgs, ctx: ToolContext) -> str:
    extra = (" merged into its base" if args.merge else "") + (" plus GGUF" if args.gguf else "")
    return f"Export run:{_run_id(args, ctx)}{extra} into the workspace's exports folder."


def export_model_tool(args: ExportArgs, ctx: ToolContext) -> ToolResult:
    from tools.export import export_run

    result = export_run(_run_id(args, ctx), merge=args.merge, gguf=args.gguf, ws=workspace(ctx))
    notes = " ".join(result.notes or [])
    text = (
        f"Exported to {result.path} ({len(result.files)} files); model card {result.card_path}"
        + (f"; GGUF {result.gguf_path}" if result.gguf_path else "")
        + "."
        + (f" {notes}" if notes else "")
    )
    artifact = {
        "path": str(result.path),
        "files": [str(f) for f in result.files],
        "card": str(result.card_path),
        "gguf": str(result.gguf_path) if result.gguf_path else None,
        "notes": list(result.notes or []),
    }
    return ToolResult(text, artifact)


EXPORT_MODEL = ToolSpec(
    name="export_model",
    description=(
        "Export a finished run: its LoRA adapter (or full model folder), optionally merged into "
        "the base weights as a plain safetensors model, optionally converted to GGUF, always with "
        "a model card (base model, data lineage, recipe, evaluation results, intended use). "
        "Written inside the workspace. Needs approval."
    ),
    args_schema=ExportArgs,
    run=export_model_tool,
    examples=(
        "export the model",
        "package the fine-tuned weights for deployment",
        "merge the adapter into the base and save it",
        "give me a GGUF file I can run in llama.cpp",
        "save the trained model with a model card",
        "I want to download the result",
        "I need the weights as a file",
        "export to GGUF",
        "convert the tuned model for llama.cpp",
        "write out the merged weights to ./out",
        "produce a deployable copy of the fine-tuned model",
        "publish the model with its card",
        "package the adapter for download",
        "export run r-20261127-101500-ab12 as safetensors",
    ),
    needs_approval=export_approval,
)

TOOLS = [EXPORT_MODEL]
