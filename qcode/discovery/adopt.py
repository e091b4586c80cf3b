"""From candidate to code: chosen (possibly edited) candidates become codes in a new codebook version,
and the codebook history is exported for a methods appendix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..codebook.model import Code
from ..errors import InputError
from .core import DiscoverError
from .sources import read_candidates


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "new-code"


def codes_from_candidates(candidates: Sequence[dict[str, Any]], pick: Sequence[str], where: str = "candidates") -> list[Code]:
    """The picked candidates as codes: ``code_id`` (or a slug of the label) as id, ``label`` as name,
    ``definition`` as definition and up to five ``examples``, as the researcher left them in the file.

    >>> codes_from_candidates([{"id": "cand-01", "label": "Waiting lists", "definition": "Delays.",
    ...                         "examples": ["We waited months."]}], ["cand-01"])[0].id
    'waiting-lists'
    """
    by_id = {str(c["id"]): c for c in candidates}
    unknown = [p for p in pick if p not in by_id]
    if unknown:
        known = ", ".join(sorted(by_id)[:10])
        raise DiscoverError(f"{where}: no candidate {unknown[0]!r} (candidates: {known})")
    codes = []
    for p in pick:
        cand = by_id[p]
        label = str(cand.get("label") or "").strip()
        if not label:
            raise InputError(f"{where}: candidate {p!r} has no label")
        code_id = str(cand.get("code_id") or _slug(label))
        examples = tuple(str(e) for e in (cand.get("examples") or [])[:5] if str(e).strip())
        codes.append(Code(id=code_id, name=label, parent=cand.get("parent") or None,
                          definition=str(cand.get("definition") or "").strip(), examples=examples))
    ids = [c.id for c in codes]
    if len(set(ids)) != len(ids):
        raise DiscoverError(f"{where}: two picked candidates give the same code id; set 'code_id' in the file")
    return codes


def add_candidates(project: str | Path, candidates_file: str | Path, pick: Sequence[str], *,
                   author: str | None = None) -> tuple[str, list[Code]]:
    """What ``qcode codebook add`` does: add the picked candidates to the project's codebook; nothing
    changes when a pick is unknown or a name clashes with a code. Returns the new version and the codes."""
    from ..project import open_project

    codes = codes_from_candidates(read_candidates(candidates_file), pick, where=str(candidates_file))
    with open_project(project) as proj:
        version = proj.add_codes(codes, author=author, note=f"from {Path(candidates_file).name}: {', '.join(pick)}")
    return version, codes


def write_history(project: str | Path, out: str | Path | None = None) -> Any:
    """The project's codebook history (``.csv`` with the formula guard, or a Markdown table ``.md``)."""
    from .._io import atomic_write_text
    from ..project import open_project
    from ..safetext import neutralise_cell

    with open_project(project, readonly=True) as proj:
        frame = proj.codebook_history()
    if out is None:
        return frame
    path = Path(out)
    if path.suffix.lower() == ".csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows([neutralise_cell(v) for v in row] for row in frame.itertuples(index=False))
        atomic_write_text(path, buffer.getvalue())
    elif path.suffix.lower() == ".md":
        def cell(value: Any) -> str:
            return str(value).replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
        atomic_write_text(path, "\n".join(lines) + "\n")
    else:
        raise InputError(f"{path}: --out must end in .csv or .md")
    return frame


def split_from_files(project: str | Path, code_id: str, into: str, move_file: str | Path, *,
                     author: str | None = None) -> str:
    """What ``qcode codebook split`` does: ``into`` is ``FIRST=Name,SECOND=Name``; ``move_file`` lists the
    segment ids whose codings go to SECOND."""
    from ..project import open_project

    parts = [p.split("=", 1) for p in into.split(",")]
    if len(parts) != 2 or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in parts):
        raise InputError(f"--into {into!r}: expected FIRST=Name,SECOND=Name")
    try:
        moved = [line.strip() for line in Path(move_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise InputError(f"{move_file}: cannot read segment ids ({exc.strerror or exc})") from None
    with open_project(project) as proj:
        old = proj.codebook.get(code_id)
        if old is None:
            raise InputError(f"codebook has no code {code_id!r} to split")
        first = Code(id=parts[0][0].strip(), name=parts[0][1].strip(), definition=old.definition)
        second = Code(id=parts[1][0].strip(), name=parts[1][1].strip())
        return proj.split_code(code_id, first, second, moved, author=author)
