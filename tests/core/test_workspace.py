"""Workspace: registry migrations, WAL, locks across processes, atomic writes, safe names."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from core.atomic import write_json, write_text
from core.errors import InvalidInput, WorkspaceBusy
from core.ids import ArtifactId, parse_artifact_id
from core.migrations import MIGRATIONS, schema_version
from core.names import validate_name
from core.workspace import Workspace


def test_registry_is_created_in_wal_mode_at_the_latest_schema(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert ws.registry_path.is_file()
    with ws.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert schema_version(conn) == len(MIGRATIONS)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"projects", "knowledge_bases", "events"} <= tables


def test_reopening_does_not_rerun_migrations(tmp_path):
    ws = Workspace(tmp_path)
    ws.record_event("made", "kb:a")
    again = Workspace(tmp_path)
    assert [e["kind"] for e in again.events()] == ["made"]


def test_newer_registry_is_refused_with_a_hint(tmp_path):
    Workspace(tmp_path)
    conn = sqlite3.connect(tmp_path / "registry.sqlite")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(Exception, match="newer than this Tunesmith"):
        Workspace(tmp_path)


def test_failed_transaction_rolls_back(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(RuntimeError), ws.transaction() as conn:
        conn.execute("INSERT INTO projects(name, created_at) VALUES ('p', 'now')")
        raise RuntimeError("boom")
    with ws.connect() as conn:
        assert conn.execute("SELECT count(*) FROM projects").fetchone()[0] == 0


def test_events_are_filtered_by_artifact_newest_first(tmp_path):
    ws = Workspace(tmp_path)
    ws.record_event("a", "kb:x", {"n": 1})
    ws.record_event("b", "kb:y")
    ws.record_event("c", "kb:x", {"n": 2})
    events = ws.events("kb:x")
    assert [e["kind"] for e in events] == ["c", "a"]
    assert events[0]["payload"] == {"n": 2}


def _hold_lock(root, ready, release):
    ws = Workspace(root)
    with ws.lock("kb-docs"):
        ready.set()
        release.wait(10)


def test_lock_excludes_another_process_and_names_it(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        ws = Workspace(tmp_path)
        with (
            pytest.raises(WorkspaceBusy, match=f"pid {holder.pid}"),
            ws.lock("kb-docs", timeout=0.2),
        ):
            pass
        with ws.lock("kb-other", timeout=0.2):  # other names are independent
            pass
    finally:
        release.set()
        holder.join(10)
    with Workspace(tmp_path).lock("kb-docs", timeout=5):
        pass


def test_lock_of_a_killed_process_is_released(tmp_path):
    script = (
        "import sys, time; from core.workspace import Workspace\n"
        "with Workspace(sys.argv[1]).lock('kb-docs'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    proc.kill()
    proc.wait()
    with Workspace(tmp_path).lock("kb-docs", timeout=5):
        pass


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "f.json"
    write_json(target, {"v": 1})
    from core.atomic import atomic_open

    with pytest.raises(ValueError), atomic_open(target) as handle:
        handle.write('{"v": 2')
        raise ValueError("crash mid-write")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temp file left


def test_atomic_write_survives_kill_9_mid_write(tmp_path):
    target = tmp_path / "data.txt"
    write_text(target, "old")
    script = (
        "import os, signal, sys\nfrom core.atomic import atomic_open\n"
        "with atomic_open(sys.argv[1]) as h:\n"
        "    h.write('new partial'); h.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(target)])
    assert proc.returncode == -9
    assert target.read_text() == "old"


@pytest.mark.parametrize(
    "bad",
    ["", "../etc", "a/b", "/abs", "a\\b", "x\x00y", "tab\tname", "..", "~home", "-flag", "a" * 65],
)
def test_unsafe_names_are_refused_with_a_hint(bad):
    with pytest.raises(InvalidInput) as info:
        validate_name(bad)
    assert info.value.hint


@pytest.mark.parametrize("good", ["docs", "support-docs_v2", "A.b", "x" * 64])
def test_safe_names_pass(good):
    assert validate_name(good) == good


def test_artifact_dir_stays_inside_the_workspace(tmp_path):
    ws = Workspace(tmp_path)
    assert ws.artifact_dir("kb", "docs") == ws.root / "kb" / "docs"
    with pytest.raises(InvalidInput):
        ws.artifact_dir("kb", "../../etc")
    with pytest.raises(InvalidInput):
        ws.artifact_dir("secrets", "docs")
    os.symlink("/tmp", ws.root / "kb-link")
    with pytest.raises(InvalidInput):
        ws.ensure_inside(ws.root / "kb-link" / "x")


def test_artifact_ids_round_trip():
    assert parse_artifact_id("ds:tickets@v3") == ArtifactId("ds", "tickets", 3)
    assert str(parse_artifact_id("ds:tickets@v3")) == "ds:tickets@v3"
    assert parse_artifact_id("kb:docs") == ArtifactId("kb", "docs")
    assert parse_artifact_id("model:openai:gpt-4o-mini").name == "openai:gpt-4o-mini"
    for bad in ["docs", "zz:docs", "kb:", "kb:../x", "run:abc@v2"]:
        with pytest.raises(InvalidInput):
            parse_artifact_id(bad)


def test_concurrent_writers_do_not_lose_events(tmp_path):
    Workspace(tmp_path)
    script = (
        "import sys; from core.workspace import Workspace\n"
        "ws = Workspace(sys.argv[1])\n"
        "for i in range(50): ws.record_event('tick', 'kb:x', {'i': i})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)]) for _ in range(3)]
    deadline = time.monotonic() + 120
    for proc in procs:
        assert proc.wait(max(1, deadline - time.monotonic())) == 0
    assert len(Workspace(tmp_path).events(limit=1000)) == 150
