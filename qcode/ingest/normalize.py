"""Reading bytes safely and turning them into normalised text.

Every reader goes through :func:`read_text_file` (or :func:`read_file_bytes`
for binary formats such as .docx/.xlsx), so all formats share the same rules:

* a size limit (``max_bytes``; default :data:`DEFAULT_MAX_BYTES`, or
  ``$QCODE_MAX_FILE_MB``), checked before anything is read;
* detection of a file that changes while it is read (size and mtime before and
  after, and the byte count actually read);
* decoding: UTF-8 (a BOM is dropped), UTF-16 with a BOM, else a cp1252 /
  latin-1 fallback that is recorded as a warning;
* binary and empty files are refused with a one-line :class:`InputError`;
* normalisation: NFC, ``\\r\\n`` and ``\\r`` to ``\\n``.

>>> normalize_text("caf\\u0065\\u0301\\r\\nok")
'café\\nok'
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..limits import Limits
from ..limits import current as current_limits

#: Files larger than this are refused (bytes). 200 MiB: a 50 MB transcript is fine.
DEFAULT_MAX_BYTES = Limits.file_bytes

#: Fraction of control characters above which decoded text is called binary.
_MAX_CONTROL_FRACTION = 0.05
#: Text with nothing to read: whitespace and invisible format characters (zero-width, direction marks...).
_ONLY_INVISIBLE = re.compile("[\\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*")
#: Control characters (Unicode category Cc) other than tab, line feed, vertical tab, form feed, carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


@dataclass
class DecodedText:
    """Normalised text of a file with the encoding used and any warnings."""

    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def default_max_bytes() -> int:
    """The size limit: ``file_bytes`` of :func:`qcode.limits.current` (``$QCODE_MAX_FILE_MB`` raises it)."""
    return current_limits().file_bytes


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / (1024 * 1024):.1f} MB"


def read_file_bytes(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """Read a whole file, refusing oversized files and files that change meanwhile.

    Raises :class:`InputError` (one line naming the file) when the file is
    missing, unreadable, a folder, larger than ``max_bytes``, or changed while
    being read.
    """
    path = Path(path)
    limit = default_max_bytes() if max_bytes is None else max_bytes
    try:
        before = path.stat()
        if not path.is_file():
            raise InputError(f"{path}: not a regular file")
        if before.st_size > limit:
            raise InputError(
                f"{path}: file is {_mb(before.st_size)}, over the {_mb(limit)} limit "
                f"(limit file_bytes; for a trusted file raise it with max_bytes= or QCODE_MAX_FILE_MB)"
            )
        with open(path, "rb") as handle:
            # read what stat() promised plus one byte, so growth is seen without a buffer of `limit` bytes
            data = handle.read(min(limit, before.st_size) + 1)
        after = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{path}: file grew past the {_mb(limit)} limit while being read")
    changed = (
        before.st_size != after.st_size
        or before.st_mtime_ns != after.st_mtime_ns
        or len(data) != after.st_size
    )
    if changed:
        raise InputError(f"{path}: file changed while being read (size or modification time differs); read it again when it is complete")
    return data


def normalize_text(text: str) -> str:
    """NFC, line ends to ``\\n``, leading BOM dropped.

    >>> normalize_text("\\ufeffa\\r\\nb\\rc")
    'a\\nb\\nc'
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # line/paragraph separators would be a line end for str.splitlines but not for regexes
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n").replace("\x85", "\n")
    return unicodedata.normalize("NFC", text)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes in what is not UTF-16 mean a binary file (images, PDFs, zip, Word .doc)."""
    return b"\x00" in data[:1 << 20] or b"\x00" in data[-4096:]


def _control_fraction(text: str) -> float:
    sample = text[: 1 << 16]
    if not sample:
        return 0.0
    return len(_CONTROL.findall(sample)) / len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the NUL bytes fall on every other byte, as in UTF-16 text."""
    sample = data[:4096]
    if len(sample) < 8:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nuls > 0.6 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.6 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _first_bad_utf8(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def check_encoding(encoding: str | None) -> str | None:
    """The codec name for ``encoding`` (``"GBK"`` -> ``"gbk"``), or an InputError naming it; None stays None."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"--encoding {encoding!r}: not an encoding Python knows (e.g. utf-8, cp1252, gbk, "
                         "shift_jis, utf-16)") from None


def decode_bytes(data: bytes, source: str | Path, encoding: str | None = None) -> DecodedText:
    """Decode file bytes to normalised text, or raise :class:`InputError` for binary/empty data.

    Order: UTF-8 BOM -> UTF-16/32 BOM -> UTF-16 by NUL pattern -> UTF-8 -> cp1252 -> latin-1. A fallback
    adds a warning naming the file, the encoding and the first byte that was not
    UTF-8.

    >>> decode_bytes("café".encode("cp1252"), "a.txt").encoding
    'cp1252'

    ``encoding`` names the file's encoding and skips the guessing (a GBK or Shift-JIS transcript,
    which the cp1252 fallback would garble); a byte it cannot decode is an error naming it.
    """
    source = str(source)
    if not data:
        raise InputError(f"{source}: empty file")
    if encoding is not None:
        return _decode_named(data, source, check_encoding(encoding) or encoding)
    warnings: list[str] = []
    text: str | None = None
    encoding = "utf-8"
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(name)
            except UnicodeDecodeError as exc:
                raise InputError(f"{source}: starts with a {name} byte-order mark but byte {exc.start} is not {name}") from None
            encoding = name
            break
    if text is None and _looks_binary(data):
        guess = _utf16_without_bom(data)
        if guess is not None:
            try:
                text, encoding = data.decode(guess), guess
                warnings.append(f"{source}: no byte-order mark; decoded as {guess} from its byte pattern")
            except UnicodeDecodeError:
                text = None
    if text is None:
        if _looks_binary(data):
            raise InputError(f"{source}: binary file (contains NUL bytes), not text")
        bad = _first_bad_utf8(data)
        if bad < 0:
            text = data.decode("utf-8")
        else:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "latin-1"
            warnings.append(
                f"{source}: not valid UTF-8 (byte {bad} is 0x{data[bad]:02x}); decoded as {encoding}, check accented characters"
            )
    if _control_fraction(text) > _MAX_CONTROL_FRACTION:
        raise InputError(f"{source}: binary file (mostly control characters), not text")
    return _checked(text, source, encoding, warnings)


def _decode_named(data: bytes, source: str, encoding: str) -> DecodedText:
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: byte {exc.start} (0x{data[exc.start]:02x}) is not {encoding}; check "
                         "--encoding") from None
    if _control_fraction(text) > _MAX_CONTROL_FRACTION:
        raise InputError(f"{source}: binary file (mostly control characters) when read as {encoding}")
    return _checked(text, source, encoding, [])


def _checked(text: str, source: str, encoding: str, warnings: list[str]) -> DecodedText:
    """Normalised text, refused when it holds nothing to read or a NUL character."""
    text = normalize_text(text)
    if not text.strip():
        raise InputError(f"{source}: empty file (only whitespace)")
    if _ONLY_INVISIBLE.fullmatch(text):
        raise InputError(f"{source}: no visible text (only whitespace and invisible characters)")
    nul = text.find("\x00")
    if nul >= 0:  # a byte-order mark skips the binary check above; NUL is never text in any format
        raise InputError(f"{source}:{text.count(chr(10), 0, nul) + 1}: a NUL character, which text never holds "
                         "(binary data?)")
    return DecodedText(text=text, encoding=encoding, warnings=warnings)


def check_line_lengths(text: str, source: str | Path) -> None:
    """Refuse a text with a line longer than the ``line_chars`` limit, naming the line (every text format)."""
    limits = current_limits()
    if len(text) <= limits.line_chars:
        return
    for line_number, line in enumerate(text.split("\n"), start=1):  # only long texts pay for this
        if len(line) > limits.line_chars:
            raise InputError(f"{source}:{line_number}: a line of {len(line)} characters, longer than "
                             f"{limits.line_chars} ({limits.hint('line_chars')})")


def read_text_file(path: str | Path, *, max_bytes: int | None = None, encoding: str | None = None) -> DecodedText:
    """Read, check and decode a text file in one go (see the module docstring)."""
    return decode_bytes(read_file_bytes(path, max_bytes=max_bytes), path, encoding)


# -- normalising with an offset map (for positions that point into the text) -----------------

#: characters that end a line; each becomes ``\n`` (``\r\n`` counts as one)
LINE_BREAKS = {"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


@dataclass(frozen=True)
class OffsetMap:
    """Old -> new character offsets after normalising a text.

    ``floor[i]``/``ceil[i]`` are where old offset ``i`` lands when it starts or
    ends a span; they differ only inside a character that normalisation merged
    (``e`` + combining accent -> ``é``), where a span is widened to the whole character.
    """

    floor: list[int]
    ceil: list[int]

    @property
    def old_length(self) -> int:
        return len(self.floor) - 1


def _clusters(text: str) -> Iterator[tuple[int, int]]:
    """Old-text ranges that normalise independently: a line break (``\\r\\n`` counts as one) or a
    character with the combining marks that follow it."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            j += 1
        elif text[i] not in LINE_BREAKS:
            while j < n and unicodedata.combining(text[j]):
                j += 1
        yield i, j
        i = j


