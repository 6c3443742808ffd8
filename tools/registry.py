"""Tools as plugins: every capability the agent can call, built-in or third-party, is a ToolSpec.

A ToolSpec is a typed function (pydantic arguments in, ToolResult out) with a docstring written
for a model, example phrasings for the offline guide, and a rule saying when the call needs the
person's approval. Built-ins register through the same entry-point group as third-party plugins
(`tunesmith.tools`, see pyproject.toml), so a plugin is a first-class tool:

    [project.entry-points."tunesmith.tools"]
    my_tool = "my_package.tools:MY_TOOL"      # a ToolSpec, a list of them, or a callable
                                              # returning either

Each spec is validated when it is registered; a broken one is refused with the reason (kept in
`ToolRegistry.refused`) and never reaches the agent.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import InvalidInput, NotFound, TunesmithError

ENTRY_POINT_GROUP = "tunesmith.tools"
MIN_EXAMPLES = 3

Emit = Callable[[str, int, int, str], None]
"""`emit(stage, done, total, detail)`: progress of long work, streamed to every door."""


@dataclass
class ToolResult:
    """What a tool hands back: a short text for the model, structured data for the doors.

    `artifact` is for rendering (tables, plot paths, ids); `position` updates the workflow
    position in the agent state, e.g. {"dataset": "ds:coffee@v2"} after an edit.
    """

    text: str
    artifact: dict[str, Any] = field(default_factory=dict)
    position: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolContext:
    """What a running tool may use besides its arguments.

    `position` is the agent's workflow position (project, use_case, kb, dataset, run, eval) so a
    tool can default "the last run"; `emit` streams progress; `ws` is the workspace (None: the
    one from settings). `user_text` is the person's own latest message (never document or model
    text): a folder named there may be read by tools that take paths, and nothing else outside
    the workspace. `registry` is the registry the call came from (the help tool lists it).
    """

    ws: Any = None
    position: dict[str, Any] = field(default_factory=dict)
    emit: Emit = lambda stage, done, total, detail="": None  # noqa: E731
    thread_id: str = ""
    user_text: str = ""
    registry: Any = None


@dataclass(frozen=True)
class ToolSpec:
    """One capability the agent can call.

    `run(args, ctx)` does the work. `needs_approval(args, ctx)` returns why the person must
    approve this call (costly or destructive), or None to run it at once. `examples` are plain
    phrasings a person would use; the offline guide routes by them (at least three, none shared
    with another tool).
    """

    name: str
    description: str
    args_schema: type[BaseModel]
    run: Callable[[BaseModel, ToolContext], ToolResult]
    examples: tuple[str, ...]
    needs_approval: Callable[[BaseModel, ToolContext], str | None] | None = None
    source: str = "builtin"

    def parse(self, arguments: dict[str, Any]) -> BaseModel:
        """Validate raw arguments; a bad one is an InvalidInput naming the field and the fix."""
        try:
            return self.args_schema.model_validate(arguments or {})
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in error.errors()
            )
            fields = self.args_schema.model_fields
            named = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            helps = " ".join(  # what each refused argument means, from its Field description
                f"{name}: {fields[name].description.rstrip('.')}."
                for name in fields
                if name in named and fields[name].description
            )
            raise InvalidInput(
                f"{self.name} got bad arguments: {problems}.",
                f"{helps} Arguments it takes: {', '.join(fields) or 'none'}.".strip(),
            ) from None

    def approval_reason(self, args: BaseModel, ctx: ToolContext) -> str | None:
        return self.needs_approval(args, ctx) if self.needs_approval else None

    def invoke(self, arguments: dict[str, Any], ctx: ToolContext | None = None) -> ToolResult:
        """Validate, then run. Tunesmith errors come back as a result the model can read."""
        ctx = ctx or ToolContext()
        args = self.parse(arguments)
        try:
            return self.run(args, ctx)
        except TunesmithError as error:
            text = f"Error: {error.message}" + (f" What to do: {error.hint}" if error.hint else "")
            return ToolResult(text, {"error": error.message, "hint": error.hint})

    def as_langchain_tool(self) -> Any:
        """A LangChain StructuredTool with this schema, for `bind_tools` (the LLM brain).

        The graph runs tools through `invoke` itself (for approvals and context); the
        StructuredTool is what the model is shown, and it also works when called directly.
        """
        from langchain_core.tools import StructuredTool

        def call(**kwargs: Any) -> tuple[str, dict[str, Any]]:
            result = self.invoke(kwargs)
            return result.text, result.artifact

        return StructuredTool.from_function(
            func=call,
            name=self.name,
            description=self.description,
            args_schema=self.args_schema,
            response_format="content_and_artifact",
        )


def validate_spec(spec: Any, taken: Iterable[str] = ()) -> str | None:
    """Why `spec` cannot be registered, or None when it is sound."""
    if not isinstance(spec, ToolSpec):
        return f"expected a ToolSpec, got {type(spec).__name__}"
    name = spec.name
    if not name.isidentifier() or keyword.iskeyword(name) or name != name.lower():
        return f"name {spec.name!r} must be a lowercase Python identifier"
    if spec.name in set(taken):
        return f"a tool named {spec.name!r} is already registered"
    if len(spec.description.strip()) < 20:
        return "description must say, in a sentence or more, what the tool does and when to use it"
    if not (isinstance(spec.args_schema, type) and issubclass(spec.args_schema, BaseModel)):
        return "args_schema must be a pydantic BaseModel subclass"
    if not callable(spec.run):
        return "run must be callable as run(args, ctx)"
    if spec.needs_approval is not None and not callable(spec.needs_approval):
        return "needs_approval must be callable or None"
    phrasings = [e for e in spec.examples if isinstance(e, str) and e.strip()]
    if len(phrasings) < MIN_EXAMPLES or len(phrasings) != len(spec.examples):
        return f"examples must be at least {MIN_EXAMPLES} non-empty phrasings"
    return None


@dataclass
class ToolRegistry:
    """The tools the agent may call, by name, and the ones refused with their reasons."""

    tools: dict[str, ToolSpec] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def register(self, spec: Any, origin: str = "") -> bool:
        """Add one spec; a broken one goes to `refused` with the reason. True when added."""
        reason = validate_spec(spec, self.tools)
        label = getattr(spec, "name", None) or origin or repr(spec)
        if reason:
            self.refused[f"{origin}:{label}" if origin else label] = reason
            return False
        self.tools[spec.name] = spec
        return True

    def get(self, name: str) -> ToolSpec:
        if name not in self.tools:
            raise NotFound(
                f"There is no tool {name!r}.", f"Tools: {', '.join(sorted(self.tools))}."
            )
        return self.tools[name]

    def __iter__(self):
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def names(self) -> list[str]:
        return list(self.tools)


def _specs_from(obj: Any) -> Sequence[Any]:
    """An entry point may name a spec, a list of specs, or a callable returning either."""
    if callable(obj) and not isinstance(obj, ToolSpec):
        obj = obj()
    return list(obj) if isinstance(obj, list | tuple) else [obj]


def load_registry(entry_points: Iterable[Any] | None = None) -> ToolRegistry:
    """Every tool from the `tunesmith.tools` entry points, built-ins first.

    `entry_points` defaults to the installed ones; tests pass their own. A plugin that fails to
    import is refused with the error, never allowed to break the others.
    """
    from importlib.metadata import entry_points as installed

    points = list(installed(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points)
    points.sort(key=lambda ep: (ep.name != "builtin", ep.name))
    registry = ToolRegistry()
    for point in points:
        try:
            specs = _specs_from(point.load())
        except Exception as error:  # a plugin's own bug: refuse it, keep the rest
            registry.refused[point.name] = f"failed to load: {type(error).__name__}: {error}"
            continue
        for spec in specs:
            if isinstance(spec, ToolSpec) and point.name != "builtin":
                spec = _with_source(spec, point.name)
            registry.register(spec, origin=point.name)
    return registry


def _with_source(spec: ToolSpec, source: str) -> ToolSpec:
    from dataclasses import replace

    return replace(spec, source=source)
