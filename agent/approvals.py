"""Approvals: a costly or destructive call pauses the graph until the person decides.

The tools node asks the spec why a call needs approval (`ToolSpec.approval_reason`); when there is
a reason it calls `interrupt()` with {tool, args, reason, call_id} BEFORE doing anything, so when
the graph resumes (LangGraph re-runs the node from its start) nothing has happened yet that could
happen twice. The answer comes back through `Command(resume={"kind": ..., "args": ...})`:

    approve  run the call as proposed
    edit     run it with the person's arguments, validated again first
    reject   run nothing; the model is told so and why

The source of the request does not matter: a call a document talked the model into pauses the
same way as one the person asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.types import interrupt
from pydantic import BaseModel

from core.errors import InvalidInput, TunesmithError
from tools.registry import ToolContext, ToolSpec

DECISIONS = ("approve", "edit", "reject")


@dataclass
class Verdict:
    """What to do with one call: run it with `args`, or not at all (then `refusal` says why).

    `approved` marks a call the person said yes to: a costly one, run at most once.
    """

    args: BaseModel | None
    refusal: str = ""
    approved: bool = False


def args_dict(args: BaseModel) -> dict[str, Any]:
    """Arguments as plain JSON data, the form the doors show and the checkpoint stores."""
    return args.model_dump(mode="json", exclude_none=True)


def read_decision(answer: Any) -> tuple[str, dict[str, Any] | None, str]:
    """(kind, args, reason) from a resume value: a dict, a Decision, or a bare word."""
    if isinstance(answer, str):
        answer = {"kind": answer}
    elif not isinstance(answer, dict):
        answer = {k: getattr(answer, k, None) for k in ("kind", "args", "reason")}
    kind = str(answer.get("kind") or "").lower()
    if kind not in DECISIONS:
        raise InvalidInput(
            f"Unknown approval decision {kind!r}.", f"Answer one of: {', '.join(DECISIONS)}."
        )
    return kind, answer.get("args"), str(answer.get("reason") or "")


def decide(spec: ToolSpec, args: BaseModel, ctx: ToolContext, call_id: str) -> Verdict:
    """Run at once when the spec needs no approval; otherwise pause and apply the answer."""
    reason = spec.approval_reason(args, ctx)
    if not reason:
        return Verdict(args)
    answer = interrupt(
        {"tool": spec.name, "args": args_dict(args), "reason": reason, "call_id": call_id}
    )
    kind, new_args, why = read_decision(answer)
    if kind == "reject":
        because = f" The person said: {why}" if why else ""
        return Verdict(None, f"The person rejected {spec.name}; nothing was run.{because}")
    if kind == "edit":
        try:
            return Verdict(spec.parse({**args_dict(args), **(new_args or {})}), approved=True)
        except TunesmithError as error:
            return Verdict(None, f"The edited arguments were refused: {error}. Nothing was run.")
    return Verdict(args, approved=True)
