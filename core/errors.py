"""A small typed error hierarchy.

Every error a person can meet carries two parts: what was wrong, and what to do about it. The doors
(CLI, chat, Slack) print both; nothing else needs to know how to phrase a fix.
"""

from __future__ import annotations


class TunesmithError(Exception):
    """Base class: `message` says what went wrong, `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(TunesmithError):
    """The caller gave a value that cannot be used (a bad name, a bad option)."""


class NotFound(TunesmithError):
    """A named artifact (knowledge base, dataset, run, model) does not exist."""


class ModelUnavailable(TunesmithError):
    """A model ref cannot be loaded or reached: package missing, server down, bad path."""


class WorkspaceBusy(TunesmithError):
    """Another process holds the workspace lock for longer than we are willing to wait."""


class DocumentRefused(TunesmithError):
    """One input document cannot be ingested; the reason says why (empty, corrupt, too big...)."""
