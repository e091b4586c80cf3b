"""User-facing errors.

Anything a user can cause (a bad file, an unknown name, a malformed codebook)
raises a :class:`QcodeError` subclass whose message is one line naming the
file, line, field or id and what is wrong. The CLI prints that line and exits
non-zero without a traceback; everything else is a bug and keeps its traceback.
An :class:`OSError` (disk full, read-only folder) is described in one line by
:func:`describe_os_error`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


class QcodeError(Exception):
    """Base class of errors caused by input, not by a bug in qcode.

    ``status`` is the HTTP status a web front-end answers with (as Starlette's
    ``HTTPException`` carries one), so that rewording a message never changes the API.
    """

    exit_code = 2
    status = 400


class InputError(QcodeError):
    """A file or folder that cannot be read as asked."""


class CodebookError(QcodeError):
    """A codebook that is malformed or cannot be found."""


class ModelError(QcodeError):
    """An embedding model that is missing or whose weights do not match the manifest."""


class ProjectError(QcodeError):
    """A project store problem: unknown project, coder, segment or code; locked database."""


class StoreUnavailableError(ProjectError):
    """The store cannot take this read or write now (locked by another writer, read-only, its disk full,
    cannot be opened); nothing was written, and the same request may succeed later."""

    status = 503


class UnknownSegmentError(ProjectError):
    """A segment id the project does not hold, or one of a document version that has changed since."""

    status = 404


class UnknownCodeError(ProjectError):
    """A code id the project's codebook does not hold (or the project has no codebook to hold it)."""

    status = 422


class AgreementError(QcodeError):
    """Agreement cannot be computed as asked (too few coders, no overlap, ...)."""


class InterchangeError(QcodeError):
    """A REFI-QDA or spreadsheet file that cannot be imported or exported."""


class OutputError(QcodeError, OSError):
    """A file that could not be written (disk full, read-only folder, no permission); nothing was published.

    It is also an :class:`OSError` (``errno`` kept), so code that handles
    ``OSError`` around a write keeps working.
    """

    status = 503

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


class QcodeWarning(UserWarning):
    """A problem qcode worked around; the CLI prints it as one ``warning:`` line."""


class DamageWarning(QcodeWarning):
    """Part of a project database could not be read as stored (damaged bytes); the rest was read."""


_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied"}


def os_error_reason(exc: OSError) -> str:
    """What went wrong, in words, then the system's own text: ``the disk is full (No space left on device)``."""
    system = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    reason = _REASONS.get(exc.errno or -1)
    return f"{reason} ({system})" if reason else system


def describe_os_error(exc: OSError, path: str | Path | None = None) -> str:
    """One line for an OS error: the file (``path``, else the error's own), what went wrong, the system's text."""
    where = path if path is not None else exc.filename
    return f"{os.fsdecode(where)}: {os_error_reason(exc)}" if where is not None else os_error_reason(exc)


class AnalysisError(QcodeError):
    """An analysis that cannot be made as asked (unknown attribute or coder, too many attribute values)."""
