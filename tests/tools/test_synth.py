"""Synthesis end to end on the sample knowledge base (real MiniLM, real FAISS, real workspace).

The model is a scripted fake (it stands in for a remote model) for the deterministic cases:
retries, rejects, shortfalls, resume after kill -9. One slow test runs the real builtin SmolLM2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from core import sample_data
from core.errors import InvalidInput, ModelUnavailable, NotFound, TunesmithError
from core.models.engine import ChatRequest, Generation
from core.settings import Settings
from core.workspace import Workspace
from tools.datasets.store import DatasetStore
from tools.datasets.validation import validate_rows
from tools.knowledge.kb import add_documents, open_kb
from tools.synth import SynthProgress, SynthRequest, finish_job, synthesize
from tools.synth.parsing import MODEL_ERROR, NEAR_COPY, PARSE_FAILURE

REPO = Path(__file__).resolve().parents[2]
GOLDEN = sample_data.golden_path()


class ScriptedEngine:
    """A fake remote model: answers from a queue of scripted texts, then from `reply(request)`.

    Every request it receives is recorded. A queued `Exception` instance becomes a failed
    `Generation` (what remote engines return for one failed request). `kill_at=k` makes the k-th
    `generate` call SIGKILL its own process, as a crash would; `raise_at=k` raises instead.
    """

    def __init__(
        self,
        script: list[str | Exception] | None = None,
        reply: Callable[[ChatRequest], str] | None = None,
        *,
        ref: str = "fake:scripted",
        kill_at: int | None = None,
        raise_at: int | None = None,
    ) -> None:
        self.ref = ref
        self.script = list(script or [])
        self.reply = reply or question_answer
        self.kill_at = kill_at
        self.raise_at = raise_at
        self.calls: list[list[ChatRequest]] = []

    @property
    def requests(self) -> list[ChatRequest]:
        return [r for call in self.calls for r in call]

    def generate(self, requests, *, batch_size=None, progress=None):
        if len(self.calls) + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if len(self.calls) + 1 == self.raise_at:
            raise RuntimeError("simulated crash")
        self.calls.append(list(requests))
        out = []
        for request in requests:
            answer = self.script.pop(0) if self.script else self.reply(request)
            if isinstance(answer, Exception):
                out.append(Generation("", 0, 0, 0.01, error=str(answer)))
            else:
                out.append(Generation(answer, 10, 10, 0.01))
        if progress:
            progress(len(requests), len(requests))
        return out


def question_answer(request: ChatRequest, tag: str = "") -> str:
    """A well-formed grounded answer, unique per prompt (names the first document's words)."""
    prompt = request.messages[-1]["content"]
    body = prompt.split(">", 1)[1] if ">" in prompt else prompt
    words = " ".join(body.split()[:6])
    return f"QUESTION: What does it say about {words}?{tag}\nANSWER: It explains {words}.{tag}"


def golden_request(request: ChatRequest) -> str:
    return "Request: Write the post for this week. Key points: the coffee, the price, the day."


@pytest.fixture(scope="module")
def kb_home(tmp_path_factory):
    """The sample documents indexed once; each test gets its own dataset names."""
    home = tmp_path_factory.mktemp("synth-home")
    settings = Settings(home=home)
    ws = Workspace(home)
    report = add_documents("sample", [sample_data.docs_dir()], ws=ws, settings=settings)
    assert report.ok
    return ws, settings


def run(kb_home, engine, **fields):
    ws, settings = kb_home
    fields.setdefault("kb", "sample")
    progress: list[SynthProgress] = []
    result = synthesize(
        SynthRequest(**fields), ws=ws, settings=settings, engine=engine, progress=progress.append
    )
    return result, progress


def assert_valid_rows(rows, ws, strategy, model_ref):
    """Messages rows with unique ids whose provenance points at real chunks of the kb."""
    assert validate_rows([json.dumps(r) for r in rows]) == rows  # what `data import` accepts
    chunks = {c.id: c for c in open_kb("sample", ws).chunks}
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles in (["user", "assistant"], ["system", "user", "assistant"])
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"])
        provenance = row["meta"]["provenance"]
        assert provenance["strategy"] == strategy and provenance["model"] == model_ref
        assert provenance["prompt_version"] == f"synth_{strategy}@1"
        assert provenance["chunk_ids"] and set(provenance["chunk_ids"]) <= set(chunks)
        sources = list(dict.fromkeys(chunks[c].source for c in provenance["chunk_ids"]))
        assert provenance["sources"] == sources == row["meta"]["sources"]


# -- the three strategies --------------------------------------------------------------------------


def test_golden_rows_pair_written_inputs_with_untouched_golden_outputs(kb_home):
    ws, _ = kb_home
    engine = ScriptedEngine(reply=golden_request)
    result, _ = run(
        kb_home,
        engine,
        dataset="golden-basic",
        golden_path=GOLDEN,
        n=5,
        use_case="Social posts for a coffee roaster",
        system_prompt="You write for Gullhaven.",
    )
    golden = sample_data.read_golden()[:5]
    assert result.shortfall_reason is None and result.rejects == []
    assert [r["messages"][-1]["content"] for r in result.rows] == [g["text"] for g in golden]
    assert all(r["messages"][1]["content"].startswith("Write the post") for r in result.rows)
    assert all(
        r["messages"][0] == {"role": "system", "content": "You write for Gullhaven."}
        for r in result.rows
    )
    assert [r["meta"]["provenance"]["golden_id"] for r in result.rows] == [g["id"] for g in golden]
    assert_valid_rows(result.rows, ws, "golden", "fake:scripted")
    # The model saw the golden text as data, the use case in its instructions, and few-shot turns.
    first = engine.requests[0].messages
    assert "Social posts for a coffee roaster" in first[0]["content"]
    assert f"<text>\n{golden[0]['text']}\n</text>" in first[-1]["content"]
    assert [m["role"] for m in first] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    # A release-day post is retrieved with the product page that describes that coffee.
    chunks = {c.id: c for c in open_kb("sample", ws).chunks}
    geisha = [chunks[c].text for c in result.rows[0]["meta"]["provenance"]["chunk_ids"]]
    assert any("Geisha" in text for text in geisha)


def test_grounded_rows_spread_over_documents_and_span_neighbouring_chunks(kb_home):
    ws, _ = kb_home
    documents = len(open_kb("sample", ws).documents)
    engine = ScriptedEngine()
    result, progress = run(
        kb_home, engine, dataset="grounded", strategy="grounded", n=10, batch_size=4
    )
    assert len(result.rows) == 10 and result.shortfall_reason is None
    assert_valid_rows(result.rows, ws, "grounded", "fake:scripted")
    first_round = [r["meta"]["provenance"]["chunk_ids"][0].split(":")[0] for r in result.rows]
    assert len(set(first_round[:documents])) == documents  # one anchor per document first
    assert any(len(r["meta"]["provenance"]["chunk_ids"]) > 1 for r in result.rows)
    assert [len(call) for call in engine.calls] == [4, 4, 2]
    assert all('<document source="' in r.messages[-1]["content"] for r in engine.requests)
    # progress: (done, kept, total, eta) after each batch, ending complete with an ETA of zero
    assert [(p.done, p.kept, p.total) for p in progress] == [
        (0, 0, 10),
        (4, 4, 10),
        (8, 8, 10),
        (10, 10, 10),
    ]
    assert progress[0].eta_s is None and progress[1].eta_s > 0 and progress[-1].eta_s == 0


def test_augment_rejects_near_copies_of_seeds_with_the_reason(kb_home, tmp_path):
    ws, _ = kb_home
    seeds = [
        ("Do you ship to Canada?", "Yes, for a flat $14.00 per order, whatever the size."),
        ("What does Driftwood Dark taste like?", "Cedar, baker's chocolate and a little smoke."),
    ]
    seed_file = tmp_path / "seeds.jsonl"
    seed_file.write_text(
        "".join(json.dumps({"prompt": q, "completion": a}) + "\n" for q, a in seeds),
        encoding="utf-8",
    )
    copy = f"INPUT: {seeds[0][0]}\nOUTPUT: {seeds[0][1]}"
    reworded = (
        "INPUT: do you ship to canada\nOUTPUT: yes for a flat 14 00 per order whatever the size"
    )
    paraphrase = (
        "INPUT: Can you ship my order to Canada?\nOUTPUT: Yes, a flat $14 per order, any size!"
    )
    engine = ScriptedEngine([copy, reworded, paraphrase], reply=lambda r: question_answer(r, "!"))
    result, _ = run(
        kb_home, engine, dataset="augment", strategy="augment", n=4, retries=0, seeds=seed_file
    )
    assert len(result.rows) == 4
    assert [r.reason for r in result.rejects] == [NEAR_COPY] * 3
    details = [r.detail for r in result.rejects]
    assert details[0].startswith("same text as seed line-1") and "cosine" in details[2]
    assert_valid_rows(result.rows, ws, "augment", "fake:scripted")
    assert all(r["meta"]["provenance"]["seed_ids"] for r in result.rows)
    prompt = engine.requests[0].messages[-1]["content"]
    assert all(f"INPUT: {q}" in prompt for q, _ in seeds)  # both seeds shown as examples
    # The same seeds from a dataset version give the same examples (and so the same job).
    store = DatasetStore(ws)
    info = store.commit(
        "seeds",
        [json.loads(line) for line in seed_file.read_text().splitlines()],
        operation="import",
        parent=None,
    )
    again, _ = run(
        kb_home,
        ScriptedEngine(reply=lambda r: question_answer(r, "?")),
        dataset="augment-ds",
        strategy="augment",
        n=2,
        seeds=f"seeds@v{info.version}",
    )
    assert len(again.rows) == 2 and again.rejects == []


# -- retries, rejects and shortfalls ---------------------------------------------------------------


def test_a_parse_failure_is_retried_hotter_and_then_succeeds(kb_home):
    engine = ScriptedEngine(["I love coffee!", "QUESTION: What? ANSWER"])
    result, _ = run(kb_home, engine, dataset="retry", strategy="grounded", n=1)
    assert len(result.rows) == 1 and result.rejects == []
    temperatures = [r.temperature for r in engine.requests]
    assert temperatures[0] == 0.0 and temperatures[1] > 0 and temperatures[2] > temperatures[1]
    assert len({json.dumps(r.messages) for r in engine.requests}) == 1  # same item each time
    record = [json.loads(x) for x in result.job_path.read_text().splitlines()][-1]
    assert record["attempts"] == 3 and record["kept"]


def test_permanent_failures_become_rejects_and_the_shortfall_says_why(kb_home):
    engine = ScriptedEngine(reply=lambda request: "Sorry, I cannot help with that.")
    result, progress = run(
        kb_home, engine, dataset="hopeless", strategy="grounded", n=3, retries=2, batch_size=8
    )
    assert result.rows == []
    assert len(result.rejects) == 6  # 2x the target is tried, then it stops
    assert {r.reason for r in result.rejects} == {PARSE_FAILURE}
    assert "Sorry, I cannot help" in result.rejects[0].detail
    assert len(engine.requests) == 6 * 3  # each tried once and retried twice
    assert result.shortfall_reason == (
        "made 0 of 3: stopped after trying 6 items (2x the target); 6 rejects: 6 parse failures"
    )
    assert result.summary["reasons"] == {PARSE_FAILURE: 6}
    assert progress[-1].done == progress[-1].total == 6


def test_rejects_are_replaced_while_the_sources_allow(kb_home):
    script = ["no format", "no format", "", *["Q: fine question here?\nA: fine answer here."] * 9]
    engine = ScriptedEngine(script, reply=lambda r: "Q: Another good one?\nA: Yes, another.")
    result, _ = run(kb_home, engine, dataset="replace", strategy="grounded", n=8, retries=0)
    assert len(result.rows) == 8 and len(result.rejects) == 3
    assert result.shortfall_reason is None
    assert {r.reason for r in result.rejects} == {PARSE_FAILURE, "empty"}


def test_golden_target_beyond_the_golden_outputs_is_explained(kb_home):
    result, _ = run(
        kb_home,
        ScriptedEngine(reply=golden_request),
        dataset="golden-all",
        golden_path=GOLDEN,
        n=30,
        batch_size=10,
    )
    assert len(result.rows) == 20 and result.summary["target"] == 30
    assert result.shortfall_reason == "made 20 of 30: only 20 golden outputs"


def test_grounded_target_beyond_the_chunks_is_explained(kb_home):
    chunks = len(open_kb("sample", kb_home[0]).chunks)
    engine = ScriptedEngine(["no format"] * 3)
    result, _ = run(
        kb_home,
        engine,
        dataset="all-chunks",
        strategy="grounded",
        n=chunks + 10,
        retries=0,
        batch_size=32,
    )
    assert len(result.rows) == chunks - 3 and len(engine.requests) == chunks
    assert result.shortfall_reason == (
        f"made {chunks - 3} of {chunks + 10}: knowledge base 'sample' has {chunks} chunks "
        "(one row per chunk at most); 3 rejects: 3 parse failures"
    )


def test_a_request_that_copies_the_golden_output_is_rejected(kb_home):
    first = sample_data.read_golden()[0]["text"]

    def echo_the_first(request: ChatRequest) -> str:
        if first in request.messages[-1]["content"]:
            return f"Write this: {first[:160]}"
        return golden_request(request)

    engine = ScriptedEngine(reply=echo_the_first)
    result, _ = run(kb_home, engine, dataset="golden-copy", golden_path=GOLDEN, n=2)
    assert [r.reason for r in result.rejects] == ["copy of the context"]
    assert "golden output" in result.rejects[0].detail
    assert [r["meta"]["provenance"]["golden_id"] for r in result.rows] == ["g02", "g03"]


def test_one_failed_request_is_retried_but_a_batch_that_all_fails_stops_the_job(kb_home):
    engine = ScriptedEngine([TimeoutError("timed out"), "Write the post."], reply=golden_request)
    result, _ = run(kb_home, engine, dataset="one-error", golden_path=GOLDEN, n=2, batch_size=2)
    assert len(result.rows) == 2 and len(engine.requests) == 3

    engine = ScriptedEngine([ConnectionError("connection failed: refused")] * 2)
    with pytest.raises(ModelUnavailable, match="did not answer: connection failed") as caught:
        run(kb_home, engine, dataset="dead", golden_path=GOLDEN, n=2, batch_size=2)
    assert "run the same command again" in caught.value.hint


def test_a_request_the_server_refuses_is_a_reject_not_a_dead_server(kb_home):
    refused = ValueError("HTTP 400: this prompt is longer than the context window")
    engine = ScriptedEngine([refused] * 3, reply=golden_request)
    result, _ = run(kb_home, engine, dataset="refused", golden_path=GOLDEN, n=2, batch_size=1)
    assert [(r.item, r.reason) for r in result.rejects] == [("g01", MODEL_ERROR)]
    assert "context window" in result.rejects[0].detail and len(result.rows) == 2


def test_an_unreachable_model_server_names_the_url_to_check(kb_home):
    ws, settings = kb_home
    offline = settings.model_copy(update={"request_timeout": 2.0, "request_retries": 0})
    request = SynthRequest(
        "dead", "sample", golden_path=GOLDEN, n=1, model="openai:some-model@http://127.0.0.1:9/v1"
    )
    with pytest.raises(ModelUnavailable) as caught:
        synthesize(request, ws=ws, settings=offline)
    message = str(caught.value)
    assert "http://127.0.0.1:9/v1" in message and "did not answer" in message
    assert "TUNESMITH_OPENAI_BASE_URL" in caught.value.hint and "\n" not in message


# -- resume ----------------------------------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import sys
    from core.settings import Settings
    from core.workspace import Workspace
    from tests.tools.test_synth import ScriptedEngine, question_answer
    from tools.synth import SynthRequest, synthesize

    home = sys.argv[1]
    engine = ScriptedEngine(reply=lambda r: question_answer(r, " (first run)"), kill_at=3)
    synthesize(
        SynthRequest("resumed", "sample", strategy="grounded", n=10, batch_size=3),
        ws=Workspace(home), settings=Settings(home=home), engine=engine,
    )
    """
)


def test_a_job_killed_with_sigkill_resumes_without_redoing_finished_rows(kb_home):
    ws, _ = kb_home
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(ws.root)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [job] = (ws.root / "synth" / "resumed").glob("*.partial.jsonl")
    finished = [json.loads(line) for line in job.read_text().splitlines()[1:]]
    assert len(finished) == 6  # two batches of three made it to disk before the kill

    engine = ScriptedEngine(reply=lambda r: question_answer(r, " (second run)"))
    result, _ = run(kb_home, engine, dataset="resumed", strategy="grounded", n=10, batch_size=3)
    assert len(engine.requests) == 4  # only the four rows that were missing
    assert result.summary["resumed"] == 6 and result.summary["generated"] == 4
    assert result.job_path == job
    assert len(result.rows) == 10 and len({r["id"] for r in result.rows}) == 10
    assert result.rows[:6] == [record["row"] for record in finished]
    assert all("(first run)" in r["messages"][-1]["content"] for r in result.rows[:6])
    assert all("(second run)" in r["messages"][-1]["content"] for r in result.rows[6:])
    prompts = {json.dumps(r.messages) for r in engine.requests}
    assert len(prompts) == 4  # none of them is an item finished before the kill

    # Done: once the caller has committed the rows, the job is forgotten and a re-run starts over.
    info = DatasetStore(ws).commit(
        "resumed",
        result.rows,
        operation="synth",
        parent=None,
        params=result.params,
        summary=result.summary,
    )
    assert info.rows == 10
    finish_job(result)
    assert not job.exists()


def test_a_torn_last_line_is_ignored_and_the_job_completes(kb_home):
    crashing = ScriptedEngine(raise_at=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(kb_home, crashing, dataset="torn", strategy="grounded", n=6, batch_size=2)
    [job] = (kb_home[0].root / "synth" / "torn").glob("*.partial.jsonl")
    with open(job, "a", encoding="utf-8") as handle:
        handle.write('{"key": "c00002", "kept": true, "row": {"id": "gro')
    engine = ScriptedEngine()
    result, _ = run(kb_home, engine, dataset="torn", strategy="grounded", n=6, batch_size=2)
    assert result.summary["resumed"] == 2 and len(engine.requests) == 4
    assert [r["id"] for r in result.rows] == [f"grounded-c{i:05d}" for i in range(6)]
    assert all(json.loads(line) for line in job.read_text().splitlines())


def test_a_changed_request_starts_a_new_job(kb_home):
    first, _ = run(kb_home, ScriptedEngine(), dataset="keys", strategy="grounded", n=2)
    same, _ = run(kb_home, ScriptedEngine(), dataset="keys", strategy="grounded", n=2, batch_size=1)
    other, _ = run(kb_home, ScriptedEngine(), dataset="keys", strategy="grounded", n=2, seed=7)
    assert same.job_path == first.job_path and same.summary["resumed"] == 2
    assert other.job_path != first.job_path and other.summary["resumed"] == 0


# -- refusals --------------------------------------------------------------------------------------


def test_bad_requests_fail_in_one_line_with_what_to_do(kb_home, tmp_path):
    ws, settings = kb_home
    cases = [
        (
            SynthRequest("d", "sample", golden_path=tmp_path / "missing.jsonl"),
            NotFound,
            "golden file .* does not exist",
        ),
        (SynthRequest("d", "sample"), InvalidInput, "needs a file of golden outputs"),
        (SynthRequest("d", "sample", strategy="augment"), InvalidInput, "needs seed examples"),
        (SynthRequest("d", "sample", strategy="nope"), InvalidInput, "Unknown synthesis"),
        (SynthRequest("d", "sample", strategy="grounded", n=0), InvalidInput, "n must be"),
        (SynthRequest("d", "no-such-kb", strategy="grounded"), NotFound, "no knowledge base"),
        (SynthRequest("../x", "sample", strategy="grounded"), InvalidInput, "looks like a path"),
    ]
    for request, error, message in cases:
        with pytest.raises(error, match=message) as caught:
            synthesize(request, ws=ws, settings=settings, engine=ScriptedEngine())
        assert isinstance(caught.value, TunesmithError) and caught.value.hint
        assert "\n" not in str(caught.value)


def test_an_empty_knowledge_base_is_refused(tmp_path):
    from tools.knowledge.store import Snapshot, commit_snapshot

    ws = Workspace(tmp_path / "home")
    commit_snapshot(ws.artifact_dir("kb", "empty"), Snapshot(1, "builtin:all-minilm-l6-v2"))
    request = SynthRequest("d", "empty", strategy="grounded")
    with pytest.raises(InvalidInput, match="has no chunks") as caught:
        synthesize(request, ws=ws, settings=Settings(home=ws.root), engine=ScriptedEngine())
    assert "tunesmith kb add empty" in caught.value.hint


# -- the real builtin model ------------------------------------------------------------------------


@pytest.mark.slow
def test_golden_synthesis_with_the_builtin_model(kb_home):
    """SmolLM2-135M writes the inputs for four golden outputs, on CPU, offline."""
    ws, settings = kb_home
    request = SynthRequest(
        "builtin-golden",
        "sample",
        golden_path=GOLDEN,
        n=4,
        model="builtin:smollm2-135m-instruct",
        max_new_tokens=48,
        batch_size=4,
        retries=0,  # greedy and no retries: the same rows on every run, and a quick test
        use_case="Social posts and support replies for Gullhaven Coffee Roasters",
    )
    result = synthesize(request, ws=ws, settings=settings)
    kept, rejected = len(result.rows), len(result.rejects)
    assert 1 <= kept <= 4 and kept + rejected <= 8, result.rejects  # rejects replaced up to 2x
    # A 135M model: many of its inputs are refused (mostly for copying the prompt's example),
    # replacements are tried, and the result says why it fell short if it did.
    assert (result.shortfall_reason is None) == (kept == 4)
    if kept < 4:
        assert result.shortfall_reason.startswith(f"made {kept} of 4: ")
        assert f"{rejected} rejects" in result.shortfall_reason
    assert_valid_rows(result.rows, ws, "golden", "builtin:smollm2-135m-instruct")
    golden = {g["id"]: g["text"] for g in sample_data.read_golden()}
    for row in result.rows:
        assert row["messages"][-1]["content"] == golden[row["meta"]["provenance"]["golden_id"]]
        assert row["messages"][0]["content"] != row["messages"][-1]["content"]
    assert {r.reason for r in result.rejects} <= {
        PARSE_FAILURE,
        "empty",
        "too short",
        "repetitive",
        "copy of the context",
        MODEL_ERROR,
    }
    # The document-grouped split puts no source document on both sides.
    from tools.datasets.quality.leakage import check_leakage
    from tools.datasets.quality.split import split_rows

    split = split_rows(result.rows, eval_fraction=0.5, seed=0)
    assert len(split.kept) == kept and not split.removed
    assert check_leakage(split.kept, method=None).shared_documents == []
