"""From the decision log to codings: migrations followed, the log cut at a point in time (pure).

>>> resolve_migration("funding", {"funding": "money", "money": "budget"})
'budget'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..codebook.model import Codebook
from ..errors import ProjectError
from .validation import is_int


def resolve_migration(code_id: str, migrations: Mapping[str, str | None]) -> str | None:
    """Follow explicit codebook migrations from ``code_id`` to the code it now lives on (None: dropped)."""
    seen = {code_id}
    current: str | None = code_id
    while current is not None and current in migrations:
        current = migrations[current]
        if current is None or current in seen:
            return current
        seen.add(current)
    return current


def log_as_of(decisions: Any, as_of: int | str) -> Any:
    """The decision log as it stood at an event id or ISO time, undo marks recomputed."""
    if is_int(as_of) or (isinstance(as_of, str) and as_of.strip().isdigit()):
        cut = decisions[decisions["event_id"] <= int(as_of)].copy()
    else:
        try:
            moment = datetime.fromisoformat(str(as_of).strip())
        except ValueError:
            raise ProjectError(f"as_of {as_of!r} is neither an event id nor an ISO time "
                               "(e.g. 2026-11-25T14:30:00)") from None
        times = []
        for event_id, t in zip(decisions["event_id"], decisions["time"]):
            try:
                times.append(datetime.fromisoformat(str(t)))
            except ValueError:
                raise ProjectError(f"event {event_id} has a time {t!r} that is not ISO 8601; "
                                   "use an event id for as_of instead") from None
        if moment.tzinfo is None:
            times = [t.replace(tzinfo=None) for t in times]
        elif times and times[0].tzinfo is None:
            moment = moment.replace(tzinfo=None)
        cut = decisions[[t <= moment for t in times]].copy()
    undone_ids = set(cut.loc[cut["verdict"] == "undo", "undoes"].dropna().astype(int))
    cut["undone"] = cut["event_id"].isin(undone_ids)
    return cut


def derive_codings(decisions: Any, migrations: Mapping[str, str | None], codebook: Codebook | None,
                   latest: Mapping[str, tuple[int, str]], keep_rejected: bool = False):
    """Current codings from a decision log (pure function of its inputs).

    ``decisions`` is the frame of :meth:`Project.decisions`; ``migrations``
    maps dropped code ids to their new id (or None); ``latest`` maps doc_id to
    (current version, sha256). Returns the frame described in
    :meth:`Project.codings`; with ``keep_rejected`` the standing rejections
    are kept too and a ``verdict`` column tells them apart.
    """
    import pandas as pd

    columns = ["doc_id", "doc_version", "segment_id", "start", "end", "text", "code_id", "code_name",
               "coder", "time", "event_id", "source", "note", "stale"]
    if keep_rejected:
        columns.insert(columns.index("coder") + 1, "verdict")
    live = _standing(decisions)
    if live.empty:
        return pd.DataFrame(columns=columns)

    live["code_id"] = [resolve_migration(c, migrations) for c in live["code_id"]]
    live = live[live["code_id"].notna()]
    key = ["coder", "doc_id", "doc_version", "start", "end", "code_id"]
    last = live.sort_values("event_id").groupby(key, sort=False, dropna=False).tail(1)
    kept = (last if keep_rejected else last[last["verdict"] == "accept"]).copy()
    kept["code_name"] = [_code_name(codebook, c) for c in kept["code_id"]]
    kept["stale"] = [int(v) != latest.get(d, (v, ""))[0] for d, v in zip(kept["doc_id"], kept["doc_version"])]
    kept = kept.sort_values(["doc_id", "doc_version", "start", "end", "coder", "code_id"])
    return kept[columns].reset_index(drop=True)


SPAN = ["coder", "doc_id", "doc_version", "start", "end"]


def _standing(decisions: Any) -> Any:
    """The accepts and rejects in effect (not undone), an accept made before a later "no code" on its
    span turned into a reject: "no code" sets aside the codes the coder had given the passage."""
    live = decisions[(~decisions["undone"]) & decisions["verdict"].isin(["accept", "reject", "no_code"])].copy()
    nocode = live[live["verdict"] == "no_code"]
    live = live[live["verdict"] != "no_code"]
    if len(nocode) and len(live):
        latest = nocode.groupby(SPAN, dropna=False)["event_id"].max().rename("no_code_at").reset_index()
        live = live.merge(latest, on=SPAN, how="left")
        set_aside = (live["verdict"] == "accept") & live["no_code_at"].notna() & (live["event_id"] < live["no_code_at"])
        live.loc[set_aside, "verdict"] = "reject"
        live = live.drop(columns="no_code_at")
    return live


def no_code_spans(decisions: Any, migrations: Mapping[str, str | None]) -> Any:
    """Per coder, the passages where no code stands: a "no code" decision not followed by an accept, or
    rejections and no accept in effect (see :meth:`Project.no_code_passages`)."""
    import pandas as pd

    columns = ["coder", "doc_id", "doc_version", "segment_id", "start", "end", "text", "how", "rejections",
               "event_id"]
    live = decisions[(~decisions["undone"]) & decisions["verdict"].isin(["accept", "reject", "no_code"])]
    if live.empty:
        return pd.DataFrame(columns=columns)
    live = live.copy()
    live["code_id"] = [resolve_migration(c, migrations) if isinstance(c, str) else None for c in live["code_id"]]
    rows = []
    for span, group in live.sort_values("event_id").groupby(SPAN, sort=True, dropna=False):
        verdicts: dict[str, str] = {}
        said_none = False
        for verdict, code in zip(group["verdict"], group["code_id"]):
            if verdict == "no_code":
                said_none = True
                verdicts = dict.fromkeys(verdicts, "reject")
            elif isinstance(code, str):
                verdicts[code] = verdict
                said_none = said_none and verdict != "accept"
        rejections = sum(1 for v in verdicts.values() if v == "reject")
        if "accept" in verdicts.values() or not (said_none or rejections):
            continue
        last = group.iloc[-1]
        rows.append((*span[:3], last["segment_id"] if isinstance(last["segment_id"], str) else None,
                     int(span[3]), int(span[4]), last["text"], "no_code" if said_none else "rejected", rejections,
                     int(last["event_id"])))
    return pd.DataFrame(rows, columns=columns)


def _code_name(codebook: Codebook | None, code_id: str) -> str:
    code = codebook.get(code_id) if codebook is not None else None
    return code.name if code is not None else code_id


__all__ = ["derive_codings", "log_as_of", "no_code_spans", "resolve_migration"]
