"""The model card (README.md) that travels with every export: what this model is and where it
came from, so a folder found on a disk months later still says how it was made.

Everything in it is read from the workspace, never retyped: the run's row and recipe.yaml (base
model, method, settings and their reasons, training result), the dataset version it trained on and
its parents (DatasetStore: each version's operation and row count), saved evaluations of the run
and of its base (the evals table), and the project's use case (intended use). The YAML front
matter follows the Hugging Face model-card fields, so the folder can be pushed to a hub as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TunesmithError
from core.models.refs import parse_ref
from core.workspace import Workspace

HUB_IDS = {"builtin:smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}
"""Builtin refs whose weights are a public hub model: the card's `base_model` names it."""
WEAK_BASES = frozenset(HUB_IDS)
RECIPE_KEYS = (
    "method",
    "epochs",
    "max_steps",
    "learning_rate",
    "lr_scheduler",
    "batch_size",
    "grad_accum",
    "max_length",
    "packing",
    "loss",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "precision",
    "seed",
)
CARD_METRICS = ("rouge_l", "chrf", "bleu", "embedding_similarity", "exact_match", "format_ok")


@dataclass
class CardFacts:
    """What the card says, gathered from the workspace (see `gather_facts`)."""

    run_id: str
    method: str
    base_ref: str
    artifact: str  # "LoRA adapter", "merged model" or "full model"
    dataset: str
    lineage: list[dict[str, Any]] = field(default_factory=list)
    recipe: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    evals: list[dict[str, Any]] = field(default_factory=list)
    use_case: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def dataset_lineage(ws: Workspace, dataset: str) -> list[dict[str, Any]]:
    """The version a run trained on, then its parents back to the first (newest first)."""
    from tools.datasets.store import DatasetRef, DatasetStore

    store = DatasetStore(ws)
    try:
        info = store.info(dataset)
    except TunesmithError:
        return []
    chain = []
    seen: set[int] = set()
    while True:
        chain.append(
            {
                "ref": info.ref,
                "operation": info.operation,
                "rows": info.rows,
                "params": info.params,
                "created_at": info.created_at,
            }
        )
        seen.add(info.version)
        if info.parent is None or info.parent in seen:
            return chain
        try:
            info = store.info(DatasetRef(info.dataset, info.parent))
        except TunesmithError:
            return chain


def saved_evals(ws: Workspace, models: list[str]) -> list[dict[str, Any]]:
    """Summaries of the saved evaluations of any of `models`, oldest first."""
    wanted = [m for m in dict.fromkeys(models) if m]
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    with ws.connect() as conn:
        rows = conn.execute(
            f"SELECT id, model, dataset, split, summary FROM evals WHERE model IN ({marks}) "
            "ORDER BY created_at, id",
            wanted,
        ).fetchall()
    return [
        {"id": r["id"], "model": r["model"], "dataset": r["dataset"], "split": r["split"]}
        | {"summary": json.loads(r["summary"] or "{}")}
        for r in rows
    ]


