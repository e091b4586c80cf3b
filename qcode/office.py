"""Checks on an Office file (.docx, .xlsx) before python-docx or openpyxl sees it.

Both libraries unzip with Python's zipfile and parse XML parts whole, so a
small archive can expand to gigabytes or to millions of elements. Here the
archive directory is checked first (:meth:`qcode.safezip.SafeZip.check_declared`:
member count, declared sizes, expansion ratio, all XML together), then the
part that holds the content is streamed once with a bounded incremental parser
that counts its paragraphs or rows and stops at the limit. Only then is the
file handed to the library, which can no longer expand past what was counted.
"""

from __future__ import annotations

import io
import posixpath
from pathlib import Path
from typing import Any

from .errors import InputError, QcodeError
from .limits import Limits
from .limits import current as current_limits
from .safezip import SafeZip

_REL_OFFICE_DOCUMENT = "/officeDocument"


def open_office(data: bytes, path: str | Path, what: str, limits: Limits) -> SafeZip:
    """A :class:`SafeZip` over the file's bytes whose directory passed the limits (``InputError`` otherwise)."""
    zf = SafeZip(io.BytesIO(data), str(path), error=InputError, what=what)
    try:
        zf.check_declared(xml_cap=limits.xml_part_bytes)
    except InputError:
        zf.close()
        raise
    return zf


def _iterparse(stream, tag: str | tuple[str, ...] | None, events: tuple[str, ...] = ("end",)):
    from lxml import etree

    return etree.iterparse(stream, events=events, tag=tag, resolve_entities=False, no_network=True,
                           load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)


def main_part(zf: SafeZip, default: str) -> str:
    """The member the package's ``_rels/.rels`` names as the office document (``default`` when absent)."""
    from lxml import etree

    rels = zf.find("_rels/.rels")
    if rels is None:
        return zf.find(default) or default
    try:
        with zf.open(rels) as stream:
            for _, element in _iterparse(stream, None):
                kind = element.get("Type") or ""
                target = element.get("Target")
                if kind.endswith(_REL_OFFICE_DOCUMENT) and target and element.get("TargetMode") != "External":
                    name = posixpath.normpath(target.lstrip("/"))
                    return zf.find(name) or name
                element.clear()
    except etree.XMLSyntaxError:
        pass  # the library reports a damaged package in its own words
    return zf.find(default) or default


def count_elements(zf: SafeZip, member: str, tags: tuple[str, ...], *, limit: int, limit_name: str,
                   what: str) -> int:
    """How many ``tags`` elements ``member`` holds, streamed in bounded memory; past ``limit`` raise ``InputError``."""
    from lxml import etree

    from .limits import ENV

    if member not in zf:
        return 0
    count = 0
    try:
        with zf.open(member) as stream:
            for _, element in _iterparse(stream, tags):
                count += 1
                if count > limit:
                    raise InputError(f"{zf.label}: has more than {limit} {what} "
                                     f"(limit {limit_name}={limit}; for a trusted file raise it with {ENV[limit_name][0]})")
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc).split(", line ")[0]
        if "depth" in message.lower():
            raise InputError(f"{zf.label}: {member} line {exc.lineno}: XML nested too deep "
                             f"({Limits().hint('xml_depth')})") from None
        raise InputError(f"{zf.label}: {member} line {exc.lineno}: not well-formed XML ({message})") from None
    return count


def read_xlsx_rows(source: bytes | str | Path, label: str | Path, *, sheet: str | None = None,
                   error: type[QcodeError] = InputError) -> tuple[str, list[tuple[Any, ...]]]:
    """The title and every row (header first) of one worksheet of an untrusted ``.xlsx``.

    The archive passes :func:`open_office` first; then openpyxl streams the
    sheet (read-only mode) with its ``<dimension>`` element ignored, because a
    stale dimension (written by many tools) made read-only mode stop early and
    drop rows without a word. More than ``rows`` data rows raise ``error``.
    """
    import openpyxl

    lim = current_limits()
    label = str(label)
    if isinstance(source, bytes):
        data = source
    else:
        try:
            size = Path(source).stat().st_size
            if size > lim.file_bytes:
                raise error(f"{label}: file is {size} bytes, past the {lim.hint('file_bytes')}")
            data = Path(source).read_bytes()
        except OSError as exc:
            raise error(f"{label}: cannot read ({exc.strerror or exc})") from None
    try:
        open_office(data, label, "not a readable .xlsx workbook (not a zip archive)", lim).close()
    except InputError as exc:
        raise error(str(exc)) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, xml and openpyxl errors alike mean "not a workbook"
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise error(f"{label}: not a readable .xlsx workbook ({type(exc).__name__}{': ' + detail if detail else ''})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise error(f"{label}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        if not book.worksheets:
            raise error(f"{label}: the workbook has no worksheet")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows: list[tuple[Any, ...]] = []
        try:
            for row in ws.iter_rows(values_only=True):
                rows.append(row)
                if len(rows) > lim.rows + 1:
                    raise error(f"{label}: sheet {ws.title!r} has more than {lim.rows} data rows ({lim.hint('rows')})")
        except QcodeError:
            raise
        except Exception as exc:  # a damaged sheet inside a readable zip
            raise error(f"{label}: cannot read sheet {ws.title!r} ({type(exc).__name__})") from None
        return ws.title, rows
    finally:
        book.close()
