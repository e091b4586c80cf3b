"""The study report's content, gathered once: what :mod:`.report_html` and :mod:`.report_docx` lay out.

It has the shape of a qualitative paper's results: participants by attribute
(the paper's Tables 4 and 5), each domain with its themes, their numbers of
cases and passages and indicative quotes (Table 6), the framework figure
(Figure 2: the codebook's domains with their themes, each labelled with its
number of cases), a code-by-attribute matrix per attribute asked for,
co-occurrence, saturation, inter-coder agreement where there are two or more
coders, and the memos. Everything counts the codings chosen by
:func:`qcode.analysis.select_codings`, and the report says which.

Participants: with attributes ``by=[A, B, C]``, the first is the row of each
table and each other one its columns (``phase`` x ``org_type``, ``phase`` x
``role``, as in the paper); with one attribute, one table of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AgreementError
from . import charts
from .cooccur import pairs_from_units, square, units_of
from .matrix import code_matrix, code_name, code_order, participants, rollup_map
from .passages import attributes, check_attribute, coded_passages, load_cases, passage_keys
from .quotes import quotes_from_passages
from .report_data import Domain, StudyReport, Theme
from .report_docx import render_docx
from .report_html import render_html
from .saturation import document_order, saturation_table
from .selection import ADJUDICATOR, select_codings

if TYPE_CHECKING:
    from ..embed import Embedder
    from ..project import Project


def code_totals(passages: pd.DataFrame, codebook: Any, order: Sequence[str]) -> pd.DataFrame:
    """Distinct cases and passages per code, domains rolled up (indexed by code id, in ``order``)."""
    if passages.empty:
        return pd.DataFrame({"cases": 0, "passages": 0}, index=list(order))
    frame = pd.DataFrame({"code_id": passages["code_id"].to_numpy(), "case": passages["case"].to_numpy(),
                          "passage": passage_keys(passages).to_numpy()})
    expanded = frame.merge(rollup_map(codebook, frame["code_id"].unique().tolist()), on="code_id")
    grouped = expanded.groupby("row_id")
    return pd.DataFrame({"cases": grouped["case"].nunique(), "passages": grouped["passage"].nunique()}) \
        .reindex(list(order), fill_value=0).astype(np.int64)


def _participant_tables(cases: pd.DataFrame, by: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    if not by:
        return [("Cases", participants(cases))]
    if len(by) == 1:
        return [(f"Participants by {by[0]}", participants(cases, columns=by[0]))]
    return [(f"Participants by {by[0]} and {other}", participants(cases, by[0], other)) for other in by[1:]]


def _agreement(project: Project, coders: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
    if len(coders) < 2:
        return None, "one coder: no agreement to report"
    from ..agreement import project_report

    try:
        result = project_report(project, coders=list(coders), n_boot=0)
    except AgreementError as exc:
        return None, f"agreement not computed: {exc}"
    table = result.formatted().reset_index()
    return table, result.describe() if hasattr(result, "describe") else ""


def _memos(project: Project) -> pd.DataFrame | None:
    memos = project.memos()
    if not len(memos):
        return None
    return memos[["memo_id", "target_kind", "target_id", "text", "author", "time", "version"]].reset_index(drop=True)


def build_report(project: Project, coders: Sequence[str] | None = None, by: Sequence[str] = (),
                 per_code: int = 3, embedder: Embedder | None = None, cases: pd.DataFrame | None = None,
                 adjudicator: str = ADJUDICATOR, level: str = "segment") -> StudyReport:
    """Gather the report of ``project`` (see the module docstring); :func:`write_report` writes it."""
    if cases is None:
        cases = load_cases(project)
    by = [check_attribute(cases, name) for name in dict.fromkeys(by)]
    counted = select_codings(project, coders, adjudicator)
    passages = coded_passages(project, counted, cases)
    codebook = project.codebook_or_none()
    order = code_order(codebook, passages["code_id"].unique().tolist() if len(passages) else [])
    totals = code_totals(passages, codebook, order)
    if embedder is None:
        from ..embed import load_embedder

        embedder = load_embedder()
    leaves = [c for c in order if codebook is None or not codebook.children(c)]
    coded = [c for c in leaves if totals.loc[c, "passages"] > 0]
    quotes = quotes_from_passages(project, passages, attributes(cases), coded, per_code, embedder)
    domains = _domains(codebook, order, totals, quotes)
    case_unit = "participants" if (cases["by"] == "speaker").any() else "documents"
    framework = charts.framework_figure([(d.name, d.cases, [(t.name, t.cases) for t in d.themes]) for d in domains],
                                        unit=case_unit)
    matrices = [(name, code_matrix(passages, codebook, name, "cases",
                                   sorted(cases[name].dropna().astype(str).unique().tolist()))) for name in by]
    pairs = pairs_from_units(units_of(passages, level), passages["code_id"]) if len(passages) else \
        pd.DataFrame(columns=["code_a", "code_b", "count", "n_a", "n_b", "jaccard", "c_coefficient"])
    used = [c for c in order if c in set(pairs["code_a"]) | set(pairs["code_b"])]
    heat = charts.heatmap(square(pairs, used).rename(index=lambda c: code_name(codebook, c),
                                                     columns=lambda c: code_name(codebook, c))) if used else None
    doc_order, how = document_order(project, cases)
    every = counted.every if counted.every is not None else project.codings()
    per_coder = every.loc[every["coder"].isin(counted.coders), ["coder", "doc_id", "code_id"]] if len(every) else every
    frames = [per_coder] + ([counted.codings[["coder", "doc_id", "code_id"]]] if counted.rule == "consensus" else [])
    saturation = saturation_table(pd.concat(frames, ignore_index=True), doc_order)
    humans = [c for c in counted.coders if c]
    agreement, agreement_note = _agreement(project, humans) if counted.rule == "consensus" else \
        (None, "one coder's codings: no agreement to report")
    cb = f"{codebook.name} {codebook.version}" if codebook is not None else "none"
    provenance = {"project": str(project.path), "codebook": cb,
                  "quotes": f"{per_code} per theme, picked with {embedder.identity.get('name', 'the embedder')}",
                  "co-occurrence unit": level}
    case_count = int(passages["case"].nunique()) if len(passages) else 0
    return StudyReport(
        title=f"Study report: {Path(str(project.path)).name}", codings=counted.label, provenance=provenance,
        n_cases=case_count, case_unit=case_unit, participants=_participant_tables(cases, by), domains=domains,
        matrices=matrices, cooccurrence=pairs, saturation=saturation,
        saturation_order="by the cases' date attribute" if how == "date" else "in the order they were added",
        agreement=agreement, agreement_note=agreement_note, memos=_memos(project),
        figures={"framework": framework, "heatmap": heat,
                 "saturation": charts.saturation_chart(saturation) if len(saturation) else None})


def _domains(codebook: Any, order: Sequence[str], totals: pd.DataFrame, quotes: pd.DataFrame) -> list[Domain]:
    def theme(code: str) -> Theme:
        return Theme(code, code_name(codebook, code), int(totals.loc[code, "cases"]),
                     int(totals.loc[code, "passages"]), quotes[quotes["code_id"] == code].reset_index(drop=True))

    if codebook is None:
        return [Domain("", "Codes", 0, 0, [theme(c) for c in order])]
    domains = []
    loose = []
    for root in codebook.roots():
        leaves = [c.id for c in codebook.leaves() if codebook.root_of(c.id).id == root.id and c.id != root.id]
        if leaves:
            domains.append(Domain(root.id, root.name, int(totals.loc[root.id, "cases"]),
                                  int(totals.loc[root.id, "passages"]), [theme(c) for c in leaves]))
        else:
            loose.append(root.id)
    if loose:
        domains.append(Domain("", "Codes without a domain", 0, 0, [theme(c) for c in loose]))
    return domains





def _html(report: StudyReport) -> bytes:
    return render_html(report).encode("utf-8")


def _docx(report: StudyReport) -> bytes:
    return render_docx(report)


#: suffix -> renderer of the report's bytes
REPORT_FORMATS = {".html": _html, ".htm": _html, ".docx": _docx}


def write_report(project: Project | str | Path, out: str | Path, coders: Sequence[str] | None = None, by: Sequence[str] = (),
                 per_code: int = 3, embedder: Embedder | None = None, cases: pd.DataFrame | None = None,
                 adjudicator: str = ADJUDICATOR) -> StudyReport:
    """Write the study report of ``project`` to ``out`` (.html or .docx), atomically; returns its content.

    >>> import tempfile, pathlib
    >>> from qcode.embed.fake import FakeEmbedder
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> seg = project.segments().segment_id.iloc[1]
    >>> _ = project.decide("ann", seg, "funding", "accept")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> report = write_report(project, out, embedder=FakeEmbedder())
    >>> "Funding" in out.read_text(), report.codings.startswith("codings counted: ann's")
    (True, True)
    """
    from .._io import atomic_write_bytes
    from ..errors import AnalysisError

    path = Path(out)
    render = REPORT_FORMATS.get(path.suffix.lower())
    if render is None:
        raise AnalysisError(f"{path}: a report is written as {', '.join(REPORT_FORMATS)}, not "
                            f"{path.suffix or 'a file without a suffix'!r}")
    from ..project import open_project

    report = build_report(open_project(project) if isinstance(project, (str, Path)) else project, coders, by, per_code, embedder, cases, adjudicator)
    atomic_write_bytes(path, render(report))
    return report


__all__ = ["REPORT_FORMATS", "Domain", "StudyReport", "Theme", "build_report", "code_totals", "write_report"]
