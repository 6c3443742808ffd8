"""Load: 25 chat sessions at once against one Gradio server, through its queue API.

Each session is a separate gradio_client (its own session hash) with its own owner id and a
message that names it. Asserted: every turn completes without an error, each session's reply
history holds only its own message, and each owner's threads list holds only its own thread.
Time to first streamed update is measured and printed (p50/p95), never asserted.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from agent.session import list_threads
from tests.ui.browser import serving

SESSIONS = 25


def _text(message: dict) -> str:
    """A chatbot message's text (the API returns content as a list of parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _one_session(client, index: int) -> dict:
    owner = f"load-owner-{index:02d}"
    text = f"what next? (session {index:02d})"
    started = time.perf_counter()
    first = None
    job = client.submit({"text": text, "files": []}, [], owner, api_name="/send")
    for update in job:
        history = update[0]
        if first is None and any(m.get("role") == "assistant" for m in history):
            first = time.perf_counter() - started
    final = job.result()
    return {"owner": owner, "text": text, "history": final[0], "ttft": first}


def test_25_concurrent_chat_sessions_stay_separate(tunesmith_home):
    from ui.gradio_app import build_app

    with serving(build_app()) as url:
        _one_session(_client(url), 99)  # warm-up: the guide loads MiniLM once per process
        clients = [_client(url) for _ in range(SESSIONS)]  # connected first: time turns only
        with ThreadPoolExecutor(SESSIONS) as pool:
            results = list(pool.map(_one_session, clients, range(SESSIONS)))

    ttfts = sorted(r["ttft"] for r in results if r["ttft"] is not None)
    assert len(ttfts) == SESSIONS, "every session saw the reply start streaming"
    p95 = ttfts[max(0, round(0.95 * len(ttfts)) - 1)]
    print(
        f"\n{SESSIONS} concurrent sessions: time to first token "
        f"p50 {statistics.median(ttfts):.2f} s, p95 {p95:.2f} s, max {ttfts[-1]:.2f} s"
    )
    for result in results:
        history = result["history"]
        users = [_text(m) for m in history if m["role"] == "user"]
        assert users == [result["text"]], "a session sees only its own message"
        replies = [m for m in history if m["role"] == "assistant"]
        assert replies, f"{result['owner']} got no reply"
        titles = [(m.get("metadata") or {}).get("title", "") for m in replies]
        assert not any("Error" in t for t in titles), history
        others = [r["text"] for r in results if r is not result]
        assert not any(o in str(history) for o in others), "no other session's text leaks in"
        (thread,) = list_threads(owner=result["owner"])
        assert result["text"] in thread.title
