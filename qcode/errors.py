"""User-facing errors.

Anything a user can cause (a bad file, an unknown name, a malformed codebook)
raises a :class:`QcodeError` subclass whose message is one line naming the
file, line, field or id and what is wrong. The CLI prints that line and exits
non-zero without a traceback; everything else is a bug and keeps its traceback.
"""


class QcodeError(Exception):
    """Base class of errors caused by input, not by a bug in qcode."""

    exit_code = 2


class InputError(QcodeError):
    """A file or folder that cannot be read as asked."""


class CodebookError(QcodeError):
    """A codebook that is malformed or cannot be found."""


class ModelError(QcodeError):
    """An embedding model that is missing or whose weights do not match the manifest."""


class ProjectError(QcodeError):
    """A project store problem: unknown project, coder, segment or code; locked database."""


class AgreementError(QcodeError):
    """Agreement cannot be computed as asked (too few coders, no overlap, ...)."""


class InterchangeError(QcodeError):
    """A REFI-QDA or spreadsheet file that cannot be imported or exported."""
