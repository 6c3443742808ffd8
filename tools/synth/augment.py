"""Augment strategy: new rows in the style of a few seed examples, grounded in the knowledge base.

It plans and grounds exactly like the grounded strategy; the prompt adds two seed examples per row
(rotating, so every seed gets used) and every batch is screened for near-copies of any seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools.synth.grounded import GroundedStrategy
from tools.synth.request import SynthRequest
from tools.synth.seeds import SeedExample
from tools.synth.similarity import SeedMatcher
from tools.synth.strategy import Candidate, WorkItem, fence

if TYPE_CHECKING:
    from core.embeddings import Embedder
    from tools.knowledge.store import Snapshot

SEEDS_SHOWN = 2


class AugmentStrategy(GroundedStrategy):
    name = "augment"
    prompt_name = "synth_augment"

    def __init__(
        self,
        request: SynthRequest,
        snapshot: Snapshot,
        seeds: list[SeedExample],
        embedder: Callable[[], Embedder],
    ) -> None:
        super().__init__(request, snapshot)
        self.seeds = seeds
        self.embedder = embedder  # a factory: the model loads when the first batch is screened
        self._matcher: SeedMatcher | None = None

    def shown_seeds(self, item: WorkItem) -> list[SeedExample]:
        start = item.extra["position"] * SEEDS_SHOWN
        count = min(SEEDS_SHOWN, len(self.seeds))
        return [self.seeds[(start + i) % len(self.seeds)] for i in range(count)]

    def variables(self, item: WorkItem) -> dict[str, Any]:
        seeds = [
            {"input": fence(s.input), "output": fence(s.output)} for s in self.shown_seeds(item)
        ]
        return {**super().variables(item), "seeds": seeds}

    def context_text(self, item: WorkItem) -> str:
        seeds = [f"{s.input}\n{s.output}" for s in self.shown_seeds(item)]
        return "\n".join([super().context_text(item), *seeds])

    def screen(self, candidates: list[Candidate]) -> list[str | None]:
        if self._matcher is None:  # embedding the seeds waits until there is something to screen
            self._matcher = SeedMatcher(self.seeds, self.embedder())
        return self._matcher.near_copies([(c.input, c.output) for c in candidates])

    def provenance_extra(self, item: WorkItem) -> dict[str, Any]:
        return {"seed_ids": [s.id for s in self.shown_seeds(item)]}
