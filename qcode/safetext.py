"""Text from files made safe to show or store: escaped control characters and undecodable names.

A transcript, a code name or a file name may hold bytes meant for the terminal
(``\\x1b[2J`` clears the screen, ``\\x1b[8m`` hides text, U+202E reverses it)
or a file name that is not valid UTF-8 (Python keeps such bytes as lone
surrogates, which cannot be written anywhere). Everything qcode prints goes
through :func:`for_terminal`; every name read from the file system goes
through :func:`escape_name`.

>>> for_terminal("ok\\x1b[2Jgone")
'ok\\\\x1b[2Jgone'
>>> escape_name("caf\\udce9.txt")
'caf\\\\xe9.txt'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: C0 and C1 controls except tab and line feed, DEL, bidirectional overrides and isolates, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, *, one_line: bool = False) -> str:
    """``text`` with every character that could drive a terminal shown as an escape (``\\x1b``, ``\\u202e``).

    Tabs and line feeds are kept unless ``one_line`` (then they are escaped too).

    >>> for_terminal("a\\tb\\nc\\u202ed", one_line=True)
    'a\\\\x09b\\\\x0ac\\\\u202ed'
    """
    pattern = _UNSAFE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text) if pattern.search(text) else text


def escape_name(name: str) -> str:
    """A file name that can be written anywhere: bytes that were not UTF-8 shown as ``\\xNN``.

    Valid names are returned unchanged. The escape round-trips:
    ``os.fsdecode(codecs.escape_decode(escaped)[0])`` gives the name back
    (unless the name itself holds a backslash followed by ``x``).
    """
    return _SURROGATE.sub(_escape, name) if _SURROGATE.search(name) else name


def has_undecodable(name: str) -> bool:
    """Whether a name read from the file system held bytes that are not UTF-8."""
    return _SURROGATE.search(name) is not None




#: first characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet will show as text: one ``'`` put before a formula-like first character.

    Spreadsheets hide that apostrophe and show the text; to get the raw value
    back, drop one leading ``'`` when the next character is in
    :data:`FORMULA_PREFIXES` (:func:`restore_cell` does; qcode's own readers do it).

    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell("-5 points"), neutralise_cell("fine"), neutralise_cell(-5)
    ("'=HYPERLINK(1)", "'-5 points", 'fine', -5)
    """
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES and value:
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """The raw value of a cell written by :func:`neutralise_cell`.

    >>> restore_cell("'=1+1"), restore_cell("'quoted")
    ('=1+1', "'quoted")
    """
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name one thing unambiguously on screen, or None: control or invisible characters
    (escape sequences, newlines, zero-width or direction-changing characters), or a mix of alphabets
    (a Cyrillic ``і`` in a Latin word looks the same as the Latin one).

    >>> name_problem("funding"), name_problem("fund\\u202eing"), name_problem("fundіng")
    (None, 'contains control characters or invisible ones', 'mixes alphabets (cyrillic, latin)')
    """
    if any(ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") for ch in name):
        return "contains control characters or invisible ones"
    scripts = {s for s in map(_script, name) if s is not None}
    if len(scripts) > 1:
        return f"mixes alphabets ({', '.join(sorted(scripts)).lower()})"
    return None


def plain_xml_error(message: str) -> str:
    """libxml2's message in plain words: its advice to "try XML_PARSE_HUGE" (a parser flag qcode leaves off
    on purpose, against hostile files) becomes what happened.

    >>> plain_xml_error("Resource limit exceeded: Buffer size limit exceeded, try XML_PARSE_HUGE")
    'a single text or attribute value over 10 MB, more than qcode reads from XML (a damaged or hostile file)'
    """
    if "depth" in message.lower():
        return "XML nested deeper than 256 elements (libxml2's own cap)"
    if "XML_PARSE_HUGE" in message or "Resource limit exceeded" in message:
        return "a single text or attribute value over 10 MB, more than qcode reads from XML (a damaged or hostile file)"
    return message.strip()


__all__ = ["FORMULA_PREFIXES", "escape_name", "for_terminal", "has_undecodable", "name_problem", "neutralise_cell",
           "plain_xml_error", "restore_cell"]
