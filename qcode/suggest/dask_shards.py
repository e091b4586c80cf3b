"""The workers' side of the Dask engine (:mod:`.dask_engine`): shards, jobs, and ranking one shard.

A worker process loads the embedder once (a per-process cache), reads, segments,
embeds and ranks the shard it is given, and writes a Parquet shard of suggestions
and a summary beside the output; the driver never sends it more than one shard.

>>> shard_name(7)
'shard-00007'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..document import INTERVIEWER, Document, Segment
from ..errors import InputError, QcodeError
from ..ingest.tables import row_document
from .options import SuggestOptions
from .pipeline import SUGGESTION_COLUMNS, iter_segments, rank_batch, suggestion_rows
from .ranking import Suggester
from .spread import ScoreSpread

_SCHEMA_FIELDS = {"start": "int64", "end": "int64", "rank": "int64", "score": "float64", "probability": "float64"}


class ClusterError(QcodeError):
    """The Dask cluster could not run the job: scheduler unreachable, a worker kept dying, a shard unreadable."""


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


@dataclass(frozen=True)
class Shard:
    """One unit of work: the segments ``lo <= i < hi`` of the run, and the input items holding them.

    ``files`` lists ``(file, first segment index, owned)`` for a folder; a table's rows (with the same
    two fields) are in the Parquet file ``rows_file`` the driver wrote. An item is *owned* by the shard
    its first segment falls in: only the owner counts its documents and segments and keeps them for
    the project; other shards rank the part of its segments inside their range.
    """

    index: int
    lo: int
    hi: int
    files: tuple[tuple[str, int, bool], ...] = ()
    rows_file: str | None = None


@dataclass(frozen=True)
class ShardJob:
    """What every worker needs to process any shard of one run (small and picklable)."""

    run_id: str
    model_label: str
    options: SuggestOptions
    #: the driver's Suggester without its loaded model: every setting and learned state travels with it
    suggester: Suggester
    embedder_key: str
    #: the driver's BLAS threads: numpy's matrix products round differently with another thread count
    blas_threads: int | None
    work_dir: str
    root: str
    keep_documents: bool
    table: dict[str, Any] | None = None


# -- on the workers -----------------------------------------------------------------
_SUGGESTERS: dict[str, Suggester] = {}
_LOADS: Counter[str] = Counter()  # suggesters (and so models) loaded by this process, by run key: once per worker


def _worker_suggester(job: ShardJob) -> Suggester:
    if job.embedder_key not in _SUGGESTERS:
        _SUGGESTERS[job.embedder_key] = job.suggester  # loads its model on first use, once in this process
        _LOADS[job.embedder_key] += 1
    return _SUGGESTERS[job.embedder_key]


def row_document_of(table: dict[str, Any], row: dict[str, Any]) -> Document | None:
    """The document of one streamed table row, as the single-process reader makes it (None: empty text)."""
    return row_document(table["header"], row["cells"], table["id_index"], table["text_index"], row_id=row["row_id"],
                        line=row["line"], file_id=table["file_id"], source=table["source"],
                        warnings=table.get("warnings", ()))


def _table_items(job: ShardJob, shard: Shard, summary: dict[str, Any]) -> Iterator[tuple[list[Document], int, bool]]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(shard.rows_file).to_pylist()
    except Exception as exc:
        raise ClusterError(f"{shard.rows_file}: cannot read this input shard ({' '.join(str(exc).split())})") from None
    for row in rows:
        doc = row_document_of(job.table or {}, row)
        if doc is None and row["owned"]:
            summary["empty_rows"] += 1
        yield ([] if doc is None else [doc]), int(row["start"]), bool(row["owned"])


def read_file_documents(file: str, root: str, opts: SuggestOptions) -> list[Document]:
    from ..ingest import read_document

    return read_document(file, root=root, id_column=opts.id_column, text_column=opts.text_column,
                         interviewers=tuple(opts.interviewers), encoding=opts.encoding)


def _file_items(job: ShardJob, shard: Shard, summary: dict[str, Any]) -> Iterator[tuple[list[Document], int, bool]]:
    for file, start, owned in shard.files:
        try:
            docs = read_file_documents(file, job.root, job.options)
        except InputError as exc:
            if owned:
                summary["skipped"].append([file, str(exc)])
            docs = []
        yield docs, start, owned


def _question(suggester: Suggester, doc: Document, seg: Segment) -> str | None:
    """The interviewer question before ``seg``, when the suggester ranks with that context."""
    if not getattr(suggester, "context_weight", 0):
        return None
    from .context import preceding_question

    return preceding_question(doc, seg)


def is_rankable(seg: Segment, opts: SuggestOptions) -> bool:
    return opts.include_interviewer or seg.role != INTERVIEWER


def _doc_json(doc: Document, segments: list[Segment]) -> str:
    from dataclasses import asdict

    return json.dumps({"doc": {"id": doc.id, "text": doc.text, "turns": [asdict(t) for t in doc.turns],
                               "source": None if doc.source is None else str(doc.source),
                               "metadata": doc.metadata},
                       "segments": [asdict(s) for s in segments]}, ensure_ascii=False, default=str)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _suggestion_schema() -> Any:
    import pyarrow as pa

    types = {"int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(c, types[_SCHEMA_FIELDS[c]] if c in _SCHEMA_FIELDS else pa.string())
                      for c in SUGGESTION_COLUMNS])


def done_summary(work_dir: str | Path, index: int) -> dict[str, Any] | None:
    """The summary of a shard finished by an earlier (or this) run, or None when it must be (re)done."""
    base = Path(work_dir) / shard_name(index)
    summary_file, data = Path(f"{base}.json"), Path(f"{base}.parquet")
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        if summary.get("sha256") != _sha256(data):
            return None
    except (OSError, ValueError):
        return None
    return summary


def blas_threads() -> int | None:
    """How many threads numpy's BLAS uses in this process (None when it cannot be told)."""
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl inspects)
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    counts = [int(pool["num_threads"]) for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


def run_shard(job: ShardJob, shard: Shard) -> dict[str, Any]:
    """Process one shard on a worker: read, segment, embed, rank; write its Parquet shard; return counts.

    The shard is ranked with the driver's BLAS thread count (Dask starts workers with one), so that
    its scores are those of a plain run on the driver's machine to the last bit.
    """
    if job.blas_threads is None:
        return _run_shard(job, shard)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=job.blas_threads, user_api="blas"):
        return _run_shard(job, shard)


def _run_shard(job: ShardJob, shard: Shard) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    previous = done_summary(job.work_dir, shard.index)
    if previous is not None:
        return {**previous, "resumed": True}
    opts = job.options
    suggester = _worker_suggester(job)
    summary: dict[str, Any] = {"index": shard.index, "documents": 0, "segments": 0, "suggested_segments": 0,
                               "skipped_interviewer": 0, "without_suggestion": 0, "abstained": 0,
                               "empty_rows": 0, "rows": 0,
                               "top_codes": Counter(), "warnings": [], "skipped": [], "pid": os.getpid(),
                               "loads": int(_LOADS[job.embedder_key])}
    base = Path(job.work_dir) / shard_name(shard.index)
    tmp = Path(f"{base}.parquet.tmp-{os.getpid()}")
    schema = _suggestion_schema()
    writer = pq.ParquetWriter(tmp, schema)
    doc_lines: list[str] = []
    batch: list[Segment] = []
    questions: list[str | None] = []
    spread = ScoreSpread()

    def flush() -> None:
        if not batch:
            return
        ranked, abstained, best = rank_batch(suggester, batch, questions, opts)
        spread.extend(best)
        rows: list[dict[str, Any]] = []
        for seg, sugg, silent in zip(batch, ranked, abstained):
            if sugg:
                summary["top_codes"][sugg[0].code_name] += 1
            elif silent:
                summary["abstained"] += 1
            else:
                summary["without_suggestion"] += 1
            rows.extend(suggestion_rows(job.run_id, seg, sugg, job.model_label))
        summary["suggested_segments"] += len(batch)
        summary["rows"] += len(rows)
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
        batch.clear()
        questions.clear()

    try:
        items = _table_items(job, shard, summary) if shard.rows_file else _file_items(job, shard, summary)
        for docs, index, owned in items:
            for doc, segments in iter_segments(docs, opts.unit, opts.max_tokens):
                if owned:
                    summary["documents"] += 1
                    for message in doc.warnings:
                        if message not in summary["warnings"]:
                            summary["warnings"].append(message)
                    if job.keep_documents:
                        doc_lines.append(_doc_json(doc, segments))
                for seg in segments:
                    rankable = is_rankable(seg, opts)
                    if owned:
                        summary["segments"] += 1
                        summary["skipped_interviewer"] += not rankable
                    if not rankable:
                        continue
                    if shard.lo <= index < shard.hi:
                        batch.append(seg)
                        questions.append(_question(suggester, doc, seg))
                        if len(batch) >= opts.batch_segments:
                            flush()
                    index += 1
        flush()
        writer.close()
        if job.keep_documents:
            docs_tmp = Path(f"{base}.docs.parquet.tmp-{os.getpid()}")
            pq.write_table(pa.table({"doc": pa.array(doc_lines, pa.string())}), docs_tmp)
            os.replace(docs_tmp, f"{base}.docs.parquet")
        os.replace(tmp, f"{base}.parquet")
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    summary["top_codes"] = dict(summary["top_codes"])
    summary["best_scores"] = {"bins": {str(i): n for i, n in enumerate(spread.bins) if n}, "count": spread.count}
    summary["sha256"] = _sha256(Path(f"{base}.parquet"))
    summary_tmp = Path(f"{base}.json.tmp-{os.getpid()}")
    summary_tmp.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    os.replace(summary_tmp, f"{base}.json")  # the summary last: it marks the shard done
    return {**summary, "resumed": False}


__all__ = ["ClusterError", "Shard", "ShardJob", "blas_threads", "done_summary", "is_rankable", "read_file_documents",
           "row_document_of", "run_shard", "shard_name"]
