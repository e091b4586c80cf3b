"""``qcode suggest --engine dask``: the suggestion job of :func:`~qcode.suggest.suggest_corpus` on a Dask cluster.

The driver streams the input in shards (a few dozen transcripts, or a few
thousand rows of a table of responses) and never holds more than one shard of
it; each worker process loads the embedder once (a per-process cache), reads,
segments, embeds and ranks its shard, and writes a Parquet shard of
suggestions beside the output. The driver alone writes the final output, in
input order, through the same table writer as the single-process run (so the
CSV is byte-for-byte the same) and, with a project, the store: workers never
open the project. A shard whose Parquet file and summary are complete is not
computed again, so a run killed halfway resumes where it stopped.

A shard is a range of the run's segments in input order, a whole number of
ranking batches long (``batch_segments``), so every worker ranks exactly the
batches the single-process run ranks: scores can differ in the last bit with a
batch's shape, and this keeps the output byte-for-byte the same. To cut those
ranges the driver reads and segments the input once itself (no embedding: a
small part of the work), holding one file or row at a time. Local clusters
listen on the loopback interface only.

The workers' side (shards, jobs, ranking one shard) is :mod:`.dask_shards`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..codebook.model import Codebook
from ..document import Document, Segment, Turn
from ..errors import InputError
from ..ingest import document_id
from ..ingest.tables import choose_columns, stream_table, stream_table_items
from .dask_shards import (
    ClusterError,
    Shard,
    ShardJob,
    blas_threads,
    done_summary,
    is_rankable,
    read_file_documents,
    row_document_of,
    run_shard,
    shard_name,
)
from .options import SuggestOptions
from .pipeline import (
    SUGGESTION_COLUMNS,
    SuggestRun,
    _model_label,
    corpus_digest,
    run_id_for,
    run_record,
)
from .ranking import Suggester

#: suffixes read as tables of responses (one row, one document)
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".xlsx")
#: at most this many shards are queued on the cluster at once (driver memory stays flat)
MAX_IN_FLIGHT = 64

# -- on the driver: streaming the input into shards -----------------------------------------
def _count(docs: list[Document], opts: SuggestOptions) -> int:
    from ..segmentation import segment

    return sum(is_rankable(seg, opts) for doc in docs for seg in segment(doc, unit=opts.unit, max_tokens=opts.max_tokens))


def plan_shards(items: Iterable[tuple[Any, int]], size: int,
                emit: Callable[[int, int, int, list[tuple[Any, int, bool]]], Shard]) -> Iterator[Shard]:
    """Cut a stream of ``(item, rankable segments)`` into shards of ``size`` segments, in order.

    ``emit(index, lo, hi, [(item, first segment index, owned)])`` makes each shard. An item whose
    segments cross a boundary goes to every shard it overlaps; it is owned by the shard its first
    segment falls in (an item without segments by the shard its position falls in).

    >>> shards = plan_shards([("a", 3), ("b", 0), ("c", 4)], 4, lambda k, lo, hi, members: (k, lo, hi, members))
    >>> [s for s in shards]
    [(0, 0, 4, [('a', 0, True), ('b', 3, True), ('c', 3, True)]), (1, 4, 8, [('c', 3, False)])]
    """
    pending: list[tuple[Any, int, int]] = []
    total = 0
    k = 0

    def cut() -> Shard:
        nonlocal pending, k
        lo, hi = k * size, (k + 1) * size
        members = [(item, start, start // size == k) for item, start, n in pending
                   if start // size == k or (start < hi and start + n > lo)]
        shard = emit(k, lo, hi, members)
        pending = [(item, start, n) for item, start, n in pending if start + n > hi]
        k += 1
        return shard

    for item, n in items:
        while total >= (k + 1) * size:
            yield cut()
        pending.append((item, total, n))
        total += n
    while pending:
        yield cut()


def _shards(path: Path, opts: SuggestOptions, work: Path, is_table: bool, files: list[Path], root: Path,
            size: int, skip: set[int], table_info: dict[str, Any]) -> Iterator[Shard]:
    """The run's shards, streamed: the driver reads and segments each item once to count its segments."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if is_table:
        def counted_rows() -> Iterator[tuple[Any, int]]:
            table_info["file_id"] = document_id(path, path.parent)
            for row in stream_table_items(path, table_info, id_column=opts.id_column,
                                          text_column=opts.text_column):
                doc = row_document_of(table_info, row)
                yield row, (0 if doc is None else _count([doc], opts))

        schema = pa.schema([("line", pa.int64()), ("row_id", pa.string()), ("cells", pa.list_(pa.string())),
                            ("start", pa.int64()), ("owned", pa.bool_())])

        def emit_rows(k: int, lo: int, hi: int, members: list[tuple[Any, int, bool]]) -> Shard:
            shard_file = work / f"input-{k:05d}.parquet"
            if k not in skip:
                rows = [{**row, "start": start, "owned": owned} for row, start, owned in members]
                tmp = Path(f"{shard_file}.tmp")
                pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
                os.replace(tmp, shard_file)
            return Shard(index=k, lo=lo, hi=hi, rows_file=str(shard_file))

        yield from plan_shards(counted_rows(), size, emit_rows)
        return

    def counted_files() -> Iterator[tuple[Any, int]]:
        for file in files:
            try:
                docs = read_file_documents(str(file), str(root), opts)
            except InputError:
                docs = []
            yield str(file), _count(docs, opts)

    def emit_files(k: int, lo: int, hi: int, members: list[tuple[Any, int, bool]]) -> Shard:
        return Shard(index=k, lo=lo, hi=hi, files=tuple((f, start, owned) for f, start, owned in members))

    yield from plan_shards(counted_files(), size, emit_files)


# -- the cluster -------------------------------------------------------------------
def connect(scheduler: str | None = None, workers: int | None = None,
            timeout: float = 10.0) -> tuple[Any, Any, int]:
    """A Dask client: to ``scheduler`` (``tcp://HOST:PORT``), or a local cluster of ``workers`` processes on loopback.

    Returns ``(client, cluster or None, number of workers)``.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("the dask engine needs Dask: pip install 'qcode[dask]'") from None
    if scheduler is not None and workers is not None:
        raise InputError("give --scheduler or --workers, not both (--workers starts a local cluster)")
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({' '.join(str(exc).split())})") \
                from None
        except ValueError as exc:
            raise ClusterError(f"--scheduler {scheduler!r}: not a scheduler address ({exc})") from None
        return client, None, len(client.scheduler_info().get("workers", {}))
    n = workers or 1
    if n < 1:
        raise InputError(f"--workers {n}: needs at least 1")
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster, n


@dataclass
class _Progress:
    done: int = 0
    total: int | None = None
    on_shard: Callable[[int, int | None], None] | None = None

    def tick(self) -> None:
        self.done += 1
        if self.on_shard is not None:
            self.on_shard(self.done, self.total)


def suggest_dask(
    path: str | Path,
    codebook: Suggester | Codebook | str | None = None,
    options: SuggestOptions | None = None,
    *,
    out: str | Path | None = None,
    project: Any = None,
    model: Any = None,
    backend: str = "auto",
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    shard_segments: int | None = None,
    work_dir: str | Path | None = None,
    keep_shards: bool = False,
    connect_timeout: float = 10.0,
    on_shard: Callable[[int, int | None], None] | None = None,
    **option_values: Any,
) -> SuggestRun:
    """:func:`~qcode.suggest.suggest_corpus` on a Dask cluster: same arguments, same output, same run id.

    ``client`` (an open ``distributed.Client``), ``scheduler`` (``tcp://HOST:PORT``) or ``workers`` (a local
    cluster of that many processes, default 1) say where it runs. A shard holds ``shard_segments``
    segments (default 8 ranking batches; rounded up to whole batches). Shards are written under ``work_dir``
    (default ``OUT.shards/RUN_ID`` beside the output) and removed after a successful run unless
    ``keep_shards``; a re-run with the same input and options skips the shards already done.
    ``on_shard(done, total)`` is called as shards finish (``total`` is None until the input has been read).
    """
    from ..formats import table_format
    from ..ingest import read_corpus

    opts = options or SuggestOptions()
    if option_values:
        opts = opts.replace(**option_values)
    batches = -(-(shard_segments or 8 * opts.batch_segments) // opts.batch_segments)
    shard_segments = max(1, batches) * opts.batch_segments
    scheduler = scheduler if scheduler is not None else opts.scheduler
    workers = workers if workers is not None else opts.workers
    if out is None and project is None:
        raise InputError("nothing to write: give out= (a table file) and/or project=")
    if out is not None:
        table_format(out)
    if opts.attribute_columns and project is None:
        raise InputError("--attribute-column records attributes in a project: give --project PROJECT")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    is_table = path.is_file() and path.suffix.lower() in TABLE_SUFFIXES
    from .pipeline import suggester_for

    suggester = suggester_for(codebook, model, backend, project)  # built exactly as the single-process run builds it
    if is_table:
        header, _, _ = stream_table(path)  # a table without a text column fails before a cluster starts
        choose_columns(header, id_column=opts.id_column, text_column=opts.text_column, source=str(path))
        files, left_out = [path], []
    else:
        corpus = read_corpus(path, id_column=opts.id_column, text_column=opts.text_column,
                             interviewers=tuple(opts.interviewers), exclude=[out] if out is not None else (),
                             encoding=opts.encoding)
        files, left_out = list(corpus.files), [(str(f), r) for f, r in corpus.left_out]
    root = path.parent if path.is_file() else path
    started = time.perf_counter()
    record = run_record(suggester, opts)
    digest = corpus_digest(path, files)
    run_id = run_id_for(record, digest)
    record["run_id"] = run_id
    record["corpus_sha256"] = digest
    run = SuggestRun(run_id=run_id, record=record, options=opts)
    if project is not None:
        record["codebook_version"] = project.set_codebook(suggester.codebook)
        run.project_report = {"new": [], "unchanged": [], "changed": []}
    if work_dir is None:
        size = f"s{shard_segments}"
        if out is not None:
            work_dir = Path(f"{out}.shards") / f"{run_id}-{size}"
        elif isinstance(getattr(project, "path", None), Path):
            work_dir = Path(project.path) / ".qcode-shards" / f"{run_id}-{size}"
        else:
            raise InputError("the dask engine needs a folder for its shards: give --out or a project folder")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster, n_workers = connect(scheduler, workers, connect_timeout)
    else:
        n_workers = len(client.scheduler_info().get("workers", {}))
    table_info: dict[str, Any] = {}
    job_fields: dict[str, Any] = {
        "run_id": run_id, "model_label": _model_label(record["model"]), "options": opts,
        "suggester": _portable(suggester), "embedder_key": f"{run_id}-{uuid.uuid4().hex}",
        "blas_threads": blas_threads(), "work_dir": str(work), "root": str(root),
        "keep_documents": project is not None}
    try:
        summaries = _run_shards(client, job_fields, table_info, path, opts, work, is_table, files, root,
                                shard_segments, _Progress(on_shard=on_shard))
        _assemble(run, summaries, work, out, project, opts, left_out, table_info, path)
        record["engine"] = {"name": "dask", "workers": n_workers, "shards": len(summaries),
                            "scheduler": scheduler or "local (loopback)",
                            "resumed_shards": sum(1 for s in summaries if s.get("resumed")),
                            "embedder_loads": _loads(summaries)}
        if out is not None:
            from .._io import atomic_write_text

            atomic_write_text(Path(str(out) + ".run.json"), json.dumps(record, indent=2, default=str) + "\n")
            run.out = Path(out)
        if project is not None:
            run.project_run = project.add_run(record, _project_rows(work, summaries))
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    if not keep_shards:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if out is not None and work.parent.name.endswith(".shards"):
            try:
                work.parent.rmdir()
            except OSError:
                pass
    run.seconds = time.perf_counter() - started
    return run


def _loads(summaries: list[dict[str, Any]]) -> dict[str, int]:
    """Worker process id -> embedders it had loaded by its last shard of this run (1: loaded once)."""
    loads: dict[str, int] = {}
    for summary in summaries:
        if not summary.get("resumed"):
            pid = str(summary["pid"])
            loads[pid] = max(loads.get(pid, 0), int(summary["loads"]))
    return loads


def _portable(suggester: Suggester) -> Suggester:
    """A copy of ``suggester`` without its loaded model (which cannot travel); a worker loads the model itself."""
    import copy

    import cloudpickle  # type: ignore[import-untyped]

    clone = copy.copy(suggester)
    clone.source = suggester.source.portable()
    try:
        cloudpickle.dumps(clone)
    except Exception as exc:
        raise ClusterError(f"the suggester cannot be sent to the workers ({type(exc).__name__}: {exc}); "
                           "pass the model by name") from None
    return clone


def _run_shards(client: Any, job_fields: dict[str, Any], table_info: dict[str, Any], path: Path,
                opts: SuggestOptions, work: Path, is_table: bool, files: list[Path], root: Path, size: int,
                progress: _Progress) -> list[dict[str, Any]]:
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # moved between releases
        from distributed import KilledWorker

    done: dict[int, dict[str, Any]] = {}
    skip: set[int] = set()
    index = 0
    while (previous := done_summary(work, index)) is not None:  # shards an earlier run finished
        done[index] = {**previous, "resumed": True}
        skip.add(index)
        index += 1
    shards = _shards(path, opts, work, is_table, files, root, size, skip, table_info)
    job: ShardJob | None = None
    queue = as_completed()
    in_flight: dict[Any, int] = {}

    def collect(future: Any) -> None:
        shard_index = in_flight.pop(future)
        try:
            done[shard_index] = future.result()
        except KilledWorker as exc:
            raise ClusterError(f"{shard_name(shard_index)}: the worker running it died every time it was tried "
                               f"({' '.join(str(exc).split())}); see the workers' logs") from None
        except FutureCancelledError:
            raise ClusterError(f"{shard_name(shard_index)}: cancelled (the cluster went away)") from None
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"lost the Dask scheduler while {shard_name(shard_index)} ran "
                               f"({' '.join(str(exc).split())})") from None
        progress.tick()

    try:
        for shard in shards:
            if job is None:  # the table's header is known once its first shard is out
                job = ShardJob(**job_fields, table=dict(table_info) if is_table else None)
            if shard.index in done:
                progress.tick()
                continue
            future = client.submit(run_shard, job, shard, key=f"qcode-{job.run_id}-{shard_name(shard.index)}",
                                   pure=False, retries=0)
            in_flight[future] = shard.index
            queue.add(future)
            while len(in_flight) >= MAX_IN_FLIGHT:
                collect(next(queue))
        progress.total = progress.done + len(in_flight)
        for future in queue:
            collect(future)
    except BaseException:
        for future in in_flight:
            future.cancel()
        raise
    return [done[i] for i in sorted(done)]


def _assemble(run: SuggestRun, summaries: list[dict[str, Any]], work: Path, out: str | Path | None, project: Any,
              opts: SuggestOptions, left_out: list[tuple[str, str]], table_info: dict[str, Any], path: Path) -> None:
    """Sum the shards' counts, then write the output (and the project's documents) in input order."""
    import pyarrow.parquet as pq

    from ..formats import open_table_writer

    empty_rows = 0
    for summary in summaries:
        for name in ("documents", "segments", "suggested_segments", "skipped_interviewer", "without_suggestion"):
            setattr(run, name, getattr(run, name) + int(summary[name]))
        run.top_codes.update(summary["top_codes"])
        for i, n in summary["best_scores"]["bins"].items():
            run.best_scores.bins[int(i)] += int(n)
        run.best_scores.count += int(summary["best_scores"]["count"])
        if hasattr(run, "abstained"):
            run.abstained += int(summary.get("abstained", 0))
        empty_rows += int(summary.get("empty_rows", 0))
        for message in summary["warnings"]:
            if message not in run.warnings:
                run.warnings.append(message)
        run.skipped_files.extend((str(f), str(r)) for f, r in summary["skipped"])
    if empty_rows:
        run.warnings.append(f"{table_info.get('source', path)}: {empty_rows} row(s) with empty text skipped")
    run.left_out_files = list(left_out)
    record = run.record
    record["documents"], record["segments"] = run.documents, run.segments
    record["best_score_quantiles"] = run.best_scores.quantiles()
    record["skipped_files"] = [{"file": str(f), "reason": r} for f, r in run.skipped_files]
    record["left_out_files"] = [{"file": f, "reason": r} for f, r in run.left_out_files]
    if run.documents == 0:
        skipped = run.skipped_files
        if table_info and empty_rows:
            raise InputError(f"{table_info['source']}: every row has an empty "
                             f"{table_info['header'][table_info['text_index']]!r} column")
        if len(skipped) == 1:
            raise InputError(str(skipped[0][1]))
        first = f"; first: {skipped[0][1]}" if skipped else ""
        raise InputError(f"{path}: no readable documents ({len(skipped)} files skipped{first})")
    writer = open_table_writer(out, SUGGESTION_COLUMNS) if out is not None else None
    try:
        for summary in summaries:
            base = work / shard_name(int(summary["index"]))
            if writer is not None:
                try:
                    handle = pq.ParquetFile(f"{base}.parquet")
                    for group in range(handle.num_row_groups):
                        writer.write_rows(handle.read_row_group(group).to_pylist())
                except (OSError, ValueError) as exc:
                    raise ClusterError(f"{base}.parquet: cannot read this shard ({' '.join(str(exc).split())}); "
                                       "delete it and run again to recompute it") from None
            if project is not None:
                _store_documents(project, Path(f"{base}.docs.parquet"), run)
        if writer is not None:
            writer.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def _store_documents(project: Any, docs_file: Path, run: SuggestRun) -> None:
    import pyarrow.parquet as pq

    try:
        lines = pq.read_table(docs_file).column("doc").to_pylist()
    except (OSError, ValueError, KeyError) as exc:
        raise ClusterError(f"{docs_file}: cannot read this shard's documents ({' '.join(str(exc).split())}); "
                           "delete the shard and run again") from None
    docs: list[Document] = []
    segments: list[Segment] = []
    for line in lines:
        item = json.loads(line)
        d = item["doc"]
        docs.append(Document(id=d["id"], text=d["text"], turns=[Turn(**t) for t in d["turns"]],
                             source=d["source"], metadata=d["metadata"]))
        segments.extend(Segment(**s) for s in item["segments"])
    if not docs:
        return
    report = run.project_report if run.project_report is not None else {}
    with project.transaction():
        for key, ids in project.add_documents(docs).items():
            report.setdefault(key, []).extend(ids)
        project.add_segments(segments)
        if run.options.attribute_columns:
            project.set_document_attributes(docs, run.options.attribute_columns)


def _project_rows(work: Path, summaries: list[dict[str, Any]]) -> Iterator[tuple[str, str, float, int]]:
    import pyarrow.parquet as pq

    for summary in summaries:
        handle = pq.ParquetFile(work / f"{shard_name(int(summary['index']))}.parquet")
        for group in range(handle.num_row_groups):
            table = handle.read_row_group(group, columns=["segment_id", "code_id", "score", "rank"])
            yield from zip(*(table.column(c).to_pylist() for c in ("segment_id", "code_id", "score", "rank")))


__all__ = ["MAX_IN_FLIGHT", "TABLE_SUFFIXES", "connect", "plan_shards", "suggest_dask"]
