"""Grounded strategy: question-and-answer rows written from chunks of the knowledge base.

Anchors are spread over documents and each brings its neighbours (tools/synth/sampling.py); the
model writes a question or instruction and an answer from that context only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tools.synth.parsing import check_not_copy, check_text, parse_pair
from tools.synth.sampling import spread_order, with_neighbours
from tools.synth.strategy import Candidate, Strategy, WorkItem, document_vars


class GroundedStrategy(Strategy):
    name = "grounded"
    prompt_name = "synth_grounded"

    def capacity(self) -> int:
        return len(self.snapshot.chunks)

    def capacity_note(self) -> str:
        count = len(self.snapshot.chunks)
        return (
            f"knowledge base {self.request.kb!r} has {count} chunk{'s' if count != 1 else ''} "
            "(one row per chunk at most)"
        )

    def items(self) -> Iterator[WorkItem]:
        for position, anchor in enumerate(spread_order(self.snapshot, self.request.seed)):
            chunks = with_neighbours(self.snapshot, anchor, self.request.context_chunks)
            yield WorkItem(f"c{position:05d}", chunks, {"position": position})

    def variables(self, item: WorkItem) -> dict[str, Any]:
        return {"documents": document_vars(item.chunks)}

    def read(self, item: WorkItem, text: str) -> Candidate:
        question, answer = parse_pair(text)
        check_text(question, "input")
        check_text(answer, "output")
        chunks = {f"chunk {c.id}": c.body for c in item.chunks}
        check_not_copy(question, "input", chunks)
        check_not_copy(answer, "output", chunks)
        return Candidate(item, question, answer)
