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

import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from ..errors import InterchangeError


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what an archive may expand to.

    ``max_ratio`` applies to members larger than ``ratio_floor`` bytes once
    expanded (tiny files compress oddly and are harmless).
    """

    max_total_bytes: int = 1 << 30  # 1 GiB of text is far beyond any interview study
    max_member_bytes: int = 512 << 20
    max_ratio: float = 200.0
    ratio_floor: int = 1 << 20
    max_members: int = 100_000


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
    limits : ZipLimits
    """

    def __init__(self, file: str | IO[bytes], label: str, limits: ZipLimits | None = None) -> None:
        self.label = label
        self.limits = limits or ZipLimits()
        self._used = 0
        try:
            self._zip = zipfile.ZipFile(file)
        except zipfile.BadZipFile:
            raise InterchangeError(f"{label}: not a zip archive (a .qdpx is a zip holding project.qde)") from None
        except OSError as exc:
            raise InterchangeError(f"{label}: cannot read: {exc.strerror or exc}") from None
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            raise InterchangeError(f"{label}: archive holds {len(infos)} members (limit {self.limits.max_members})")
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            clean = check_member_name(info.filename, label)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InterchangeError(f"{label}: archive member {info.filename!r} is a symbolic link (refused)")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise InterchangeError(f"{label}: archive member {info.filename!r} is encrypted")
            if clean in self._members:
                raise InterchangeError(f"{label}: archive holds two members named {clean!r} (refused: ambiguous)")
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
            raise InterchangeError(f"{self.label}: archive has no member {name!r}")
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
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise InterchangeError(f"{self.label}: member {name!r} is corrupt: {exc}") from None
        self._used += produced
        return b"".join(chunks)

    def _check(self, name: str, info: zipfile.ZipInfo, produced: int) -> None:
        lim = self.limits
        if produced > lim.max_member_bytes:
            raise InterchangeError(f"{self.label}: member {name!r} expands past {lim.max_member_bytes} bytes "
                                   "(refused as a possible zip bomb)")
        if self._used + produced > lim.max_total_bytes:
            raise InterchangeError(f"{self.label}: archive expands past {lim.max_total_bytes} bytes in total "
                                   "(refused as a possible zip bomb)")
        if produced > lim.ratio_floor and produced > lim.max_ratio * max(info.compress_size, 1):
            raise InterchangeError(f"{self.label}: member {name!r} expands more than {lim.max_ratio:g} times its "
                                   "compressed size (refused as a possible zip bomb)")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
