"""Knowledge base end to end on the real MiniLM, a real FAISS index and a real registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from core import sample_data
from core.errors import InvalidInput, NotFound
from core.settings import Settings
from core.workspace import Workspace
from tools.knowledge import index as index_module
from tools.knowledge.kb import add_documents, list_kbs, remove_kb, search, show_kb
from tools.knowledge.store import read_manifest

ASSETS = Path(__file__).parents[1] / "assets"


def _settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory):
    """The sample documents indexed once for the module's read-only tests."""
    home = tmp_path_factory.mktemp("home")
    settings = _settings(home)
    ws = Workspace(home)
    report = add_documents("sample", [sample_data.docs_dir()], ws=ws, settings=settings)
    return ws, settings, report


def test_sample_documents_are_all_added_with_chunks(sample_kb):
    ws, _, report = sample_kb
    names = {p.name for p in sample_data.list_documents()}
    assert {o.name for o in report.outcomes} == names
    assert all(o.status == "added" and o.chunks > 0 for o in report.outcomes), report.outcomes
    info = show_kb("sample", ws)
    assert info["documents"] == len(names)
    assert info["chunks"] == sum(d["chunks"] for d in info["documents_list"])
    assert info["index_kind"] == "flat"
    kinds = {d["kind"] for d in info["documents_list"]}
    assert {"markdown", "pdf", "csv"} <= kinds


def test_search_returns_cited_chunks_best_first(sample_kb):
    ws, settings, _ = sample_kb
    hits = search("sample", "what does shipping cost", k=4, ws=ws, settings=settings)
    assert len(hits) == 4
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    for hit in hits:
        citation = hit.to_dict()["citation"]
        assert hit.chunk.source in citation and f"chars {hit.chunk.start}-" in citation


def test_pdf_and_csv_hits_cite_page_and_row(sample_kb):
    ws, settings, _ = sample_kb
    snapshot_chunks = [h.chunk for h in search("sample", "x", k=10_000, ws=ws, settings=settings)]
    pdf = [c for c in snapshot_chunks if c.source.endswith(".pdf")]
    csv = [c for c in snapshot_chunks if c.source.endswith(".csv")]
    assert pdf and all(c.page and c.page >= 1 for c in pdf)
    assert csv and all(c.row and c.row >= 1 for c in csv)
    assert "p. " in pdf[0].citation() and "row " in csv[0].citation()


def test_retrieval_finds_the_right_source_in_the_top_3(sample_kb):
    ws, settings, _ = sample_kb
    questions = yaml.safe_load((ASSETS / "retrieval_questions.yaml").read_text())
    questions = questions["questions"] if isinstance(questions, dict) else questions
    misses = []
    for item in questions:
        hits = search("sample", item["question"], k=3, ws=ws, settings=settings)
        if item["source"] not in {h.chunk.source for h in hits}:
            misses.append((item["question"], item["source"], [h.chunk.source for h in hits]))
    assert not misses, misses


def test_bad_queries_and_unknown_kb_are_explained(sample_kb):
    ws, settings, _ = sample_kb
    with pytest.raises(InvalidInput):
        search("sample", "   ", ws=ws, settings=settings)
    with pytest.raises(InvalidInput):
        search("sample", "refunds", k=0, ws=ws, settings=settings)
    with pytest.raises(NotFound) as info:
        search("nope", "refunds", ws=ws, settings=settings)
    assert "kb add nope" in info.value.hint


@pytest.fixture
def workspace(tmp_path):
    home = tmp_path / "home"
    return Workspace(home), _settings(home)


def _docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "alpha.md").write_text("# Alpha\n\nAlpaca wool is warm and soft.\n")
    (folder / "beta.txt").write_text("Bicycles need their chains oiled every month.\n")
    return folder


def test_reingest_is_a_noop_and_a_change_replaces_old_chunks(tmp_path, workspace):
    ws, settings = workspace
    docs = _docs(tmp_path)
    first = add_documents("kb1", [docs], ws=ws, settings=settings)
    assert sorted(o.status for o in first.outcomes) == ["added", "added"]
    generation = read_manifest(ws.root / "kb" / "kb1")["generation"]

    again = add_documents("kb1", [docs], ws=ws, settings=settings)
    assert {o.status for o in again.outcomes} == {"unchanged"} and again.ok
    assert read_manifest(ws.root / "kb" / "kb1")["generation"] == generation

    (docs / "beta.txt").write_text("Bicycles now run on belts that never need oil.\n")
    third = add_documents("kb1", [docs], ws=ws, settings=settings)
    assert {o.name: o.status for o in third.outcomes} == {
        "alpha.md": "unchanged",
        "beta.txt": "replaced",
    }
    bodies = [h.chunk.body for h in search("kb1", "bicycle", k=10, ws=ws, settings=settings)]
    assert any("belts" in b for b in bodies) and not any("chains" in b for b in bodies)
    assert list_kbs(ws)[0]["summary"]["documents"] == 2


