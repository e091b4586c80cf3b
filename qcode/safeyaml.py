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


def safe_loader_base() -> type:
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


__all__ = ["check_json_depth", "check_yaml", "safe_loader_base"]
