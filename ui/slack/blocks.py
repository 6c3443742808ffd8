"""How agent events look in Slack: a reply that grows, tool steps as lines, approvals as buttons.

Slack renders mrkdwn in a message's `text`; Block Kit adds the approve / edit / reject buttons.
Button values carry the thread and the call they answer, so a press on an old approval can be
recognised as stale. Everything here is pure (payload in, dicts out) so it is tested directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.events import AgentEvent

APPROVE, EDIT, REJECT = "tunesmith_approve", "tunesmith_edit", "tunesmith_reject"
DECISION_BY_ACTION = {APPROVE: "approve", EDIT: "edit", REJECT: "reject"}
EDIT_VIEW = "tunesmith_edit_args"
ARGS_BLOCK, ARGS_INPUT = "args", "args_json"
SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters
MESSAGE_LIMIT = 3900  # Slack shows up to ~4000 characters of a message's text


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class ReplyText:
    """The text of one streaming reply: tool steps (one line each, updated in place), then prose."""

    steps: dict[str, str] = field(default_factory=dict)
    prose: str = ""
    errors: list[str] = field(default_factory=list)

    def apply(self, event: AgentEvent) -> None:
        data = event.data
        step = str(data.get("call_id") or data.get("tool") or len(self.steps))
        if event.kind == "token":
            self.prose += event.text
        elif event.kind == "message":
            self.prose = event.text
        elif event.kind == "tool_start":
            self.steps[step] = f":gear: `{data.get('tool', '?')}` running…"
        elif event.kind == "progress":
            done, total = data.get("done"), data.get("total")
            count = f" {done}/{total}" if total else ""
            stage = data.get("stage") or data.get("detail") or ""
            self.steps[step] = f":hourglass_flowing_sand: `{data.get('tool', '?')}` {stage}{count}"
        elif event.kind == "tool_end":
            mark = ":white_check_mark:" if data.get("ok", True) else ":x:"
            took = f" ({data['duration_s']:.1f} s)" if data.get("duration_s") is not None else ""
            summary = short(event.text.strip().splitlines()[0], 200) if event.text.strip() else ""
            self.steps[step] = f"{mark} `{data.get('tool', '?')}`{took}" + (
                f" — {summary}" if summary else ""
            )
        elif event.kind == "error":
            hint = data.get("hint")
            what_to_do = f"\n_What to do:_ {hint}" if hint else ""
            self.errors.append(f":warning: {event.text}{what_to_do}")

    def render(self) -> str:
        parts = list(self.steps.values())
        if self.prose.strip():
            parts.append(self.prose.strip())
        parts.extend(self.errors)
        return "\n".join(parts)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a long reply into pieces Slack shows whole, after a line break where possible.

    The pieces join back into `text` exactly, so a streaming reply can tell how much of its
    text already went into finished messages.
    """
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit) + 1
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces + [text]


def button_value(thread_id: str, call_id: str) -> str:
    return json.dumps({"thread": thread_id, "call_id": call_id})


def read_button_value(value: str) -> tuple[str, str]:
    """(thread_id, call_id) from a button's value; ("", "") when it is not ours."""
    try:
        data = json.loads(value)
        return str(data["thread"]), str(data["call_id"])
    except (ValueError, KeyError, TypeError):
        return "", ""


def args_json(args: dict[str, Any]) -> str:
    return json.dumps(args, indent=2, ensure_ascii=False, sort_keys=True)


def approval_text(event: AgentEvent) -> str:
    data = event.data
    return f"Approval needed: `{data.get('tool', '?')}` — {data.get('reason', '')}"


def approval_blocks(event: AgentEvent, thread_id: str, owner: str | None) -> list[dict[str, Any]]:
    """The approval card: what will run, why it needs a yes, and the three buttons."""
    data = event.data
    value = button_value(thread_id, str(data.get("call_id", "")))
    who = f"<@{owner}> or an admin" if owner else "An admin"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": short(
                    f":raised_hand: *Approval needed:* `{data.get('tool', '?')}`\n"
                    f"{data.get('reason', '')}\n```{args_json(data.get('args') or {})}```",
                    SECTION_LIMIT,
                ),
            },
        },
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                _button("Approve", APPROVE, value, "primary"),
                _button("Edit…", EDIT, value),
                _button("Reject", REJECT, value, "danger"),
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{who} may decide."}]},
    ]


def _button(label: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def decided_blocks(tool: str, decision: str, user: str) -> list[dict[str, Any]]:
    """What the approval card becomes once answered: the buttons go, the answer stays."""
    word = {"approve": "approved", "edit": "approved with edits", "reject": "rejected"}[decision]
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"`{tool}` {word} by <@{user}>."},
        }
    ]


def edit_modal(event_args: dict[str, Any], metadata: str) -> dict[str, Any]:
    """A modal with the proposed arguments as editable JSON; `metadata` says which call."""
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Edit the arguments"},
        "submit": {"type": "plain_text", "text": "Run with these"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": ARGS_BLOCK,
                "label": {"type": "plain_text", "text": "Arguments (JSON object)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ARGS_INPUT,
                    "multiline": True,
                    "initial_value": short(args_json(event_args), 2900),
                },
            }
        ],
    }


def read_edited_args(view: dict[str, Any]) -> dict[str, Any] | str:
    """The edited arguments from a submitted modal, or a message saying what is wrong with them."""
    values = (view.get("state") or {}).get("values") or {}
    raw = (values.get(ARGS_BLOCK) or {}).get(ARGS_INPUT, {}).get("value") or ""
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        return f"Not valid JSON: {error}."
    if not isinstance(parsed, dict):
        return 'Give a JSON object, e.g. {"epochs": 2}.'
    return parsed
