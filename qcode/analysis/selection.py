"""Whose codings an analysis counts, stated in one line.

A study coded by several people holds several sets of codings, and counting
them all together would count a passage twice when two coders agree and count
a code one coder applied and the other rejected. Every analysis therefore
counts one set, chosen here, and says which (:attr:`Counted.label`):

- ``coders=[NAME]``: that coder's codings, as they stand;
- no ``coders`` and one coder in the project: that coder's codings;
- otherwise (no ``coders`` with several coders, or several ``coders``): the
  **consensus** of those coders. On a passage the lead adjudicated (decisions
  of the coder ``adjudicator``, as ``qcode serve`` records them) the
  adjudicated codes count; on any other passage a code counts when every one
  of the coders who made a decision there (accept, reject or skip) applied it.
  A passage only one coder reviewed keeps that coder's codes, and the label
  says how many such passages there are.

A passage is one coded span: (document, version, start, end). Codings on a
document version that has since changed (``stale``) are left out, and the label
says how many.

>>> import pandas as pd
>>> codings = pd.DataFrame({"coder": ["ann", "ben", "ann"], "doc_id": ["d"] * 3, "doc_version": [1] * 3,
...                         "start": [0, 0, 0], "end": [5, 5, 5], "code_id": ["a", "a", "b"]})
>>> reviewed = codings[["coder", "doc_id", "doc_version", "start", "end"]].drop_duplicates()
>>> consensus(codings, reviewed, ["ann", "ben"])["code_id"].tolist()
['a']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import AnalysisError

if TYPE_CHECKING:
    from ..project import Project

#: the coder name under which ``qcode serve`` records the lead's adjudications
ADJUDICATOR = "adjudicator"
#: the columns that name one passage
PASSAGE = ["doc_id", "doc_version", "start", "end"]


@dataclass(frozen=True)
class Counted:
    """The codings an analysis counts, and a one-line statement of which they are.

    ``codings`` has the columns of :meth:`Project.codings` (one row per passage
    and code; ``coder`` holds :attr:`name`).
    """

    codings: pd.DataFrame
    label: str
    coders: tuple[str, ...]
    rule: str
    stats: dict[str, int] = field(default_factory=dict)
    #: every coder's codings on current document versions, as read (for per-coder views such as saturation)
    every: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        """``NAME`` for one coder's codings, ``consensus(A+B)`` for a consensus."""
        return self.coders[0] if self.rule == "coder" else f"consensus({'+'.join(self.coders)})"


