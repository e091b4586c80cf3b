"""The main job: a folder of transcripts in, ranked code suggestions out.

:func:`suggest_corpus` streams documents one at a time, segments them, embeds
segments in batches across documents, ranks codes and writes rows as they are
made, so memory stays flat as the corpus grows. The output file appears
atomically when the run succeeds (a failed run leaves no half-written file);
a ``<out>.run.json`` beside it records the model (name and weights hash), the
codebook version and every parameter, so the run can be reproduced.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .document import INTERVIEWER, Document, Segment
from .errors import InputError
from .suggest import Suggester, Suggestion
from .spread import ScoreSpread, threshold_warning

#: Columns of a suggestions table, in order.
SUGGESTION_COLUMNS = [
    "run_id", "doc_id", "segment_id", "start", "end", "speaker", "role", "unit", "text",
    "code_id", "code_name", "parent_id", "parent_name", "score", "rank", "model",
]



@dataclass
class SuggestRun:
    """What a suggestion run did: counts for the summary and the record for reproducibility."""

    run_id: str
    record: dict[str, Any]
    documents: int = 0
    segments: int = 0
    suggested_segments: int = 0
    skipped_interviewer: int = 0
    without_suggestion: int = 0
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    #: files of the folder not read (unsupported types, qcode's own outputs), with the reason
    left_out_files: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    top_codes: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    out: Path | None = None
    project_report: dict[str, list[str]] | None = None
    project_run: Any = None
    #: each suggested segment's best score, over all codes (whatever the threshold kept)
    best_scores: ScoreSpread = field(default_factory=ScoreSpread)

    def threshold_warning(self) -> str | None:
        """A warning when the threshold left more than half the segments without a code, proposing a value."""
        return threshold_warning(self.best_scores, self.record.get("parameters", {}).get("threshold"),
                                 self.without_suggestion, self.suggested_segments)


def run_record(suggester: Suggester, params: dict[str, Any]) -> dict[str, Any]:
    """The reproducibility record of a run: model identity, codebook version and parameters."""
    import platform

    from . import __version__

    ident = suggester.identity()
    return {
        "qcode_version": __version__,
        "model": ident["model"],
        "codebook": ident["codebook"],
        "ranking": ident["params"],
        "codes": ident["codes"],
        "learned_state": ident["learned_state"],
        "parameters": params,
        "python": platform.python_version(),
    }


def run_id_for(record: dict[str, Any], corpus_digest: str) -> str:
    """A run id derived from what determines the output (same input, same id)."""
    import hashlib

    canonical = json.dumps({k: v for k, v in record.items() if k != "python"}, sort_keys=True)
    return "r-" + hashlib.sha256((canonical + corpus_digest).encode("utf-8")).hexdigest()[:12]


def corpus_digest(root: str | Path, files: Iterable[str | Path]) -> str:
    """sha256 over every input file's relative name and bytes (read in chunks)."""
    import hashlib

    root = Path(root)
    total = hashlib.sha256()
    for file in sorted(Path(f) for f in files):
        h = hashlib.sha256()
        try:
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as exc:  # unreadable files are reported by the reader; hash what we can
            h.update(str(exc).encode("utf-8"))
        name = file.relative_to(root).as_posix() if root.is_dir() and file.is_relative_to(root) else file.name
        total.update(f"{name}\x1f{h.hexdigest()}\n".encode("utf-8"))
    return total.hexdigest()


def iter_segments(documents: Iterable[Document], unit: str, max_tokens: int = 256) -> Iterator[tuple[Document, list[Segment]]]:
    """Segment each document as it arrives."""
    from .segmentation import segment

    for doc in documents:
        yield doc, segment(doc, unit=unit, max_tokens=max_tokens)


def _model_label(identity: dict[str, Any]) -> str:
    sha = str(identity.get("weights_sha256") or "")[:12]
    return f"{identity.get('name')}@{sha}" if sha else str(identity.get("name"))


def suggestion_rows(run_id: str, segment: Segment, suggestions: list[Suggestion], model: str) -> list[dict[str, Any]]:
    """One output row per (segment, suggestion)."""
    return [{
        "run_id": run_id, "doc_id": segment.doc_id, "segment_id": segment.id,
        "start": segment.start, "end": segment.end, "speaker": segment.speaker or "",
        "role": segment.role, "unit": segment.unit, "text": segment.text,
        "code_id": s.code_id, "code_name": s.code_name, "parent_id": s.parent_id or "",
        "parent_name": s.parent_name or "", "score": s.score, "rank": s.rank, "model": model,
    } for s in suggestions]


