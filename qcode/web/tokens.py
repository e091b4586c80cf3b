"""Secret links for ``qcode serve``: one token per coder, one for the project lead.

Tokens live in ``web-tokens.json`` inside the project folder, readable by its
owner only (mode 0600), written atomically. A request's identity comes from
its token alone: the coder name is looked up here, never read from the
request body.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> store = TokenStore(study)
>>> access = store.ensure_coder("ana")
>>> store.find(access.token).coder
'ana'
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError

TOKENS_NAME = "web-tokens.json"
ROLES = ("coder", "lead")


@dataclass(frozen=True)
class Access:
    """Who a token belongs to: a coder's name and role (``coder`` or ``lead``)."""

    token: str
    coder: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically as a file only its owner can read (0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class TokenStore:
    """The project's token file: load, look up, add."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / TOKENS_NAME

    def _load(self) -> list[Access]:
        if not self.path.exists():
            return []
        try:
            mode = self.path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(self.path, 0o600)
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProjectError(f"{self.path}: cannot read the web tokens ({exc}); delete the file to make new "
                               "links") from None
        entries = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ProjectError(f"{self.path}: field 'tokens' must be a list; delete the file to make new links")
        found = []
        for i, entry in enumerate(entries):
            if not (isinstance(entry, dict) and isinstance(entry.get("token"), str)
                    and isinstance(entry.get("coder"), str) and entry.get("role") in ROLES):
                raise ProjectError(f"{self.path}: token #{i + 1} needs text fields token, coder and a role "
                                   f"({' or '.join(ROLES)})")
            found.append(Access(entry["token"], entry["coder"], entry["role"]))
        return found

    def _save(self, entries: list[Access]) -> None:
        data: dict[str, Any] = {"qcode_web_tokens": 1,
                                "tokens": [{"token": a.token, "coder": a.coder, "role": a.role} for a in entries]}
        try:
            _write_private(self.path, json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            raise ProjectError(f"{self.path}: cannot write the web tokens: {exc.strerror or exc}") from None

    def all(self) -> list[Access]:
        """Every stored token, lead first, then coders in the order they were added."""
        entries = self._load()
        return [a for a in entries if a.is_lead] + [a for a in entries if not a.is_lead]

    def find(self, token: str) -> Access | None:
        """The access a token grants, or None (compared in constant time)."""
        found = None
        for access in self._load():
            if hmac.compare_digest(access.token.encode(), token.encode()):
                found = access
        return found

    def ensure_coder(self, coder: str) -> Access:
        """The coder's token, made and stored if the coder has none yet."""
        return self._ensure(coder, "coder")

    def ensure_lead(self, name: str) -> Access:
        """The lead's token (one per project), made if there is none; ``name`` is used when making it."""
        entries = self._load()
        for access in entries:
            if access.is_lead:
                return access
        return self._ensure(name, "lead")

    def _ensure(self, coder: str, role: str) -> Access:
        entries = self._load()
        for access in entries:
            if access.coder == coder and access.role == role:
                return access
        access = Access(secrets.token_urlsafe(24), coder, role)
        self._save([*entries, access])
        return access


__all__ = ["Access", "TokenStore", "TOKENS_NAME"]
