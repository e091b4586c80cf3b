"""Every resource limit qcode puts on what it reads, in one place.

Input is untrusted until read: a transcript, spreadsheet, codebook or
REFI-QDA file may come from anyone, and a few hundred bytes can be built to
expand to gigabytes (zip bombs, YAML alias bombs) or to take hours (deep
nesting, long chains). Each reader checks the limits below *before* the costly
step and refuses with a one-line error that names the limit and how to raise
it, e.g. ``interview.docx: body has more than 1000000 paragraphs (limit
paragraphs=1000000; for a trusted file raise it with QCODE_MAX_PARAGRAPHS)``.

The defaults are far above any real interview study. To read a trusted file
past a limit, either set the environment variable (``QCODE_MAX_FILE_MB=500
qcode suggest ...``), or in Python::

    >>> from qcode import limits
    >>> with limits.override(rows=5_000_000):
    ...     limits.current().rows
    5000000
    >>> limits.current().rows
    1048576

================== ============================ ========== ===================================================
limit              environment variable         default    what it bounds
================== ============================ ========== ===================================================
file_bytes         QCODE_MAX_FILE_MB            200 MiB    any input file read whole (transcript, table, codebook, .qdpx)
zip_total_bytes    QCODE_MAX_ZIP_MB             1 GiB      everything an archive (.qdpx, .docx, .xlsx) expands to
zip_member_bytes   QCODE_MAX_ZIP_MEMBER_MB      512 MiB    one archive member, expanded
zip_ratio          QCODE_MAX_ZIP_RATIO          200        expansion ratio of a member larger than 1 MiB expanded
zip_members        QCODE_MAX_ZIP_MEMBERS        200000     members of one archive
xml_part_bytes     QCODE_MAX_XML_PART_MB        64 MiB     one XML part of a .docx/.xlsx parsed into memory (body, shared strings, one sheet)
xml_depth          (fixed)                      256        element nesting of any XML read (libxml2's own cap, not raisable)
paragraphs         QCODE_MAX_PARAGRAPHS         1000000    paragraphs and table rows of one .docx body
rows               QCODE_MAX_ROWS               1048576    data rows of one .csv/.tsv/.xlsx (Excel's own maximum)
cues               QCODE_MAX_CUES               1000000    cues of one .vtt/.srt
line_chars         QCODE_MAX_LINE_CHARS         1000000    characters of one transcript line
cell_chars         QCODE_MAX_CELL_CHARS         131072     characters of one .csv/.tsv cell
codebook_bytes     QCODE_MAX_CODEBOOK_MB        16 MiB     one codebook file (.yaml/.json/.qdc)
codes              QCODE_MAX_CODES              50000      codes in one codebook
code_depth         QCODE_MAX_CODE_DEPTH         64         levels of a code hierarchy (children / parent chain)
yaml_depth         QCODE_MAX_YAML_DEPTH         128        nesting of YAML/JSON collections
yaml_alias_nodes   QCODE_MAX_YAML_ALIAS_NODES   10000      nodes a YAML file reaches through aliases (``*name``) beyond its own
documents          QCODE_MAX_DOCUMENTS          100000     sources of one REFI-QDA project (reader and writer alike)
================== ============================ ========== ===================================================

Sizes given in ``..._MB`` variables are megabytes (fractions allowed); the
others are counts.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from .errors import InputError

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring for what each bounds)."""

    file_bytes: int = 200 * _MIB
    zip_total_bytes: int = 1024 * _MIB
    zip_member_bytes: int = 512 * _MIB
    zip_ratio: float = 200.0
    zip_ratio_floor: int = 1 * _MIB
    zip_members: int = 200_000
    xml_part_bytes: int = 64 * _MIB
    xml_depth: int = 256
    paragraphs: int = 1_000_000
    rows: int = 1_048_576
    cues: int = 1_000_000
    line_chars: int = 1_000_000
    cell_chars: int = 131_072
    codebook_bytes: int = 16 * _MIB
    codes: int = 50_000
    code_depth: int = 64
    yaml_depth: int = 128
    yaml_alias_nodes: int = 10_000
    documents: int = 100_000

    def hint(self, name: str) -> str:
        """The standard tail of an error: the limit's value and how to raise it.

        >>> Limits().hint("rows")
        'limit rows=1048576; for a trusted file raise it with QCODE_MAX_ROWS'
        """
        value = getattr(self, name)
        if name not in ENV:
            return f"limit {name}={value}, fixed"
        env, unit = ENV[name]
        shown = f"{value / _MIB:g} MB" if unit == "MB" else f"{value:g}" if isinstance(value, float) else str(value)
        return f"limit {name}={shown}; for a trusted file raise it with {env}"


