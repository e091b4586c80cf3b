"""REFI-QDA codes <-> qcode codes: the ``<Codes>`` tree, descriptions carrying qcode's fields,
and the irregularities of real exports that are repaired on read.

qcode's inclusion/exclusion/examples (absent from the standard) travel at the
end of ``<Description>`` in a readable block::

    Money for the service and who pays for it.

    -- qcode --
    id: funding
    include: Talk of budgets, grants, commissioning
    exclude: Staff shortages not caused by money (use staffing)
    example: We have to bid for the money again every year.

>>> from qcode.codebook.model import Code, Codebook
>>> cb = Codebook("demo", [Code("a", "Access"), Code("a.cost", "Cost", parent="a")])
>>> root = codebook_to_xml(cb)
>>> [c.get("name") for c in root.iter(f"{{{CODEBOOK_NS}}}Code")]
['Access', 'Cost']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from ..codebook.model import Code, Codebook
from ..errors import InterchangeError
from .model import CODEBOOK_NS, code_guid, norm_guid, stable_guid
from .xmlsafe import clean_xml_text, describe

_MARKER = "-- qcode --"
_FIELD_KEYS = {"include": "inclusion", "exclude": "exclusion", "example": "examples"}
GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_RGB_RE = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


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


# -- tolerated irregularities -----------------------------------------------------------

def repair_known_irregularities(root, ns: str, label: str) -> list[str]:
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
            path = [*[a.get("name", "") for a in code.iterancestors(f"{{{ns}}}Code")][::-1], code.get("name", "")]
            code.set("guid", stable_guid("refi-code", *path))
            warnings.append(f"{label} line {code.sourceline}: <Code name={code.get('name')!r}> has no guid; "
                            f"gave it {code.get('guid')}")
    if missing_codable:
        warnings.append(f"{label}: {missing_codable} <Code> elements lack isCodable; taken as codable")
    return warnings


# -- codebooks: XML -> Codebook ------------------------------------------------------------

def slug(name: str) -> str:
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
            raise InterchangeError(f"{label} line {el.sourceline}: {describe(el)} repeats the GUID of the code "
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
            raise InterchangeError(f"{label} line {el.sourceline}: {describe(el)} has an empty name")
        parent_id = id_of[id(parent)] if parent is not None else None
        if f.qcode_id and explicit.get(f.qcode_id) == 1:
            code_id = f.qcode_id
        else:
            if f.qcode_id:
                warnings.append(f"{label} line {el.sourceline}: qcode id {f.qcode_id!r} is used by several codes; "
                                "derived a new id from the name")
            base = f"{parent_id}.{slug(name)}" if parent_id else slug(name)
            code_id, n = base, 1
            while code_id in taken:
                n += 1
                code_id = f"{base}-{n}"
            taken.add(code_id)
        id_of[id(el)] = code_id
        definition = f.definition
        if f.unknown_lines:  # someone wrote into the block by hand: keep their words in the definition
            definition = "\n".join([definition, *f.unknown_lines]).strip()
            warnings.append(f"{label} line {el.sourceline}: {describe(el)}: lines of the qcode block that are not "
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

def codes_to_xml(parent_el, codebook: Codebook, ns: str, warnings: list[str]) -> None:
    """Append ``<Code>`` elements for ``codebook`` (nested) under ``parent_el``."""
    from lxml import etree

    guids: dict[str, str] = {}
    for code in codebook.codes:
        guid = code_guid(codebook.name, code)
        if not GUID_RE.match(guid):
            raise InterchangeError(f"codebook {codebook.name!r}: code {code.id!r} has guid {guid!r}, "
                                   "which is not a GUID (8-4-4-4-12 hex digits)")
        if norm_guid(guid) in guids:
            raise InterchangeError(f"codebook {codebook.name!r}: codes {guids[norm_guid(guid)]!r} and {code.id!r} "
                                   f"share the GUID {guid}")
        guids[norm_guid(guid)] = code.id

    def add(el, parent_id: str | None) -> None:
        for code in codebook.children(parent_id):
            attrs = {"guid": code_guid(codebook.name, code), "name": clean_xml_text(code.name),
                     "isCodable": "true"}
            if code.color:
                if _RGB_RE.match(code.color.strip()):
                    attrs["color"] = code.color.strip()
                else:
                    warnings.append(f"code {code.id!r}: colour {code.color!r} is not #RRGGBB; left out")
            child = etree.SubElement(el, f"{{{ns}}}Code", attrs)
            etree.SubElement(child, f"{{{ns}}}Description").text = clean_xml_text(encode_description(code))
            add(child, code.id)

    add(parent_el, None)


# -- the codebook's own fields (name, title, description, source, version) ------------------------

#: Target of the processing instruction that carries a codebook's own fields through a REFI file. The
#: standard has no place for them; other tools ignore the instruction, qcode reads it back.
META_PI = "qcode-codebook"


def codebook_meta_pi(codebook: Codebook):
    """``<?qcode-codebook {...}?>``: the codebook's name, title, description, source and version.

    Codes without a GUID get the derived one on export and keep it when read back; the
    codebook's version does not count derived GUIDs (see :attr:`Codebook.version`).
    """
    from lxml import etree

    meta = {"name": codebook.name, "title": codebook.title, "description": codebook.description,
            "source": codebook.source, "version": codebook.version}
    text = json.dumps(meta, ensure_ascii=True, separators=(",", ":")).replace("?>", "?\\u003e")
    return etree.ProcessingInstruction(META_PI, text)


def read_codebook_meta(el, label: str, warnings: list[str]) -> dict[str, Any] | None:
    """The fields of ``el``'s ``<?qcode-codebook?>`` child, or ``None`` (absent, or unreadable: then a warning)."""
    from lxml import etree

    for node in el.iterchildren(etree.ProcessingInstruction):
        if node.target != META_PI:
            continue
        try:
            meta = json.loads(node.text or "")
        except ValueError:
            meta = None
        fields = ("name", "title", "description", "source", "version")
        if (not isinstance(meta, dict) or not all(isinstance(meta.get(k, ""), str) for k in fields)
                or not meta.get("name")):
            warnings.append(f"{label} line {node.sourceline}: <?{META_PI}?> is not readable; "
                            "the codebook's title, description and source are not restored")
            return None
        return meta
    return None


