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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codebook.model import Codebook
from ..document import INTERVIEWER, Document, Segment
from ..errors import InputError
from .context import preceding_question
from .models import choose_codebook, make_suggester
from .options import SuggestOptions
from .ranking import Suggester, Suggestion
from .spread import ScoreSpread, threshold_warning

#: Columns of a suggestions table, in order.
SUGGESTION_COLUMNS = [
    "run_id", "doc_id", "segment_id", "start", "end", "speaker", "role", "unit", "text",
    "code_id", "code_name", "parent_id", "parent_name", "score", "rank", "model", "probability",
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
    options: SuggestOptions = field(default_factory=SuggestOptions)
    #: segments given no code because they read as housekeeping talk (greetings, thanks, consent)
    abstained: int = 0

    def threshold_warning(self) -> str | None:
        """A warning when the threshold left more than half the segments without a code, proposing a value."""
        return threshold_warning(self.best_scores, self.record.get("parameters", {}).get("threshold"),
                                 self.without_suggestion, self.suggested_segments)


def run_record(suggester: Suggester, params: SuggestOptions | dict[str, Any]) -> dict[str, Any]:
    """The reproducibility record of a run: model identity, codebook version and parameters."""
    import platform

    from ..version import __version__

    if isinstance(params, SuggestOptions):
        params = params.record()

    ident = suggester.identity()
    return {
        "qcode_version": __version__,
        "model": ident["model"],
        "codebook": ident["codebook"],
        "ranking": ident["params"],
        "codes": ident["codes"],
        "learned_state": ident["learned_state"],
        "learned_from": ident["learned_from"],
        "learning": ident["learning"],
        "context_weight": ident["context_weight"],
        "abstain_margin": ident["abstain_margin"],
        "calibration": ident["calibration"],
        "normalise": ident["normalise"],
        **({"learned_model": ident["learned_model"]} if "learned_model" in ident else {}),
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
            h.update(str(exc).encode("utf-8", "surrogateescape"))
        name = file.relative_to(root).as_posix() if root.is_dir() and file.is_relative_to(root) else file.name
        total.update(f"{name}\x1f{h.hexdigest()}\n".encode("utf-8", "surrogateescape"))  # names need not be UTF-8
    return total.hexdigest()


def iter_segments(documents: Iterable[Document], unit: str, max_tokens: int = 256,
                  cache: Any = "default") -> Iterator[tuple[Document, list[Segment]]]:
    """Segment each document as it arrives (from the segment cache when it holds the document:
    :mod:`.segment_cache`; ``cache=None`` segments every document)."""
    from ..segmentation import segment

    if cache == "default":
        from .segment_cache import SegmentCache

        cache = SegmentCache.default()
    for doc in documents:
        if cache is None:
            yield doc, segment(doc, unit=unit, max_tokens=max_tokens)
        else:
            yield doc, cache.get_or_make(doc, unit, max_tokens,
                                         lambda doc=doc: segment(doc, unit=unit, max_tokens=max_tokens))


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
        "probability": s.probability,
    } for s in suggestions]


def rank_batch(suggester: Suggester, batch: list[Segment], questions: list[str | None], options: SuggestOptions,
               progress: Callable[[int], None] | None = None) -> tuple[list[list[Suggestion]], list[bool], list[float]]:
    """Score and rank one batch of segments as every engine does: each segment's suggestions,
    whether it was given "no code" on purpose, and its best score over all codes."""
    scores, abstained = suggester.score_details(batch, progress=progress, questions=questions)
    ranked = suggester.rank(scores, top_k=options.top_k, threshold=options.threshold,
                            multi_label=options.multi_label, min_probability=options.min_probability,
                            abstained=abstained)
    return ranked, [bool(a) for a in abstained], scores.max(axis=1).tolist()