def gather_facts(ws: Workspace, run: Any, tuned: Any, artifact: str) -> CardFacts:
    """Collect the card's facts for `run` (trainers RunInfo) and `tuned` (core TunedModel)."""
    from tools.usecase import get_use_case
    from trainers.jobs.layout import read_spec

    try:
        recipe, _ = read_spec(run.paths)
    except TunesmithError:
        recipe = {}
    training: dict[str, Any] = {}
    if run.paths.result.is_file():
        try:
            training = json.loads(run.paths.result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            training = {}
    base = _canonical(tuned.base_ref)
    use_case = get_use_case(ws=ws)
    return CardFacts(
        run_id=run.id,
        method=run.method,
        base_ref=base,
        artifact=artifact,
        dataset=run.dataset,
        lineage=dataset_lineage(ws, run.dataset),
        recipe={k: recipe[k] for k in RECIPE_KEYS if k in recipe},
        reasons=dict(recipe.get("reasons") or {}),
        training=training,
        evals=saved_evals(ws, [f"run:{run.id}", base]),
        use_case={} if use_case.is_empty() else use_case.to_dict(),
    )


def _canonical(ref: str) -> str:
    try:
        return parse_ref(ref).canonical
    except TunesmithError:
        return ref


def _hub_id(base_ref: str) -> str | None:
    if base_ref in HUB_IDS:
        return HUB_IDS[base_ref]
    ref = parse_ref(base_ref)
    local = ref.target.startswith(("/", ".", "~")) or Path(ref.target).expanduser().exists()
    return ref.target if ref.scheme == "hf" and not local else None


# -- rendering ---------------------------------------------------------------------------------


def render_card(facts: CardFacts) -> str:
    """The card as Markdown with Hugging Face front matter."""
    import yaml

    front: dict[str, Any] = {
        "library_name": "peft" if facts.artifact == "LoRA adapter" else "transformers",
        "tags": ["tunesmith", "trl", "sft", facts.method],
    }
    hub_id = _safe_hub_id(facts.base_ref)
    if hub_id:
        front["base_model"] = hub_id
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False).strip() + "\n---",
        f"# run:{facts.run_id} ({facts.artifact})",
        _summary_section(facts),
        _intended_use_section(facts),
        _lineage_section(facts),
        _recipe_section(facts),
        _evaluation_section(facts),
        _limitations_section(facts),
        _how_to_load_section(facts),
    ]
    return "\n\n".join(p.rstrip() for p in parts if p) + "\n"


def _safe_hub_id(base_ref: str) -> str | None:
    try:
        return _hub_id(base_ref)
    except TunesmithError:
        return None


def _summary_section(facts: CardFacts) -> str:
    training = facts.training
    lines = [
        f"Fine-tuned with Tunesmith (TRL SFT, {facts.method}) from `{facts.base_ref}` on "
        f"`{facts.dataset}`.",
        "",
        f"- Base model: `{facts.base_ref}`",
        f"- This folder: {facts.artifact}",
        f"- Training data: `{facts.dataset}`",
    ]
    if training:
        loss = _loss_line(training)
        if loss:
            lines.append(f"- Training: {loss}")
    return "\n".join(lines)


def _loss_line(training: dict[str, Any]) -> str:
    bits = []
    if "global_step" in training:
        bits.append(f"{training['global_step']} steps")
    if "tokens_seen" in training:
        bits.append(f"{training['tokens_seen']:,} tokens")
    if isinstance(training.get("first_loss"), int | float) and isinstance(
        training.get("last_loss"), int | float
    ):
        bits.append(f"loss {training['first_loss']:.3f} → {training['last_loss']:.3f}")
    if isinstance(training.get("eval_loss"), int | float):
        bits.append(f"eval loss {training['eval_loss']:.3f}")
    if isinstance(training.get("seconds"), int | float):
        bits.append(f"{training['seconds']:.0f} s")
    return ", ".join(bits)


def _intended_use_section(facts: CardFacts) -> str:
    uc = facts.use_case
    if not uc:
        return (
            "## Intended use\n\nNo use case was recorded for this project. Describe one (in the "
            "chat, or with the use-case tool) so the next export says what this model is for."
        )
    lines = ["## Intended use", "", uc.get("description") or "(no description given)"]
    details = []
    if uc.get("output_format") and uc["output_format"] != "text":
        details.append(f"- Output format: {uc['output_format']}")
    if uc.get("max_words"):
        details.append(f"- Answers of at most {uc['max_words']} words")
    if uc.get("must_contain"):
        details.append(f"- Answers must contain: {', '.join(uc['must_contain'])}")
    if uc.get("must_not_contain"):
        details.append(f"- Answers must not contain: {', '.join(uc['must_not_contain'])}")
    if uc.get("system_prompt"):
        details.append(f"- System prompt used with it: {uc['system_prompt']!r}")
    return "\n".join(lines + ([""] + details if details else []))