def apply_codebook_meta(codebook: Codebook, meta: dict[str, Any], name: str | None, label: str,
                        warnings: list[str]) -> Codebook:
    """``codebook`` as read, with the name (unless ``name`` is given), title, description and source it was
    exported with; a warning when its content changed since (another tool edited it)."""
    restored = Codebook(name=name or str(meta["name"]), codes=list(codebook.codes), title=str(meta.get("title", "")),
                        description=str(meta.get("description", "")), source=str(meta.get("source", "")))
    if name is None and meta.get("version") and restored.version != meta["version"]:
        warnings.append(f"{label}: the codebook changed since qcode exported it (version {meta['version']}, now "
                        f"{restored.version}); its name, title, description and source are kept")
    return restored


def codebook_to_xml(codebook: Codebook, warnings: list[str] | None = None):
    """The ``<CodeBook>`` root element of a .qdc file for ``codebook``."""
    from lxml import etree

    if not codebook.codes:
        raise InterchangeError(f"codebook {codebook.name!r} has no codes; a REFI-QDA codebook needs at least one")
    from ..version import __version__

    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS},
                         origin=f"qcode {__version__}")
    root.append(codebook_meta_pi(codebook))
    codes_el = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    codes_to_xml(codes_el, codebook, CODEBOOK_NS, warnings if warnings is not None else [])
    return root


__all__ = ["DescriptionFields", "GUID_RE", "META_PI", "apply_codebook_meta", "codebook_meta_pi", "codebook_to_xml",
           "read_codebook_meta", "codes_from_xml", "codes_to_xml", "decode_description",
           "encode_description", "nest_dotted_names", "repair_known_irregularities", "slug"]
