"""Export decisions and codings to .csv, .jsonl or .parquet, atomically.

The whole table is serialised in memory and published with
:func:`qcode._io.atomic_write_bytes`, so the target is either the previous
file or the complete new one, never half a file.

>>> export_table(project, "decisions", "decisions.csv")   # doctest: +SKIP
PosixPath('decisions.csv')
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes
from ..errors import ProjectError

TABLE_FORMATS = (".csv", ".jsonl", ".parquet")
WHAT = ("decisions", "codings", "segments", "suggestions")


def frame_to_bytes(frame: Any, suffix: str) -> bytes:
    """Serialise a DataFrame as CSV (UTF-8, header), JSON Lines or Parquet bytes.

    Missing values become empty CSV cells, JSON ``null`` and Parquet nulls.
    """
    suffix = suffix.lower()
    clean = frame.astype(object).where(frame.notna(), None)
    if suffix == ".csv":
        return clean.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if suffix == ".jsonl":
        lines = [json.dumps(_plain(record), ensure_ascii=False) for record in clean.to_dict("records")]
        return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame.convert_dtypes(), preserve_index=False)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    raise ProjectError(f"unknown export format {suffix or '(none)'!r}; use one of {', '.join(TABLE_FORMATS)}")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """Numpy scalars -> Python scalars, so json can write them."""
    out = {}
    for key, value in record.items():
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()
        out[key] = value
    return out


def export_frame(project: Any, what: str, coder: str | None = None):
    """The table ``qcode export --what`` writes: decisions, codings, segments or the latest suggestions."""
    if what in ("segments", "suggestions") and coder is not None:
        raise ProjectError(f"--coder filters decisions and codings, not {what}")
    if what == "decisions":
        return project.decisions(coder=coder)
    if what == "codings":
        return project.codings(coder=coder)
    if what == "segments":
        return project.segments()
    return project.suggestions()


def export_table(project: Any, what: str, out: str | Path, coder: str | None = None) -> Path:
    """Write ``project.decisions()`` or ``project.codings()`` to ``out`` (format by extension).

    ``coder`` restricts the table to one coder (ProjectError if unknown).
    """
    out = Path(out)
    if what not in WHAT:
        raise ProjectError(f"--what must be one of {', '.join(WHAT)}, got {what!r}")
    if out.suffix.lower() not in TABLE_FORMATS:
        raise ProjectError(f"{out}: unknown export format {out.suffix or '(none)'!r}; "
                           f"use one of {', '.join(TABLE_FORMATS)} (or .qdpx)")
    frame = export_frame(project, what, coder)
    data = frame_to_bytes(frame, out.suffix)
    try:
        atomic_write_bytes(out, data)
    except OSError as exc:
        raise ProjectError(f"{out}: cannot write the export: {exc.strerror or exc}") from None
    return out
