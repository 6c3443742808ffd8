"""What a synthesis job is asked to do, and what it hands back.

`SynthRequest` is the single description of a job: the CLI, the agent and tests fill the same
dataclass, and every field carries its help text (one source for `--help` and docs). Everything in
it that changes the rows also goes into the job key, so re-running the same request resumes the
same job, and changing any of it starts a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.names import validate_name

STRATEGIES = ("golden", "grounded", "augment")
DEFAULT_N = 50
"""Rows to aim for when `n` is not given (grounded and augment; golden uses every golden output)."""


@dataclass
class SynthRequest:
    """One synthesis job. Only `dataset` and `kb` are required."""

    dataset: str = field(metadata={"help": "Name of the dataset the rows are for."})
    kb: str = field(metadata={"help": "Knowledge base whose chunks ground the rows."})
    strategy: str = field(
        default="golden",
        metadata={"help": "golden (inputs for your golden outputs), grounded or augment."},
    )
    n: int | None = field(
        default=None,
        metadata={
            "help": f"Rows to make. Default: every golden output (golden), {DEFAULT_N} otherwise."
        },
    )
    model: str | None = field(
        default=None, metadata={"help": "Model ref that writes the rows. Default: base_model."}
    )
    golden_path: str | Path | None = field(
        default=None,
        metadata={"help": "Golden outputs: JSONL with a 'text' field, or texts between blanks."},
    )
    seeds: str | Path | None = field(
        default=None,
        metadata={"help": "Seed examples for augment: a JSONL file or a dataset ref (NAME@vN)."},
    )
    use_case: str = field(
        default="",
        metadata={"help": "The use case in your words; the model phrases inputs the same way."},
    )
    system_prompt: str = field(
        default="", metadata={"help": "System message to put at the start of every row (optional)."}
    )
    seed: int = field(default=0, metadata={"help": "Chunk sampling seed: same seed, same plan."})
    batch_size: int = field(
        default=8, metadata={"help": "Requests per generate call (and per checkpoint)."}
    )
    max_new_tokens: int = field(default=256, metadata={"help": "Longest model answer, in tokens."})
    temperature: float = field(
        default=0.0, metadata={"help": "First-try temperature; retries sample hotter."}
    )
    retries: int = field(
        default=2, metadata={"help": "Extra tries for an output that cannot be used."}
    )
    context_chunks: int = field(
        default=3, metadata={"help": "Chunks retrieved per row (the first plus its neighbours)."}
    )

    def validate(self) -> SynthRequest:
        """Refuse values that cannot work, each with the fix; returns self for chaining."""
        validate_name(self.dataset, "dataset name")
        validate_name(self.kb, "knowledge base name")
        if self.strategy not in STRATEGIES:
            raise InvalidInput(
                f"Unknown synthesis strategy {self.strategy!r}.",
                f"Use one of: {', '.join(STRATEGIES)}.",
            )
        checks = (
            ("n", self.n, 1, self.n is not None),
            ("batch_size", self.batch_size, 1, True),
            ("max_new_tokens", self.max_new_tokens, 1, True),
            ("retries", self.retries, 0, True),
            ("context_chunks", self.context_chunks, 1, True),
        )
        for name, value, low, applies in checks:
            if applies and (not isinstance(value, int) or value < low):
                raise InvalidInput(
                    f"{name} must be a whole number >= {low}, not {value!r}.",
                    f"Set {name} to {low} or more.",
                )
        if not 0 <= self.temperature <= 2:
            raise InvalidInput(
                f"temperature must be between 0 and 2, not {self.temperature}.",
                "Use 0 for greedy answers or about 0.7 for varied ones.",
            )
        if self.strategy == "golden" and not self.golden_path:
            raise InvalidInput(
                "The golden strategy needs a file of golden outputs.",
                "Pass --golden FILE (JSONL with a 'text' field, or texts separated by blank lines),"
                " or use --strategy grounded.",
            )
        if self.strategy == "augment" and not self.seeds:
            raise InvalidInput(
                "The augment strategy needs seed examples.",
                "Pass --seeds FILE.jsonl or --seeds NAME@vN (an existing dataset version).",
            )
        return self

    def to_params(self) -> dict[str, Any]:
        """The request as JSON-ready parameters (for a dataset version's lineage)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Reject:
    """One work item that produced no row: which item, the reason (a short category) and detail."""

    item: str
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class SynthProgress:
    """A progress report: items done (kept + rejected) out of `total`, and seconds left.

    `total` grows when a reject has to be replaced by another item; `eta_s` is None until this
    session has timed at least one batch.
    """

    done: int
    kept: int
    rejected: int
    total: int
    eta_s: float | None


ProgressCallback = Callable[[SynthProgress], None]


@dataclass
class SynthResult:
    """The rows a job made (messages format, with id and meta), its rejects, and why it fell short.

    `job_path` is the partial file that makes the job resumable: once the rows are committed as a
    dataset version, call `tools.synth.finish_job(result)` so a later run starts afresh.
    """

    rows: list[dict]
    rejects: list[Reject]
    summary: dict[str, Any]
    shortfall_reason: str | None
    job_path: Path
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": len(self.rows),
            "rejects": [r.to_dict() for r in self.rejects],
            "summary": self.summary,
            "shortfall_reason": self.shortfall_reason,
            "job_path": str(self.job_path),
        }
