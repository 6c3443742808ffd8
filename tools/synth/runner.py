"""The generation loop: batches through the engine, retries, checkpoints, progress.

It walks the strategy's plan in order. Items the job file already holds are counted and skipped;
the others are sent `batch_size` at a time through `engine.generate`. An answer that cannot be used
goes back in the queue with a hotter temperature until its retries are spent, then becomes a
reject with its reason. After every batch the finished items are appended to the job file, so a
kill loses at most one batch. New items are only drawn while `kept + in flight < n`, so the job
never makes more than `n` rows, and a reject makes room for one more item, up to `budget`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.models.engine import Engine
from core.settings import Settings
from tools.synth.journal import Journal
from tools.synth.model import server_failed, server_fault
from tools.synth.parsing import MODEL_ERROR, NEAR_COPY, Unusable
from tools.synth.request import ProgressCallback, SynthProgress
from tools.synth.strategy import Candidate, Strategy, WorkItem


@dataclass
class RunOutcome:
    """What the loop did: the plan keys it walked (in order) and every finished record by key."""

    order: list[str] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: int = 0
    rejected: int = 0
    resumed: int = 0
    generated: int = 0
    budget_reached: bool = False
    seconds: float = 0.0


class Runner:
    """One run of one job; `run()` returns its outcome."""

    def __init__(
        self,
        strategy: Strategy,
        engine: Callable[[], Engine],
        journal: Journal,
        *,
        model_ref: str,
        n: int,
        budget: int,
        batch_size: int,
        retries: int,
        settings: Settings,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.strategy = strategy
        self.get_engine = engine
        self.journal = journal
        self.model_ref = model_ref
        self.n = n
        self.budget = budget
        self.batch_size = batch_size
        self.retries = retries
        self.settings = settings
        self.progress = progress
        self.outcome = RunOutcome(records=journal.load())
        self.plan: Iterator[WorkItem] = strategy.items()
        self.queue: deque[tuple[WorkItem, int]] = deque()  # (item, attempt) awaiting a retry

    def run(self) -> RunOutcome:
        while batch := self._next_batch():
            self._report()
            started = time.perf_counter()
            finished = self._generate(batch)
            self.journal.append(finished)
            self.outcome.seconds += time.perf_counter() - started
            self.outcome.generated += len(finished)
            for record in finished:
                self.outcome.records[record["key"]] = record
                self._count(record)
        self._report()
        return self.outcome

    # -- planning --------------------------------------------------------------------------------

    def _next_batch(self) -> list[tuple[WorkItem, int]]:
        batch: list[tuple[WorkItem, int]] = []
        while self.queue and len(batch) < self.batch_size:
            batch.append(self.queue.popleft())
        while len(batch) < self.batch_size:
            item = self._pull(in_flight=len(batch) + len(self.queue))
            if item is None:
                break
            batch.append((item, 0))
        return batch

    def _pull(self, in_flight: int) -> WorkItem | None:
        """The next plan item that still needs generating, counting finished ones on the way."""
        while self.outcome.kept + in_flight < self.n:
            if len(self.outcome.order) >= self.budget:
                self.outcome.budget_reached = True
                return None
            item = next(self.plan, None)
            if item is None:
                return None
            self.outcome.order.append(item.key)
            record = self.outcome.records.get(item.key)
            if record is None:
                return item
            self.outcome.resumed += 1
            self._count(record)
        return None

    def _count(self, record: dict[str, Any]) -> None:
        self.outcome.kept += bool(record["kept"])
        self.outcome.rejected += not record["kept"]

    # -- one batch -------------------------------------------------------------------------------

    def _generate(self, batch: list[tuple[WorkItem, int]]) -> list[dict[str, Any]]:
        """Run one batch; return the records of the items it finished (kept or rejected)."""
        engine = self.get_engine()
        requests = [self.strategy.chat_request(item, attempt) for item, attempt in batch]
        generations = engine.generate(requests, batch_size=self.batch_size)
        if all(server_fault(g.error) for g in generations):
            raise server_failed(engine, self.settings, generations[0].error or "no answer")
        parsed: list[tuple[WorkItem, int, Candidate]] = []
        failed: list[tuple[WorkItem, int, Unusable]] = []
        for (item, attempt), generation in zip(batch, generations, strict=True):
            try:
                if generation.error:
                    raise Unusable(MODEL_ERROR, generation.error)
                parsed.append((item, attempt, self.strategy.parse(item, generation.text)))
            except Unusable as problem:
                failed.append((item, attempt, problem))
        finished = []
        verdicts = self.strategy.screen([candidate for _, _, candidate in parsed])
        for (item, attempt, candidate), verdict in zip(parsed, verdicts, strict=True):
            if verdict is not None:
                failed.append((item, attempt, Unusable(NEAR_COPY, verdict)))
                continue
            row = self.strategy.row(candidate, self.model_ref)
            finished.append({"key": item.key, "kept": True, "row": row, "attempts": attempt + 1})
        for item, attempt, problem in failed:
            if attempt < self.retries:
                self.queue.append((item, attempt + 1))
                continue
            finished.append(
                {
                    "key": item.key,
                    "kept": False,
                    "reason": problem.reason,
                    "detail": problem.detail,
                    "attempts": attempt + 1,
                }
            )
        return finished

    # -- progress --------------------------------------------------------------------------------

    def _report(self) -> None:
        if self.progress is None:
            return
        done = self.outcome.kept + self.outcome.rejected
        total = max(done, min(self.n + self.outcome.rejected, self.budget))
        eta = None
        if self.outcome.generated:
            eta = (total - done) * self.outcome.seconds / self.outcome.generated
        self.progress(SynthProgress(done, self.outcome.kept, self.outcome.rejected, total, eta))
