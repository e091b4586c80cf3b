"""Read members of an untrusted zip archive into memory, with limits.

A .qdpx file comes from another tool or another person, so it is treated as
hostile until read: member names must stay inside the archive folder (no
absolute paths, drive letters or ``..``), links are refused, and decompression
is capped (total bytes, bytes per member, compression ratio, member count) by
counting the bytes actually produced, not by trusting the sizes the archive
declares. Nothing is ever extracted to disk.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("project.qde", "<Project/>")
>>> SafeZip(buf, label="demo.qdpx").read("project.qde")
b'<Project/>'
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from .errors import InterchangeError, QcodeError
from .limits import Limits
from .limits import current as current_limits

#: what a damaged member raises while it is decompressed
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, OSError)


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what an archive may expand to (defaults: :mod:`qcode.limits`, ``zip_*``).

    ``max_ratio`` applies to members larger than ``ratio_floor`` bytes once
    expanded (tiny files compress oddly and are harmless).
    """

    max_total_bytes: int = Limits.zip_total_bytes
    max_member_bytes: int = Limits.zip_member_bytes
    max_ratio: float = Limits.zip_ratio
    ratio_floor: int = Limits.zip_ratio_floor
    max_members: int = Limits.zip_members

    @classmethod
    def current(cls) -> ZipLimits:
        """The archive limits in force now (raised by ``QCODE_MAX_ZIP_...`` or :func:`qcode.limits.override`)."""
        lim = current_limits()
        return cls(max_total_bytes=lim.zip_total_bytes, max_member_bytes=lim.zip_member_bytes,
                   max_ratio=lim.zip_ratio, ratio_floor=lim.zip_ratio_floor, max_members=lim.zip_members)


def check_member_name(name: str, label: str) -> str:
    """Return ``name`` as a clean relative POSIX path, or raise if it could escape.

    >>> check_member_name("sources/a.txt", "x.qdpx")
    'sources/a.txt'
    """
    if not name or "\x00" in name:
        raise InterchangeError(f"{label}: archive member with an empty or NUL-containing name")
    if "\\" in name:
        raise InterchangeError(f"{label}: archive member {name!r} uses backslashes (refused: could escape the folder)")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InterchangeError(f"{label}: archive member {name!r} has an absolute path (refused)")
    parts = PurePosixPath(name).parts
    if any(part == ".." for part in parts):
        raise InterchangeError(f"{label}: archive member {name!r} escapes the archive folder with '..' (refused)")
    return "/".join(p for p in parts if p != ".")


