"""A real HTTP server on 127.0.0.1 that speaks just enough of the OpenAI API for tests.

POST /v1/chat/completions (with usage), GET /v1/models, and Ollama's GET /api/tags. It misbehaves
on cue, chosen by the last user message: `fail-once...` answers 500 the first time,
`fail-always...` always, `slow...` hangs until the server stops, `no-choices...` returns a
malformed body. Otherwise it answers with `responder(body)` (default: an echo). It records every
attempt and how many requests it was serving at once. This stands in for a remote LLM API, the
one thing tests may fake.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    def __init__(self, delay_s: float = 0.15, responder=None) -> None:
        self.delay_s = delay_s
        self.responder = responder  # body -> answer text; default: echo the last user message
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.attempts: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.release = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.root}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # may fail when the client gave up (timeout test)

            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path == "/v1/models":
                    self._send(
                        200, {"object": "list", "data": [{"id": "tiny-b"}, {"id": "tiny-a"}]}
                    )
                elif self.path == "/api/tags":
                    self._send(200, {"models": [{"name": "llama3.2:1b"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                server.paths.append(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                content = body["messages"][-1]["content"]
                with server.lock:
                    server.bodies.append(body)
                    server.attempts[content] += 1
                    attempt = server.attempts[content]
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._answer(body, content, attempt)
                finally:
                    with server.lock:
                        server.active -= 1

            def _answer(self, body: dict, content: str, attempt: int) -> None:
                fast_retry = {"retry-after-ms": "5"}  # the SDK honours it: retries stay quick
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                elif content.startswith("fail-once") and attempt == 1:
                    self._send(500, {"error": {"message": "overloaded"}}, fast_retry)
                elif content.startswith("fail-always"):
                    self._send(500, {"error": {"message": "broken model"}}, fast_retry)
                elif content.startswith("no-choices"):
                    self._send(200, {"id": "x", "object": "chat.completion", "choices": []})
                else:
                    if content.startswith("slow"):
                        server.release.wait(10)
                    else:
                        time.sleep(server.delay_s)
                    words = sum(len(m["content"].split()) for m in body["messages"])
                    answer = server.responder(body) if server.responder else f"echo: {content}"
                    self._send(
                        200,
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": answer},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {
                                "prompt_tokens": words,
                                "completion_tokens": 2 + len(content.split()),
                                "total_tokens": words + 2 + len(content.split()),
                            },
                        },
                    )

        return Handler
