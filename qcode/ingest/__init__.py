"""Ingest: read transcripts and open-ended responses into :class:`~qcode.document.Document` objects.

Formats: ``.txt``, ``.md`` (speaker turns detected), ``.docx``, ``.vtt``,
``.srt`` (cues merged into turns), ``.csv``, ``.tsv``, ``.xlsx`` (one document
per row).

>>> import pathlib, tempfile, qcode
>>> study = pathlib.Path(tempfile.mkdtemp())
>>> _ = (study / "int01.txt").write_text("Interviewer: How is it going?\\nP1: We never have the funding.\\n")
>>> _ = (study / "broken.docx").write_bytes(b"not a zip")
>>> corpus = qcode.read_corpus(study)
>>> for doc in corpus:
...     print(doc.id, len(doc.turns))
int01.txt 2
>>> [(path.name, why.split(": ", 1)[1]) for path, why in corpus.skipped]
[('broken.docx', 'not a readable .docx file: not a zip archive')]
"""

from __future__ import annotations

import logging
import os
import stat
import unicodedata
import warnings as _warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..document import Document
from ..errors import InputError
from ..safetext import escape_name, has_undecodable

logger = logging.getLogger("qcode.ingest")

TEXT_SUFFIXES = (".txt", ".md")
CAPTION_SUFFIXES = (".vtt", ".srt")
TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx")


@dataclass(frozen=True)
class ReadOptions:
    """What :func:`read_document` passes to every reader."""

    doc_id: str
    interviewers: tuple[str, ...] = ()
    id_column: str | None = None
    text_column: str | None = None
    max_bytes: int | None = None
    encoding: str | None = None


#: suffix -> reader: ``reader(path, options) -> list[Document]`` (imported on first use)
READERS: dict[str, Callable[[Path, ReadOptions], list[Document]]] = {}


def register_reader(*suffixes: str) -> Callable[[Callable[[Path, ReadOptions], list[Document]]],
                                                 Callable[[Path, ReadOptions], list[Document]]]:
    """Decorator: read files with these suffixes with the decorated function."""
    def add(reader: Callable[[Path, ReadOptions], list[Document]]) -> Callable[[Path, ReadOptions], list[Document]]:
        for suffix in suffixes:
            READERS[suffix.lower()] = reader
        return reader
    return add


@register_reader(*TEXT_SUFFIXES)
def _text(path: Path, o: ReadOptions) -> list[Document]:
    from .text import read_text

    return [read_text(path, doc_id=o.doc_id, interviewers=o.interviewers, max_bytes=o.max_bytes, encoding=o.encoding)]


@register_reader(".docx")
def _docx(path: Path, o: ReadOptions) -> list[Document]:
    from .docx import read_docx

    return [read_docx(path, doc_id=o.doc_id, interviewers=o.interviewers, max_bytes=o.max_bytes)]


@register_reader(*CAPTION_SUFFIXES)
def _captions(path: Path, o: ReadOptions) -> list[Document]:
    from .captions import read_captions

    return [read_captions(path, doc_id=o.doc_id, interviewers=o.interviewers, max_bytes=o.max_bytes,
                          encoding=o.encoding)]


@register_reader(".csv", ".tsv")
def _csv(path: Path, o: ReadOptions) -> list[Document]:
    from .tables import read_csv

    return read_csv(path, file_id=o.doc_id, id_column=o.id_column, text_column=o.text_column, max_bytes=o.max_bytes,
                    encoding=o.encoding)


@register_reader(".xlsx")
def _xlsx(path: Path, o: ReadOptions) -> list[Document]:
    from .tables import read_xlsx

    return read_xlsx(path, file_id=o.doc_id, id_column=o.id_column, text_column=o.text_column, max_bytes=o.max_bytes)


#: File types read by :func:`read_document` and found by :func:`read_corpus`.
SUPPORTED_SUFFIXES = tuple(READERS)


class IngestWarning(UserWarning):
    """A file was skipped, or read with a fallback (its message names the file)."""


def document_id(path: str | Path, root: str | Path | None = None) -> str:
    """The id of the document read from ``path``: its path relative to ``root`` with ``/``, NFC.

    Without a root (or for a path outside it) the id is the file name.

    >>> document_id("/data/study/site-a/int01.txt", "/data/study")
    'site-a/int01.txt'
    """
    path = Path(path)
    relative = None
    if root is not None:
        try:
            relative = path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            relative = None
    return escape_name(unicodedata.normalize("NFC", relative or path.name))