def normalize_with_offsets(text: str, compose: bool = True) -> tuple[str, OffsetMap | None]:
    """:func:`normalize_text` that also maps offsets: BOM dropped, line breaks to ``\\n``, NFC per character.

    NFC is applied to each character with its combining marks; compositions
    that need more context than that are left out, which a caller detects by
    comparing with :func:`normalize_text`. ``compose=False`` keeps accents as
    written. Returns ``(text, None)`` when nothing changed.

    >>> new, m = normalize_with_offsets("Cafe\\u0301\\r\\nok")
    >>> new, m.floor[4], m.ceil[4], m.floor[7]
    ('Café\\nok', 3, 4, 5)
    """
    floor, ceil = [0] * (len(text) + 1), [0] * (len(text) + 1)
    out: list[str] = []
    pos = 0
    for a, b in _clusters(text):
        chunk = text[a:b]
        if a == 0 and chunk == "\ufeff":
            piece = ""
        elif chunk[0] in LINE_BREAKS:
            piece = "\n" + chunk[1:] if chunk != "\r\n" else "\n"
        else:
            piece = unicodedata.normalize("NFC", chunk) if compose else chunk
        out.append(piece)
        floor[a] = ceil[a] = pos
        for k in range(a + 1, b):
            floor[k], ceil[k] = pos, pos + len(piece)
        pos += len(piece)
    floor[len(text)] = ceil[len(text)] = pos
    new = "".join(out)
    if new == text:
        return text, None
    return new, OffsetMap(floor, ceil)
