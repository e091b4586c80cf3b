"""Folding one codebook into another, as an import does (pure).

>>> from qcode.codebook.model import Code, Codebook
>>> merged, ids, added = merge_codebooks(Codebook("x", [Code("a", "Access")]), Codebook("y", [Code("b", "Cost")]))
>>> [c.id for c in merged.codes], ids, added
(['a', 'b'], {'b': 'b'}, 1)
"""

from __future__ import annotations

from dataclasses import replace

from ..codebook.model import Codebook
from .model import norm_guid


def _name_paths(codebook: Codebook) -> dict[tuple[str, ...], str]:
    """Casefolded name path from the root -> code id."""
    out = {}
    for code in codebook.codes:
        names = [a.name for a in reversed(codebook.ancestors(code.id))] + [code.name]
        out[tuple(n.strip().casefold() for n in names)] = code.id
    return out


def merge_codebooks(current: Codebook | None, incoming: Codebook) -> tuple[Codebook, dict[str, str], int]:
    """Fold ``incoming`` codes into ``current``.

    Incoming codes are matched to current ones by GUID, then by name path
    (``Parent > Child``, case-insensitive); matched codes without a GUID take
    the incoming one; unmatched codes are appended under their (mapped)
    parent. Returns ``(merged codebook, incoming id -> merged id, codes added)``.

    >>> from qcode.codebook.model import Code
    >>> cur = Codebook("x", [Code("a", "Access")])
    >>> new = Codebook("y", [Code("acc", "access", guid="00000000-0000-0000-0000-000000000001"), Code("b", "Cost")])
    >>> merged, ids, added = merge_codebooks(cur, new)
    >>> ids, added, merged["a"].guid
    ({'acc': 'a', 'b': 'b'}, 1, '00000000-0000-0000-0000-000000000001')
    """
    if current is None or not current.codes:
        return incoming, {c.id: c.id for c in incoming.codes}, len(incoming.codes)
    by_guid = {norm_guid(c.guid): c.id for c in current.codes if c.guid}
    by_path = _name_paths(current)
    incoming_paths = {v: k for k, v in _name_paths(incoming).items()}
    codes = {c.id: c for c in current.codes}
    order = [c.id for c in current.codes]
    mapping: dict[str, str] = {}
    taken_guids = set(by_guid)
    added = 0
    for code in incoming.codes:  # parents come first (depth-first order)
        target = by_guid.get(norm_guid(code.guid)) if code.guid else None
        if target is None:
            target = by_path.get(incoming_paths[code.id])
        if target is not None:
            mapping[code.id] = target
            existing = codes[target]
            if not existing.guid and code.guid and norm_guid(code.guid) not in taken_guids:
                codes[target] = replace(existing, guid=code.guid)
                taken_guids.add(norm_guid(code.guid))
            continue
        new_id, n = code.id, 1
        while new_id in codes:
            n += 1
            new_id = f"{code.id}-{n}"
        parent = mapping.get(code.parent) if code.parent else None
        codes[new_id] = replace(code, id=new_id, parent=parent)
        order.append(new_id)
        mapping[code.id] = new_id
        added += 1
    merged = Codebook(name=current.name, codes=[codes[i] for i in order], title=current.title,
                      description=current.description, source=current.source)
    return merged, mapping, added


__all__ = ["merge_codebooks"]
