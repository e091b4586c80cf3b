"""Counted codings joined to their speaker, their case and the case's attributes.

A case is a participant (a speaker label, across documents) or a whole
document, as the project's cases table says (``Project.cases()``: columns
``case``, ``by`` = ``"speaker"`` or ``"document"``, then one column per
attribute). A coded passage belongs to the case of its speaker when that
speaker is a case, else to the case of its document when the document is one;
a project without a cases table counts each document as one case.

>>> import pandas as pd
>>> passages = pd.DataFrame({"doc_id": ["a", "a", "b"], "speaker": ["P1", "P2", None]})
>>> cases = pd.DataFrame({"case": ["P1", "b"], "by": ["speaker", "document"], "role": ["nurse", "GP"]})
>>> assign_cases(passages, cases)[["case", "role"]].values.tolist()
[['P1', 'nurse'], [None, None], ['b', 'GP']]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from .selection import Counted

if TYPE_CHECKING:
    from ..project import Project

#: the columns of a cases table that are not attributes
CASE_COLUMNS = ("case", "by")
#: the column value of a passage whose case has no value for an attribute
NO_VALUE = "(no value)"


def load_cases(project: Project) -> pd.DataFrame:
    """The project's cases table; with none imported, one case per document (no attributes)."""
    table = project.cases()
    if len(table) == 0:
        docs = project.documents()
        return pd.DataFrame({"case": docs["doc_id"].astype(str), "by": "document"})
    return table.reset_index(drop=True)


def attributes(cases: pd.DataFrame) -> list[str]:
    """The attribute names of a cases table, in its column order."""
    return [c for c in cases.columns if c not in CASE_COLUMNS]


def check_attribute(cases: pd.DataFrame, name: str) -> str:
    """``name`` if the cases table has that attribute, else an AnalysisError listing the known ones."""
    known = attributes(cases)
    if name not in known:
        listed = ", ".join(known) if known else "none: import a cases table with `qcode cases import`"
        raise AnalysisError(f"unknown attribute {name!r} (attributes: {listed})")
    return name


def assign_cases(passages: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """``passages`` (``doc_id``, ``speaker``) with ``case`` and every attribute column added (pure).

    A speaker that is a case wins over its document; a passage matching neither gets no case.
    """
    out = passages.copy()
    attrs = attributes(cases)
    speaker_cases = cases[cases["by"] == "speaker"].drop_duplicates("case")
    doc_cases = cases[cases["by"] == "document"].drop_duplicates("case")
    by_speaker = pd.Series(speaker_cases["case"].to_numpy(), index=speaker_cases["case"].to_numpy())
    by_doc = pd.Series(doc_cases["case"].to_numpy(), index=doc_cases["case"].to_numpy())
    speakers = out["speaker"].astype(object) if "speaker" in out else pd.Series(None, index=out.index, dtype=object)
    case = speakers.map(by_speaker)
    case = case.where(case.notna(), out["doc_id"].map(by_doc))
    out["case"] = case.astype(object).where(case.notna(), None)
    table = cases.drop_duplicates("case").set_index("case")
    for name in attrs:
        if name in out.columns and name not in ("case",):
            out = out.drop(columns=name)
        values = out["case"].map(table[name])
        out[name] = values.astype(object).where(values.notna(), None)
    return out


def segment_of(segments: pd.DataFrame, passages: pd.DataFrame) -> pd.DataFrame:
    """The ``speaker`` and ``segment_start`` of the segment each passage's start falls in (same document version).

    A passage outside every segment gets neither.
    """
    segs = segments
    if segs.empty or passages.empty:
        return pd.DataFrame({"speaker": pd.Series([None] * len(passages), index=passages.index, dtype=object),
                             "segment_start": pd.Series([np.nan] * len(passages), index=passages.index)})
    segs = segs[["doc_id", "doc_version", "start", "end", "speaker"]].rename(
        columns={"start": "_s", "end": "_e", "speaker": "_speaker"})
    segs["doc_version"] = segs["doc_version"].astype("int64")
    # the longest segment starting at an offset first, so a turn wins over its sentences
    segs = segs.sort_values(["_s", "_e"], ascending=[True, False]).drop_duplicates(["doc_id", "doc_version", "_s"])
    left = passages[["doc_id", "doc_version", "start"]].copy()
    left["doc_version"] = left["doc_version"].astype("int64")
    left["_row"] = np.arange(len(left))
    left = left.sort_values("start")
    found = pd.merge_asof(left, segs.sort_values("_s"), left_on="start", right_on="_s",
                          by=["doc_id", "doc_version"], direction="backward")
    inside = found["_e"].notna() & (found["start"] < found["_e"])
    found = found.assign(speaker=found["_speaker"].where(inside, None), segment_start=found["_s"].where(inside))
    found = found.sort_values("_row")
    return pd.DataFrame({"speaker": found["speaker"].astype(object).to_numpy(),
                         "segment_start": found["segment_start"].to_numpy()}, index=passages.index)


def coded_passages(project: Project, counted: Counted, cases: pd.DataFrame | None = None) -> pd.DataFrame:
    """The counted codings, one row per (passage, code), with ``speaker``, ``case`` and the attributes."""
    codings = counted.codings
    if cases is None:
        cases = load_cases(project)
    if codings.empty:
        frame = codings.copy()
        frame["speaker"] = pd.Series(dtype=object)
        frame["segment_start"] = pd.Series(dtype=float)
        return assign_cases(frame, cases)
    frame = codings.copy()
    frame["doc_version"] = frame["doc_version"].astype("int64")
    found = segment_of(project.segments(all_versions=True), frame)
    frame["speaker"] = found["speaker"].to_numpy()
    frame["segment_start"] = found["segment_start"].to_numpy()
    return assign_cases(frame, cases)


def passage_keys(frame: pd.DataFrame) -> pd.Series:
    """An integer id per distinct passage (document, version, start, end) of ``frame``, aligned with it.

    The document ids are factorised first, so the grouping is over integers (a million rows in well
    under a second; grouping the text column directly took seconds).
    """
    if frame.empty:
        return pd.Series(np.zeros(0, dtype=np.int64), index=frame.index)
    ints = pd.DataFrame({"d": pd.factorize(frame["doc_id"])[0],
                         "v": pd.to_numeric(frame["doc_version"], errors="coerce").fillna(-1).astype(np.int64),
                         "s": frame["start"].astype(np.int64), "e": frame["end"].astype(np.int64)}, index=frame.index)
    return ints.groupby(["d", "v", "s", "e"], sort=False).ngroup()


__all__ = ["CASE_COLUMNS", "NO_VALUE", "assign_cases", "attributes", "check_attribute", "coded_passages",
           "load_cases", "passage_keys", "segment_of"]
