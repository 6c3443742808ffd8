"""Files shared in a Slack thread, downloaded into the workspace so the agent can ingest them.

Slack keeps shared files behind `url_private`, readable with the bot token. The token is only
ever sent to Slack's own file host (or to the host of the configured API base URL, which is how
tests point everything at a local server): a file object naming any other host is refused, so a
crafted payload cannot make the app hand its token to a stranger. Files are capped in size (the
`max_document_mb` setting) before and during the download, written atomically under
`uploads/slack-<file id>/`, and named from a cleaned-up version of the person's file name.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from slack_sdk import WebClient

from core.atomic import write_bytes
from core.errors import DocumentRefused, InvalidInput
from core.workspace import Workspace

SLACK_FILE_HOSTS = frozenset({"files.slack.com", "slack-files.com"})
FILE_ID = re.compile(r"^F[A-Z0-9]{2,31}$")
CHUNK = 1 << 16


def safe_file_name(name: str, fallback: str) -> str:
    """A file name that is safe as one path component: letters, digits, '.', '_', '-'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "").name).strip("._")
    return (cleaned or fallback)[:120]


class SlackFiles:
    """Downloads the files of a Slack message into `uploads/`."""

    def __init__(
        self, client: WebClient, token: str, ws: Workspace, max_bytes: int, api_base_url: str
    ) -> None:
        self.client = client
        self.token = token
        self.ws = ws
        self.max_bytes = max_bytes
        self.allowed_hosts = SLACK_FILE_HOSTS | {urlparse(api_base_url).netloc}

    def download_all(self, files: list[dict[str, Any]]) -> tuple[list[Path], list[str]]:
        """(saved paths, refusals as sentences) for a message's `files` list."""
        saved, refused = [], []
        for info in files:
            try:
                saved.append(self.download(info))
            except (DocumentRefused, InvalidInput) as error:
                refused.append(f"{info.get('name') or info.get('id') or 'a file'}: {error}")
        return saved, refused

    def download(self, info: dict[str, Any]) -> Path:
        file_id = str(info.get("id", ""))
        if not FILE_ID.match(file_id):
            raise InvalidInput(f"Not a Slack file id: {file_id!r}.", "Share the file again.")
        if not info.get("url_private"):  # e.g. Slack Connect: details only through files.info
            info = self.client.files_info(file=file_id)["file"]
        name = safe_file_name(str(info.get("name", "")), file_id)
        self._check_size(int(info.get("size") or 0), name)
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        host = urlparse(url).netloc
        if urlparse(url).scheme not in ("https", "http") or host not in self.allowed_hosts:
            raise DocumentRefused(
                f"{name} is served from {host or 'nowhere'}, not from Slack.",
                "Share the file from Slack itself; the bot only downloads Slack-hosted files.",
            )
        data = self._fetch(url, name)
        target = self.ws.artifact_dir("uploads", f"slack-{file_id}") / name
        write_bytes(target, data)
        return target

    def _check_size(self, size: int, name: str) -> None:
        if size > self.max_bytes:
            raise DocumentRefused(
                f"{name} is {size / 1e6:.1f} MB, over the {self.max_bytes / 1e6:.0f} MB limit.",
                "Share a smaller file, or raise TUNESMITH_MAX_DOCUMENT_MB.",
            )

    def _fetch(self, url: str, name: str) -> bytes:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (host checked)
                if "text/html" in response.headers.get("Content-Type", ""):
                    # Slack answers a bad token or a missing files:read scope with its login page.
                    raise DocumentRefused(
                        f"Slack returned a web page instead of {name}.",
                        "Give the app the files:read scope and reinstall it to the workspace.",
                    )
                chunks, total = [], 0
                while chunk := response.read(CHUNK):
                    total += len(chunk)
                    self._check_size(total, name)
                    chunks.append(chunk)
        except (OSError, ValueError) as error:  # ValueError: a malformed URL
            raise DocumentRefused(
                f"Could not download {name} from Slack: {error}.", "Share it again later."
            ) from error
        return b"".join(chunks)
