"""A real OpenAI-compatible HTTP server on 127.0.0.1 that STREAMS, with tool calls, for the
LLM brain's tests. LangGraph streams tokens, so ChatOpenAI asks for `stream: true`; this server
answers with server-sent events the way OpenAI, vLLM and Ollama do. It plays a remote LLM (the one
thing tests may fake): each request gets the next scripted reply, a text or a tool call.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StreamingOpenAIServer:
    def __init__(self, replies: list[str | dict[str, Any]]) -> None:
        self.replies = list(replies)
        self.bodies: list[dict] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.root}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StreamingOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def chunks(self, body: dict) -> list[dict]:
        """The streamed deltas of the next reply: text split into words, or one tool call."""
        reply = self.replies.pop(0) if self.replies else "(no more replies)"
        if isinstance(reply, dict):
            call = {
                "index": 0,
                "id": f"call_{len(self.bodies)}",
                "type": "function",
                "function": {"name": reply["tool"], "arguments": json.dumps(reply["args"])},
            }
            deltas = [{"role": "assistant", "tool_calls": [call]}]
            finish = "tool_calls"
        else:
            words = reply.split(" ")
            deltas = [{"role": "assistant", "content": ""}]
            deltas += [
                {"content": w + (" " if i < len(words) - 1 else "")} for i, w in enumerate(words)
            ]
            finish = "stop"
        base = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body["model"],
        }
        out = [
            {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
        ]
        out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        return out

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in server.chunks(body):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler
