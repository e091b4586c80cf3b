"""Independent computations of the analysis figures, in plain Python loops over ``project.codings()``,
``project.decisions()``, ``project.segments()`` and the cases table, to check qcode.analysis against."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

ADJ = "adjudicator"


def passage(row) -> tuple:
    return (row["doc_id"], int(row["doc_version"]), int(row["start"]), int(row["end"]))


def counted_codings(project, coders=None) -> set[tuple]:
    """(passage, code) pairs counted: one coder's, or the consensus with adjudications."""
    every = project.codings()
    every = every[~every["stale"].astype(bool)]
    humans = [c for c in project.coders() if c != ADJ]
    names = list(coders) if coders else humans
    if len(names) == 1:
        return {(passage(r), r["code_id"]) for _, r in every.iterrows() if r["coder"] == names[0]}
    accepted: dict[str, set] = defaultdict(set)
    for _, r in every.iterrows():
        accepted[r["coder"]].add((passage(r), r["code_id"]))
    coded_passages = {p for pairs in accepted.values() for p, _ in pairs}
    reviewed: dict[tuple, set] = defaultdict(set)
    for _, r in project.decisions().iterrows():
        if r["undone"] or r["verdict"] == "undo":
            continue
        reviewed[passage(r)].add(r["coder"])
    use_adj = ADJ in project.coders() and (not coders or ADJ in coders)
    out = set()
    for p in coded_passages:
        if use_adj and ADJ in reviewed[p]:
            out |= {(q, c) for q, c in accepted[ADJ] if q == p}
            continue
        who = [c for c in names if c in reviewed[p]]
        codes = {c for name in who for q, c in accepted[name] if q == p}
        out |= {(p, c) for c in codes if all((p, c) in accepted[name] for name in who)}
    return out


def segment_at(project) -> dict:
    """passage start -> (speaker, segment start), by a linear scan of the segments."""
    segs = project.segments(all_versions=True)
    rows = [(r["doc_id"], int(r["doc_version"]), int(r["start"]), int(r["end"]), r["speaker"])
            for _, r in segs.iterrows()]

    def find(doc, version, start):
        best = None
        for d, v, s, e, speaker in rows:
            if d == doc and v == version and s <= start < e and (best is None or s > best[1]
                                                                  or (s == best[1] and e > best[2])):
                best = (speaker, s, e)
        return (best[0], best[1]) if best else (None, None)
    return find


def case_of(project, cases):
    speakers = set(cases.loc[cases["by"] == "speaker", "case"])
    documents = set(cases.loc[cases["by"] == "document", "case"])
    find = segment_at(project)

    def case(p):
        speaker, _ = find(p[0], p[1], p[2])
        if speaker in speakers:
            return speaker
        return p[0] if p[0] in documents else None
    return case


def matrix_truth(project, cases, by, count="cases", coders=None) -> dict:
    """{(row code, value): count} and {(row code, 'total'): count}, domains rolled up."""
    codebook = project.codebook
    attrs = {r["case"]: r[by] for _, r in cases.iterrows()}
    case = case_of(project, cases)
    cells: dict[tuple, set] = defaultdict(set)
    for p, code in counted_codings(project, coders):
        c = case(p)
        key = {"cases": c, "passages": p, "documents": p[0]}[count]
        if key is None:
            continue
        value = attrs.get(c) if c is not None else None
        value = "(no value)" if value is None else str(value)
        for row in [code] + [a.id for a in codebook.ancestors(code)]:
            cells[(row, value)].add(key)
            cells[(row, "total")].add(key)
    return {k: len(v) for k, v in cells.items()}


def cooccur_truth(project, cases, level="segment", coders=None) -> dict:
    find = segment_at(project)
    case = case_of(project, cases)
    units: dict = defaultdict(set)
    for p, code in counted_codings(project, coders):
        if level == "segment":
            _, s = find(p[0], p[1], p[2])
            unit = (p[0], p[1], s if s is not None else p[2])
        elif level == "document":
            unit = p[0]
        else:
            unit = case(p)
            if unit is None:
                continue
        units[unit].add(code)
    pairs: dict = defaultdict(int)
    for codes in units.values():
        for a, b in combinations(sorted(codes), 2):
            pairs[(a, b)] += 1
    return dict(pairs)
