"""What a request to the web review may say: who is looking, which segments, and a deciding request's
key and note; :class:`RequestError` carries the HTTP status of a request that cannot be carried out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ProjectError

STATES = ("all", "new", "skipped", "reviewed")
STATE_LABELS = {"all": "every segment", "new": "not yet reviewed", "skipped": "skipped by me",
                "reviewed": "reviewed by me"}
MAX_NOTE_CHARS = 10_000
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class RequestError(ProjectError):
    """A request that cannot be carried out as sent; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a coder name, whether the view is blind, whether it is the project lead's."""

    coder: str
    blind: bool = True
    lead: bool = False


@dataclass(frozen=True)
class Filters:
    """Which segments a coder's queue shows: one document, one code, and a review state."""

    doc: str | None = None
    code: str | None = None
    state: str = "all"

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Filters:
        def text(name: str) -> str | None:
            value = values.get(name)
            return value.strip() or None if isinstance(value, str) else None

        state = text("state") or "all"
        if state not in STATES:
            raise RequestError(f"filter state must be one of {', '.join(STATES)}, got {state!r}")
        return cls(text("doc"), text("code"), state)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("doc", self.doc), ("code", self.code), ("state", self.state))
                if v and not (k == "state" and v == "all")}


def request_key(payload: Mapping[str, Any], current: str) -> str:
    """The client-made key of a deciding request, once the page's codebook version is the current one."""
    key = payload.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise RequestError("every deciding request needs a 'key': 8-64 letters, digits, - or _ "
                           "(made by the page, so that a retried request is recorded once)")
    version = payload.get("codebook_version")
    if version is not None and version != current:
        raise RequestError(f"the project's codebook changed since this page was loaded (now version "
                           f"{current}); nothing was recorded: reload the page", 409)
    return key


def request_note(payload: Mapping[str, Any]) -> str | None:
    """The note a request carries, stripped (None when empty)."""
    note = payload.get("note")
    if note is None:
        return None
    if not isinstance(note, str):
        raise RequestError("note must be text")
    if len(note) > MAX_NOTE_CHARS:
        raise RequestError(f"note is longer than {MAX_NOTE_CHARS} characters")
    return note.strip() or None


__all__ = ["KEY_PATTERN", "MAX_NOTE_CHARS", "STATES", "STATE_LABELS", "Filters", "RequestError", "Viewer",
           "request_key", "request_note"]