class SafeZip:
    """A read-only view of a zip archive that enforces :class:`ZipLimits`.

    Parameters
    ----------
    file : path or binary file object
    label : str
        How errors name the archive (usually its path).
    limits : ZipLimits (default: :meth:`ZipLimits.current`)
    error : the :class:`QcodeError` subclass raised (a transcript reader passes ``InputError``)
    what : the message for a file that is not a zip at all
    """

    def __init__(self, file: str | IO[bytes], label: str, limits: ZipLimits | None = None, *,
                 error: type[QcodeError] = InterchangeError,
                 what: str = "not a zip archive (a .qdpx is a zip holding project.qde)") -> None:
        self.label = label
        self.limits = limits or ZipLimits.current()
        self.error = error
        self._used = 0
        try:
            self._zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
            raise error(f"{label}: {what}") from None
        except OSError as exc:
            raise error(f"{label}: cannot read: {exc.strerror or exc}") from None
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            raise error(f"{label}: archive holds {len(infos)} members "
                        f"(limit zip_members={self.limits.max_members}; for a trusted file raise it with QCODE_MAX_ZIP_MEMBERS)")
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            try:
                clean = check_member_name(info.filename, label)
            except InterchangeError as exc:
                raise error(str(exc)) from None
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise error(f"{label}: archive member {info.filename!r} is a symbolic link (refused)")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise error(f"{label}: archive member {info.filename!r} is encrypted")
            if clean in self._members:
                raise error(f"{label}: archive holds two members named {clean!r} (refused: ambiguous)")
            self._members[clean] = info

    def names(self) -> list[str]:
        """Clean member names of the regular files, in archive order."""
        return list(self._members)

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def find(self, name: str) -> str | None:
        """The member called ``name``, matched exactly, else case-insensitively."""
        if name in self._members:
            return name
        folded = name.casefold()
        for member in self._members:
            if member.casefold() == folded:
                return member
        return None

    def read(self, name: str) -> bytes:
        """The bytes of member ``name``, decompressed under the limits."""
        info = self._members.get(name)
        if info is None:
            raise self.error(f"{self.label}: archive has no member {name!r}")
        chunks: list[bytes] = []
        produced = 0
        try:
            with self._zip.open(info) as handle:
                while True:
                    chunk = handle.read(1 << 16)
                    if not chunk:
                        break
                    produced += len(chunk)
                    self._check(name, info, produced)
                    chunks.append(chunk)
        except _CORRUPT as exc:
            raise self.error(f"{self.label}: member {name!r} is corrupt: {exc}") from None
        self._used += produced
        return b"".join(chunks)

    def check_declared(self, xml_cap: int | None = None) -> None:
        """Refuse the archive from its directory alone, before anything is decompressed.

        Python's zipfile never yields more bytes than a member's declared size
        (a lie ends in a CRC error), so checking the declared sizes bounds what
        any zipfile-based parser (python-docx, openpyxl) can expand. ``xml_cap``
        bounds the XML members (``.xml``, ``.rels``) taken together: an Office
        reader parses them into memory (limit ``xml_part_bytes``).
        """
        total = xml_total = 0
        for name, info in self._members.items():
            self._check(name, info, info.file_size, declared=True, used=total)
            total += info.file_size
            if xml_cap is not None and name.casefold().endswith((".xml", ".rels")):
                xml_total += info.file_size
                if xml_total > xml_cap:
                    raise self.error(f"{self.label}: its XML expands past {xml_cap} bytes (refused as a possible "
                                     "zip bomb; limit xml_part_bytes; for a trusted file raise it with QCODE_MAX_XML_PART_MB)")

    def _check(self, name: str, info: zipfile.ZipInfo, produced: int, *, declared: bool = False,
               used: int | None = None) -> None:
        lim = self.limits
        verb = "declares" if declared else "expands past"
        if produced > lim.max_member_bytes:
            raise self.error(f"{self.label}: member {name!r} {verb} {lim.max_member_bytes} bytes "
                             "(refused as a possible zip bomb; limit zip_member_bytes; "
                             "for a trusted file raise it with QCODE_MAX_ZIP_MEMBER_MB)")
        if (self._used if used is None else used) + produced > lim.max_total_bytes:
            raise self.error(f"{self.label}: archive expands past {lim.max_total_bytes} bytes in total "
                             "(refused as a possible zip bomb; limit zip_total_bytes; "
                             "for a trusted file raise it with QCODE_MAX_ZIP_MB)")
        if produced > lim.ratio_floor and produced > lim.max_ratio * max(info.compress_size, 1):
            raise self.error(f"{self.label}: member {name!r} expands more than {lim.max_ratio:g} times its "
                             "compressed size (refused as a possible zip bomb; limit zip_ratio; "
                             "for a trusted file raise it with QCODE_MAX_ZIP_RATIO)")

    def open(self, name: str) -> io.RawIOBase:
        """A stream of member ``name`` that stops with an error past the limits (for incremental parsers)."""
        info = self._members.get(name)
        if info is None:
            raise self.error(f"{self.label}: archive has no member {name!r}")
        return _LimitedStream(self, name, info)

    @property
    def zipfile(self) -> zipfile.ZipFile:
        """The underlying archive (after :meth:`check_declared`, safe to hand to a zipfile-based parser)."""
        return self._zip

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LimitedStream(io.RawIOBase):
    def __init__(self, owner: SafeZip, name: str, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._owner, self._name, self._info = owner, name, info
        self._produced = 0
        try:
            self._handle = owner._zip.open(info)
        except _CORRUPT as exc:
            raise owner.error(f"{owner.label}: member {name!r} is corrupt: {exc}") from None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            chunk = self._handle.read(len(buffer))
        except _CORRUPT as exc:
            raise self._owner.error(f"{self._owner.label}: member {self._name!r} is corrupt: {exc}") from None
        self._produced += len(chunk)
        self._owner._check(self._name, self._info, self._produced)
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed and hasattr(self, "_handle"):
            self._owner._used += self._produced
            self._handle.close()
        super().close()
