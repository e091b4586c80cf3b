"""Agreement on a project or a CSV of codings, with the pseudo-coders a study compares against.

Two pseudo-coders join the human coders of a project:

- the **model**: a suggestion run read as the codings of a coder named ``model``
  (:func:`model_codings`), to report how far the suggestions agree with people;
- a **coder as they stood earlier**: ``CODER@WHEN`` replays CODER's decisions up to an
  event id or an ISO time (:func:`codings_as_of`), e.g. to compare before and after review.

>>> from qcode.project.sample import build_sample_project
>>> import tempfile, pathlib
>>> project = build_sample_project(pathlib.Path(tempfile.mkdtemp()) / "study")
>>> segs = project.segments().query("role == 'participant'")["segment_id"].tolist()
>>> for seg, code in zip(segs, ["funding", "staffing", "communication", "coordination"]):
...     _ = project.decide("ann", seg, code, "accept")
>>> r = project_report(project, coders="ann", model_run="latest", n_boot=0)
>>> r.coders
['ann', 'model']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import AgreementError
from .build import report
from .coding import read_codings_csv, suggestions_to_codings
from .result import AgreementReport

if TYPE_CHECKING:
    from ..project import Project

MODEL = "model"


def model_codings(project: Project, run: int | str = "latest", top: int | None = None,
                  threshold: float | None = None, coder: str = MODEL) -> pd.DataFrame:
    """A suggestion run of ``project`` as the codings of the pseudo-coder ``coder``.

    ``run`` is a run id or ``"latest"``. Without ``top`` or ``threshold`` the top-1
    code of each segment counts as applied; with a threshold alone, every code
    scoring at least that; with both, a suggestion must pass both.
    """
    run_id = _run_id(run)
    suggestions = project.suggestions(run=run_id)
    if len(suggestions) == 0:
        raise AgreementError(f"{project.path}: suggestion run {run} has no suggestions")
    chosen_top = top if top is not None else (None if threshold is not None else 1)
    return suggestions_to_codings(suggestions, top=chosen_top, threshold=threshold, coder=coder)


def codings_as_of(project: Project, spec: str) -> pd.DataFrame:
    """The codings of CODER as they stood at WHEN, for ``spec`` ``"CODER@WHEN"``, under the coder name ``spec``.

    WHEN is an event id of the decision log or an ISO time.
    """
    coder, _, when = spec.partition("@")
    if not coder or not when:
        raise AgreementError(f"--as-of: expected CODER@WHEN (an event id or ISO time), got {spec!r}")
    earlier = project.codings(coder, as_of=when)
    earlier["coder"] = spec
    return earlier


def project_report(project: Project, coders: Sequence[str] | str | None = None, unit: str = "segment",
                   include_uncoded: bool | None = None, overlap: str = "documents",
                   model_run: int | str | None = None, threshold: float | None = None, top: int | None = None,
                   as_of: str | None = None, n_boot: int = 1000, seed: int = 0) -> AgreementReport:
    """Agreement between the coders of ``project``, optionally with the model and a coder as of a time.

    ``model_run`` (a run id or ``"latest"``) adds the pseudo-coder ``model`` (see
    :func:`model_codings`; ``threshold`` and ``top`` choose its codings); ``as_of``
    (``"CODER@WHEN"``) adds that coder's earlier codings as the coder ``"CODER@WHEN"``.
    Pseudo-coders are compared even when ``coders`` does not name them. The universe of
    units is the project's segments (its documents at character level), and the report's
    provenance names the project's codebook. Other parameters as :func:`qcode.agreement.report`.
    """
    codings = project.codings()
    if codings.empty and model_run is None and as_of is None:
        raise AgreementError(f"{project.path}: the project has no codings yet (accept some suggestions first)")
    chosen = _coder_list(coders)
    extra = []
    if model_run is not None:
        extra.append(model_codings(project, model_run, top=top, threshold=threshold))
        chosen = _with(chosen, MODEL)
    if as_of is not None:
        extra.append(codings_as_of(project, as_of))
        chosen = _with(chosen, as_of)
    if extra:
        codings = pd.concat([codings, *extra], ignore_index=True)
    doc_texts = None
    if unit == "character":
        universe = project.documents()[["doc_id", "chars"]]
        doc_texts = {doc: project.document_text(doc) for doc in universe["doc_id"]}
    else:
        universe = project.segments()
    result = report(codings, coders=chosen, unit=unit, include_uncoded=include_uncoded, n_boot=n_boot, seed=seed,
                    universe=universe, overlap=overlap, doc_texts=doc_texts)
    result.provenance["source"] = str(project.path)
    codebook = project.codebook_or_none()
    if codebook is not None:
        result.provenance["codebook"] = f"{codebook.name} {codebook.version}"
    return result


def source_report(source: str | Path, coders: Sequence[str] | str | None = None, unit: str = "segment",
                  include_uncoded: bool | None = None, overlap: str = "documents",
                  model_run: int | str | None = None, threshold: float | None = None, top: int | None = None,
                  as_of: str | None = None, n_boot: int = 1000, seed: int = 0) -> AgreementReport:
    """Agreement on ``source``: a project folder (see :func:`project_report`) or a CSV file of codings.

    A CSV has columns ``unit`` (or ``doc_id, start, end``), ``coder``, ``code`` and
    optionally ``text``; it lists no uncoded units and has no suggestion runs or log,
    so ``model_run``, ``as_of`` and (but at character level) ``include_uncoded`` need a project.
    A ``postgresql://`` URL names a team project.
    """
    from ..project.dialect import is_postgres_url

    url = str(source) if is_postgres_url(source) else None
    source = Path(source)
    if url is not None or source.is_dir():
        from ..project import open_project

        return project_report(open_project(url or source), coders=coders, unit=unit, include_uncoded=include_uncoded,
                              overlap=overlap, model_run=model_run, threshold=threshold, top=top, as_of=as_of,
                              n_boot=n_boot, seed=seed)
    if source.suffix.lower() == ".csv" and source.is_file():
        if model_run is not None or as_of is not None:
            raise AgreementError(f"{source}: a model run and an as-of coder need a project folder, not a CSV")
        if include_uncoded and unit != "character":
            raise AgreementError(f"{source}: --include-uncoded needs a project (a CSV of codings does not list "
                                 "the units nobody coded)")
        result = report(read_codings_csv(source), coders=coders, unit=unit, include_uncoded=include_uncoded,
                        n_boot=n_boot, seed=seed, overlap=overlap)
        result.provenance["source"] = str(source)
        return result
    if not source.exists():
        raise AgreementError(f"{source}: no such project folder or CSV file")
    raise AgreementError(f"{source}: not a project folder or a .csv file of codings")


def _coder_list(coders: Sequence[str] | str | None) -> list[str] | None:
    if coders is None:
        return None
    names = coders.split(",") if isinstance(coders, str) else [str(c) for c in coders]
    return [n.strip() for n in names if n.strip()]


def _with(coders: list[str] | None, name: str) -> list[str] | None:
    if coders is None or name in coders:
        return coders
    return [*coders, name]


def _run_id(run: int | str) -> int | None:
    if run == "latest":
        return None
    try:
        return int(run)
    except ValueError:
        raise AgreementError(f"--model-run: expected a run id (a number) or 'latest'; got {run!r}") from None
