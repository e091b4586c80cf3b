"""REFI-QDA exchange: codebooks (``.qdc``) and projects (``.qdpx``).

The REFI-QDA standard (QDA-XML 1.0) is how NVivo, ATLAS.ti, MAXQDA,
QualCoder and others exchange work. This module reads and writes it:

* :func:`read_qdc` / :func:`write_qdc`: a codebook file, hierarchy, colours,
  descriptions and GUIDs kept. qcode's inclusion/exclusion/examples (absent from
  the standard) travel at the end of ``<Description>`` in a readable block::

      Money for the service and who pays for it.

      -- qcode --
      id: funding
      include: Talk of budgets, grants, commissioning
      exclude: Staff shortages not caused by money (use staffing)
      example: We have to bid for the money again every year.

* :func:`read_qdpx` / :func:`write_qdpx`: a project archive as a plain
  :class:`RefiProject` (users, codebook, text sources, codings).
* :func:`export_qdpx` / :func:`import_qdpx`: the same, to and from a qcode
  project store.

Every file read is parsed without entity expansion or network access and
validated against the vendored REFI schemas; every file written is validated
before it is written (atomically). Positions count Unicode code points of the
plain text, which is what Python ``str`` indices count, so a coding's
``(start, end)`` is ``text[start:end]`` with no conversion.

>>> from qcode.codebook import Code, Codebook
>>> cb = Codebook("demo", [Code("a", "Access"), Code("a.cost", "Cost", parent="a")])
>>> root = codebook_to_xml(cb)
>>> [c.get("name") for c in root.iter(f"{{{CODEBOOK_NS}}}Code")]
['Access', 'Cost']
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ..codebook import Code, Codebook
from ..errors import CodebookError, InterchangeError
from .safezip import SafeZip, ZipLimits

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"

#: Namespace for the deterministic (uuid5) GUIDs qcode makes for codes, users, sources and codings.
QCODE_GUID_NS = uuid.UUID("5d1c3f7e-8a0b-4c55-9e1a-6a0f2b7c9d10")

_MARKER = "-- qcode --"
_FIELD_KEYS = {"include": "inclusion", "exclude": "exclusion", "example": "examples"}
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_RGB_RE = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
# characters XML 1.0 cannot carry at all
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
    """

    name: str
    users: list[RefiUser]
    codebook: Codebook
    sources: list[RefiSource]
    codings: list[RefiCoding]
    origin: str = ""
    warnings: list[str] = field(default_factory=list)

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


# -- descriptions carrying qcode fields ------------------------------------------------

