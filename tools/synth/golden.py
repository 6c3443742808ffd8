"""Golden strategy: the person's own texts are the outputs; the model writes the inputs.

Each golden output is searched in the knowledge base (the text itself is the query) to find the
chunks it draws on; those become the row's provenance. The model sees the golden text and writes
the request that would have produced it; the golden text goes into the row untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prompts import load_prompt
from tools.knowledge.kb import search
from tools.knowledge.store import Snapshot
from tools.synth.golden_file import GoldenOutput
from tools.synth.parsing import check_not_copy, check_text, drop_echoed_lines, parse_single
from tools.synth.request import SynthRequest
from tools.synth.sampling import within_budget
from tools.synth.strategy import Candidate, Strategy, WorkItem, fence

LEAK_SHARE = 0.4
"""A request that restates this much of its golden output verbatim gives the answer away."""
MIN_HIT_SCORE = 0.3
"""Retrieved chunks below this cosine are not what the text draws on (the best one is kept)."""


class GoldenStrategy(Strategy):
    name = "golden"
    prompt_name = "synth_golden"

    def __init__(
        self,
        request: SynthRequest,
        snapshot: Snapshot,
        outputs: list[GoldenOutput],
        search_kwargs: dict[str, Any],
    ) -> None:
        super().__init__(request, snapshot)
        self.outputs = outputs
        self.search_kwargs = search_kwargs  # ws and settings for tools.knowledge.kb.search

    def capacity(self) -> int:
        return len(self.outputs)

    def capacity_note(self) -> str:
        count = len(self.outputs)
        return f"only {count} golden output{'s' if count != 1 else ''}"

    def items(self) -> Iterator[WorkItem]:
        for output in self.outputs:
            hits = search(
                self.request.kb, output.text, k=self.request.context_chunks, **self.search_kwargs
            )
            chunks = [h.chunk for i, h in enumerate(hits) if i == 0 or h.score >= MIN_HIT_SCORE]
            yield WorkItem(output.id, within_budget(chunks), {"golden": output})

    def variables(self, item: WorkItem) -> dict[str, Any]:
        golden: GoldenOutput = item.extra["golden"]
        return {
            "kind": fence(golden.kind.replace("_", " ")),
            "context": fence(golden.context),
            "text": fence(golden.text),
        }

    def examples(self, item: WorkItem) -> list[dict[str, Any]]:
        """Examples of the item's kind last: small models imitate the last example most."""
        kind = item.extra["golden"].kind.replace("_", " ").strip().lower()
        return sorted(super().examples(item), key=lambda e: str(e.get("kind", "")).lower() == kind)

    def context_text(self, item: WorkItem) -> str:
        golden: GoldenOutput = item.extra["golden"]
        return "\n".join([super().context_text(item), golden.kind, golden.context, golden.text])

    def read(self, item: WorkItem, text: str) -> Candidate:
        golden: GoldenOutput = item.extra["golden"]
        instruction = load_prompt(self.prompt_name)["user"].strip().splitlines()[-1]
        request = check_text(drop_echoed_lines(parse_single(text), [instruction]), "request")
        check_not_copy(request, "request", {"the golden output": golden.text}, LEAK_SHARE)
        return Candidate(item, request, golden.text)

    def provenance_extra(self, item: WorkItem) -> dict[str, Any]:
        golden: GoldenOutput = item.extra["golden"]
        extra = {"golden_id": golden.id}
        if golden.kind:
            extra["kind"] = golden.kind
        return extra
