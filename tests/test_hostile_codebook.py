"""Hostile codebooks (issue 13): alias bombs, deep nesting, long parent chains, deep flow collections and
multi-MB files end in a one-line CodebookError naming the limit, before the expensive stage.

Speed is asserted as work, never seconds (a loaded machine stretches seconds): a refusal must come before
a named stage (the file read, YAML objects built, codes built), within a bounded number of Python lines,
and linear readers run about ten times the lines for ten times the codes. The wall times of the same
cases are printed by ``scripts/hostile_figures.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from qcode import limits
from qcode.codebook import io as codebook_io
from qcode.codebook import load_codebook, model
from qcode.errors import CodebookError
from work_units import counted_lines, forbid, peak_allocation

#: the stages a refusal may be asked to come before: stage -> (object, attribute) that starts it
STAGES = {
    "read": (Path, "read_text"),
    "yaml objects": (yaml, "load"),
    "codebook_from_dict": (codebook_io, "codebook_from_dict"),
    "codes built": (model, "Code"),
}


def _refused(path, pattern: str, monkeypatch=None, before: tuple[str, ...] = (), max_lines: int = 200_000) -> str:
    """Load ``path``, expect a one-line CodebookError matching ``pattern``, raised before each stage in ``before``
    and within ``max_lines`` Python lines (the loader is stopped past them, so a regression cannot hang)."""
    for stage in before:
        forbid(monkeypatch, *STAGES[stage], stage)
    with counted_lines(limit=max_lines):
        with pytest.raises(CodebookError) as info:
            load_codebook(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert pytest.importorskip("re").search(pattern, message), message
    return message


def _lines_to_load(path) -> int:
    with counted_lines(limit=50_000_000) as work:
        load_codebook(path)
    return work.lines


def alias_bomb(levels: int = 12, fan: int = 10) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    lines += ["name: bomb", f"description: *a{levels - 1}", "codes:", "  - {id: x, name: X}"]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_description_is_refused_at_once(tmp_path, monkeypatch):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    with peak_allocation() as memory:
        _refused(path, r"line \d+: aliases expand to more than 10000 nodes \(refused as a possible alias bomb; "
                       r"limit yaml_alias_nodes=10000; for a trusted file raise it with QCODE_MAX_YAML_ALIAS_NODES\)",
                 monkeypatch, before=("yaml objects",), max_lines=20_000)
    assert memory.peak_bytes < 5 << 20, memory.peak_bytes  # 10^11 nodes if expanded


def test_a_few_honest_aliases_still_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("shared: &ex [one example, another]\ncodes:\n  - {id: a, name: A, examples: *ex}\n"
                    "  - {id: b, name: B, examples: *ex}\n")
    cb = load_codebook(path)
    assert cb["b"].examples == ("one example", "another")


def test_a_recursive_alias_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "loop.yaml"
    path.write_text("codes: &c\n  - {id: a, name: A, children: *c}\n")
    _refused(path, r"recursive alias \*c|aliases expand", monkeypatch, before=("yaml objects",), max_lines=5_000)


def test_deeply_nested_children_name_the_limit_and_the_line(tmp_path, monkeypatch):
    depth = 1000
    lines = ["codes:"]
    for level in range(depth):
        pad = "  " * (2 * level)
        lines += [f"{pad}  - id: c{level}", f"{pad}    name: C{level}", f"{pad}    children:"]
    lines.append("  " * (2 * depth) + "  - {id: leaf, name: Leaf}")
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    _refused(path, r"deep\.yaml, line \d+: YAML nested deeper than 128 levels \(limit yaml_depth=128",
             monkeypatch, before=("yaml objects",), max_lines=50_000)


def test_nested_children_past_the_code_depth_under_the_yaml_depth(tmp_path, monkeypatch):
    depth = 40
    lines = ["codes:"]
    for level in range(depth):
        pad = "  " * (2 * level)
        lines += [f"{pad}  - id: c{level}", f"{pad}    name: C{level}", f"{pad}    children:"]
    lines.append("  " * (2 * depth) + "  - {id: leaf, name: Leaf}")
    path = tmp_path / "nested.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert len(load_codebook(path).ancestors("leaf")) == depth
    with limits.override(code_depth=20):
        _refused(path, r"nested more than 20 levels deep under 'c19' \(limit code_depth=20",
                 monkeypatch, before=("codes built",))


def _chain(path, n: int):
    codes = [{"id": "c0", "name": "C0"}] + [{"id": f"c{i}", "name": f"C{i}", "parent": f"c{i - 1}"} for i in range(1, n)]
    path.write_text(json.dumps({"codes": codes}))
    return path


def test_a_long_parent_chain_is_checked_in_linear_time(tmp_path):
    n = 20_000
    path = _chain(tmp_path / "chain.json", n)
    _refused(path, r"code 'c64' is 65 levels deep, past the 64 a hierarchy may have \(limit code_depth=64",
             max_lines=150 * n)  # about 80 lines a code: every code is read and built once, then checked
    small = _chain(tmp_path / "short.json", n // 10)
    with limits.override(code_depth=n + 1):
        cb = load_codebook(path)
        short_lines = _lines_to_load(small)
        long_lines = _lines_to_load(path)  # walking each chain to the root (the old check) ran ~100 times the lines
    assert len(cb) == n
    assert long_lines < 20 * short_lines, (short_lines, long_lines)  # ten times the codes: linear is about 10


def test_a_cycle_is_still_named(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("codes:\n  - {id: a, name: A, parent: c}\n  - {id: b, name: B, parent: a}\n  - {id: c, name: C, parent: b}\n")
    _refused(path, r"cycle in the hierarchy: a -> c -> b -> a")


def test_deep_flow_collections_are_one_line(tmp_path, monkeypatch):
    path = tmp_path / "flow.yaml"
    path.write_text("codes: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _refused(path, r"flow\.yaml, line 1: (YAML nested deeper than 128 levels|not valid YAML: exceeded maximum nesting depth)",
             monkeypatch, before=("yaml objects",), max_lines=50_000)


def test_deep_json_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "deep.json"
    path.write_text('{"codes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _refused(path, r"JSON nested (too deep to read|deeper than 128 levels)", monkeypatch, before=("codebook_from_dict",),
             max_lines=50_000)


def test_a_multi_mb_codebook_is_refused_before_it_is_read(tmp_path, monkeypatch):
    n = 300_000
    path = tmp_path / "huge.yaml"
    path.write_text("codes:\n" + "".join(f"  - {{id: c{i}, name: Code {i}, definition: the code number {i}}}\n" for i in range(n)))
    assert path.stat().st_size > 10 << 20
    _refused(path, r"huge\.yaml: codebook file is \d+\.\d MB, past the 16 MB a codebook may be \(limit codebook_bytes=16 MB; "
                   r"for a trusted file raise it with QCODE_MAX_CODEBOOK_MB\)", monkeypatch, before=("read",), max_lines=1_000)


@pytest.mark.slow
def test_more_codes_than_the_limit_are_refused_before_they_are_built(tmp_path, monkeypatch):
    n = 60_000
    path = tmp_path / "many.yaml"
    path.write_text("codes:\n" + "".join(f"  - {{id: c{i}, name: C{i}}}\n" for i in range(n)))
    _refused(path, r"many\.yaml, line 50002: more than 50000 codes \(limit codes=50000", monkeypatch,
             before=("yaml objects",), max_lines=5_000_000)
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"codes": [{"id": f"c{i}", "name": f"C{i}"} for i in range(n)]}))
    _refused(path, r"more than 50000 codes \(limit codes=50000", monkeypatch, before=("codes built",),
             max_lines=40 * n)  # the JSON line map walks every code once (about 20 lines each) before the count refuses


@pytest.mark.slow
def test_qdc_codebooks_share_the_limits_and_large_ones_stay_linear(tmp_path):
    from qcode.codebook.model import Code, Codebook
    from qcode.errors import InterchangeError
    from qcode.interchange.qdc import qdc_bytes, read_qdc

    def write_and_read(n: int, name: str) -> tuple[Path, int]:
        path = tmp_path / name
        with counted_lines(limit=100_000_000) as work:
            path.write_bytes(qdc_bytes(Codebook("big", [Code(f"c{i}", f"Code {i}", definition=f"def {i}") for i in range(n)])))
            assert len(read_qdc(path)) == n
        return path, work.lines

    n = 20_000
    _, small_lines = write_and_read(n // 8, "small.qdc")
    path, large_lines = write_and_read(n, "big.qdc")
    # eight times the codes: linear is about 8; writing walked all codes for each one's children (~64)
    assert large_lines < 20 * small_lines, (small_lines, large_lines)
    with limits.override(codes=1000):
        with pytest.raises(InterchangeError, match=r"big\.qdc: more than 1000 codes \(limit codes=1000"):
            read_qdc(path)
    with limits.override(codebook_bytes=1000):
        with pytest.raises(InterchangeError, match=r"past the 0.000953674 MB a codebook may be \(limit codebook_bytes"):
            read_qdc(path)