def _escape_line(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\n", "\\n")


def _unescape_line(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def encode_description(code: Code) -> str:
    """The ``<Description>`` text for ``code``: its definition, then the qcode block.

    >>> print(encode_description(Code("a", "Access", definition="Getting in.", inclusion=("queues",))))
    Getting in.
    <BLANKLINE>
    -- qcode --
    id: a
    include: queues
    """
    lines = [_MARKER, f"id: {_escape_line(code.id)}"]
    for key, attr in _FIELD_KEYS.items():
        lines += [f"{key}: {_escape_line(item)}" for item in getattr(code, attr)]
    block = "\n".join(lines)
    return f"{code.definition}\n\n{block}" if code.definition else block


@dataclass
class DescriptionFields:
    """What :func:`decode_description` found: the definition and qcode's extra fields."""

    definition: str
    qcode_id: str | None = None
    inclusion: tuple[str, ...] = ()
    exclusion: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    unknown_lines: tuple[str, ...] = ()


def decode_description(text: str | None) -> DescriptionFields:
    """Split a ``<Description>`` into the definition and qcode's fields (inverse of :func:`encode_description`).

    Text with no qcode block is all definition.

    >>> f = decode_description("Getting in.\\n\\n-- qcode --\\nid: a\\ninclude: queues")
    >>> f.definition, f.qcode_id, f.inclusion
    ('Getting in.', 'a', ('queues',))
    """
    text = (text or "").replace("\r\n", "\n")
    lines = text.split("\n")
    marker_at = max((i for i, line in enumerate(lines) if line.strip() == _MARKER), default=None)
    if marker_at is None:
        return DescriptionFields(definition=text.strip())
    definition = "\n".join(lines[:marker_at]).strip()
    found: dict[str, list[str]] = {attr: [] for attr in _FIELD_KEYS.values()}
    qcode_id, unknown = None, []
    for line in lines[marker_at + 1:]:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        value = _unescape_line(value[1:] if value.startswith(" ") else value)
        if sep and key == "id" and value.strip():
            qcode_id = value.strip()
        elif sep and key in _FIELD_KEYS:
            found[_FIELD_KEYS[key]].append(value)
        else:
            unknown.append(line)
    return DescriptionFields(definition=definition, qcode_id=qcode_id, unknown_lines=tuple(unknown),
                             **{k: tuple(v) for k, v in found.items()})


# -- XML parsing and schema validation -------------------------------------------------

@lru_cache(maxsize=2)
def _schema(kind: str):
    """The vendored XMLSchema for ``kind`` in {"codebook", "project"}."""
    from lxml import etree

    filename = {"codebook": "Codebook.xsd", "project": "Project.xsd"}[kind]
    data = (resources.files("qcode") / "data" / "refi-qda" / filename).read_bytes()
    return etree.XMLSchema(etree.fromstring(data, parser=_safe_parser()))


def _safe_parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=False)


def parse_xml(data: bytes, label: str):
    """Parse untrusted XML (no entities, no network) or raise naming ``label`` and the line."""
    from lxml import etree

    if not data.strip():
        raise InterchangeError(f"{label}: file is empty")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        msg = str(exc.msg).split(", line ")[0]
        raise InterchangeError(f"{label} line {line}: not well-formed XML: {msg}") from None
    if root.getroottree().docinfo.doctype:
        raise InterchangeError(f"{label}: has a <!DOCTYPE> declaration, which REFI-QDA files never need "
                               "(refused: entities could read other files)")
    return root


def _strip_ns(message: str) -> str:
    return re.sub(r"\{urn:QDA-XML:[a-z]+:1\.0\}", "", message)


def schema_errors(root, kind: str) -> list[tuple[int, str]]:
    """All ``(line, message)`` problems of ``root`` against the REFI schema ``kind``; empty if valid."""
    from lxml import etree

    schema = _schema(kind)
    try:
        if schema.validate(root):
            return []
    except etree.XMLSchemaValidateError as exc:
        return [(root.sourceline or 0, f"the validator could not check it ({exc})")]
    return [(err.line, _strip_ns(err.message)) for err in schema.error_log]


def validate_xml(root, kind: str, label: str) -> None:
    """Raise :class:`InterchangeError` naming the first schema violation and its line."""
    errors = schema_errors(root, kind)
    if errors:
        line, message = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise InterchangeError(f"{label} line {line}: not valid REFI-QDA {kind} XML: {message}{more}")


def _describe(el) -> str:
    """``<Tag guid=...>`` for error messages."""
    tag = el.tag.split("}")[-1]
    guid = el.get("guid")
    return f"<{tag} guid={guid}>" if guid else f"<{tag}>"


# -- tolerated irregularities -----------------------------------------------------------

def _repair_known_irregularities(root, ns: str, label: str) -> list[str]:
    """Fix, in place, the irregularities that real exports are known to have; return warnings.

    * an empty ``<Sets/>`` (the schema wants at least one Set): removed;
    * a ``<Code>`` without ``isCodable`` (required): taken as codable;
    * a ``<Code>`` without a GUID: given a deterministic one from its name path.
    """
    warnings: list[str] = []
    for sets in list(root.iter(f"{{{ns}}}Sets")):
        if len(sets) == 0:
            sets.getparent().remove(sets)
            warnings.append(f"{label} line {sets.sourceline}: empty <Sets/> ignored")
    missing_codable = 0
    for code in root.iter(f"{{{ns}}}Code"):
        if code.get("isCodable") is None:
            code.set("isCodable", "true")
            missing_codable += 1
        if not code.get("guid"):
            path = [a.get("name", "") for a in code.iterancestors(f"{{{ns}}}Code")][::-1] + [code.get("name", "")]
            code.set("guid", stable_guid("refi-code", *path))
            warnings.append(f"{label} line {code.sourceline}: <Code name={code.get('name')!r}> has no guid; "
                            f"gave it {code.get('guid')}")
    if missing_codable:
        warnings.append(f"{label}: {missing_codable} <Code> elements lack isCodable; taken as codable")
    return warnings


# -- codebooks: XML -> Codebook ------------------------------------------------------------

def _slug(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.casefold()).strip("-_")
    return slug or "code"


def codes_from_xml(codes_el, ns: str, label: str, codebook_name: str) -> tuple[list[Code], list[str]]:
    """Flatten a ``<Codes>`` tree into qcode :class:`Code` objects (parents before children).

    Code ids come from the qcode block of the description when present and
    unique, else from the names: ``parent-id.slug-of-name`` (``-2``, ``-3`` on clashes).
    """
    warnings: list[str] = []
    nodes: list[tuple[Any, Any]] = []  # (element, parent element or None), depth-first

    def walk(parent_el, parent) -> None:
        for child in parent_el.findall(f"{{{ns}}}Code"):
            nodes.append((child, parent))
            walk(child, child)

    walk(codes_el, None)
    fields = {id(el): decode_description(el.findtext(f"{{{ns}}}Description")) for el, _ in nodes}
    seen_guids: dict[str, int] = {}
    for el, _ in nodes:
        key = norm_guid(el.get("guid"))
        if key in seen_guids:
            raise InterchangeError(f"{label} line {el.sourceline}: {_describe(el)} repeats the GUID of the code "
                                   f"on line {seen_guids[key]}")
        seen_guids[key] = el.sourceline
    explicit: dict[str, int] = {}
    for el, _ in nodes:
        qid = fields[id(el)].qcode_id
        if qid:
            explicit[qid] = explicit.get(qid, 0) + 1
    taken = {qid for qid, n in explicit.items() if n == 1}
    id_of: dict[int, str] = {}
    codes: list[Code] = []
    for el, parent in nodes:
        f = fields[id(el)]
        name = el.get("name")
        if not name.strip():
            raise InterchangeError(f"{label} line {el.sourceline}: {_describe(el)} has an empty name")
        parent_id = id_of[id(parent)] if parent is not None else None
        if f.qcode_id and explicit.get(f.qcode_id) == 1:
            code_id = f.qcode_id
        else:
            if f.qcode_id:
                warnings.append(f"{label} line {el.sourceline}: qcode id {f.qcode_id!r} is used by several codes; "
                                "derived a new id from the name")
            base = f"{parent_id}.{_slug(name)}" if parent_id else _slug(name)
            code_id, n = base, 1
            while code_id in taken:
                n += 1
                code_id = f"{base}-{n}"
            taken.add(code_id)
        id_of[id(el)] = code_id
        definition = f.definition
        if f.unknown_lines:  # someone wrote into the block by hand: keep their words in the definition
            definition = "\n".join([definition, *f.unknown_lines]).strip()
            warnings.append(f"{label} line {el.sourceline}: {_describe(el)}: lines of the qcode block that are not "
                            f"'key: value' were kept in the definition: {list(f.unknown_lines)[:3]}")
        color = el.get("color")
        codes.append(Code(id=code_id, name=name, parent=parent_id, definition=definition,
                          inclusion=f.inclusion, exclusion=f.exclusion, examples=f.examples,
                          color=color, guid=el.get("guid")))
    not_codable = sum(1 for el, _ in nodes if el.get("isCodable", "true").strip() in ("false", "0"))
    if not_codable:
        warnings.append(f"{label}: {not_codable} codes are marked isCodable=false; kept as grouping codes")
    return codes, warnings


def nest_dotted_names(codes: list[Code], label: str) -> tuple[list[Code], list[str]]:
    """In a flat codebook whose names look like ``A.B.C``, nest each code under its longest named prefix.

    Names are kept whole. Codebooks that already have a hierarchy are returned unchanged.

    >>> flat = [Code("a", "A"), Code("a-b", "A.B"), Code("a-b-c", "A.B.C")]
    >>> [c.parent for c in nest_dotted_names(flat, "x.qdc")[0]]
    [None, 'a', 'a-b']
    """
    if any(c.parent for c in codes) or not any("." in c.name for c in codes):
        return codes, []
    by_name = {c.name: c.id for c in codes}
    out, nested = [], 0
    for code in codes:
        parts = code.name.split(".")
        parent = None
        for cut in range(len(parts) - 1, 0, -1):
            parent = by_name.get(".".join(parts[:cut]))
            if parent is not None and parent != code.id:
                break
            parent = None
        if parent is not None:
            nested += 1
            code = replace(code, parent=parent)
        out.append(code)
    warnings = [f"{label}: flat codebook with dotted names (e.g. {next(c.name for c in codes if '.' in c.name)!r}); "
                f"nested {nested} codes under the code named by their prefix"]
    return out, warnings


# -- codebooks: Codebook -> XML ----------------------------------------------------------------

def _clean_xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("", value)


def _codes_xml(parent_el, codebook: Codebook, ns: str, warnings: list[str]) -> None:
    """Append ``<Code>`` elements for ``codebook`` (nested) under ``parent_el``."""
    from lxml import etree

    guids: dict[str, str] = {}
    for code in codebook.codes:
        guid = code_guid(codebook.name, code)
        if not _GUID_RE.match(guid):
            raise InterchangeError(f"codebook {codebook.name!r}: code {code.id!r} has guid {guid!r}, "
                                   "which is not a GUID (8-4-4-4-12 hex digits)")
        if norm_guid(guid) in guids:
            raise InterchangeError(f"codebook {codebook.name!r}: codes {guids[norm_guid(guid)]!r} and {code.id!r} "
                                   f"share the GUID {guid}")
        guids[norm_guid(guid)] = code.id

    def add(el, parent_id: str | None) -> None:
        for code in codebook.children(parent_id):
            attrs = {"guid": code_guid(codebook.name, code), "name": _clean_xml_text(code.name),
                     "isCodable": "true"}
            if code.color:
                if _RGB_RE.match(code.color.strip()):
                    attrs["color"] = code.color.strip()
                else:
                    warnings.append(f"code {code.id!r}: colour {code.color!r} is not #RRGGBB; left out")
            child = etree.SubElement(el, f"{{{ns}}}Code", attrs)
            etree.SubElement(child, f"{{{ns}}}Description").text = _clean_xml_text(encode_description(code))
            add(child, code.id)

    add(parent_el, None)


def codebook_to_xml(codebook: Codebook, warnings: list[str] | None = None):
    """The ``<CodeBook>`` root element of a .qdc file for ``codebook``."""
    from lxml import etree

    if not codebook.codes:
        raise InterchangeError(f"codebook {codebook.name!r} has no codes; a REFI-QDA codebook needs at least one")
    from .. import __version__

    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS},
                         origin=f"qcode {__version__}")
    codes_el = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    _codes_xml(codes_el, codebook, CODEBOOK_NS, warnings if warnings is not None else [])
    return root


