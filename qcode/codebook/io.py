"""Reading and writing codebook files, and the codebooks shipped with qcode.

A codebook file looks like::

    name: my-study
    title: Barriers to implementation
    codes:
      - id: funding
        name: Funding
        definition: Money for the service and who pays for it.
        inclusion: [Talk of budgets, grants, commissioning]
        exclusion: [Staff shortages not caused by money (use staffing)]
        examples: ["We have to bid for the money again every year."]
        children:
          - id: funding.short-term
            name: Short-term funding

Readers are found by file suffix in a small registry (:data:`CODEBOOK_READERS`).
Formats that live in a higher layer register themselves with
:func:`register_codebook_reader` (the REFI-QDA ``.qdc`` reader does, from
``qcode.interchange.qdc``, which ``import qcode`` loads). Seeded codebooks
ship as package data and load by name::

    >>> cb = load_codebook("mcn-sst")
    >>> len(cb.leaves())
    19
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..errors import CodebookError
from ..limits import current as current_limits
from ..safeyaml import check_json_depth, check_yaml, describe_yaml_error, safe_loader_base
from .model import Codebook, codebook_from_dict

#: A codebook reader: path -> Codebook, or ``"package.module:function"`` imported on first use.
Reader = Callable[[Path], Codebook]


def _yaml_with_lines(text: str, where: str,
                     key_lines: dict[tuple[int, str], int] | None = None) -> tuple[Any, dict[int, int]]:
    """Parse YAML, recording the 1-based line of every mapping (by object id), and of each key in
    ``key_lines`` when given (``(id(mapping), key) -> line``)."""
    import yaml

    line_of: dict[int, int] = {}
    base = safe_loader_base()

    class LineLoader(base):  # type: ignore[misc,valid-type]
        pass

    def construct_mapping(loader, node, deep=False):
        mapping = base.construct_mapping(loader, node, deep=True)
        line_of[id(mapping)] = node.start_mark.line + 1
        if key_lines is not None:
            for key_node, _ in node.value:
                if isinstance(key_node.value, str):
                    key_lines[(id(mapping), key_node.value)] = key_node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        check_yaml(text, where, max_mappings=current_limits().codes + 1)  # depth, alias bombs, size: before building
        data = yaml.load(text, Loader=LineLoader)  # LineLoader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        number, problem = describe_yaml_error(text, exc)
        line = f", line {number}" if number is not None else ""
        raise CodebookError(f"{where}{line}: not valid YAML: {problem}") from None
    return data, line_of


def _json_line_map(text: str, data: Any) -> dict[int, int]:
    """Best-effort line numbers for JSON codes, found by their ``"id"`` key."""
    line_of: dict[int, int] = {}
    positions = [m.start() for m in re.finditer(r'"id"\s*:', text)]

    def walk(codes: Any) -> Iterator[dict]:
        if isinstance(codes, list):
            for c in codes:
                if isinstance(c, dict):
                    yield c
                    yield from walk(c.get("children"))

    raw = data.get("codes") if isinstance(data, dict) else data
    line, counted = 1, 0
    for code, pos in zip(walk(raw), positions):  # positions ascend: count each newline once (linear time)
        line += text.count("\n", counted, pos)
        counted = pos
        line_of[id(code)] = line
    return line_of


def _read_text(path: Path) -> str:
    lim = current_limits()
    try:
        size = path.stat().st_size
        if size > lim.codebook_bytes:
            raise CodebookError(f"{path}: codebook file is {size / (1 << 20):.1f} MB, past the "
                                f"{lim.codebook_bytes / (1 << 20):g} MB a codebook may be ({lim.hint('codebook_bytes')})")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CodebookError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise CodebookError(f"{path}: codebook file is empty")
    return text


def read_json_codebook(path: Path) -> Codebook:
    """A codebook from a ``.json`` file (errors name the file and line)."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodebookError(f"{path}, line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except ValueError as exc:  # an integer past Python's digit limit (sys.set_int_max_str_digits)
        raise CodebookError(f"{path}: not valid JSON: a number too long to read ({str(exc).split(';')[0]})") from None
    except RecursionError:
        raise CodebookError(f"{path}: JSON nested too deep to read ({current_limits().hint('yaml_depth')})") from None
    check_json_depth(data, str(path))
    return codebook_from_dict(data, where=str(path), line_of=_json_line_map(text, data), default_name=path.stem)


