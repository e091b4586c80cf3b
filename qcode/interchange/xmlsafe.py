"""Reading untrusted XML safely and checking it against the vendored REFI-QDA schemas.

Files are parsed without entity expansion, DTDs or network access; a
``<!DOCTYPE>`` is refused. Text written to XML drops the characters XML 1.0
cannot carry.

>>> clean_xml_text("a\\x00b")
'ab'
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from ..errors import InterchangeError
from ..safetext import plain_xml_error

# characters XML 1.0 cannot carry at all
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
        msg = plain_xml_error(str(exc.msg).split(", line ")[0])
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


def describe(el) -> str:
    """``<Tag guid=...>`` for error messages."""
    tag = el.tag.split("}")[-1]
    guid = el.get("guid")
    return f"<{tag} guid={guid}>" if guid else f"<{tag}>"


def clean_xml_text(value: str) -> str:
    return XML_ILLEGAL.sub("", value)


def xml_bytes(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


__all__ = ["XML_ILLEGAL", "clean_xml_text", "describe", "parse_xml", "schema_errors", "validate_xml", "xml_bytes"]
