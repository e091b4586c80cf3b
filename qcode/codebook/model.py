"""The codebook model: a validated hierarchy of codes (pure: no files, no parsing libraries).

A codebook is built from a mapping such as parsed YAML or JSON::

    >>> cb = codebook_from_dict({"name": "demo", "codes": [
    ...     {"id": "funding", "name": "Funding", "children": [{"id": "funding.short", "name": "Short-term"}]}]})
    >>> [c.id for c in cb.leaves()], cb.path("funding.short")
    (['funding.short'], 'Funding > Short-term')

Codes may be nested with ``children`` or listed flat with ``parent``. Reading
codebook files and the shipped codebooks is :mod:`qcode.codebook.io`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import CodebookError
from ..limits import current as current_limits

_LIST_FIELDS = ("inclusion", "exclusion", "examples")
_KNOWN_FIELDS = {"id", "name", "parent", "definition", "color", "guid", "children", *_LIST_FIELDS}


#: The uuid5 namespace of the GUIDs qcode derives (the same as ``qcode.interchange.model.QCODE_GUID_NS``).
GUID_NAMESPACE = uuid.UUID("5d1c3f7e-8a0b-4c55-9e1a-6a0f2b7c9d10")


def derived_guid(codebook_name: str, code_id: str) -> str:
    """The GUID qcode gives code ``code_id`` of codebook ``codebook_name`` when it has none (lower case).

    >>> derived_guid("demo", "a") == derived_guid("demo", "a") != derived_guid("other", "a")
    True
    """
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(("code", codebook_name, code_id))))


@dataclass(frozen=True)
class Code:
    """One code (theme) of a codebook.

    ``inclusion``/``exclusion`` are criteria for when the code applies or not;
    ``examples`` are short passages that the code fits. ``guid`` and ``color``
    carry REFI-QDA identity and display colour through import and export.
    """

    id: str
    name: str
    parent: str | None = None
    definition: str = ""
    inclusion: tuple[str, ...] = ()
    exclusion: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    color: str | None = None
    guid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.parent is not None:
            out["parent"] = self.parent
        if self.definition:
            out["definition"] = self.definition
        for key in _LIST_FIELDS:
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.color:
            out["color"] = self.color
        if self.guid:
            out["guid"] = self.guid
        return out


@dataclass
class Codebook:
    """An ordered hierarchy of :class:`Code`.

    Parameters
    ----------
    name : str
        Short machine name (``"mcn-sst"``).
    codes : list of Code
        In display order; parents may come before or after their children.
    title, description, source : str
        Human description and citation of where the codes come from.

    The codebook's ``version`` is a content hash: any change to a code changes
    it, so a suggestion run records exactly which codebook it used.
    """

    name: str
    codes: list[Code]
    title: str = ""
    description: str = ""
    source: str = ""
    _by_id: dict[str, Code] = field(init=False, repr=False, compare=False)
    _children: dict[str | None, list[Code]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id = {c.id: c for c in self.codes}
        validate_codes(self.codes, where=self.name)
        self._children = {}
        for code in self.codes:  # one pass, so that walking the hierarchy stays linear in the number of codes
            self._children.setdefault(code.parent, []).append(code)

    # -- lookup -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._by_id

    def __getitem__(self, code_id: str) -> Code:
        try:
            return self._by_id[code_id]
        except KeyError:
            raise CodebookError(f"codebook {self.name!r} has no code {code_id!r}") from None

    def get(self, code_id: str) -> Code | None:
        return self._by_id.get(code_id)

    def children(self, code_id: str | None) -> list[Code]:
        """Direct children of ``code_id`` (``None`` gives the top level)."""
        return list(self._children.get(code_id, ()))

    def roots(self) -> list[Code]:
        return self.children(None)

    def leaves(self) -> list[Code]:
        """Codes with no children: the codable units that suggestions rank."""
        parents = {c.parent for c in self.codes}
        return [c for c in self.codes if c.id not in parents]

    def ancestors(self, code_id: str) -> list[Code]:
        """Parent, grandparent, ... of ``code_id`` (nearest first)."""
        out = []
        code = self[code_id]
        while code.parent is not None:
            code = self._by_id[code.parent]
            out.append(code)
        return out

    def root_of(self, code_id: str) -> Code:
        """The top-level code (e.g. the SST domain) that ``code_id`` rolls up to."""
        chain = self.ancestors(code_id)
        return chain[-1] if chain else self[code_id]

    def path(self, code_id: str) -> str:
        """Names from the root down, joined with `` > ``."""
        names = [c.name for c in reversed(self.ancestors(code_id))] + [self[code_id].name]
        return " > ".join(names)

    def find(self, name_or_id: str) -> Code | None:
        """A code by id, or by name (case-insensitive)."""
        if name_or_id in self._by_id:
            return self._by_id[name_or_id]
        lowered = name_or_id.strip().casefold()
        for code in self.codes:
            if code.name.casefold() == lowered:
                return code
        return None

    # -- identity and serialisation ------------------------------------------
    @property
    def version(self) -> str:
        """sha256 (first 16 hex digits) of the canonical JSON of the codebook.

        A code's GUID counts unless it is the one qcode derives from the codebook's name and the
        code's id (:func:`derived_guid`, given to codes without one on a REFI-QDA export): such a
        GUID says nothing the name and id do not, so a codebook exported and read back keeps its version.
        """
        data = self.to_dict()
        for code in data["codes"]:
            guid = code.get("guid")
            if guid and str(guid).strip("{}").lower() == derived_guid(self.name, code["id"]):
                del code["guid"]
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "codes": [c.to_dict() for c in self.codes],
        }

    def replace_codes(self, codes: Iterable[Code]) -> Codebook:
        return Codebook(name=self.name, codes=list(codes), title=self.title,
                        description=self.description, source=self.source)


# -- validation -----------------------------------------------------------------

def validate_codes(codes: list[Code], where: str = "codebook", lines: dict[int, int] | None = None) -> None:
    """Raise :class:`CodebookError` naming the first problem and its line or code.

    Checks: non-empty ids and names, unique ids, known parents, no cycles.
    ``lines`` maps a code's position to its line in the source file, when known.
    """

    def at(i: int) -> str:
        if lines and i in lines:
            return f"{where}, line {lines[i]}"
        return where

    seen: dict[str, int] = {}
    for i, code in enumerate(codes):
        if not isinstance(code.id, str) or not code.id.strip():
            raise CodebookError(f"{at(i)}: code #{i + 1} has an empty id")
        if not isinstance(code.name, str) or not code.name.strip():
            raise CodebookError(f"{at(i)}: code {code.id!r} has an empty name")
        if code.id in seen:
            first = f"line {lines[seen[code.id]]}" if lines and seen[code.id] in lines else f"code #{seen[code.id] + 1}"
            raise CodebookError(f"{at(i)}: duplicate code id {code.id!r} (first used on {first})")
        seen[code.id] = i
    for i, code in enumerate(codes):
        if code.parent is not None and code.parent not in seen:
            raise CodebookError(f"{at(i)}: code {code.id!r} has unknown parent {code.parent!r}")
    parent_of = {c.id: c.parent for c in codes}
    max_depth = current_limits().code_depth
    depth: dict[str, int] = {}  # levels above each code, each code walked once (linear time)
    for i, code in enumerate(codes):
        chain: list[str] = []
        on_chain: set[str] = set()
        node: str | None = code.id
        while node is not None and node not in depth:
            if node in on_chain:
                cycle = " -> ".join([*chain[chain.index(node):], node])
                raise CodebookError(f"{at(i)}: cycle in the hierarchy: {cycle}")
            chain.append(node)
            on_chain.add(node)
            node = parent_of[node]
        above = -1 if node is None else depth[node]
        for member in reversed(chain):
            above += 1
            depth[member] = above
            if above >= max_depth:
                raise CodebookError(f"{at(seen[member])}: code {member!r} is {above + 1} levels deep, past the "
                                    f"{max_depth} a hierarchy may have ({current_limits().hint('code_depth')})")


# -- parsing --------------------------------------------------------------------

def _as_str_tuple(value: Any, field_name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CodebookError(f"{where}: field {field_name!r} must be a string or a list of strings")


def _flatten(raw_codes: Any, where: str, parent: str | None, out: list[dict], origins: list[int | None],
             line_of: dict[int, int], level: int = 1, key_lines: dict[tuple[int, str], int] | None = None) -> None:
    if not isinstance(raw_codes, list):
        raise CodebookError(f"{where}: 'codes' must be a list")
    lim = current_limits()
    if level > lim.code_depth:
        raise CodebookError(f"{where}: codes nested more than {lim.code_depth} levels deep under {parent!r} "
                            f"({lim.hint('code_depth')})")
    if len(out) + len(raw_codes) > lim.codes:
        raise CodebookError(f"{where}: more than {lim.codes} codes ({lim.hint('codes')})")
    for raw in raw_codes:
        if not isinstance(raw, dict):
            raise CodebookError(f"{where}: each code must be a mapping, got {type(raw).__name__}")
        unknown = set(raw) - _KNOWN_FIELDS
        code_where = f"{where}, line {line_of[id(raw)]}" if id(raw) in line_of else where
        if unknown:
            first = min(unknown, key=lambda key: (key_lines or {}).get((id(raw), key), 0))
            if key_lines and (id(raw), first) in key_lines:  # the misspelt key's own line, not its code's
                code_where = f"{where}, line {key_lines[(id(raw), first)]}"
            raise CodebookError(f"{code_where}: code {raw.get('id')!r} has unknown field(s) {sorted(unknown)}")
        item = dict(raw)
        children = item.pop("children", None)
        if parent is not None:
            if item.get("parent") not in (None, parent):
                raise CodebookError(f"{code_where}: code {item.get('id')!r} is nested under {parent!r} "
                                    f"but names parent {item.get('parent')!r}")
            item["parent"] = parent
        out.append(item)
        origins.append(line_of.get(id(raw)))
        if children:
            _flatten(children, where, str(item.get("id")), out, origins, line_of, level + 1, key_lines)


def _check_id(raw_id: Any, where: str) -> None:
    """A code id is text or a whole number, and names one code unambiguously (as a coder name must)."""
    from ..safetext import escape_name, name_problem

    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise CodebookError(f"{where}: code id {raw_id!r} must be text or a whole number")
    problem = name_problem(str(raw_id))
    if problem is not None:
        shown = escape_name(str(raw_id).encode("ascii", "backslashreplace").decode())
        raise CodebookError(f"{where}: code id {shown!r} {problem}")


def codebook_from_dict(data: Any, where: str = "codebook", line_of: dict[int, int] | None = None,
                       default_name: str = "codebook",
                       key_lines: dict[tuple[int, str], int] | None = None) -> Codebook:
    """Build and validate a :class:`Codebook` from parsed YAML/JSON (``key_lines``: the line of each
    ``(id(mapping), key)``, so that an error about one key names its own line)."""
    if isinstance(data, list):
        data = {"codes": data}
    if not isinstance(data, dict):
        raise CodebookError(f"{where}: a codebook must be a mapping with a 'codes' list")
    if "codes" not in data:
        raise CodebookError(f"{where}: missing 'codes' list")
    flat: list[dict] = []
    origins: list[int | None] = []
    _flatten(data["codes"], where, None, flat, origins, line_of or {}, key_lines=key_lines)
    codes = []
    lines: dict[int, int] = {}
    for i, (item, line) in enumerate(zip(flat, origins)):
        if line is not None:
            lines[i] = line
        code_where = f"{where}, line {line}" if line else where
        raw_id = item.get("id")
        raw_name = item.get("name")
        if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
            raise CodebookError(f"{code_where}: code #{i + 1} ({raw_name!r}) has an empty or missing id")
        _check_id(raw_id, code_where)
        if raw_name is None:
            raise CodebookError(f"{code_where}: code {raw_id!r} has an empty or missing name")
        definition = item.get("definition") or ""
        if not isinstance(definition, str):
            raise CodebookError(f"{code_where}: code {raw_id!r}: 'definition' must be a string")
        codes.append(Code(
            id=str(raw_id),
            name=str(raw_name),
            parent=None if item.get("parent") is None else str(item["parent"]),
            definition=definition.strip(),
            inclusion=_as_str_tuple(item.get("inclusion"), "inclusion", code_where),
            exclusion=_as_str_tuple(item.get("exclusion"), "exclusion", code_where),
            examples=_as_str_tuple(item.get("examples"), "examples", code_where),
            color=item.get("color"),
            guid=item.get("guid"),
        ))
    validate_codes(codes, where=where, lines=lines)
    return Codebook(
        name=str(data.get("name") or default_name),
        codes=codes,
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        source=str(data.get("source") or ""),
    )


__all__ = ["Code", "Codebook", "codebook_from_dict", "validate_codes", "replace"]