def read_yaml_codebook(path: Path) -> Codebook:
    """A codebook from a ``.yaml``/``.yml`` file (errors name the file and line)."""
    key_lines: dict[tuple[int, str], int] = {}
    data, line_of = _yaml_with_lines(_read_text(path), str(path), key_lines)
    return codebook_from_dict(data, where=str(path), line_of=line_of, default_name=path.stem, key_lines=key_lines)


#: file suffix -> reader; ``.qdc`` is registered by the interchange layer (``qcode.interchange.qdc``)
CODEBOOK_READERS: dict[str, Reader] = {
    ".yaml": read_yaml_codebook,
    ".yml": read_yaml_codebook,
    ".json": read_json_codebook,
}


def register_codebook_reader(suffix: str, reader: Reader) -> None:
    """Read codebook files ending in ``suffix`` (e.g. ``".qdc"``) with ``reader``."""
    CODEBOOK_READERS[suffix.lower()] = reader


def read_codebook_file(path: str | Path) -> Codebook:
    """Load a codebook from a ``.yaml``, ``.yml``, ``.json`` or ``.qdc`` file (by suffix)."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"{path}: no such codebook file")
    suffix = path.suffix.lower()
    reader = CODEBOOK_READERS.get(suffix)
    if reader is None:
        known = ", ".join(CODEBOOK_READERS)
        raise CodebookError(f"{path}: unknown codebook format {suffix!r} (use {_or_list(known)})")
    return reader(path)


def _or_list(joined: str) -> str:
    head, sep, last = joined.rpartition(", ")
    return f"{head} or {last}" if sep else joined


def _yaml_text(data: dict[str, Any]) -> str:
    import yaml

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text


def _json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


#: file suffix -> text serialiser for :func:`save_codebook`
CODEBOOK_WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    ".yaml": _yaml_text, ".yml": _yaml_text, ".json": _json_text,
}


def save_codebook(codebook: Codebook, path: str | Path) -> Path:
    """Write ``codebook`` as YAML (``.yaml``/``.yml``) or JSON (``.json``), atomically."""
    path = Path(path)
    writer = CODEBOOK_WRITERS.get(path.suffix.lower())
    if writer is None:
        raise CodebookError(f"{path}: unknown codebook format {path.suffix!r} (use .yaml, .yml or .json)")
    atomic_write_text(path, writer(codebook.to_dict()))
    return path


def builtin_codebook_names() -> list[str]:
    """Names of the codebooks shipped with qcode."""
    folder = resources.files("qcode") / "data" / "codebooks"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_codebook(name_or_path: Codebook | str | Path) -> Codebook:
    """Load a shipped codebook by name (``"mcn-sst"``) or a codebook file by path."""
    if isinstance(name_or_path, Codebook):
        return name_or_path
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in CODEBOOK_READERS or candidate.exists():
        return read_codebook_file(candidate)
    name = str(name_or_path)
    if name in builtin_codebook_names():
        resource = resources.files("qcode") / "data" / "codebooks" / f"{name}.yaml"
        text = resource.read_text(encoding="utf-8")
        data, line_of = _yaml_with_lines(text, f"qcode:{name}")
        return codebook_from_dict(data, where=f"qcode:{name}", line_of=line_of, default_name=name)
    known = ", ".join(builtin_codebook_names())
    raise CodebookError(f"unknown codebook {name!r}: not a file, and not a shipped codebook ({known})")


__all__ = ["CODEBOOK_READERS", "CODEBOOK_WRITERS", "builtin_codebook_names", "load_codebook",
           "read_codebook_file", "read_json_codebook", "read_yaml_codebook", "register_codebook_reader",
           "save_codebook"]
