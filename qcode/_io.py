"""Small I/O helpers shared by every stage: atomic writes, write errors as one line, cache folders.

Every error of writing a file reaches the user as one line: atomic writes
raise :func:`output_error`, naming the file they were asked to write; the
CLI's error boundary gives any other :class:`OSError` the same words
(:func:`qcode.errors.describe_os_error`).

>>> str(output_error(OSError(28, "No space left on device"), "out/codings.csv"))
'out/codings.csv: cannot write: the disk is full (No space left on device); nothing was written'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OutputError, os_error_reason


def output_error(exc: OSError, path: str | Path) -> OutputError:
    """``exc``, met while writing ``path``, as a one-line :class:`~qcode.errors.OutputError`."""
    if isinstance(exc, OutputError):
        return exc
    return OutputError(f"{os.fsdecode(path)}: cannot write: {os_error_reason(exc)}; nothing was written", exc.errno)


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, are fsynced, and the
    file is renamed over the target (``os.replace`` is atomic on POSIX and NT).
    Any :class:`OSError` (disk full, read-only folder) leaves no temporary file
    and an existing ``path`` unchanged, and is raised as a one-line
    :class:`~qcode.errors.OutputError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(exc, path) from None
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes 0600 files; publish with the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise output_error(exc, path) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def user_cache_dir() -> Path:
    """qcode's cache folder: ``$QCODE_CACHE_DIR``, else ``$XDG_CACHE_HOME/qcode``, else the platform's."""
    override = os.environ.get("QCODE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "qcode"
    from platformdirs import user_cache_dir as platform_cache

    return Path(platform_cache("qcode", appauthor=False))
