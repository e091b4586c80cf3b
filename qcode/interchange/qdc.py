"""REFI-QDA codebook files (``.qdc``): read, repaired, validated, written.

Hierarchy, colours, descriptions and GUIDs are kept; see :mod:`qcode.interchange.codes`
for how qcode's extra fields travel in ``<Description>``, and the codebook's own name,
title, description, source and version in a ``<?qcode-codebook?>`` instruction (so a
file qcode wrote reads back as the same codebook, with the same version).

>>> from qcode.codebook.model import Code, Codebook
>>> data = qdc_bytes(Codebook("demo", [Code("a", "Access", definition="Getting in.")]))
>>> read_qdc_bytes(data, "demo.qdc").codes[0].definition
'Getting in.'
"""

from __future__ import annotations

from pathlib import Path

from .._io import atomic_write_bytes
from ..codebook.io import register_codebook_reader
from ..codebook.model import Codebook
from ..errors import CodebookError, InterchangeError
from ..limits import current as current_limits
from .codes import (
    apply_codebook_meta,
    codebook_to_xml,
    codes_from_xml,
    nest_dotted_names,
    read_codebook_meta,
    repair_known_irregularities,
)
from .model import CODEBOOK_NS
from .xmlsafe import parse_xml, validate_xml, xml_bytes


def read_qdc_bytes(data: bytes, label: str, name: str | None = None, warnings: list[str] | None = None) -> Codebook:
    """Parse, repair known irregularities, validate and convert a .qdc document."""
    warnings = warnings if warnings is not None else []
    root = parse_xml(data, label)
    if root.tag != f"{{{CODEBOOK_NS}}}CodeBook":
        raise InterchangeError(f"{label} line {root.sourceline}: root element is <{root.tag.split('}')[-1]}>, "
                               f"expected <CodeBook> in namespace {CODEBOOK_NS}")
    n_codes = sum(1 for _ in root.iter(f"{{{CODEBOOK_NS}}}Code"))
    if n_codes > current_limits().codes:
        raise InterchangeError(f"{label}: more than {current_limits().codes} codes ({current_limits().hint('codes')})")
    warnings += repair_known_irregularities(root, CODEBOOK_NS, label)
    validate_xml(root, "codebook", label)
    sets = [el.get("name") for el in root.iter(f"{{{CODEBOOK_NS}}}Set")]
    if sets:
        warnings.append(f"{label}: code sets are not kept by qcode: {sets}")
    meta = read_codebook_meta(root, label, warnings)
    codes, more = codes_from_xml(root.find(f"{{{CODEBOOK_NS}}}Codes"), CODEBOOK_NS, label, name or "codebook")
    warnings += more
    codes, more = nest_dotted_names(codes, label)
    warnings += more
    origin = root.get("origin") or ""
    source = f"REFI-QDA codebook {Path(label).name}" + (f" (from {origin})" if origin else "")
    try:
        if meta is not None:
            return apply_codebook_meta(Codebook(name=meta["name"], codes=codes), meta, name, label, warnings)
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
    >>> import pathlib, tempfile
    >>> from qcode.codebook.model import Code, Codebook
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "team.qdc"
    >>> _ = write_qdc(Codebook("team", [Code("a", "Access"), Code("a.cost", "Cost", parent="a")]), path)
    >>> cb = read_qdc(path)
    >>> cb.name, [(c.id, c.parent) for c in cb.codes]
    ('team', [('a', None), ('a.cost', 'a')])
    """
    path = Path(path)
    lim = current_limits()
    try:
        size = path.stat().st_size
        if size > lim.codebook_bytes:
            raise InterchangeError(f"{path}: codebook file is {size / (1 << 20):.1f} MB, past the "
                                   f"{lim.codebook_bytes / (1 << 20):g} MB a codebook may be ({lim.hint('codebook_bytes')})")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InterchangeError(f"{path}: no such file") from None
    except OSError as exc:
        raise InterchangeError(f"{path}: cannot read: {exc.strerror}") from None
    return read_qdc_bytes(data, str(path), name=name, warnings=warnings)


def qdc_bytes(codebook: Codebook, warnings: list[str] | None = None, label: str = "codebook") -> bytes:
    """The bytes of a validated .qdc file for ``codebook`` (irregularities such as bad colours go to ``warnings``)."""
    root = codebook_to_xml(codebook, warnings if warnings is not None else [])
    validate_xml(root, "codebook", f"{label} (as written)")
    return xml_bytes(root)


def write_qdc(codebook: Codebook, path: str | Path) -> list[str]:
    """Write ``codebook`` as a REFI-QDA codebook file (validated, atomic); return warnings.

    Example
    -------
    >>> import pathlib, tempfile
    >>> from qcode.codebook import load_codebook
    >>> write_qdc(load_codebook("mcn-sst"), pathlib.Path(tempfile.mkdtemp()) / "mcn-sst.qdc")
    []
    """
    warnings: list[str] = []
    atomic_write_bytes(path, qdc_bytes(codebook, warnings, label=str(path)))
    return warnings


# load_codebook("x.qdc") reads through this registry entry (the codebook layer cannot import this one)
register_codebook_reader(".qdc", read_qdc)

__all__ = ["qdc_bytes", "read_qdc", "read_qdc_bytes", "write_qdc"]
