"""Cases and their attributes: who said what, as an append-only history.

A **case** is a participant or a whole document:

* ``by="speaker"``: a speaker label as written in the transcripts (``P07``,
  ``Anna``), possibly across several documents (a person interviewed twice, a
  focus-group member);
* ``by="document"``: a document id (one-to-one interviews with unlabelled
  answers; each row of a survey table, ``FILE#ID``).

Attributes (``phase``, ``org_type``, ``sector``, ``role``...) are versioned
like decisions: setting one appends an event to ``case_events``, so a change
is a new event and :meth:`CaseStore.cases` with ``as_of`` shows the cases as
they stood earlier. A passage's case is its segment's speaker (speaker cases)
or its document (document cases): :func:`case_of_segments`.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> project = build_sample_project(tempfile.mkdtemp() + "/study")
>>> project.set_case_attributes("P1", {"site": "a", "role": "nurse"}, author="alice")
2
>>> project.cases()
  case       by   role site
0   P1  speaker  nurse    a
>>> project.set_case_attributes("P1", {"role": "manager"}, author="alice")
1
>>> project.case_history()[["case", "attribute", "value"]].values.tolist()
[['P1', None, None], ['P1', 'site', 'a'], ['P1', 'role', 'nurse'], ['P1', 'role', 'manager']]
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..document import Document
from ..errors import InputError, ProjectError
from ..ingest.tables import row_attributes
from .base import now_utc
from .caseinput import (
    MANY_VALUES,
    ManyValuesWarning,
    attribute_text,
    check_attribute_name,
    check_case_name,
    read_cases_table,
    unmatched_message,
)
from .decisions import DecisionStore
from .schema import CASE_KINDS
from .validation import check_coder, is_int

#: the columns of :meth:`CaseStore.case_history`
HISTORY_COLUMNS = ["case", "by", "attribute", "value", "author", "time", "event_id", "source"]


def check_by(by: Any) -> str:
    """``"speaker"`` or ``"document"``; ProjectError otherwise."""
    if by not in CASE_KINDS:
        raise ProjectError(f"a case is by {' or '.join(repr(k) for k in CASE_KINDS)}, got {by!r}")
    return str(by)


def _moment(value: str) -> datetime:
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def cut_as_of(frame: Any, as_of: int | str | None) -> Any:
    """The rows of an event frame (``event_id``, ``time``) made up to an event id or ISO time (pure).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"event_id": [1, 2], "time": ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"]})
    >>> cut_as_of(f, 1).event_id.tolist(), cut_as_of(f, "2026-01-01T12:00:00Z").event_id.tolist()
    ([1], [1])
    """
    if as_of is None:
        return frame
    if is_int(as_of) or (isinstance(as_of, str) and as_of.strip().isdigit()):
        return frame[frame["event_id"] <= int(as_of)]
    try:
        moment = _moment(str(as_of))
    except ValueError:
        raise ProjectError(f"as_of {as_of!r} is neither an event id nor an ISO time (e.g. 2026-11-25T14:30:00)") from None
    return frame[[_moment(t) <= moment for t in frame["time"]]]


def current_attributes(history: Any) -> Any:
    """The cases table (``case, by``, one column per attribute, sorted) from an attribute history (pure)."""
    import pandas as pd

    if history.empty:
        return pd.DataFrame(columns=["case", "by"])
    ordered = history.sort_values("event_id")
    keys = ordered[["by", "case"]].drop_duplicates()
    set_rows = ordered[ordered["attribute"].notna()]
    latest = set_rows.groupby(["by", "case", "attribute"], sort=False).tail(1)
    latest = latest[latest["value"].notna()]
    wide = latest.pivot(index=["by", "case"], columns="attribute", values="value") if not latest.empty else None
    names = sorted(set_rows["attribute"].unique())
    frame = keys.set_index(["by", "case"])
    if wide is not None:
        frame = frame.join(wide)
    frame = frame.reindex(columns=names).reset_index()
    frame = frame.sort_values(["by", "case"], key=lambda s: s.astype(str)).reset_index(drop=True)
    frame = frame[["case", "by", *names]].astype(object)
    return frame.where(frame.notna(), None)


def case_of_segments(segments: Any, cases: Any) -> Any:
    """Each segment's case (a pandas Series aligned with ``segments``; None where it has none).

    ``segments`` is :meth:`Project.segments` (or any frame with ``speaker`` and
    ``doc_id``), ``cases`` is :meth:`Project.cases`. A segment belongs to its
    speaker's case when that speaker is a case, else to its document's case
    when the document is one (a speaker case is the more specific), else to none.

    >>> import pandas as pd
    >>> segs = pd.DataFrame({"speaker": ["P1", "Interviewer", None], "doc_id": ["a", "a", "b"]})
    >>> cases = pd.DataFrame({"case": ["P1", "b"], "by": ["speaker", "document"]})
    >>> case_of_segments(segs, cases).tolist()
    ['P1', None, 'b']
    """
    import pandas as pd

    speakers = set(cases.loc[cases["by"] == "speaker", "case"])
    documents = set(cases.loc[cases["by"] == "document", "case"])
    out = [sp if sp in speakers else (doc if doc in documents else None)
           for sp, doc in zip(segments["speaker"], segments["doc_id"])]
    return pd.Series(out, index=segments.index, name="case", dtype=object)


def case_of_codings(codings: Any, segments: Any, cases: Any) -> Any:
    """Each coding's case (a Series aligned with ``codings``): its segment's, or, for a span coded by
    offsets, the case of the segment of its document version that contains the span's start.

    ``codings`` is :meth:`Project.codings`; ``segments`` is :meth:`Project.segments`
    with ``all_versions=True`` (so stale codings find their version's segments).
    """
    import pandas as pd

    seg_case = case_of_segments(segments, cases)
    by_id = dict(zip(zip(segments["segment_id"], segments["doc_version"]), seg_case))
    spans: dict[tuple[str, int], list[tuple[int, int, Any]]] = {}
    for doc, version, start, end, case in zip(segments["doc_id"], segments["doc_version"], segments["start"],
                                              segments["end"], seg_case):
        spans.setdefault((doc, int(version)), []).append((int(start), int(end), case))
    documents = set(cases.loc[cases["by"] == "document", "case"])
    out = []
    for seg_id, doc, version, start in zip(codings["segment_id"], codings["doc_id"], codings["doc_version"],
                                           codings["start"]):
        if isinstance(seg_id, str) and (seg_id, version) in by_id:
            out.append(by_id[(seg_id, version)])
            continue
        found = next((c for s, e, c in spans.get((doc, int(version)), ()) if s <= int(start) < e), None)
        out.append(found if found is not None else (doc if doc in documents else None))
    return pd.Series(out, index=codings.index, name="case", dtype=object)


def parse_assignments(items: list[str]) -> dict[str, str | None]:
    """``ATTR=VALUE`` items as a mapping (``ATTR=`` clears), for the command line.

    >>> parse_assignments(["phase=2", "role = lead nurse", "note="])
    {'phase': '2', 'role': 'lead nurse', 'note': None}
    """
    out: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{item!r}: expected ATTRIBUTE=VALUE (ATTRIBUTE= clears it)")
        out[name.strip()] = value.strip() or None
    return out


class CaseStore(DecisionStore):
    """Cases and their attribute history (part of :class:`qcode.project.Project`)."""

    def _default_author(self) -> str | None:
        """Who writes when no author is named (the PostgreSQL store: the connected role)."""
        return None

    def _author(self, author: str | None) -> str | None:
        return check_coder(author) if author is not None else self._default_author()

    def case_names(self, by: str = "speaker") -> list[str]:
        """What can be a case: the speaker labels of the current documents, or their document ids (sorted)."""
        check_by(by)
        if by == "document":
            return sorted(self._latest_versions())
        rows = self._query("SELECT DISTINCT s.speaker FROM segments s WHERE s.speaker IS NOT NULL AND s.doc_version = "
                           "(SELECT MAX(version) FROM documents d WHERE d.doc_id = s.doc_id)")
        names = {r[0] for r in rows}
        for row in self._query("SELECT d.turns FROM documents d WHERE d.version = "
                               "(SELECT MAX(version) FROM documents x WHERE x.doc_id = d.doc_id)"):
            try:
                names.update(t.get("speaker") for t in json.loads(row[0]) if isinstance(t, dict))
            except (TypeError, ValueError):
                continue
        return sorted(n for n in names if isinstance(n, str) and n)

    def _history_frame(self) -> Any:
        import pandas as pd

        if self.schema_version < 3:  # an older project opened read-only: no cases yet
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        rows = self._query("SELECT case_name, case_by, attribute, value, author, time, event_id, source "
                           "FROM case_events ORDER BY event_id")
        frame = pd.DataFrame([tuple(r) for r in rows], columns=HISTORY_COLUMNS).astype(object)
        frame = frame.where(frame.notna(), None)
        frame["event_id"] = frame["event_id"].astype(int)
        return frame

    def case_history(self) -> Any:
        """Every case event, oldest first: ``case, by, attribute, value, author, time, event_id, source``.

        ``attribute`` is None on the event that only registered a case;
        ``value`` is None where an attribute was cleared.
        """
        return self._history_frame()

    def cases(self, as_of: int | str | None = None) -> Any:
        """One row per case: ``case``, ``by``, then one column per attribute name (sorted), values as text.

        A missing value is None. ``as_of`` (an event id of the case history or an
        ISO time) gives the cases as they stood then.
        """
        return current_attributes(cut_as_of(self._history_frame(), as_of))

    def set_case_attributes(self, case: str, attributes: Mapping[str, Any], by: str = "speaker",
                            author: str | None = None) -> int:
        """Set attributes of one case (registering it if new); returns how many values changed.

        A value of None or ``""`` clears the attribute. A value equal to the
        current one writes nothing. ``case`` must be a speaker label of the
        transcripts (``by="speaker"``) or a document id (``by="document"``).
        """
        by = check_by(by)
        name = check_case_name(case, "")
        values = {check_attribute_name(k): attribute_text(v, f"case {name!r}: attribute {k!r}: ")
                  for k, v in attributes.items()}
        _, changed = self._write_cases({name: values}, by, self._author(author), "api", where=str(self.path))
        return changed

    def import_cases(self, path: str | Path, by: str = "speaker", author: str | None = None) -> dict[str, Any]:
        """Read a cases table (``.csv``/``.xlsx``; first column ``case``, the others attributes) into the project.

        Everything is checked before anything is written (see
        :mod:`qcode.project.caseinput`); then all of it is written in one
        transaction. An empty cell clears the attribute of that case if it had
        a value. Importing the same table again changes nothing.
        Returns ``{"file", "by", "cases", "new_cases", "attributes", "changed"}``.
        """
        by = check_by(by)
        author = self._author(author)
        table = read_cases_table(path)
        if not table.values:
            raise InputError(f"{path}: no cases (the table has a header but no rows)")
        for name in table.attributes:
            distinct = {v[name] for v in table.values.values() if v.get(name) is not None}
            if len(distinct) > MANY_VALUES:
                warnings.warn(f"{path}: attribute {name!r} has {len(distinct)} distinct values: a table of cases "
                              "by it will be unreadable (is it an id or free text?)", ManyValuesWarning, stacklevel=2)
        new, changed = self._write_cases(table.values, by, author, f"import:{Path(path).name}", where=str(path))
        return {"file": str(path), "by": by, "cases": len(table.values), "new_cases": new,
                "attributes": list(table.attributes), "changed": changed}

    def set_document_attributes(self, docs: Iterable[Document], columns: Sequence[str],
                                author: str | None = None) -> int:
        """Give each table row's case (its document, ``FILE#ID``) the cells of ``columns`` as attributes.

        For spreadsheets of responses (``qcode suggest TABLE --attribute-column COL``);
        the documents must be in the project. Returns how many values changed.
        """
        values: dict[str, dict[str, str | None]] = {}
        for doc in docs:
            where = f"{doc.source or doc.id}: row {doc.metadata.get('row', '?')}: "
            values[doc.id] = {check_attribute_name(name, where): attribute_text(value, f"{where}column {name!r}: ")
                              for name, value in row_attributes(doc, columns).items()}
        if not values:
            return 0
        return self._write_cases(values, "document", self._author(author), "table", where=str(self.path))[1]

    def _write_cases(self, values: Mapping[str, Mapping[str, str | None]], by: str, author: str | None,
                     source: str, where: str) -> tuple[int, int]:
        """Append the events that bring ``values`` about, in one transaction; (new cases, changed values)."""
        known = set(self.case_names(by))
        unknown = [c for c in values if c not in known]
        if unknown:
            raise InputError(unmatched_message(where, unknown, known, by))
        new = changed = 0
        with self.transaction():
            history = self._history_frame()
            mine = history[history["by"] == by]
            present = set(mine["case"])
            current: dict[tuple[str, str], str | None] = {}
            for case, attribute, value in zip(mine["case"], mine["attribute"], mine["value"]):
                if attribute is not None:
                    current[(case, attribute)] = value
            stamp = now_utc()
            insert = ("INSERT INTO case_events (time, author, case_by, case_name, attribute, value, source) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)")
            for case, attrs in values.items():
                if case not in present:
                    self._conn.execute(insert, (stamp, author, by, case, None, None, source))
                    new += 1
                for attribute, value in attrs.items():
                    if current.get((case, attribute)) == value:
                        continue
                    self._conn.execute(insert, (stamp, author, by, case, attribute, value, source))
                    changed += 1
        return new, changed

    def case_summary(self, coder: str | None = None) -> Any:
        """The cases with ``passages`` (segments of the current documents that are theirs) and ``coded``
        (of those, how many carry a coding; of ``coder`` only when given), then the attributes.
        """
        cases = self.cases()
        if coder is not None:
            self.require_coder(coder)
        segments = self.segments()
        owner = case_of_segments(segments, cases)
        coded_ids = set(self.codings(coder)["segment_id"].dropna())
        passages = owner.value_counts()
        coded = owner[segments["segment_id"].isin(coded_ids)].value_counts()
        summary = cases[["case", "by"]].copy()
        summary["passages"] = [int(passages.get(c, 0)) for c in summary["case"]]
        summary["coded"] = [int(coded.get(c, 0)) for c in summary["case"]]
        return summary.join(cases.drop(columns=["case", "by"]))


__all__ = ["CaseStore", "HISTORY_COLUMNS", "parse_assignments", "case_of_codings", "case_of_segments", "check_by", "current_attributes",
           "cut_as_of"]
