"""Recognise qcode's own outputs in a corpus folder, so a run never reads them as input.

A second ``qcode suggest mine -o mine/sugg.csv`` used to read the first run's
table as survey responses (one document per suggestion row). A file is qcode's
when its name is a run record (``*.run.json``), when a run record sits beside it
(``sugg.csv`` + ``sugg.csv.run.json``), when it is a project folder's database,
or when its header is one qcode writes (suggestions, codings, segments,
agreement tables; an agreement report in Markdown). The headers are stated here
because this layer sits below the modules that write them; tests check both
sides agree.

>>> own_output_reason("mine/sugg.csv.run.json")
'qcode run record'
"""

from __future__ import annotations

import csv
from pathlib import Path

#: The suffix of the run record ``qcode suggest --out X`` writes beside ``X``.
RUN_RECORD_SUFFIX = ".run.json"
#: The file that makes a folder a qcode project (``qcode.project.base.DB_NAME``).
PROJECT_MARKER = "qcode.sqlite"
#: What each header of qcode's tables is, by the columns that identify it (all must be present).
HEADER_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("suggestions table", frozenset({"run_id", "segment_id", "code_id", "score", "rank"})),
    ("codings export", frozenset({"segment_id", "code_id", "coder", "event_id"})),
    ("segments export", frozenset({"segment_id", "doc_id", "doc_version", "turn_index"})),
    ("codings spreadsheet", frozenset({"document", "start", "end", "text", "coder"})),
    ("agreement table", frozenset({"unit_of_analysis", "coders", "code", "kappa_type"})),
)
#: The first line of an agreement report written as Markdown.
AGREEMENT_MARKDOWN_TITLE = "# Inter-coder agreement"
_HEADER_BYTES = 64 * 1024


def header_kind(columns: list[str]) -> str | None:
    """Which of qcode's tables a header row is, or ``None``.

    >>> header_kind(["run_id", "doc_id", "segment_id", "code_id", "score", "rank"])
    'suggestions table'
    >>> header_kind(["id", "text"]) is None
    True
    """
    names = {c.strip().lstrip("\ufeff").lower() for c in columns}
    for kind, needed in HEADER_SIGNATURES:
        if needed <= names:
            return kind
    return None


def _first_line(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return None  # the reader reports it when it tries
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        return line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def own_output_reason(path: str | Path) -> str | None:
    """Why ``path`` is one of qcode's own outputs (``'qcode run record'``...), or ``None`` if it is not."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(RUN_RECORD_SUFFIX):
        return "qcode run record"
    if path.with_name(path.name + RUN_RECORD_SUFFIX).is_file():
        return f"qcode output (its run record {path.name + RUN_RECORD_SUFFIX} is beside it)"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        line = _first_line(path)
        if line:
            columns = next(csv.reader([line], delimiter="\t" if suffix == ".tsv" else ","), [])
            kind = header_kind(columns)
            if kind is not None:
                return f"qcode output (a {kind}: its header is qcode's)"
    elif suffix in (".md", ".markdown"):
        if (_first_line(path) or "").strip() == AGREEMENT_MARKDOWN_TITLE:
            return "qcode output (an agreement report)"
    return None


def is_project_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a qcode project (holds its database)."""
    return (Path(folder) / PROJECT_MARKER).is_file()


__all__ = ["AGREEMENT_MARKDOWN_TITLE", "HEADER_SIGNATURES", "PROJECT_MARKER", "RUN_RECORD_SUFFIX", "header_kind",
           "is_project_folder", "own_output_reason"]
