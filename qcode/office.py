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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError, QcodeError
from .limits import Limits
from .limits import current as current_limits
from .safetext import plain_xml_error
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
        message = plain_xml_error(message)
        raise InputError(f"{zf.label}: {member} line {exc.lineno}: not well-formed XML ({message})") from None
    return count


def read_xlsx_rows(source: bytes | str | Path, label: str | Path, *, sheet: str | None = None,
                   error: type[QcodeError] = InputError) -> tuple[str, list[tuple[Any, ...]]]:
    """The title and every row (header first) of one worksheet of an untrusted ``.xlsx``.

    The archive passes :func:`open_office` first; then openpyxl streams the
    sheet (read-only mode) with its ``<dimension>`` element ignored, because a
    stale dimension (written by many tools) made read-only mode stop early and
    drop rows without a word. More than ``rows`` data rows raise ``error``.

    Each row holds the cells of the header's *named* columns only, in order (see
    :func:`named_columns`): a cell far to the right (column XFD) no longer makes
    every row 16,384 values wide.
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
            for row in named_columns(sparse_rows(ws)):
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


def sparse_rows(ws: Any) -> Iterator[tuple[int, dict[int, Any]]]:
    """``(row number, {0-based column: value})`` for each row a read-only sheet stores, without padding.

    openpyxl's ``iter_rows`` fills every row out to its last cell, so one cell in column XFD costs
    16,384 values a row; its own parser hands over only the cells that are there.
    """
    try:
        from openpyxl.worksheet._reader import WorkSheetParser

        source = ws._get_source()
        parent = ws.parent
    except (ImportError, AttributeError):  # another openpyxl: its public reader, padded, made sparse
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, {col: value for col, value in enumerate(row) if value is not None}
        return
    with source as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=parent.data_only, epoch=parent.epoch,
                                 date_formats=parent._date_formats, timedelta_formats=parent._timedelta_formats)
        for number, cells in parser.parse():
            yield number, {cell["column"] - 1: cell["value"] for cell in cells if cell["value"] is not None}


#: a header whose last named column lies further right than this keeps only its named columns
_SPAN_KEPT = 1024


def named_columns(rows: Iterable[tuple[int, dict[int, Any]]]) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples of the columns up to the header's last named one; missing rows are ``()``.

    Columns right of the header are never read (they have no name to be asked for), so the work is
    bounded by the header, not by how far right a stray cell lies. Columns keep their places (so an
    error can name column H) unless the header's last name lies past column 1,024: then only the
    named columns are kept, in order.

    >>> list(named_columns([(1, {0: "id", 2: "text"}), (2, {0: 7, 2: "hi", 16383: "x"}), (4, {2: "yo"})]))
    [('id', None, 'text'), (7, None, 'hi'), (), (None, None, 'yo')]
    >>> list(named_columns([(1, {0: "id", 16383: "far"}), (2, {0: 1, 9: "x", 16383: "y"})]))
    [('id', 'far'), (1, 'y')]
    """
    keep: list[int] | None = None
    expected = 1
    for number, cells in rows:
        while expected < number:  # rows the sheet leaves out
            if keep is None:
                keep = []
            yield ()
            expected += 1
        if keep is None:
            keep = sorted(col for col, value in cells.items() if str(value).strip())
            if keep and keep[-1] < _SPAN_KEPT:
                keep = list(range(keep[-1] + 1))
        yield tuple(cells.get(col) for col in keep) if cells else ()
        expected = number + 1
