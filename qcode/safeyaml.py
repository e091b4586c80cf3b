"""A linear-time check of untrusted YAML before it is built into objects.

PyYAML builds nested collections recursively (thousands of ``[`` or of nested
``children`` end in a ``RecursionError``) and shares aliased nodes, so a
few hundred bytes of ``&a [*b, *b, ...]`` describe a structure that anything
walking it (``str()``, a validator) expands exponentially. :func:`check_yaml`
reads the event stream once (libyaml's parser when present: no recursion, no
objects) and refuses, with a one-line error naming the line and the limit:

* nesting deeper than ``yaml_depth``;
* more nodes reached through aliases than ``yaml_alias_nodes`` (the size an
  alias stands for is counted, not the number of aliases), and recursive aliases;
* more mappings than ``max_mappings`` when given (a codebook: one per code).

>>> check_yaml("codes: [{id: a, name: A}]", "cb.yaml")
>>> check_yaml("a: &x [1, 2]\\nb: [*x, *x]", "cb.yaml")
>>> check_yaml("[" * 500 + "]" * 500, "deep.yaml")
Traceback (most recent call last):
...
qcode.errors.CodebookError: deep.yaml, line 1: YAML nested deeper than 128 levels (limit yaml_depth=128; for a trusted file raise it with QCODE_MAX_YAML_DEPTH)
"""

from __future__ import annotations

from typing import Any

from .errors import CodebookError, QcodeError
from .limits import current as current_limits


