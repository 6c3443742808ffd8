"""A real HTTP server on 127.0.0.1 standing in for Slack's Web API, for the Slack app's tests.

It answers the methods the app calls (auth.test, chat.postMessage, chat.update,
chat.postEphemeral, files.info, views.open) with Slack-shaped JSON, records every call with its
arguments, and serves shared files at /files/<id>/<name> to a request that carries the bot token
(anything else gets an HTML login page, as Slack does). slack_sdk's WebClient points at it with
`base_url=<server>/api/`. This stands in for a remote API, the one thing tests may fake.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

BOT_USER = "UBOT0001"


class SlackWebAPI:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.file_downloads: list[str] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._ts = itertools.count(1)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base_url = f"{self.root}/api/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> SlackWebAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what tests set up and read ----------------------------------------------------------

    def add_file(self, file_id: str, name: str, data: bytes, *, host: str | None = None) -> dict:
        """Host a file; returns the Slack file object a message would carry."""
        url = f"{host or self.root}/files/{file_id}/{quote(name)}"
        info = {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": "text/plain",
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
        self.files[file_id] = {"info": info, "data": data}
        return dict(info)

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [args for name, args in self.calls if name == method]

    def next_ts(self) -> str:
        return f"1700000100.{next(self._ts):06d}"

    # -- the API -----------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append((method, args))
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT0001", "team_id": "T0001"}
        if method == "chat.postMessage":
            ts = args["_ts"] = self.next_ts()  # recorded with the call, for tests to find it
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0001", **(args.get("view") or {})}}
        if method == "files.info":
            found = self.files.get(str(args.get("file")))
            if found is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": found["info"]}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _args(self) -> dict[str, Any]:
                url = urlparse(self.path)
                args: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if "json" in (self.headers.get("Content-Type") or ""):
                    args.update(json.loads(raw or b"{}"))
                elif raw:
                    args.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
                for key in ("blocks", "view"):  # form-encoded calls send these as JSON text
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                return args

            def _api(self) -> None:
                path = urlparse(self.path).path
                if path.startswith("/files/"):
                    self._file(path)
                    return
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._send(200, b'{"ok": false, "error": "not_authed"}', "application/json")
                    return
                method = path.removeprefix("/api/")
                payload = server.answer(method, self._args())
                self._send(200, json.dumps(payload).encode(), "application/json")

            def _file(self, path: str) -> None:
                file_id = path.split("/")[2]
                found = server.files.get(file_id)
                if self.headers.get("Authorization") != f"Bearer {server.token}" or not found:
                    self._send(200, b"<html>Sign in to Slack</html>", "text/html")
                    return
                with server.lock:
                    server.file_downloads.append(file_id)
                self._send(200, found["data"], "application/octet-stream")

            do_GET = _api
            do_POST = _api

        return Handler