def read_document(
    path: str | Path,
    *,
    root: str | Path | None = None,
    id_column: str | None = None,
    text_column: str | None = None,
    interviewers: Iterable[str] = (),
    max_bytes: int | None = None,
    encoding: str | None = None,
) -> list[Document]:
    """Read one file into documents (one for a transcript, one per row of a spreadsheet).

    Parameters
    ----------
    path : file to read; its suffix picks the reader (see :data:`SUPPORTED_SUFFIXES`).
    root : folder the document id is relative to (default: the id is the file name).
    id_column, text_column : spreadsheet columns (``.csv``/``.tsv``/``.xlsx`` only).
    interviewers : speaker names to treat as interviewers (``["Anna"]``), besides
        the usual labels (Interviewer, Int, I, Q, Facilitator, Moderator, Researcher).
    max_bytes : refuse files larger than this (default 200 MiB, or ``$QCODE_MAX_FILE_MB``).
    encoding : the encoding of text files (.txt, .md, .vtt, .srt, .csv, .tsv), e.g. ``"gbk"``; default:
        UTF-8 (with or without a byte-order mark), UTF-16 by its pattern, else cp1252 with a warning.

    Returns
    -------
    list of Document; raises :class:`~qcode.errors.InputError` (one line naming
    the file) for a missing, unsupported, binary, empty, oversized, corrupt or
    changing file.

    Example
    -------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "int01.txt"
    >>> _ = path.write_text("P1: Hello.\\nInterviewer: And the funding?\\n", encoding="utf-8")
    >>> [doc] = read_document(path)
    >>> doc.turns[1].speaker, doc.turns[1].role
    ('Interviewer', 'interviewer')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    doc_id = document_id(path, root)
    interviewers = tuple(interviewers)
    if suffix not in READERS:
        if path.is_dir():
            raise InputError(f"{path}: is a folder; use read_corpus() for folders")
        raise InputError(f"{path}: unsupported file type {suffix or '(no extension)'!r} (supported: {' '.join(READERS)})")
    options = ReadOptions(doc_id=doc_id, interviewers=interviewers, id_column=id_column, text_column=text_column,
                          max_bytes=max_bytes, encoding=encoding)
    if not has_undecodable(str(path)):
        return READERS[suffix](path, options)
    try:  # a name that is not UTF-8 (latin-1 bytes on Linux): read it, show and store the name escaped
        docs = READERS[suffix](path, options)
    except InputError as exc:
        raise type(exc)(escape_name(str(exc))) from None
    for doc in docs:
        doc.source = escape_name(str(doc.source)) if doc.source is not None else None
        doc.warnings = [escape_name(w) for w in doc.warnings]
        doc.warnings.append(f"{escape_name(str(path))}: the file name is not valid UTF-8; its bytes are shown as \\xNN")
    return docs


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("~$")  # dot files, Office lock files


#: A file in a corpus folder listing files to leave out, one glob pattern a line (like .gitignore, simpler).
IGNORE_FILE = ".qcodeignore"


def read_ignore_patterns(root: str | Path) -> list[str]:
    """Patterns of ``root/.qcodeignore``: blank lines and ``#`` comments skipped; ``dir/`` means a folder."""
    path = Path(root) / IGNORE_FILE
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ignore file ({exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def is_ignored(relative: str, patterns: Iterable[str]) -> bool:
    """Whether a ``/``-separated relative path matches an ignore pattern (its whole path, its name, or a folder).

    >>> is_ignored("gold/codes.csv", ["gold/"]), is_ignored("a/README.md", ["README.*"]), is_ignored("a.txt", ["*.md"])
    (True, True, False)
    """
    from fnmatch import fnmatchcase

    name = relative.rsplit("/", 1)[-1]
    folders = relative.split("/")[:-1]
    for pattern in patterns:
        if pattern.endswith("/"):
            if any(fnmatchcase(folder, pattern.rstrip("/")) for folder in folders) or relative.startswith(pattern):
                return True
        elif fnmatchcase(relative, pattern) or fnmatchcase(name, pattern):
            return True
    return False


def list_files(path: str | Path, *, recursive: bool = True) -> list[Path]:
    """Supported files under a folder, sorted by their path relative to it.

    Hidden files and folders, Office lock files (``~$...``) and files matching
    the folder's ``.qcodeignore`` patterns are left out, and so are the files
    :func:`scan_folder` reports (unsupported types, qcode's own outputs).
    """
    return scan_folder(path, recursive=recursive)[0]


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def file_problem(path: Path, root: Path | None = None, max_bytes: int | None = None) -> str | None:
    """Why ``path`` must not be read, checked without opening it; None for a regular file within limits.

    A link that leads outside ``root``, anything but a regular file (a FIFO would block the read, a
    link to ``/dev/zero`` never ends) and a file over the size limit are named here, before any byte
    is read or hashed.
    """
    from .normalize import default_max_bytes

    try:
        if root is not None and path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root.resolve()):
                return f"a link to {escape_name(str(target))}, outside the folder; qcode does not follow it"
            return (f"a link to {escape_name(target.relative_to(root.resolve()).as_posix())} in this folder, "
                    "which is read under its own name")
        info = os.stat(path)
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        return f"{kind}, not a regular file"
    limit = default_max_bytes() if max_bytes is None else max_bytes
    if info.st_size > limit:
        return (f"file is {info.st_size / 2**20:.1f} MB, over the {limit / 2**20:.1f} MB limit (limit file_bytes; "
                "for a trusted file raise it with max_bytes= or QCODE_MAX_FILE_MB)")
    return None


def scan_folder(path: str | Path, *, recursive: bool = True, exclude: Iterable[str | Path] = (),
                max_bytes: int | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files of a folder a run reads, and those it leaves out with the reason (both sorted).

    Left out, and reported: files of a type no reader takes (``notes.pdf``), qcode's
    own outputs (run records, tables whose header is qcode's, an agreement report:
    see :mod:`qcode.ingest.own_outputs`), project folders (reported once), the
    paths in ``exclude`` (a run's own output file), and what :func:`file_problem`
    names (FIFOs, devices, links out of the folder, files over ``max_bytes``). Hidden files, Office lock files
    and ``.qcodeignore`` matches are left out without a report: they were meant to be.

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "int01.txt").write_text("Interviewer: Hello.\\nP1: Hi.\\n")
    >>> _ = (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    >>> files, left_out = scan_folder(root)
    >>> [f.name for f in files], [(p.name, why.split(": ", 1)[1][:28]) for p, why in left_out]
    (['int01.txt'], [('notes.pdf', "unsupported file type '.pdf'")])
    """
    from .own_outputs import is_project_folder, own_output_reason

    root = Path(path)
    patterns = read_ignore_patterns(root)
    excluded = {Path(p).resolve() for p in exclude}
    candidates: list[Path] = []
    left_out: list[tuple[Path, str]] = []

    def relative(p: Path) -> str:
        return p.relative_to(root).as_posix()

    if recursive:
        for folder, subfolders, names in os.walk(root):
            here = Path(folder)
            kept_folders = []
            for d in sorted(subfolders):
                if _is_hidden(d) or is_ignored(relative(here / d) + "/", patterns):
                    continue
                if is_project_folder(here / d):
                    left_out.append((here / d, f"{escape_name(str(here / d))}: a qcode project folder"))
                    continue
                kept_folders.append(d)
            subfolders[:] = kept_folders
            candidates.extend(here / n for n in names if not _is_hidden(n))
    else:
        candidates = [p for p in root.iterdir() if p.is_file() and not _is_hidden(p.name)]
    found: list[Path] = []
    for p in candidates:
        if is_ignored(relative(p), patterns):
            continue
        suffix = p.suffix.lower()
        shown = escape_name(str(p))
        if suffix in READERS and (problem := file_problem(p, root, max_bytes)) is not None:
            left_out.append((p, f"{shown}: {problem}"))  # checked before anything reads or hashes it
        elif (why := own_output_reason(p)) is not None:
            left_out.append((p, f"{shown}: {why}"))
        elif excluded and p.resolve() in excluded:
            left_out.append((p, f"{shown}: the output file of this run (qcode does not read what it writes)"))
        elif suffix not in READERS:
            left_out.append((p, f"{shown}: unsupported file type {escape_name(suffix) or '(no extension)'!r} "
                                f"(supported: {' '.join(READERS)})"))
        else:
            found.append(p)
    found.sort(key=relative)
    left_out.sort(key=lambda item: relative(item[0]))
    return found, left_out


class CorpusReader:
    """The documents of a folder (or a single file), read one file at a time.

    Iterating reads the files in :attr:`files` order and yields their documents;
    nothing is kept between files, so memory does not grow with the corpus, and
    the corpus can be iterated again (files are read afresh). A file that cannot
    be read is *skipped*: an :class:`IngestWarning` is issued (and logged at INFO
    level on the ``qcode.ingest`` logger), and ``(file, reason)`` is added to
    :attr:`skipped` (the reason starts with the file's path); the other files
    are read. A command-line front end that prints :attr:`skipped` itself can
    silence the warning with ``warnings.simplefilter("ignore", IngestWarning)``.

    Attributes
    ----------
    root : Path, the folder ids are relative to (the file's folder for a single file).
    files : list of Path, the supported files found, sorted.
    left_out : list of (Path, str), files of the folder not read, with the reason: unsupported
        types and qcode's own outputs (see :func:`scan_folder`); the reason starts with the path.
    skipped : list of (Path, str), files that failed in the latest iteration.
    warnings : list of str, non-fatal warnings of the latest iteration (encoding fallbacks, empty rows...).
    n_documents : int, documents yielded by the latest complete iteration.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        id_column: str | None = None,
        text_column: str | None = None,
        recursive: bool = True,
        interviewers: Iterable[str] = (),
        max_bytes: int | None = None,
        exclude: Iterable[str | Path] = (),
        encoding: str | None = None,
    ) -> None:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        self.left_out: list[tuple[Path, str]] = []
        if path.is_dir():
            self.root = path
            self.files, self.left_out = scan_folder(path, recursive=recursive, exclude=exclude, max_bytes=max_bytes)
            if not self.files:
                anything = any(path.iterdir())
                what = "no supported files (or all are in .qcodeignore)" if anything else "empty folder"
                own = sum("qcode" in why.rsplit(": ", 1)[-1] or "this run" in why for _, why in self.left_out)
                if own:
                    what += f"; {own} of qcode's own outputs left out"
                raise InputError(f"{path}: {what} (looked for {' '.join(READERS)}{'' if recursive else ', not in subfolders'})")
        else:
            if path.suffix.lower() not in READERS:
                raise InputError(f"{path}: unsupported file type {path.suffix or '(no extension)'!r} (supported: {' '.join(READERS)})")
            if (problem := file_problem(path, max_bytes=max_bytes)) is not None:
                raise InputError(f"{escape_name(str(path))}: {problem}")
            self.root = path.parent
            self.files = [path]
        self.id_column = id_column
        self.text_column = text_column
        self.interviewers = tuple(interviewers)
        self.max_bytes = max_bytes
        from .normalize import check_encoding

        self.encoding = check_encoding(encoding)  # an unknown name fails here, not once per file
        self.skipped: list[tuple[Path, str]] = []
        self.warnings: list[str] = []
        self.n_documents = 0

    def __iter__(self) -> Iterator[Document]:
        self.skipped = []
        self.warnings = []
        self.n_documents = 0
        for file in self.files:
            try:
                docs = read_document(file, root=self.root, id_column=self.id_column, text_column=self.text_column,
                                     interviewers=self.interviewers, max_bytes=self.max_bytes,
                                     encoding=self.encoding)
            except InputError as exc:
                self.skipped.append((file, str(exc)))
                logger.info("skipped %s", exc)  # the IngestWarning below is the user-visible report
                _warnings.warn(f"skipped {exc}", IngestWarning, stacklevel=2)
                continue
            for doc in docs:
                for message in doc.warnings:
                    if message not in self.warnings:
                        self.warnings.append(message)
                self.n_documents += 1
                yield doc

    def __repr__(self) -> str:
        return f"CorpusReader(root={str(self.root)!r}, files={len(self.files)})"


def read_corpus(
    path: str | Path,
    *,
    id_column: str | None = None,
    text_column: str | None = None,
    recursive: bool = True,
    interviewers: Iterable[str] = (),
    max_bytes: int | None = None,
    exclude: Iterable[str | Path] = (),
    encoding: str | None = None,
) -> CorpusReader:
    """A streaming :class:`CorpusReader` over a folder (recursively by default) or a single file.

    Raises :class:`~qcode.errors.InputError` at once for a missing path, an empty
    folder or a folder without supported files; per-file problems are found
    while iterating and skipped (see :class:`CorpusReader`). Files of other types and
    qcode's own outputs are left out and listed in :attr:`CorpusReader.left_out`, as
    are the paths in ``exclude`` (a run's output file).

    Example
    -------
    >>> import pathlib, qcode
    >>> demo = pathlib.Path(qcode.__file__).parents[1] / "corpora" / "demo"
    >>> corpus = read_corpus(demo, interviewers=["Dr Shah"])
    >>> docs = list(corpus); len(corpus.files), len(docs), len(corpus.skipped), len(corpus.left_out)
    (5, 5, 0, 0)
    """
    return CorpusReader(path, id_column=id_column, text_column=text_column, recursive=recursive,
                        interviewers=interviewers, max_bytes=max_bytes, exclude=exclude, encoding=encoding)


__all__ = ["CorpusReader", "IGNORE_FILE", "IngestWarning", "READERS", "ReadOptions", "SUPPORTED_SUFFIXES", "register_reader", "document_id", "list_files", "read_corpus", "read_document", "scan_folder"]
