"""The Gradio workspace in a real browser: a real server on a loopback port, Debian's Chromium
driven by Playwright, the offline guide as the agent, the tiny model as the base model.

One server serves the whole module (starting one costs seconds); each test opens its own
browser context, which is a separate browser session with its own owner id and threads.
Screenshots of every tab go to test-artifacts/ui/ (git-ignored); their paths are printed.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from core.settings import get_settings
from core.workspace import Workspace
from tests.trainers.test_jobs_support import make_workspace, pattern_rows, wait_for
from tests.ui.browser import chromium, loopback_page, open_tab, screenshot, serving

WAIT_MS = 120_000  # generous: first use loads MiniLM on 2 shared cores


@pytest.fixture(scope="module")
def ui(tmp_path_factory, tiny_model_dir):
    """A workspace with a small dataset (two versions), the app served on it, and a browser."""
    root = tmp_path_factory.mktemp("ui")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNESMITH_HOME", str(home))
        mp.setenv("TUNESMITH_BASE_MODEL", f"hf:{tiny_model_dir}")
        mp.delenv("TUNESMITH_AGENT_MODEL", raising=False)
        mp.chdir(root)
        get_settings.cache_clear()
        ws = make_workspace(home)
        _second_version(ws)
        from ui.gradio_app import build_app

        with serving(build_app()) as url, chromium() as browser:
            yield {"url": url, "browser": browser, "ws": ws, "root": root}
    get_settings.cache_clear()


def _second_version(ws: Workspace) -> None:
    """pattern@v2: v1 without its first row and with one answer edited (a known diff)."""
    from tools.datasets.store import DatasetStore

    rows = pattern_rows()[1:]
    answer = {"role": "assistant", "content": "Paris."}
    rows[0] = {**rows[0], "messages": [rows[0]["messages"][0], answer]}
    DatasetStore(ws).commit("pattern", rows, operation="filter", parent=1, params={"expr": "demo"})


def _page(ui):
    page = loopback_page(ui["browser"])
    page.goto(ui["url"])
    page.get_by_text("Models in use").wait_for(timeout=WAIT_MS)
    return page


def _send(page, text: str, files: list[str] | None = None) -> None:
    box = page.locator("#chat-input")
    if files:
        box.locator("input[type=file]").set_input_files(files)
        # one thumbnail per file once the upload has reached the server
        box.locator("[aria-label='File thumbnail']").nth(len(files) - 1).wait_for()
    box.locator("textarea").fill(text)
    box.locator("textarea").press("Enter")


def _chat(page):
    return page.locator("#chat")


def test_first_screen_names_the_models_and_a_reply_streams_with_a_tool_step(ui):
    page = _page(ui)
    intro = _chat(page).inner_text()
    assert "offline guide" in intro and get_settings().base_model in intro
    assert "TUNESMITH_AGENT_MODEL" in intro
    _send(page, "what can you do?")
    # the help tool runs as a step (a collapsible message titled with the tool), then the reply
    step = _chat(page).get_by_text("🔧 help")
    step.wait_for(timeout=WAIT_MS)
    _chat(page).get_by_text("start_training", exact=False).first.wait_for(timeout=WAIT_MS)
    # the conversation is listed under its first words, and the box is ready again
    page.locator("#threads").get_by_text("what can you do?").wait_for(timeout=WAIT_MS)
    assert page.locator("#chat-input textarea").is_enabled()
    screenshot(page, "chat")


def test_an_uploaded_document_lands_in_the_workspace_and_under_knowledge(ui):
    doc = ui["root"] / "returns policy.md"
    doc.write_text(
        "# Returns\n\nAny item can be returned within 30 days for a full refund.\n\n"
        "# Shipping\n\nWe ship to every country in the European Union.\n",
        encoding="utf-8",
    )
    page = _page(ui)
    _send(page, "", files=[str(doc)])
    _chat(page).get_by_text("🔧 add_documents").wait_for(timeout=WAIT_MS)
    expect(_chat(page)).to_contain_text("kb:uploads", timeout=WAIT_MS)  # the step finished
    # the copy the agent ingested sits in the workspace's uploads folder, name cleaned up
    copies = list((ui["ws"].root / "uploads").glob("*/returns_policy.md"))
    assert len(copies) == 1 and copies[0].read_text(encoding="utf-8") == doc.read_text("utf-8")

    open_tab(page, "Knowledge")
    expect(page.locator("#kb-documents")).to_contain_text("returns_policy.md", timeout=WAIT_MS)
    query = page.locator("#kb-query textarea")
    query.fill("how long do I have to send something back?")
    query.press("Enter")
    results = page.locator("#kb-results")
    results.get_by_text("returns_policy.md, § Returns").first.wait_for(timeout=WAIT_MS)
    assert "30 days" in results.inner_text()
    screenshot(page, "knowledge")


def test_approving_an_edited_training_run_shows_its_curve(ui):
    page = _page(ui)
    _send(page, "train the model on pattern@v1")
    approval = page.locator("#approval")
    approval.wait_for(timeout=WAIT_MS)
    _chat(page).get_by_text("needs your approval").wait_for()
    args = json.loads(approval.locator(".cm-content").inner_text())
    assert args["dataset"] == "pattern@v1"
    # edit the arguments: a 10-step run instead of the planned epochs
    args["overrides"] = {"max_steps": 10}
    editor = approval.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps(args))
    page.get_by_role("button", name="Approve with edits").click()
    _chat(page).get_by_text("Started run:").first.wait_for(timeout=WAIT_MS)
    assert approval.is_hidden()

    from trainers.jobs.registry import list_runs

    (run,) = list_runs(ui["ws"])
    assert run.base_model.startswith("hf:")
    open_tab(page, "Runs")
    page.locator("#run-status").get_by_text(run.id).wait_for(timeout=WAIT_MS)
    # the timer re-reads metrics.jsonl: the loss figures and the curve appear while it trains
    page.locator("#run-status").get_by_text("loss").wait_for(timeout=WAIT_MS)
    page.locator("#loss-plot canvas, #loss-plot svg .mark-line").first.wait_for(timeout=WAIT_MS)
    finished = wait_for(ui["ws"], run.id, ("succeeded", "failed"), timeout=300)
    assert finished.status == "succeeded", finished.cause
    from trainers.jobs.layout import read_metrics

    assert any("loss" in r for r in read_metrics(finished.paths.metrics))
    screenshot(page, "runs")


def test_data_tab_shows_lineage_rows_stats_diff_and_exports(ui):
    page = _page(ui)
    open_tab(page, "Data")
    lineage = page.locator("#ds-lineage")
    lineage.get_by_text("filter").wait_for(timeout=WAIT_MS)  # v2's operation, parent v1
    assert "import" in lineage.inner_text()
    expect(page.locator("#ds-rows")).to_contain_text("Question 1:", timeout=WAIT_MS)
    assert "page 1 of 2 (31 rows)" in page.locator("#ds-page").inner_text()

    page.get_by_text("Stats and length histogram").click()
    page.get_by_role("button", name="Compute stats").click()
    page.locator("#ds-stats").get_by_text("31 rows (messages)", exact=False).wait_for(
        timeout=WAIT_MS
    )
    page.locator("#length-histogram img").wait_for(timeout=WAIT_MS)
    assert (ui["ws"].root / "exports" / "pattern" / "v2-lengths.png").is_file()

    page.get_by_text("Diff two versions").click()
    page.get_by_role("button", name="Diff", exact=True).click()
    diff = page.locator("#ds-diff")
    diff.get_by_text("1 removed, 1 changed", exact=False).wait_for(timeout=WAIT_MS)

    page.get_by_role("button", name="Export").click()
    expect(page.locator("#ds-export")).to_contain_text("pattern-v2", timeout=WAIT_MS)
    exported = ui["ws"].root / "exports" / "pattern" / "pattern-v2.jsonl"
    assert len(exported.read_text(encoding="utf-8").splitlines()) == 31
    screenshot(page, "data")


def test_evaluations_and_playground_tabs(ui, tiny_model_dir):
    from tools.evaluation.runner import evaluate

    refs = [f"hf:{tiny_model_dir}", f"hf:{tiny_model_dir}"]
    first, second = evaluate(refs, "pattern@v1", max_new_tokens=4, encoder=False, ws=ui["ws"])
    page = _page(ui)
    open_tab(page, "Evaluations")
    table = page.locator("#evals")
    expect(table).to_contain_text(first.id, timeout=WAIT_MS)
    expect(table).to_contain_text(second.id)
    page.locator("#eval-detail").get_by_text("rouge_l").wait_for()  # its metric table
    page.locator("#eval-plots img").first.wait_for(timeout=WAIT_MS)  # and its plots
    page.get_by_text("Compare evaluations").click()
    chooser = page.locator("#eval-compare input")
    for eval_id in (first.id, second.id):
        chooser.click()
        page.get_by_role("option", name=eval_id).click()
    page.get_by_role("button", name="Compare", exact=True).click()
    comparison = page.locator("#eval-comparison")
    comparison.get_by_text(f"Comparison against {first.id}").wait_for(timeout=WAIT_MS)
    # its HTML report is saved in the workspace and offered for download
    files = page.locator("#eval-comparison-files")
    expect(files).to_contain_text("comparison", timeout=WAIT_MS)
    (report,) = (ui["ws"].root / "evals").glob("cmp-*/comparison.html")
    assert first.id in report.read_text(encoding="utf-8")
    screenshot(page, "evaluations")

    open_tab(page, "Playground")
    page.locator("#playground-prompt textarea").fill("What is the capital of France?")
    page.get_by_role("button", name="Ask both").click()
    # the tiny base model really generated: its cost line is under its answer
    expect(page.locator("#playground-base")).to_contain_text(" tokens in ", timeout=WAIT_MS)
    screenshot(page, "playground")


def test_two_browser_sessions_see_only_their_own_threads(ui):
    alice, bob = _page(ui), _page(ui)
    _send(alice, "what next? (alice)")
    alice.locator("#threads").get_by_text("alice").wait_for(timeout=WAIT_MS)
    _send(bob, "what next? (bob)")
    bob.locator("#threads").get_by_text("bob").wait_for(timeout=WAIT_MS)
    alice.reload()
    alice.locator("#threads").get_by_text("alice").wait_for(timeout=WAIT_MS)
    assert "bob" not in alice.locator("#threads").inner_text()
    assert "alice" not in bob.locator("#threads").inner_text()
    # reopening a thread after the reload shows its history again
    alice.locator("#threads").get_by_text("alice").click()
    _chat(alice).get_by_text("what next? (alice)").wait_for(timeout=WAIT_MS)
