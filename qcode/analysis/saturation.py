"""Saturation: how many codes each document brought that no earlier document had.

Documents are taken in the order the interviews were done: by a ``date``
attribute of their cases when the cases table has one (a document's date is the
earliest of its cases'), else in the order they were added to the project. For
each coder (and for the counted codings when they are a consensus), each
document's new codes and the running total: the evidence behind "data
collection ceased when no new codes were appearing".

>>> import pandas as pd
>>> codings = pd.DataFrame({"coder": ["ann"] * 3, "doc_id": ["b", "a", "b"], "code_id": ["x", "x", "y"]})
>>> saturation_table(codings, ["a", "b", "c"])[["document", "new_codes", "cumulative"]].values.tolist()
[['a', 1, 1], ['b', 1, 2], ['c', 0, 2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .passages import attributes, load_cases
from .selection import ADJUDICATOR, as_project, select_codings

if TYPE_CHECKING:
    from ..project import Project

COLUMNS = ["coder", "order", "document", "new_codes", "cumulative", "new_code_ids"]


def saturation_table(codings: pd.DataFrame, documents: Sequence[str]) -> pd.DataFrame:
    """New and cumulative codes per document in ``documents`` order, per ``coder`` (pure)."""
    rows = []
    position = {d: i for i, d in enumerate(documents)}
    for coder in sorted(set(codings["coder"])) if len(codings) else []:
        mine = codings[codings["coder"] == coder]
        first = (mine.assign(_pos=mine["doc_id"].map(position)).dropna(subset=["_pos"])
                 .sort_values(["_pos", "code_id"]).drop_duplicates("code_id"))
        by_doc = first.groupby("doc_id")["code_id"].apply(list).to_dict()
        total = 0
        for i, doc in enumerate(documents, start=1):
            new = by_doc.get(doc, [])
            total += len(new)
            rows.append([coder, i, doc, len(new), total, ";".join(new)])
    return pd.DataFrame(rows, columns=COLUMNS)


def document_order(project: Project, cases: pd.DataFrame) -> tuple[list[str], str]:
    """The documents in interview order and how it was decided (``"date"`` or ``"added"``)."""
    docs = project.documents(all_versions=True)
    added = docs.groupby("doc_id")["added_at"].min().sort_values(kind="stable")
    order = sorted(added.index, key=lambda d: (added[d], d))
    if "date" not in attributes(cases):
        return order, "added"
    dated = cases.dropna(subset=["date"])
    doc_dates = dated[dated["by"] == "document"].set_index("case")["date"].astype(str).to_dict()
    speaker_dates = dated[dated["by"] == "speaker"].set_index("case")["date"].astype(str)
    if len(speaker_dates):
        segs = project.segments()
        found = segs[segs["speaker"].isin(speaker_dates.index)]
        for doc, date in found.assign(date=found["speaker"].map(speaker_dates)).groupby("doc_id")["date"].min().items():
            doc_dates[doc] = min(date, doc_dates.get(doc, date))
    undated = "9999"
    return sorted(order, key=lambda d: (doc_dates.get(d, undated), order.index(d))), "date"


def saturation(project: Project | str | Path, coders: Sequence[str] | None = None,
               cases: pd.DataFrame | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """Per coder and document (in interview order): codes first seen there and the running total.

    Columns: :data:`COLUMNS`. ``frame.attrs`` says whose codings and which order.

    >>> import tempfile
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> seg = project.segments().segment_id.iloc[1]
    >>> _ = project.decide("ann", seg, "funding", "accept")
    >>> saturation(project)[["document", "new_codes", "cumulative"]].values.tolist()
    [['site-a/interview-01.txt', 1, 1], ['site-b/interview-02.txt', 0, 1]]
    """
    project = as_project(project)
    if cases is None:
        cases = load_cases(project)
    counted = select_codings(project, coders, adjudicator)
    order, how = document_order(project, cases)
    frames = [counted.codings[["coder", "doc_id", "code_id"]]]
    if counted.rule == "consensus":
        every = counted.every if counted.every is not None else project.codings()
        frames.insert(0, every.loc[every["coder"].isin(counted.coders), ["coder", "doc_id", "code_id"]])
    out = saturation_table(pd.concat(frames, ignore_index=True), order)
    out.attrs.update({"codings": counted.label, "order": "by the cases' date attribute" if how == "date"
                      else "in the order they were added"})
    return out


__all__ = ["COLUMNS", "document_order", "saturation", "saturation_table"]