def _lineage_section(facts: CardFacts) -> str:
    if not facts.lineage:
        return f"## Training data\n\n`{facts.dataset}` (its record is no longer in the workspace)."
    rows = ["| version | made by | rows | created |", "|---|---|---|---|"]
    for item in facts.lineage:
        params = json.dumps(item["params"], ensure_ascii=False) if item["params"] else ""
        made = f"{item['operation']} {_short(params, 60)}".strip()
        rows.append(f"| `{item['ref']}` | {made} | {item['rows']} | {item['created_at']} |")
    return (
        "## Training data\n\nTrained on the first version below; each later row is its parent.\n\n"
        + "\n".join(rows)
    )


def _recipe_section(facts: CardFacts) -> str:
    if not facts.recipe:
        return ""
    rows = ["| setting | value | why |", "|---|---|---|"]
    for key, value in facts.recipe.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        rows.append(f"| {key} | {shown} | {facts.reasons.get(key, '')} |")
    return "## Recipe\n\n" + "\n".join(rows)


def _evaluation_section(facts: CardFacts) -> str:
    if not facts.evals:
        return (
            "## Evaluation\n\nNot evaluated yet: run `tunesmith eval "
            f"{facts.base_ref} run:{facts.run_id} --data {facts.dataset.removeprefix('ds:')}` "
            "and export again."
        )
    rows = [
        "| eval | model | data (split) | n | " + " | ".join(CARD_METRICS) + " |",
        "|---|---|---|---|" + "---|" * len(CARD_METRICS),
    ]
    for item in facts.evals:
        summary = item["summary"]
        metrics = summary.get("metrics", {})
        cells = [
            f"{metrics[m]['mean']:.3f} [{metrics[m]['low']:.3f}, {metrics[m]['high']:.3f}]"
            if m in metrics
            else "–"
            for m in CARD_METRICS
        ]
        rows.append(
            f"| `eval:{item['id']}` | `{item['model']}` | `{item['dataset']}` ({item['split']}) "
            f"| {summary.get('n', '?')} | " + " | ".join(cells) + " |"
        )
    return (
        "## Evaluation\n\nMeans with 95% bootstrap intervals, from the saved evaluations of this "
        "run and of its base.\n\n" + "\n".join(rows)
    )


def _limitations_section(facts: CardFacts) -> str:
    rows = facts.lineage[0]["rows"] if facts.lineage else None
    items = [
        f"It learned from {rows} examples" if rows is not None else "It learned from a small set",
    ]
    items[0] += " and knows only what they show: check answers about facts against your documents."
    if facts.base_ref in WEAK_BASES:
        items.append(
            f"The base `{facts.base_ref}` has 135M parameters: it answers simple questions but "
            "makes factual mistakes and fails at JSON and tool calls."
        )
    if not facts.evals:
        items.append("It has not been evaluated on held-out data.")
    elif not any(e["model"] == facts.base_ref for e in facts.evals):
        items.append("No evaluation of the base model was saved, so the gain over it is unknown.")
    if facts.artifact == "LoRA adapter":
        items.append(f"The adapter only works on top of exactly `{facts.base_ref}`.")
    return "## Limitations\n\n" + "\n".join(f"- {item}" for item in items)


def _how_to_load_section(facts: CardFacts) -> str:
    if facts.artifact == "LoRA adapter":
        code = (
            "from peft import AutoPeftModelForCausalLM\n"
            "from transformers import AutoTokenizer\n\n"
            'model = AutoPeftModelForCausalLM.from_pretrained("THIS_FOLDER")\n'
            'tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER")'
        )
    else:
        code = (
            "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            'model = AutoModelForCausalLM.from_pretrained("THIS_FOLDER")\n'
            'tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER")'
        )
    text = f"## How to load\n\n```python\n{code}\n```"
    if facts.artifact != "LoRA adapter":
        text += "\n\nIn Tunesmith: `tunesmith try hf:THIS_FOLDER`."
    return text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