def consensus(codings: pd.DataFrame, reviewed: pd.DataFrame, coders: Sequence[str],
              adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """The codings counted by the consensus rule (see the module docstring); a pure function.

    ``codings``: accepted codings (``coder``, the :data:`PASSAGE` columns,
    ``code_id``, anything else kept from the first coder's row); ``reviewed``:
    one row per (``coder``, passage) the coder made a standing decision on.
    """
    coders = [c for c in coders if c != adjudicator]
    if codings.empty:
        return codings.iloc[0:0]
    adjudicated = reviewed.loc[reviewed["coder"] == adjudicator, PASSAGE].drop_duplicates()
    settled = codings[codings["coder"] == adjudicator]
    rest = codings[codings["coder"].isin(coders)]
    if not adjudicated.empty:
        marker = adjudicated.assign(_adjudicated=True)
        rest = rest.merge(marker, on=PASSAGE, how="left")
        rest = rest[rest["_adjudicated"].isna()].drop(columns="_adjudicated")
    reviewers = (reviewed[reviewed["coder"].isin(coders)].drop_duplicates(["coder", *PASSAGE])
                 .groupby(PASSAGE, dropna=False).size().rename("_reviewers").reset_index())
    votes = rest.groupby([*PASSAGE, "code_id"], dropna=False)["coder"].nunique().rename("_votes").reset_index()
    votes = votes.merge(reviewers, on=PASSAGE, how="left")
    agreed = votes.loc[votes["_votes"] >= votes["_reviewers"].fillna(1), [*PASSAGE, "code_id"]]
    first = rest.drop_duplicates([*PASSAGE, "code_id"])
    kept = first.merge(agreed, on=[*PASSAGE, "code_id"], how="inner")
    out = pd.concat([settled, kept], ignore_index=True)
    return out.sort_values([*PASSAGE, "code_id"]).reset_index(drop=True)


def _reviewed(decisions: pd.DataFrame) -> pd.DataFrame:
    live = decisions[(~decisions["undone"]) & decisions["verdict"].isin(["accept", "reject", "skip"])]
    return live[["coder", *PASSAGE]].drop_duplicates()


def as_project(project: Project | str | Path) -> Project:
    """A project, opened from its folder or URL when given one."""
    from ..project import open_project

    return open_project(project) if isinstance(project, (str, Path)) else project


def select_codings(project: Project | str | Path, coders: Sequence[str] | None = None,
                   adjudicator: str = ADJUDICATOR) -> Counted:
    """The codings of ``project`` an analysis counts (see the module docstring).

    >>> import tempfile
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> seg = project.segments().segment_id.iloc[1]
    >>> _ = project.decide("ann", seg, "funding", "accept")
    >>> select_codings(project).label
    "codings counted: ann's (the project's only coder); 1 coding on 1 passage"
    """
    project = as_project(project)
    known = project.coders()
    wanted = list(dict.fromkeys(coders or []))
    for name in wanted:
        if name not in known:
            raise AnalysisError(f"{project.path}: unknown coder {name!r} (coders: {', '.join(known) or 'none yet'})")
    humans = [c for c in known if c != adjudicator]
    single = len(wanted) == 1 or (not wanted and len(humans) <= 1)
    name = (wanted[0] if wanted else (humans[0] if humans else "")) if single else ""
    all_codings = project.codings(name) if name else project.codings()  # one coder's: read only theirs
    stale = all_codings["stale"].astype(bool) if len(all_codings) else pd.Series([], dtype=bool)
    left_out = int(stale.sum())
    codings = all_codings[~stale] if len(all_codings) else all_codings
    if single:
        mine = codings[codings["coder"] == name].reset_index(drop=True)
        why = "" if wanted else " (the project's only coder)"
        label = f"codings counted: {name}'s{why}" if name else "codings counted: none (no coder has coded yet)"
        return _counted(mine, label, (name,) if name else (), "coder", left_out, every=codings)
    group = wanted or humans
    names = [c for c in group if c != adjudicator]
    decisions = project.decisions()
    reviewed = _reviewed(decisions)
    reviewed = reviewed.merge(codings[PASSAGE].drop_duplicates(), on=PASSAGE, how="inner") \
        if not codings.empty else reviewed.iloc[0:0]
    use_adjudicator = adjudicator in known and (not wanted or adjudicator in wanted)
    pool = codings[codings["coder"].isin(names + ([adjudicator] if use_adjudicator else []))]
    if not use_adjudicator:
        reviewed = reviewed[reviewed["coder"] != adjudicator]
    counted = consensus(pool, reviewed, names, adjudicator)
    stats = _consensus_stats(reviewed, names, adjudicator)
    label = (f"codings counted: consensus of {', '.join(names)} (the lead's codes where adjudicated, else the codes "
             f"every coder who reviewed the passage applied): {stats['adjudicated']} passage(s) adjudicated, "
             f"{stats['shared']} reviewed by several coders, {stats['single']} by one coder only")
    counted = counted.assign(coder=f"consensus({'+'.join(names)})")
    return _counted(counted, label, tuple(names), "consensus", left_out, stats, every=codings)


def _consensus_stats(reviewed: pd.DataFrame, names: Sequence[str], adjudicator: str) -> dict[str, int]:
    adjudicated = reviewed.loc[reviewed["coder"] == adjudicator, PASSAGE].drop_duplicates()
    others = reviewed[reviewed["coder"].isin(names)]
    if not adjudicated.empty:
        others = others.merge(adjudicated.assign(_a=1), on=PASSAGE, how="left")
        others = others[others["_a"].isna()]
    per = others.groupby(PASSAGE, dropna=False)["coder"].nunique()
    return {"adjudicated": len(adjudicated), "shared": int((per > 1).sum()), "single": int((per == 1).sum())}


def _counted(codings: pd.DataFrame, label: str, coders: tuple[str, ...], rule: str, stale: int,
             stats: dict[str, int] | None = None, every: pd.DataFrame | None = None) -> Counted:
    passages = len(codings[PASSAGE].drop_duplicates()) if len(codings) else 0
    label += f"; {len(codings)} coding{'s' if len(codings) != 1 else ''} on {passages} passage{'s' if passages != 1 else ''}"
    if stale:
        label += f"; {stale} coding(s) on documents changed since left out"
    return Counted(codings.reset_index(drop=True), label, coders, rule, {**(stats or {}), "stale": stale}, every)


def describe(counted: Counted) -> dict[str, Any]:
    """The metadata every analysis output carries: the label, the rule and the coders."""
    return {"codings": counted.label, "rule": counted.rule, "coders": list(counted.coders)}


__all__ = ["ADJUDICATOR", "Counted", "PASSAGE", "as_project", "consensus", "describe", "select_codings"]