def suggest_corpus(
    path: str | Path,
    suggester: Suggester,
    *,
    out: str | Path | None = None,
    unit: str = "turn",
    top_k: int | None = 3,
    threshold: float | None = None,
    multi_label: bool = False,
    include_interviewer: bool = False,
    max_tokens: int = 256,
    batch_segments: int = 512,
    id_column: str | None = None,
    text_column: str | None = None,
    interviewers: Sequence[str] = (),
    project: Any = None,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_document: Callable[[Document], None] | None = None,
) -> SuggestRun:
    """Suggest codes for every segment of the corpus at ``path``.

    Parameters
    ----------
    path : a folder (read recursively) or a single file.
    suggester : the :class:`~qcode.suggest.Suggester` to rank with.
    out : output file (``.csv``, ``.jsonl``, ``.parquet`` or ``.xlsx``: see :mod:`qcode.formats`), or ``None`` to write nothing.
    unit : ``"turn"``, ``"sentence"``, ``"paragraph"`` or ``"document"``.
    include_interviewer : also suggest for interviewer/facilitator turns.
    interviewers : speaker names to treat as interviewers (besides labels such as ``Interviewer:``).
    project : an open :class:`qcode.project.Project` to record the run in.
    on_start, on_document, on_batch : progress callbacks: the number of files found,
        each document read, and the size of each ranked batch.

    Returns a :class:`SuggestRun` with counts and the run record.
    """
    from .ingest import read_corpus
    from .segmentation import UNITS
    from .formats import open_table_writer

    if unit not in UNITS:
        raise InputError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    started = time.perf_counter()
    corpus = read_corpus(path, id_column=id_column, text_column=text_column, interviewers=tuple(interviewers),
                         exclude=[out] if out is not None else ())
    if on_start is not None:
        on_start(len(corpus.files))
    params = {"unit": unit, "top_k": top_k, "threshold": threshold, "multi_label": multi_label,
              "include_interviewer": include_interviewer, "interviewers": sorted(interviewers),
              "max_tokens": max_tokens}
    record = run_record(suggester, params)
    model = _model_label(record["model"])
    digest = corpus_digest(path, corpus.files)
    run_id = run_id_for(record, digest)
    record["run_id"] = run_id
    record["corpus_sha256"] = digest
    pending_run = SuggestRun(run_id=run_id, record=record)
    if project is not None:  # refuse an incompatible codebook before doing any work
        record["codebook_version"] = project.set_codebook(suggester.codebook)
        pending_run.project_report = {"new": [], "unchanged": [], "changed": []}
    writer = open_table_writer(out, SUGGESTION_COLUMNS) if out is not None else None
    project_rows: list[tuple[str, str, float, int]] = []
    project_docs: list[Document] = []
    project_segments: list[Segment] = []

    def store_documents() -> None:
        """Add pending documents and segments to the project in one transaction (one fsync, not two per file)."""
        if project is None or not project_docs:
            return
        with project.transaction():
            for key, ids in project.add_documents(project_docs).items():
                pending_run.project_report.setdefault(key, []).extend(ids)
            project.add_segments(project_segments)
        project_docs.clear()
        project_segments.clear()

    batch: list[Segment] = []

    def flush() -> None:
        if not batch:
            return
        scores = suggester.score(batch)
        pending_run.best_scores.extend(scores.max(axis=1).tolist())
        ranked = suggester.rank(scores, top_k=top_k, threshold=threshold, multi_label=multi_label)
        for seg, sugg in zip(batch, ranked):
            if sugg:
                pending_run.top_codes[sugg[0].code_name] += 1
            else:
                pending_run.without_suggestion += 1
            if writer is not None:
                writer.write_rows(suggestion_rows(run_id, seg, sugg, model))
            if project is not None:
                project_rows.extend((seg.id, s.code_id, s.score, s.rank) for s in sugg)
        pending_run.suggested_segments += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()

    try:
        for doc, segments in iter_segments(corpus, unit, max_tokens):
            pending_run.documents += 1
            pending_run.warnings.extend(doc.warnings)
            if project is not None:
                project_docs.append(doc)
                project_segments.extend(segments)
                if len(project_docs) >= 256 or len(project_segments) >= batch_segments:
                    store_documents()
            if on_document is not None:
                on_document(doc)
            for seg in segments:
                pending_run.segments += 1
                if seg.role == INTERVIEWER and not include_interviewer:
                    pending_run.skipped_interviewer += 1
                    continue
                batch.append(seg)
                if len(batch) >= batch_segments:
                    flush()
        flush()
        store_documents()
        record["documents"] = pending_run.documents
        record["segments"] = pending_run.segments
        record["best_score_quantiles"] = pending_run.best_scores.quantiles()
        pending_run.skipped_files = list(corpus.skipped)
        pending_run.left_out_files = [(str(f), r) for f, r in corpus.left_out]
        record["skipped_files"] = [{"file": str(f), "reason": r} for f, r in pending_run.skipped_files]
        record["left_out_files"] = [{"file": f, "reason": r} for f, r in pending_run.left_out_files]
        if pending_run.documents == 0:
            skipped = pending_run.skipped_files
            if len(skipped) == 1:
                raise InputError(str(skipped[0][1]))
            first = f"; first: {skipped[0][1]}" if skipped else ""
            raise InputError(f"{path}: no readable documents ({len(skipped)} files skipped{first})")
        if writer is not None:
            writer.commit()
            pending_run.out = Path(out)
            from ._io import atomic_write_text

            atomic_write_text(Path(str(out) + ".run.json"), json.dumps(record, indent=2, default=str) + "\n")
        if project is not None:
            pending_run.project_run = project.add_run(record, project_rows)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    pending_run.seconds = time.perf_counter() - started
    return pending_run
