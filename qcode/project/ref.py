"""Where a project lives, parsed once: a folder, or a ``postgresql://`` URL of a team project.

Every command that takes a project reads its argument as a :class:`ProjectRef`, so a URL stays a
URL (a filesystem path type would turn ``postgresql://host/db`` into the folder ``postgresql:/host/db``).

>>> ProjectRef.parse("postgresql://ana:secret@db.example/study")
ProjectRef('postgresql://ana@db.example/study')
>>> ProjectRef.parse("my-study").target
PosixPath('my-study')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from .dialect import is_postgres_url, redact_url

#: ``postgresql:/host/db``, ``postgres:host/db``: a URL that lost its slashes on the way
_MANGLED_URL = re.compile(r"(?i)postgres(?:ql)?:(?!//)")


@dataclass(frozen=True)
class ProjectRef:
    """A project's location: exactly one of ``folder`` and ``url``."""

    folder: Path | None = None
    url: str | None = None

    @classmethod
    def parse(cls, value: str | Path | ProjectRef) -> ProjectRef:
        """A reference from what was typed; refuses an empty value and a URL that lost its ``//``."""
        if isinstance(value, ProjectRef):
            return value
        if is_postgres_url(value):
            return cls(url=str(value))
        text = str(value)
        if not text.strip():
            raise ProjectError("a project is a folder or a postgresql:// URL, not an empty name")
        if isinstance(value, str) and _MANGLED_URL.match(text):
            raise ProjectError(f"{text!r} looks like a PostgreSQL URL without its '//': write postgresql://host/db")
        return cls(folder=Path(value))

    @property
    def is_url(self) -> bool:
        return self.url is not None

    @property
    def target(self) -> str | Path:
        """What :func:`~qcode.project.open_project` and the other library functions take."""
        return self.url if self.url is not None else self.folder  # type: ignore[return-value]

    def require_folder(self, why: str) -> Path:
        """The folder; a URL is refused with ``why`` (what needs a folder)."""
        if self.folder is None:
            raise ProjectError(f"{self}: {why}")
        return self.folder

    def __str__(self) -> str:
        return redact_url(self.url) if self.url is not None else str(self.folder)

    def __repr__(self) -> str:
        return f"ProjectRef({str(self)!r})"


def project_ref(value: str) -> ProjectRef:
    """Typer's parser for a PROJECT argument or option (see :class:`ProjectRef`)."""
    return ProjectRef.parse(value)
