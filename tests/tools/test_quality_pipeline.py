"""The quality pipeline end to end: steps from plain data, reports per step, rows through."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.models.engine import Generation
from tools.datasets.quality import (
    DedupeStep,
    GroundingStep,
    JudgeStep,
    LeakageStep,
    LengthStep,
    PiiStep,
    QualityDeps,
    SplitStep,
    run_quality,
    step_from_dict,
)
from tools.datasets.quality.pipeline import STEP_TYPES

CHUNKS = {
    f"c{d}": f"Document {d} says the Gullhaven roastery ships coffee blend {d} within {d} days."
    for d in range(10)
}


class ScriptedJudge:
    """Stands in for a remote judge model: answers every request with the same score."""

    ref = "openai:judge"

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def generate(self, requests, *, batch_size=None, progress=None):
        return [Generation(self.answer, 1, 1, 0.0) for _ in requests]


def rows() -> list[dict]:
    out = []
    for d in range(10):
        for k in range(3):
            out.append(
                {
                    "id": f"d{d}-{k}",
                    "prompt": f"How fast does blend {d} ship? (variant {k})",
                    "completion": f"The roastery ships coffee blend {d} within {d} days.",
                    "meta": {"sources": [f"doc{d}.md"], "provenance": {"chunk_ids": [f"c{d}"]}},
                }
            )
    out.append({**out[0], "id": "dup"})  # an exact duplicate
    out.append(
        {
            "id": "pii",
            "prompt": "Mail me at ada@example.com",
            "completion": "Will do soon.",
            "meta": {"sources": ["doc0.md"]},
        }
    )
    out.append({"id": "tiny", "prompt": "Ok?", "completion": "Ok.", "meta": {"sources": ["x.md"]}})
    out.append(
        {
            "id": "made-up",
            "prompt": "Where?",
            "completion": "Our farm in Peru grows oaks.",
            "meta": {"sources": ["doc1.md"], "provenance": {"chunk_ids": ["c1"]}},
        }
    )
    return out


def test_pipeline_reports_every_step_and_returns_the_final_rows():
    steps = [
        DedupeStep(method="minhash", threshold=0.6),
        PiiStep(mode="drop"),
        LengthStep(min_response=3),
        GroundingStep(threshold=0.3),
        JudgeStep(model="openai:judge"),
        SplitStep(eval_fraction=0.2, seed=1),
        LeakageStep(method="minhash"),
    ]
    seen = []
    deps = QualityDeps(
        count_tokens=lambda t: len(t.split()),
        chunk_lookup=CHUNKS.get,
        judge_engine=ScriptedJudge("4"),
    )
    final, reports = run_quality(rows(), steps, deps, on_step=seen.append)
    assert seen == reports
    assert [r.step for r in reports] == [
        "dedupe",
        "pii",
        "length",
        "grounding",
        "judge",
        "split",
        "leakage",
    ]
    by_step = {r.step: r for r in reports}
    assert by_step["dedupe"].rows_in == 34
    # the three variants of each question differ in one word (Jaccard 0.67 >= 0.6)
    assert by_step["dedupe"].removed_by_kind == {"exact duplicate": 1, "near duplicate": 20}
    assert by_step["pii"].removed_by_kind == {"PII": 1}
    assert [r.id for r in by_step["length"].removed] == ["tiny"]
    assert [r.id for r in by_step["grounding"].removed] == ["made-up"]
    assert by_step["judge"].notes["scored"] == 10
    for before, after in zip(reports, reports[1:], strict=False):
        assert after.rows_in == before.rows_out
        assert before.rows_in == before.rows_out + len(before.removed)
    assert len(final) == 10
    assert all(r["meta"]["scores"] == {"grounding": 1.0, "judge": 4.0} for r in final)
    assert {r["meta"]["split"] for r in final} == {"train", "eval"}
    assert by_step["leakage"].notes["ok"] is True
    record = by_step["dedupe"].to_dict()
    assert record["params"] == {"method": "minhash", "threshold": 0.6}
    assert record["removals"][0] == {
        "id": "d0-1",
        "reason": "near duplicate: of d0-0, Jaccard 0.667 >= 0.6",
    }


def test_steps_from_plain_data():
    assert step_from_dict({"step": "dedupe", "method": "minhash", "threshold": 0.7}) == DedupeStep(
        "minhash", 0.7
    )
    assert step_from_dict({"step": "split"}) == SplitStep()
    with pytest.raises(InvalidInput) as err:
        step_from_dict({"step": "shuffle"})
    assert "dedupe" in err.value.hint
    with pytest.raises(InvalidInput) as err:
        step_from_dict({"step": "pii", "mode": "drop", "kind": "email"})
    assert "kinds" in err.value.hint


def test_every_step_setting_has_help_text():
    from dataclasses import fields

    for cls in STEP_TYPES.values():
        assert all(f.metadata.get("help") for f in fields(cls)), cls


def test_a_length_step_without_a_tokenizer_says_what_to_set():
    with pytest.raises(InvalidInput) as err:
        run_quality(rows(), [LengthStep(min_response=3)])
    assert "tokenizer" in err.value.hint