#: Environment variable and unit of each limit that can be raised from outside.
ENV: dict[str, tuple[str, str]] = {
    "file_bytes": ("QCODE_MAX_FILE_MB", "MB"),
    "zip_total_bytes": ("QCODE_MAX_ZIP_MB", "MB"),
    "zip_member_bytes": ("QCODE_MAX_ZIP_MEMBER_MB", "MB"),
    "zip_ratio": ("QCODE_MAX_ZIP_RATIO", "ratio"),
    "zip_ratio_floor": ("QCODE_MAX_ZIP_RATIO_FLOOR_MB", "MB"),
    "zip_members": ("QCODE_MAX_ZIP_MEMBERS", "count"),
    "xml_part_bytes": ("QCODE_MAX_XML_PART_MB", "MB"),
    "paragraphs": ("QCODE_MAX_PARAGRAPHS", "count"),
    "rows": ("QCODE_MAX_ROWS", "count"),
    "cues": ("QCODE_MAX_CUES", "count"),
    "line_chars": ("QCODE_MAX_LINE_CHARS", "count"),
    "cell_chars": ("QCODE_MAX_CELL_CHARS", "count"),
    "codebook_bytes": ("QCODE_MAX_CODEBOOK_MB", "MB"),
    "codes": ("QCODE_MAX_CODES", "count"),
    "code_depth": ("QCODE_MAX_CODE_DEPTH", "count"),
    "yaml_depth": ("QCODE_MAX_YAML_DEPTH", "count"),
    "yaml_alias_nodes": ("QCODE_MAX_YAML_ALIAS_NODES", "count"),
    "documents": ("QCODE_MAX_DOCUMENTS", "count"),
}

_overrides: contextvars.ContextVar[Mapping[str, float]] = contextvars.ContextVar(
    "qcode_limit_overrides", default=MappingProxyType({}))


def _from_env(name: str, default: float) -> float:
    env, unit = ENV[name]
    raw = os.environ.get(env)
    if not raw:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise InputError(f"{env}={raw!r}: not a number{' of megabytes' if unit == 'MB' else ''}") from None
    if number <= 0:
        raise InputError(f"{env}={raw!r}: must be positive")
    if unit == "MB":
        return int(number * _MIB)
    if unit == "count":
        return int(number)
    return number


def current() -> Limits:
    """The limits in force now: defaults, raised by ``QCODE_MAX_...`` variables, then by :func:`override`."""
    values: dict[str, float] = {}
    for f in dataclasses.fields(Limits):
        if f.name in ENV:
            values[f.name] = _from_env(f.name, f.default)  # type: ignore[arg-type]
    values.update(_overrides.get())
    return Limits(**values)  # type: ignore[arg-type]


@contextmanager
def override(**values: float) -> Iterator[Limits]:
    """Raise (or lower) limits inside a ``with`` block, for a file you trust. Unknown names are refused."""
    known = {f.name for f in dataclasses.fields(Limits)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown limit(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    token = _overrides.set({**_overrides.get(), **values})
    try:
        yield current()
    finally:
        _overrides.reset(token)


__all__ = ["ENV", "Limits", "current", "override"]