def safe_loader_base() -> type[Any]:
    """libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_yaml(text: str, where: str, *, max_mappings: int | None = None, what: str = "codes",
               error: type[QcodeError] = CodebookError) -> None:
    """Refuse ``text`` past the YAML limits (see the module docstring); YAML syntax errors propagate as ``yaml.YAMLError``."""
    import yaml

    lim = current_limits()
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    sizes: list[int] = []          # nodes under each open collection, aliases expanded
    anchors: list[str | None] = []
    anchor_size: dict[str, int] = {}
    open_anchors: set[str] = set()
    expanded = 0
    mappings = 0

    def line(event: Any) -> int:
        return event.start_mark.line + 1 if event.start_mark is not None else 0

    for event in yaml.parse(text, Loader=safe_loader_base()):
        if isinstance(event, starts):
            if len(sizes) >= lim.yaml_depth:
                raise error(f"{where}, line {line(event)}: YAML nested deeper than {lim.yaml_depth} levels "
                            f"({lim.hint('yaml_depth')})")
            if isinstance(event, yaml.MappingStartEvent):
                mappings += 1
                if max_mappings is not None and mappings > max_mappings:
                    raise error(f"{where}, line {line(event)}: more than {max_mappings - 1} {what} "
                                f"({lim.hint('codes')})")
            sizes.append(1)
            anchors.append(event.anchor)
            if event.anchor:
                open_anchors.add(event.anchor)
        elif isinstance(event, ends):
            size = sizes.pop()
            anchor = anchors.pop()
            if anchor:
                anchor_size[anchor] = size
                open_anchors.discard(anchor)
            if sizes:
                sizes[-1] += size
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor
            if name in open_anchors:
                raise error(f"{where}, line {line(event)}: recursive alias *{name} (refused)")
            size = anchor_size.get(name, 1)
            expanded += size
            if expanded > lim.yaml_alias_nodes:
                raise error(f"{where}, line {line(event)}: aliases expand to more than {lim.yaml_alias_nodes} "
                            f"nodes (refused as a possible alias bomb; {lim.hint('yaml_alias_nodes')})")
            if sizes:
                sizes[-1] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                anchor_size[event.anchor] = 1
            if sizes:
                sizes[-1] += 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _columns_above(lines: list[str], upto: int) -> tuple[set[int], set[int]]:
    """Columns where keys/items start on the lines before ``upto``, and columns of the list dashes among them."""
    starts: set[int] = set()
    dashes: set[int] = set()
    for raw in lines[:upto]:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        col = _indent(raw)
        starts.add(col)
        rest = raw[col:]
        while rest.startswith("- "):  # "- - x" and "- key:" open deeper columns
            dashes.add(col)
            col += 2 + _indent(rest[2:])
            rest = raw[col:]
            starts.add(col)
    return starts, dashes


def _spaces(n: int) -> str:
    return f"{n} space{'s' if n != 1 else ''}"


def _quote_opened_before(text: str, line: int) -> tuple[str, int] | None:
    """(quote, 1-based line) of a quoted value that opens on an earlier line and closes on ``line``
    (0-based): the usual sign of a quote left open, which YAML lets run on to the next quote."""
    import yaml

    lines = text.split("\n", line + 1)
    if line >= len(lines) or ('"' not in lines[line] and "'" not in lines[line]):
        return None  # no quote closes on that line: nothing to look for (and no second pass over the text)
    upto = len(text) - len(lines[line + 1]) if len(lines) > line + 1 else len(text)
    found = None
    try:
        for token in yaml.scan(text[:upto], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if token.start_mark.line > line:
                break
            if (isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
                    and token.end_mark.line == line and token.start_mark.line < line):
                found = (token.style, token.start_mark.line + 1)
    except yaml.YAMLError:
        pass
    return found


def describe_yaml_error(text: str, exc: Exception) -> tuple[int | None, str]:
    """The line (1-based) and a plain-words guess at what is wrong, for a YAML syntax error from PyYAML.

    The parser's own words ("expected <block end>, but found '<block sequence start>'") say what it
    expected, not what the writer got wrong; this looks at the lines themselves.

    >>> import yaml
    >>> bad = "codes:\\n  - id: a\\n    name: A\\n   - id: b\\n"
    >>> try:
    ...     yaml.safe_load(bad)
    ... except yaml.YAMLError as exc:
    ...     describe_yaml_error(bad, exc)
    (4, "indented 3 spaces, which lines up with nothing above (the lines above start at 0, 2 or 4 spaces); the keys of one code, and the '- ' of the items of one list, must start in the same column")
    """
    lines = text.splitlines()
    problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    context = str(getattr(exc, "context", None) or "")
    mark = getattr(exc, "problem_mark", None)
    cmark = getattr(exc, "context_mark", None)
    at = mark.line if mark is not None else None
    col = mark.column if mark is not None else 0
    here = lines[at] if at is not None and at < len(lines) else ""

    last = len(lines) if at is None else min(at + 1, len(lines))
    for i in range(last):
        lead = lines[i][: len(lines[i]) - len(lines[i].lstrip(" \t"))]
        if "\t" in lead:
            return i + 1, "a tab in the indentation (YAML indents with spaces only)"
    if "quoted scalar" in context and cmark is not None:
        quote = lines[cmark.line][cmark.column] if cmark.line < len(lines) and cmark.column < len(lines[cmark.line]) \
            else '"'
        return cmark.line + 1, f"a {quote} quote that is never closed (a value that starts with {quote} must end with it)"
    if "flow sequence" in context or "flow mapping" in context:
        opening, closing = ("[", "]") if "sequence" in context else ("{", "}")
        line = cmark.line + 1 if cmark is not None else (at + 1 if at is not None else None)
        return line, (f"a '{opening}' not closed by '{closing}', or a ':' or '{opening}' inside an unquoted item "
                      "(put such an item in quotes)")
    if "could not find expected ':'" in problem:
        line = cmark.line + 1 if cmark is not None else (at + 1 if at is not None else None)
        return line, "no ':' after the key (write 'key: value', with a space after the colon)"
    if at is None:
        return None, problem
    opened = _quote_opened_before(text, at)
    if opened is not None:  # the error is where a quote left open on an earlier line finally closed
        quote, line = opened
        return line, (f"a {quote} quote that is not closed on its line: it runs on to line {at + 1} "
                      f"(a value that starts with {quote} must end with it)")
    if "mapping values are not allowed" in problem:
        first = here.find(": ")
        if 0 <= first < col:
            return at + 1, "a second ': ' in one line (put the value in quotes: key: \"text: more text\")"
        prev = next((i for i in range(at - 1, -1, -1) if lines[i].strip() and not lines[i].lstrip().startswith("#")),
                    None)
        if prev is not None:
            if ":" not in lines[prev]:
                return prev + 1, "no ':' after the key (write 'key: value', with a space after the colon)"
            if _indent(here) > _indent(lines[prev]):
                return at + 1, (f"indented more than line {prev + 1}, which already has a value "
                                "(line the keys of one code up in one column)")
        return at + 1, "a ':' where no key can start (put the value in quotes)"
    if "cannot start any token" in problem and col < len(here):
        return at + 1, f"a value cannot start with {here[col]!r} (put it in quotes)"
    if "undefined alias" in problem:
        return at + 1, "'*' starts a reference to an '&' anchor that is not defined (put the value in quotes)"
    if any(word in problem for word in ("<block end>", "expected '-' indicator", "expected key",
                                        "<block mapping end>", "<block sequence end>")):
        before = here[:col].rstrip()
        if col > _indent(here) and before and before[-1] in "\"'":
            return at + 1, "text after a closing quote (quote the whole value, or nothing)"
        indent = _indent(here)
        starts, dashes = _columns_above(lines, at)
        if indent not in starts:
            shown = sorted(starts) or [0]
            listed = ", ".join(map(str, shown[:-1])) + f" or {shown[-1]}" if len(shown) > 1 else str(shown[0])
            return at + 1, (f"indented {_spaces(indent)}, which lines up with nothing above (the lines above start "
                            f"at {listed} spaces); the keys of one code, and the '- ' of the items of one list, "
                            "must start in the same column")
        if indent in dashes and not here.lstrip().startswith("-"):
            return at + 1, (f"indented like the '- ' of the list items above ({_spaces(indent)}) but not an item: "
                            f"indent it like the keys of its item ({_spaces(indent + 2)}), or start a new item "
                            "with '- '")
        return at + 1, "the indentation does not fit the lines above (check which code or list it belongs to)"
    return at + 1, problem


def check_json_depth(data: Any, where: str, error: type[QcodeError] = CodebookError) -> None:
    """Refuse parsed JSON nested deeper than ``yaml_depth`` (walked without recursion)."""
    lim = current_limits()
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > lim.yaml_depth:
                raise error(f"{where}: JSON nested deeper than {lim.yaml_depth} levels ({lim.hint('yaml_depth')})")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


__all__ = ["check_json_depth", "check_yaml", "describe_yaml_error", "safe_loader_base"]
