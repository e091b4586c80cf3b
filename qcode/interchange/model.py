"""REFI-QDA projects as plain Python objects, and the GUIDs that tie them together (pure).

>>> norm_guid(stable_guid("user", "alice")) == norm_guid(stable_guid("user", "alice").upper())
True
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..codebook.model import Code, Codebook

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"

#: Namespace for the deterministic (uuid5) GUIDs qcode makes for codes, users, sources and codings.
QCODE_GUID_NS = uuid.UUID("5d1c3f7e-8a0b-4c55-9e1a-6a0f2b7c9d10")


# -- plain objects ----------------------------------------------------------------

@dataclass(frozen=True)
class RefiUser:
    """A REFI user: becomes a qcode coder called ``name``."""

    guid: str
    name: str


@dataclass(frozen=True)
class RefiSource:
    """A text source: ``text`` is the plain text that positions index into."""

    guid: str
    name: str
    text: str


@dataclass(frozen=True)
class RefiCoding:
    """One coded selection: ``source.text[start:end]`` coded with the code of ``code_guid`` by ``user_guid``."""

    source_guid: str
    start: int
    end: int
    code_guid: str
    user_guid: str
    guid: str | None = None
    created: str | None = None


@dataclass(frozen=True)
class RefiCase:
    """A REFI case: a participant or a document, with attribute values by attribute (variable) name.

    ``by`` is qcode's kind of case (``"speaker"`` or ``"document"``) when the
    file says it (qcode writes it), else ``""``; ``source_guids`` are the
    sources the case is found in (``<SourceRef>``).
    """

    guid: str
    name: str
    values: dict[str, str] = field(default_factory=dict)
    source_guids: tuple[str, ...] = ()
    by: str = ""


@dataclass(frozen=True)
class RefiNoteRef:
    """Where a note is attached: ``kind`` is ``project``, ``source``, ``code``, ``selection`` or ``case``.

    ``guid`` is the source's, code's or case's GUID (for a ``selection``, its
    source's, with ``start``/``end`` the selection's positions); ``case`` refs
    are qcode's own (the schema has no note on a case), naming the ``case`` and its ``by``.
    """

    kind: str
    guid: str = ""
    start: int | None = None
    end: int | None = None
    by: str = ""
    case: str = ""


@dataclass(frozen=True)
class RefiNote:
    """A REFI note (a memo): its text, who wrote it and when, and what it is attached to."""

    guid: str
    name: str
    text: str
    user_guid: str | None = None
    created: str | None = None
    modified: str | None = None
    refs: tuple[RefiNoteRef, ...] = ()
    #: qcode's own: the author's name when not a REFI user, and the passage's segment (id, unit)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class RefiProject:
    """A REFI-QDA project as plain Python objects, independent of any store.

    Attributes
    ----------
    name : str
    users : list of RefiUser
    codebook : Codebook
        Every code has its REFI GUID in ``Code.guid``.
    sources : list of RefiSource
        Text sources only (other kinds are skipped with a warning on read).
    codings : list of RefiCoding
    origin : str
        The program that wrote the file.
    warnings : list of str
        Irregularities met while reading.
    variables : list of str
        Attribute (variable) names, in the order written.
    cases : list of RefiCase
    notes : list of RefiNote
    """

    name: str
    users: list[RefiUser]
    codebook: Codebook
    sources: list[RefiSource]
    codings: list[RefiCoding]
    origin: str = ""
    warnings: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    cases: list[RefiCase] = field(default_factory=list)
    notes: list[RefiNote] = field(default_factory=list)

    def user_names(self) -> dict[str, str]:
        """Normalised user GUID -> coder name."""
        return {norm_guid(u.guid): u.name for u in self.users}

    def code_ids(self) -> dict[str, str]:
        """Normalised code GUID -> qcode code id (codes without a GUID get their deterministic one)."""
        return {norm_guid(code_guid(self.codebook.name, c)): c.id for c in self.codebook.codes}

    def source_by_guid(self) -> dict[str, RefiSource]:
        return {norm_guid(s.guid): s for s in self.sources}


# -- GUIDs ------------------------------------------------------------------------

def norm_guid(guid: str) -> str:
    """Lower-case GUID without braces, for comparing GUIDs written by different tools.

    >>> norm_guid("{ABCDEF01-2345-6789-ABCD-EF0123456789}")
    'abcdef01-2345-6789-abcd-ef0123456789'
    """
    return guid.strip().strip("{}").lower()


def stable_guid(*parts: str) -> str:
    """A deterministic GUID (uuid5) from ``parts``: same input, same GUID, on every machine.

    >>> stable_guid("code", "demo", "a") == stable_guid("code", "demo", "a")
    True
    """
    return str(uuid.uuid5(QCODE_GUID_NS, "\x1f".join(parts)))


def code_guid(codebook_name: str, code: Code) -> str:
    """The code's own GUID if it has one, else uuid5 of (codebook name, code id)."""
    return code.guid or stable_guid("code", codebook_name, code.id)


__all__ = ["CODEBOOK_NS", "PROJECT_NS", "QCODE_GUID_NS", "RefiCase", "RefiCoding", "RefiNote", "RefiNoteRef",
           "RefiProject", "RefiSource", "RefiUser",
           "code_guid", "norm_guid", "stable_guid"]