def test_one_bad_document_never_stops_the_others(tmp_path, workspace):
    ws, settings = workspace
    docs = _docs(tmp_path)
    (docs / "empty.md").write_text("   \n")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (docs / "tool.exe").write_bytes(b"MZ")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    os.symlink(outside, docs / "link.txt")
    os.mkfifo(docs / "pipe.txt")
    report = add_documents(
        "mixed", [docs, tmp_path / "missing.md", "../x.md"], ws=ws, settings=settings
    )
    status = {o.name: (o.status, o.reason) for o in report.outcomes}
    assert status["alpha.md"][0] == status["beta.txt"][0] == "added"
    for name in ["empty.md", "binary.txt", "tool.exe", "link.txt", "pipe.txt", "../x.md"]:
        assert status[name][0] == "refused" and status[name][1], name
    assert "outside" in status["link.txt"][1]
    assert "'..'" in status["../x.md"][1]
    assert any(o.status == "refused" and "no such" in o.reason for o in report.outcomes)
    assert report.ok
    hits = search("mixed", "secret", k=10, ws=ws, settings=settings)
    assert all("top secret" not in h.chunk.body for h in hits)


def test_nothing_usable_is_not_ok(tmp_path, workspace):
    ws, settings = workspace
    (tmp_path / "empty.md").write_text("")
    report = add_documents("empty", [tmp_path / "empty.md"], ws=ws, settings=settings)
    assert not report.ok and report.outcomes[0].status == "refused"
    with pytest.raises(NotFound):
        show_kb("empty", ws)


def test_exact_duplicate_chunks_are_skipped(tmp_path, workspace):
    ws, settings = workspace
    (tmp_path / "a.txt").write_text("Our warranty lasts two years from the date of purchase.\n")
    (tmp_path / "b.txt").write_text("Our warranty lasts  two years from the date of purchase.\n")
    report = add_documents(
        "dupes", [tmp_path / "a.txt", tmp_path / "b.txt"], ws=ws, settings=settings
    )
    assert report.duplicates_skipped == 1
    assert show_kb("dupes", ws)["chunks"] == 1


def test_remove_deletes_the_kb(tmp_path, workspace):
    ws, settings = workspace
    add_documents("gone", [_docs(tmp_path)], ws=ws, settings=settings)
    remove_kb("gone", ws)
    assert not (ws.root / "kb" / "gone").exists()
    assert list_kbs(ws) == []
    with pytest.raises(NotFound):
        remove_kb("gone", ws)


KILL_SCRIPT = """
import os, signal, sys
from core.settings import Settings
from core.workspace import Workspace
import tools.knowledge.store as store
from tools.knowledge.kb import add_documents

stage = sys.argv[3]
real_json, real_jsonl = store.write_json, store.write_jsonl
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def fake_json(path, obj):
    if stage == "before-manifest" and path.name == "manifest.json":
        die()
    real_json(path, obj)
def fake_jsonl(path, rows):
    if stage == "mid-chunks":
        with open(path, "w") as handle:
            handle.write("{\\"partial\\": ")
        die()
    real_jsonl(path, rows)
store.write_json, store.write_jsonl = fake_json, fake_jsonl
home = sys.argv[1]
add_documents("k", [sys.argv[2]], ws=Workspace(home), settings=Settings(home=home))
"""


@pytest.mark.parametrize("stage", ["mid-chunks", "before-manifest"])
def test_kill_9_during_add_leaves_the_previous_index_usable(tmp_path, workspace, stage):
    ws, settings = workspace
    docs = _docs(tmp_path)
    add_documents("k", [docs], ws=ws, settings=settings)
    (docs / "gamma.md").write_text("# Gamma\n\nGamma rays come from radioactive decay.\n")
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(ws.root), str(docs), stage],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == -9, proc.stderr
    assert read_manifest(ws.root / "kb" / "k")["generation"] == 1
    from tools.knowledge import kb as kb_module

    kb_module._SNAPSHOT_CACHE.clear()
    hits = search("k", "alpaca", k=5, ws=ws, settings=settings)
    assert hits and "Alpaca" in hits[0].chunk.body
    assert show_kb("k", ws)["documents"] == 2
    retry = add_documents("k", [docs], ws=ws, settings=settings)
    assert {o.name: o.status for o in retry.outcomes}["gamma.md"] == "added"
    assert sorted(p.name for p in (ws.root / "kb" / "k").glob("gen-*")) == ["gen-1", "gen-2"]


def test_large_collections_switch_to_hnsw_with_high_recall(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(index_module, "FLAT_MAX", 1000)
    choice = index_module.choose_index(len(vectors))
    assert choice.kind == "hnsw" and "HNSW" in choice.reason
    approx, _ = index_module.build_index(vectors)
    exact, _ = index_module.build_index(vectors, "flat")
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, 32)).astype(np.float32)
    _, got = index_module.search_index(approx, queries, 10)
    _, want = index_module.search_index(exact, queries, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.9


def test_index_round_trips_through_a_file(tmp_path):
    vectors = np.eye(4, dtype=np.float32)
    index, _ = index_module.build_index(vectors)
    index_module.save_index(index, tmp_path / "i.faiss")
    loaded = index_module.load_index(tmp_path / "i.faiss")
    _, ids = index_module.search_index(loaded, vectors[2:3], 1)
    assert ids[0][0] == 2
    shutil.rmtree(tmp_path)