def suggest_corpus(
    path: str | Path,
    codebook: Suggester | Codebook | str | None = None,
    options: SuggestOptions | None = None,
    *,
    out: str | Path | None = None,
    project: Any = None,
    model: Any = None,
    backend: str = "auto",
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_queued: Callable[[int], None] | None = None,
    on_embedded: Callable[[int], None] | None = None,
    on_document: Callable[[Document], None] | None = None,
    **option_values: Any,
) -> SuggestRun:
    """Suggest codes for every segment of the corpus at ``path``.

    Parameters
    ----------
    path : a folder (read recursively) or a single file.
    codebook : a :class:`~qcode.codebook.Codebook`, a shipped codebook name or file, or a
        ready :class:`~qcode.suggest.Suggester` to rank with; ``None``: the project's own
        codebook, or ``mcn-sst`` without a project (:func:`~qcode.suggest.models.choose_codebook`).
    options : a :class:`SuggestOptions` (unit, top_k, threshold, ...); single options may also
        be given as keywords (``unit="sentence"``), which override those in ``options``.
    out : output file (``.csv``, ``.jsonl``, ``.parquet`` or ``.xlsx``: see :mod:`qcode.formats`),
        or ``None`` to write nothing.
    project : an open :class:`qcode.project.Project` to record the run in.
    model, backend : the embedding model (name or embedder) and backend, when ``codebook`` is not
        a Suggester.
    on_start, on_document, on_batch : progress callbacks: the number of files found,
        each document read, and the size of each ranked batch.
    on_queued, on_embedded : segment-level progress: the number of each document's segments
        queued for ranking, and each group of segments just embedded (these sum to the same total).

    Returns a :class:`SuggestRun` with counts and the run record.

    Example
    -------
    >>> import pathlib, tempfile, qcode
    >>> demo = pathlib.Path(qcode.__file__).parents[1] / "corpora" / "demo" / "interview_p07.txt"
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> run = suggest_corpus(demo, "mcn-sst", SuggestOptions(top_k=1), out=out)
    >>> run.documents, run.out == out, run.record["parameters"]["top_k"]
    (1, True, 1)
    """
    from ..formats import open_table_writer, table_format
    from ..ingest import read_corpus
    from ..ingest.tables import row_attributes

    opts = options or SuggestOptions()
    if option_values:
        opts = opts.replace(**option_values)
    if out is not None:
        table_format(out)  # an unknown suffix fails before any work
    if opts.attribute_columns and project is None:
        raise InputError("--attribute-column records attributes in a project: give --project PROJECT")
    suggester = suggester_for(codebook, model, backend, project)
    batch_segments = opts.batch_segments
    started = time.perf_counter()
    corpus = read_corpus(path, id_column=opts.id_column, text_column=opts.text_column,
                         interviewers=tuple(opts.interviewers), exclude=[out] if out is not None else (),
                         encoding=opts.encoding)
    if on_start is not None:
        on_start(len(corpus.files))
    record = run_record(suggester, opts)
    model_label = _model_label(record["model"])
    digest = corpus_digest(path, corpus.files)
    run_id = run_id_for(record, digest)
    record["run_id"] = run_id
    record["corpus_sha256"] = digest
    pending_run = SuggestRun(run_id=run_id, record=record, options=opts)
    project_report: dict[str, list[str]] = {"new": [], "unchanged": [], "changed": []}
    if project is not None:  # refuse an incompatible codebook before doing any work
        record["codebook_version"] = project.set_codebook(suggester.codebook)
        pending_run.project_report = project_report
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
                project_report.setdefault(key, []).extend(ids)
            project.add_segments(project_segments)
            if opts.attribute_columns:
                project.set_document_attributes(project_docs, opts.attribute_columns)
        project_docs.clear()
        project_segments.clear()

    batch: list[Segment] = []
    questions: list[str | None] = []
    ask = bool(suggester.context_weight)

    def flush() -> None:
        if not batch:
            return
        ranked, abstained, best = rank_batch(suggester, batch, questions, opts, progress=on_embedded)
        pending_run.best_scores.extend(best)
        for seg, sugg, silent in zip(batch, ranked, abstained):
            if sugg:
                pending_run.top_codes[sugg[0].code_name] += 1
            elif silent:
                pending_run.abstained += 1
            else:
                pending_run.without_suggestion += 1
            if writer is not None:
                writer.write_rows(suggestion_rows(run_id, seg, sugg, model_label))
            if project is not None:
                project_rows.extend((seg.id, s.code_id, s.score, s.rank) for s in sugg)
        pending_run.suggested_segments += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()
        questions.clear()

    try:
        for doc, segments in iter_segments(corpus, opts.unit, opts.max_tokens):
            pending_run.documents += 1
            pending_run.warnings.extend(doc.warnings)
            if project is not None:
                if opts.attribute_columns:
                    row_attributes(doc, opts.attribute_columns)  # a missing column stops the run before it stores
                project_docs.append(doc)
                project_segments.extend(segments)
                if len(project_docs) >= 256 or len(project_segments) >= batch_segments:
                    store_documents()
            if on_document is not None:
                on_document(doc)
            if on_queued is not None:
                on_queued(sum(1 for seg in segments if opts.include_interviewer or seg.role != INTERVIEWER))
            for seg in segments:
                pending_run.segments += 1
                if seg.role == INTERVIEWER and not opts.include_interviewer:
                    pending_run.skipped_interviewer += 1
                    continue
                batch.append(seg)
                questions.append(preceding_question(doc, seg) if ask else None)
                if len(batch) >= batch_segments:
                    flush()
        flush()
        store_documents()
        record["documents"] = pending_run.documents
        record["segments"] = pending_run.segments
        record["best_score_quantiles"] = pending_run.best_scores.quantiles()
        pending_run.skipped_files = [(str(f), r) for f, r in corpus.skipped]
        pending_run.left_out_files = [(str(f), r) for f, r in corpus.left_out]
        record["skipped_files"] = [{"file": str(f), "reason": r} for f, r in pending_run.skipped_files]
        record["left_out_files"] = [{"file": f, "reason": r} for f, r in pending_run.left_out_files]
        if pending_run.documents == 0:
            skipped = pending_run.skipped_files
            if len(skipped) == 1:
                raise InputError(str(skipped[0][1]))
            first = f"; first: {skipped[0][1]}" if skipped else ""
            raise InputError(f"{path}: no readable documents ({len(skipped)} files skipped{first})")
        if writer is not None and out is not None:
            writer.commit()
            pending_run.out = Path(out)
            from .._io import atomic_write_text

            atomic_write_text(Path(str(out) + ".run.json"), json.dumps(record, indent=2, default=str) + "\n")
        if project is not None:
            pending_run.project_run = project.add_run(record, project_rows)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    pending_run.seconds = time.perf_counter() - started
    return pending_run


def suggester_for(codebook: Suggester | Codebook | str | None, model: Any, backend: str, project: Any) -> Suggester:
    """The suggester a run ranks with: ``codebook`` itself when it is one, else one built by :func:`make_suggester`."""
    if isinstance(codebook, Suggester):
        if model is not None:
            raise InputError("give the model to the Suggester, not to suggest_corpus, when passing a Suggester")
        return codebook
    return make_suggester(choose_codebook(codebook, project), model=model, backend=backend)