def _xml_bytes(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# -- .qdc ----------------------------------------------------------------------------------------

def read_qdc_bytes(data: bytes, label: str, name: str | None = None, warnings: list[str] | None = None) -> Codebook:
    """Parse, repair known irregularities, validate and convert a .qdc document."""
    warnings = warnings if warnings is not None else []
    root = parse_xml(data, label)
    if root.tag != f"{{{CODEBOOK_NS}}}CodeBook":
        raise InterchangeError(f"{label} line {root.sourceline}: root element is <{root.tag.split('}')[-1]}>, "
                               f"expected <CodeBook> in namespace {CODEBOOK_NS}")
    warnings += _repair_known_irregularities(root, CODEBOOK_NS, label)
    validate_xml(root, "codebook", label)
    sets = [el.get("name") for el in root.iter(f"{{{CODEBOOK_NS}}}Set")]
    if sets:
        warnings.append(f"{label}: code sets are not kept by qcode: {sets}")
    codes, more = codes_from_xml(root.find(f"{{{CODEBOOK_NS}}}Codes"), CODEBOOK_NS, label, name or "codebook")
    warnings += more
    codes, more = nest_dotted_names(codes, label)
    warnings += more
    origin = root.get("origin") or ""
    source = f"REFI-QDA codebook {Path(label).name}" + (f" (from {origin})" if origin else "")
    try:
        return Codebook(name=name or Path(label).stem, codes=codes, source=source)
    except CodebookError as exc:
        raise InterchangeError(f"{label}: {exc}") from None


def read_qdc(path: str | Path, name: str | None = None, warnings: list[str] | None = None) -> Codebook:
    """Read a REFI-QDA codebook file.

    Parameters
    ----------
    path : path to a ``.qdc`` file
    name : str, optional
        Name of the returned codebook (default: the file's stem).
    warnings : list, optional
        Irregularities found (empty ``<Sets/>``, dotted flat names, ...) are appended here.

    Returns
    -------
    Codebook
        Codes in depth-first order, each with its REFI GUID in ``guid``.

    Example
    -------
    >>> cb = read_qdc("tests/data/interchange/flat_dotted.qdc")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InterchangeError(f"{path}: no such file") from None
    except OSError as exc:
        raise InterchangeError(f"{path}: cannot read: {exc.strerror}") from None
    return read_qdc_bytes(data, str(path), name=name, warnings=warnings)


def write_qdc(codebook: Codebook, path: str | Path) -> list[str]:
    """Write ``codebook`` as a REFI-QDA codebook file (validated, atomic); return warnings.

    Example
    -------
    >>> from qcode.codebook import load_codebook
    >>> write_qdc(load_codebook("mcn-sst"), "mcn-sst.qdc")  # doctest: +SKIP
    []
    """
    from .._io import atomic_write_bytes

    warnings: list[str] = []
    root = codebook_to_xml(codebook, warnings)
    validate_xml(root, "codebook", f"{path} (as written)")
    atomic_write_bytes(path, _xml_bytes(root))
    return warnings


# -- .qdpx: read -------------------------------------------------------------------------------------

def _decode_source(data: bytes, label: str, source_name: str, fallback: str | None,
                   warnings: list[str]) -> str:
    """Decode a source's plain text: UTF-8 (BOM dropped); UTF-16 with a BOM; else ``fallback`` or an error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        warnings.append(f"{label}: source {source_name!r} is UTF-16; decoded as such")
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if fallback:
            warnings.append(f"{label}: source {source_name!r} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start}); decoded as {fallback}: check its text")
            try:
                return data.decode(fallback)
            except (UnicodeDecodeError, LookupError) as exc2:
                raise InterchangeError(f"{label}: source {source_name!r} cannot be decoded as {fallback}: {exc2}") \
                    from None
        raise InterchangeError(f"{label}: source {source_name!r} is not UTF-8 (byte 0x{data[exc.start]:02x} at "
                               f"offset {exc.start}); re-export it as UTF-8 or name its encoding "
                               "(--source-encoding cp1252)") from None


_LINE_BREAKS = {"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


@dataclass(frozen=True)
class OffsetMap:
    """Old -> new character offsets after normalising a text.

    ``floor[i]``/``ceil[i]`` are where old offset ``i`` lands when it starts or
    ends a span; they differ only inside a character that normalisation merged
    (``e`` + combining accent -> ``é``), where a span is widened to the whole character.
    """

    floor: list[int]
    ceil: list[int]

    @property
    def old_length(self) -> int:
        return len(self.floor) - 1


def _clusters(text: str) -> Iterable[tuple[int, int]]:
    """Old-text ranges that normalise independently: a line break (``\\r\\n`` counts as one) or a
    character with the combining marks that follow it."""
    import unicodedata

    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            j += 1
        elif text[i] not in _LINE_BREAKS:
            while j < n and unicodedata.combining(text[j]):
                j += 1
        yield i, j
        i = j


def normalise_with_offsets(text: str, compose: bool = True) -> tuple[str, OffsetMap | None]:
    """Normalise like qcode's ingest (BOM dropped, line breaks to ``\\n``, NFC) and map offsets.

    Returns ``(text, None)`` when nothing changed.

    >>> new, m = normalise_with_offsets("Cafe\\u0301\\r\\nok")
    >>> new, m.floor[4], m.ceil[4], m.floor[7]
    ('Café\\nok', 3, 4, 5)
    """
    import unicodedata

    floor, ceil, out = [0] * (len(text) + 1), [0] * (len(text) + 1), []
    pos = 0
    for a, b in _clusters(text):
        chunk = text[a:b]
        if a == 0 and chunk == "\ufeff":
            piece = ""
        elif chunk[0] in _LINE_BREAKS:
            piece = "\n" + chunk[1:] if chunk != "\r\n" else "\n"
        else:
            piece = unicodedata.normalize("NFC", chunk) if compose else chunk
        out.append(piece)
        floor[a] = ceil[a] = pos
        for k in range(a + 1, b):
            floor[k], ceil[k] = pos, pos + len(piece)
        pos += len(piece)
    floor[len(text)] = ceil[len(text)] = pos
    new = "".join(out)
    if new == text:
        return text, None
    return new, OffsetMap(floor, ceil)


def _normalise_source(text: str, label: str, name: str, nfc: bool,
                      warnings: list[str]) -> tuple[str, OffsetMap | None]:
    """Line breaks to ``\\n`` (and, with ``nfc``, accents composed as qcode's ingest does), positions mapped."""
    new, mapping = normalise_with_offsets(text, compose=nfc)
    if nfc:
        from ..ingest.normalize import normalize_text

        if new != normalize_text(text):  # composition across characters: keep the text uncomposed
            new, mapping = normalise_with_offsets(text, compose=False)
            warnings.append(f"{label}: source {name!r}: text kept without Unicode (NFC) composition, "
                            "which would have needed context")
    if mapping is not None:
        what = "line breaks and accents" if nfc else "line breaks"
        warnings.append(f"{label}: source {name!r}: {what} normalised as qcode does "
                        "(positions adjusted to the same characters)")
    return new, mapping


def _member_for_path(zf: SafeZip, plain_path: str, label: str, where: str) -> str:
    """The archive member that a ``plainTextPath`` points at; external paths are refused."""
    if plain_path.startswith("internal://"):
        rel = plain_path[len("internal://"):]
        from .safezip import check_member_name

        clean = check_member_name(rel, f"{label}: {where} plainTextPath")
        for candidate in (f"sources/{clean}", clean):
            found = zf.find(candidate)
            if found:
                return found
        raise InterchangeError(f"{label}: {where}: plainTextPath {plain_path!r} is not in the archive "
                               f"(no sources/{clean})")
    raise InterchangeError(f"{label}: {where}: plainTextPath {plain_path!r} points outside the archive "
                           "(only internal:// sources can be imported)")


def _find_project_member(zf: SafeZip, label: str) -> str:
    root_qde = [n for n in zf.names() if "/" not in n and n.lower().endswith(".qde")]
    if "project.qde" in root_qde:
        return "project.qde"
    if len(root_qde) == 1:
        return root_qde[0]
    raise InterchangeError(f"{label}: no project.qde at the top of the archive (not a REFI-QDA .qdpx)")


def _users(root, label: str) -> list[RefiUser]:
    users = []
    for el in root.iter(f"{{{PROJECT_NS}}}User"):
        name = next(v.strip() for v in (el.get("name"), el.get("id"), el.get("guid")) if v and v.strip())
        users.append(RefiUser(guid=el.get("guid"), name=name))
    names = [u.name for u in users]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:  # two users with one name: keep them apart
        users = [RefiUser(u.guid, f"{u.name} ({norm_guid(u.guid)[:8]})") if u.name in dupes else u for u in users]
    return users


def _read_sources(root, zf: SafeZip, label: str, qde: str, encoding_fallback: str | None, nfc: bool,
                  warnings: list[str]) -> tuple[list[RefiSource], dict[str, list[int] | None], list]:
    """Text sources (with their texts) and the ``<TextSource>`` elements they came from."""
    sources, maps, elements = [], {}, []
    from_qcode = (root.get("origin") or "").startswith("qcode ")
    used_names: set[str] = set()
    skipped = {}
    for kind in ("PictureSource", "PDFSource", "AudioSource", "VideoSource"):
        n = len(root.findall(f".//{{{PROJECT_NS}}}{kind}"))
        if n:
            skipped[kind] = n
    if skipped:
        warnings.append(f"{label}: skipped non-text sources: " + ", ".join(f"{n} {k}" for k, n in skipped.items()))
    for el in root.iterfind(f"{{{PROJECT_NS}}}Sources/{{{PROJECT_NS}}}TextSource"):
        where = f"{qde} line {el.sourceline}: {_describe(el)}"
        name = next(v.strip() for v in (el.get("name"), el.get("guid")) if v and v.strip())
        content = el.find(f"{{{PROJECT_NS}}}PlainTextContent")
        path = el.get("plainTextPath")
        if content is not None and path:
            warnings.append(f"{label}: {where} has both PlainTextContent and plainTextPath; used the file")
        if path:
            member = _member_for_path(zf, path, label, where)
            text = _decode_source(zf.read(member), f"{label}: {member}", name, encoding_fallback, warnings)
        elif content is not None:
            text = content.text or ""
        else:
            raise InterchangeError(f"{label}: {where} has neither PlainTextContent nor plainTextPath")
        if from_qcode:  # qcode wrote it from a project: the text is exactly the document's
            mapping = None
        else:
            text, mapping = _normalise_source(text, label, name, nfc, warnings)
        if not text.strip():
            warnings.append(f"{label}: source {name!r} has no text")
        unique = name
        n = 1
        while unique in used_names:
            n += 1
            unique = f"{name} ({n})"
        if unique != name:
            warnings.append(f"{label}: two sources are called {name!r}; the second is imported as {unique!r}")
        used_names.add(unique)
        sources.append(RefiSource(guid=el.get("guid"), name=unique, text=text))
        maps[norm_guid(el.get("guid"))] = mapping
        elements.append(el)
    return sources, maps, elements


def _selection_user(sel, coding, source_el, root) -> str | None:
    for el, attr in ((coding, "creatingUser"), (sel, "creatingUser"), (source_el, "creatingUser"),
                     (root, "creatingUserGUID")):
        value = el.get(attr)
        if value:
            return value
    return None


def _read_codings(root, sources: list[RefiSource], source_els: list, maps: dict, code_ids: dict[str, str],
                  users: list[RefiUser], label: str, qde: str, warnings: list[str]) -> tuple[list[RefiCoding], list[RefiUser]]:
    """Check and collect every ``PlainTextSelection/Coding`` of the text sources."""
    codings: list[RefiCoding] = []
    known_users = {norm_guid(u.guid) for u in users}
    extra_users: dict[str, RefiUser] = {}
    whole_source, empty = 0, 0
    for source, el in zip(sources, source_els):
        mapping = maps[norm_guid(source.guid)]
        raw_len = mapping.old_length if mapping is not None else len(source.text)
        whole_source += len(el.findall(f"{{{PROJECT_NS}}}Coding"))
        for sel in el.iterfind(f"{{{PROJECT_NS}}}PlainTextSelection"):
            where = f"{label}: {qde} line {sel.sourceline}: {_describe(sel)}"
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if start < 0 or end < 0:
                raise InterchangeError(f"{where} has a negative position ({start}, {end})")
            if start > end:
                raise InterchangeError(f"{where} startPosition {start} is after endPosition {end}")
            if end > raw_len:
                raise InterchangeError(f"{where} endPosition {end} is past the end of source {source.name!r} "
                                       f"({raw_len} characters)")
            if mapping is not None:
                start, end = mapping.floor[start], mapping.ceil[end]
            if start == end:
                empty += 1
                continue
            for coding in sel.iterfind(f"{{{PROJECT_NS}}}Coding"):
                ref = coding.find(f"{{{PROJECT_NS}}}CodeRef").get("targetGUID")
                if norm_guid(ref) not in code_ids:
                    raise InterchangeError(f"{label}: {qde} line {coding.sourceline}: {_describe(coding)} refers to "
                                           f"code {ref}, which is not in the codebook")
                user = _selection_user(sel, coding, el, root)
                if user is None:
                    user = stable_guid("user", "unknown")
                    extra_users.setdefault(norm_guid(user), RefiUser(user, "unknown"))
                elif norm_guid(user) not in known_users and norm_guid(user) not in extra_users:
                    extra_users[norm_guid(user)] = RefiUser(user, f"user-{norm_guid(user)[:8]}")
                    warnings.append(f"{label}: {qde} line {coding.sourceline}: coding user {user} is not among "
                                    f"<Users>; imported as coder 'user-{norm_guid(user)[:8]}'")
                created = coding.get("creationDateTime") or sel.get("creationDateTime")
                codings.append(RefiCoding(source_guid=source.guid, start=start, end=end, code_guid=ref,
                                          user_guid=user, guid=sel.get("guid"), created=created))
    if whole_source:
        warnings.append(f"{label}: skipped {whole_source} codings of whole sources (not of a text selection)")
    if empty:
        warnings.append(f"{label}: skipped {empty} empty selections (startPosition == endPosition)")
    return codings, list(extra_users.values())


def read_qdpx(path: str | Path, encoding_fallback: str | None = None,
              limits: ZipLimits | None = None, nfc: bool = False) -> RefiProject:
    """Read, check and validate a REFI-QDA project archive into a :class:`RefiProject`.

    Nothing is extracted to disk. Raises :class:`InterchangeError` naming the
    archive member, line and element for: a file that is not a zip or lacks
    ``project.qde``; XML that is not well-formed or not valid; a source that is
    missing, outside the archive, or not UTF-8 (unless ``encoding_fallback``
    names its encoding); a selection outside its source; a code reference to an
    unknown GUID; member names that could escape a folder; zip bombs.

    Source texts keep their characters exactly; in files not written by qcode ``\\r\\n``, ``\\r``
    and Unicode line separators become ``\\n`` (positions moved to match).
    ``nfc=True`` also composes accents (NFC) as qcode's ingest does, moving
    positions to the same characters (a selection that ends inside a composed
    character is widened to the whole character).

    Example
    -------
    >>> proj = read_qdpx("/work/shared/refi-qda/nvivo_project.qdpx")  # doctest: +SKIP
    >>> len(proj.codebook), [u.name for u in proj.users]  # doctest: +SKIP
    (262, ['chrisp', 'cp'])
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise InterchangeError(f"{path}: no such file")
    warnings: list[str] = []
    with SafeZip(str(path), label, limits) as zf:
        qde = _find_project_member(zf, label)
        root = parse_xml(zf.read(qde), f"{label}: {qde}")
        if root.tag != f"{{{PROJECT_NS}}}Project":
            raise InterchangeError(f"{label}: {qde} line {root.sourceline}: root element is "
                                   f"<{root.tag.split('}')[-1]}>, expected <Project> in namespace {PROJECT_NS}")
        warnings += _repair_known_irregularities(root, PROJECT_NS, f"{label}: {qde}")
        validate_xml(root, "project", f"{label}: {qde}")
        users = _users(root, label)
        codes_el = root.find(f"{{{PROJECT_NS}}}CodeBook/{{{PROJECT_NS}}}Codes")
        codes: list[Code] = []
        if codes_el is not None:
            codes, more = codes_from_xml(codes_el, PROJECT_NS, f"{label}: {qde}", root.get("name"))
            warnings += more
            codes, more = nest_dotted_names(codes, f"{label}: {qde}")
            warnings += more
        name = root.get("name") or path.stem
        try:
            codebook = Codebook(name=_slug(name), codes=codes, title=name,
                                source=f"REFI-QDA project {path.name}" + (f" (from {root.get('origin')})"
                                                                        if root.get("origin") else ""))
        except CodebookError as exc:
            raise InterchangeError(f"{label}: {exc}") from None
        sources, maps, source_els = _read_sources(root, zf, label, qde, encoding_fallback, nfc, warnings)
        code_ids = {norm_guid(c.guid): c.id for c in codes}
        codings, extra_users = _read_codings(root, sources, source_els, maps, code_ids, users, label, qde, warnings)
    return RefiProject(name=name, users=users + extra_users, codebook=codebook, sources=sources,
                       codings=codings, origin=root.get("origin") or "", warnings=warnings)


# -- .qdpx: write ------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_to_xml(proj: RefiProject, when: str | None = None):
    """The ``<Project>`` root of ``project.qde`` for ``proj`` (sources referenced as ``internal://<guid>.txt``)."""
    from lxml import etree

    from .. import __version__

    when = when or _now()
    ns = PROJECT_NS
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns}, name=_clean_xml_text(proj.name),
                         origin=f"qcode {__version__}", creationDateTime=when)
    if proj.users:
        users_el = etree.SubElement(root, f"{{{ns}}}Users")
        for user in proj.users:
            etree.SubElement(users_el, f"{{{ns}}}User", guid=user.guid, name=_clean_xml_text(user.name))
    if proj.codebook.codes:
        cb_el = etree.SubElement(root, f"{{{ns}}}CodeBook")
        _codes_xml(etree.SubElement(cb_el, f"{{{ns}}}Codes"), proj.codebook, ns, proj.warnings)
    by_source: dict[str, list[RefiCoding]] = {}
    for coding in proj.codings:
        by_source.setdefault(norm_guid(coding.source_guid), []).append(coding)
    if proj.sources:
        sources_el = etree.SubElement(root, f"{{{ns}}}Sources")
        for source in proj.sources:
            src_el = etree.SubElement(sources_el, f"{{{ns}}}TextSource", guid=source.guid,
                                      name=_clean_xml_text(source.name),
                                      plainTextPath=f"internal://{norm_guid(source.guid)}.txt",
                                      creationDateTime=when)
            _selections_xml(src_el, source, by_source.get(norm_guid(source.guid), []), when)
    return root


def _selections_xml(src_el, source: RefiSource, codings: list[RefiCoding], when: str) -> None:
    """One ``<PlainTextSelection>`` per (start, end, user), holding one ``<Coding>`` per code."""
    from lxml import etree

    ns = PROJECT_NS
    groups: dict[tuple[int, int, str], list[RefiCoding]] = {}
    for coding in sorted(codings, key=lambda c: (c.start, c.end, norm_guid(c.user_guid))):
        groups.setdefault((coding.start, coding.end, norm_guid(coding.user_guid)), []).append(coding)
    for (start, end, user), group in groups.items():
        sel_guid = stable_guid("selection", norm_guid(source.guid), str(start), str(end), user)
        first = group[0]
        sel = etree.SubElement(src_el, f"{{{ns}}}PlainTextSelection", guid=sel_guid, startPosition=str(start),
                               endPosition=str(end), creatingUser=first.user_guid,
                               creationDateTime=first.created or when)
        done: set[str] = set()
        for coding in group:
            if norm_guid(coding.code_guid) in done:
                continue
            done.add(norm_guid(coding.code_guid))
            cod = etree.SubElement(sel, f"{{{ns}}}Coding", guid=stable_guid("coding", sel_guid, coding.code_guid),
                                   creatingUser=coding.user_guid, creationDateTime=coding.created or when)
            etree.SubElement(cod, f"{{{ns}}}CodeRef", targetGUID=coding.code_guid)


def check_project(proj: RefiProject) -> None:
    """Raise if ``proj`` refers to unknown sources, codes or users, or has positions outside a source."""
    sources = proj.source_by_guid()
    codes = proj.code_ids()
    users = proj.user_names()
    for coding in proj.codings:
        source = sources.get(norm_guid(coding.source_guid))
        if source is None:
            raise InterchangeError(f"coding {coding} refers to unknown source {coding.source_guid}")
        if norm_guid(coding.code_guid) not in codes:
            raise InterchangeError(f"coding in source {source.name!r} refers to unknown code {coding.code_guid}")
        if norm_guid(coding.user_guid) not in users:
            raise InterchangeError(f"coding in source {source.name!r} refers to unknown user {coding.user_guid}")
        if not 0 <= coding.start < coding.end <= len(source.text):
            raise InterchangeError(f"coding ({coding.start}, {coding.end}) is outside source {source.name!r} "
                                   f"({len(source.text)} characters)")


def qdpx_bytes(proj: RefiProject, when: str | None = None) -> bytes:
    """The bytes of a validated .qdpx archive for ``proj``."""
    check_project(proj)
    root = project_to_xml(proj, when)
    validate_xml(root, "project", "project.qde (as written)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", _xml_bytes(root))
        for source in proj.sources:
            zf.writestr(f"sources/{norm_guid(source.guid)}.txt", source.text.encode("utf-8"))
    return buf.getvalue()


def write_qdpx(proj: RefiProject, path: str | Path) -> Path:
    """Write ``proj`` as a .qdpx archive (``project.qde`` + ``sources/<guid>.txt``), validated, atomically."""
    from .._io import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, qdpx_bytes(proj))
    return path


__all__ = ["RefiUser", "RefiSource", "RefiCoding", "RefiProject", "read_qdc", "write_qdc", "read_qdpx",
           "write_qdpx", "export_qdpx", "import_qdpx", "encode_description", "decode_description",
           "norm_guid", "stable_guid", "schema_errors", "validate_xml", "CODEBOOK_NS", "PROJECT_NS"]


def export_qdpx(project: Any, path: str | Path) -> dict[str, Any]:  # noqa: D401 - defined in _store_bridge
    """Export a qcode project's codebook, documents, coders and accepted codings as a .qdpx file."""
    from ._store_bridge import export_project

    return export_project(project, path)


def import_qdpx(project: Any, path: str | Path, encoding_fallback: str | None = None,
                nfc: bool = False) -> dict[str, Any]:
    """Import a .qdpx made elsewhere into a qcode project, all or nothing (see :func:`read_qdpx` for the options).

    Returns a summary: ``documents`` (new/unchanged/changed ids), ``coders``,
    ``codes_added``, ``codings`` recorded, ``already_present``, ``warnings``.
    """
    from ._store_bridge import import_project

    return import_project(project, path, encoding_fallback=encoding_fallback, nfc=nfc)
