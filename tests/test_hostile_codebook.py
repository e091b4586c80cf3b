"""Hostile codebooks (issue 13): alias bombs, deep nesting, long parent chains, deep flow collections and
multi-MB files end in a one-line CodebookError naming the limit, in well under a second."""

from __future__ import annotations

import json
import time

import pytest

from qcode import limits
from qcode.codebook import load_codebook
from qcode.errors import CodebookError


def _refused(path, pattern: str, budget: float = 1.0) -> str:
    started = time.perf_counter()
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert pytest.importorskip("re").search(pattern, message), message
    assert elapsed < budget, f"{elapsed:.2f} s"
    return message


def alias_bomb(levels: int = 12, fan: int = 10) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    lines += ["name: bomb", f"description: *a{levels - 1}", "codes:", "  - {id: x, name: X}"]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_description_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    _refused(path, r"line \d+: aliases expand to more than 10000 nodes \(refused as a possible alias bomb; "
                   r"limit yaml_alias_nodes=10000; for a trusted file raise it with QCODE_MAX_YAML_ALIAS_NODES\)", 0.5)


def test_a_few_honest_aliases_still_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("shared: &ex [one example, another]\ncodes:\n  - {id: a, name: A, examples: *ex}\n"
                    "  - {id: b, name: B, examples: *ex}\n")
    cb = load_codebook(path)
    assert cb["b"].examples == ("one example", "another")


def test_a_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("codes: &c\n  - {id: a, name: A, children: *c}\n")
    _refused(path, r"recursive alias \*c|aliases expand")


def test_deeply_nested_children_name_the_limit_and_the_line(tmp_path):
    depth = 1000
    lines = ["codes:"]
    for level in range(depth):
        pad = "  " * (2 * level)
        lines += [f"{pad}  - id: c{level}", f"{pad}    name: C{level}", f"{pad}    children:"]
    lines.append("  " * (2 * depth) + "  - {id: leaf, name: Leaf}")
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    _refused(path, r"deep\.yaml, line \d+: YAML nested deeper than 128 levels \(limit yaml_depth=128")


def test_nested_children_past_the_code_depth_under_the_yaml_depth(tmp_path):
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
        _refused(path, r"nested more than 20 levels deep under 'c19' \(limit code_depth=20")


def test_a_long_parent_chain_is_checked_in_linear_time(tmp_path):
    n = 20_000
    codes = [{"id": "c0", "name": "C0"}] + [{"id": f"c{i}", "name": f"C{i}", "parent": f"c{i - 1}"} for i in range(1, n)]
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"codes": codes}))
    _refused(path, r"code 'c64' is 65 levels deep, past the 64 a hierarchy may have \(limit code_depth=64")
    with limits.override(code_depth=n + 1):
        started = time.perf_counter()
        cb = load_codebook(path)
        assert time.perf_counter() - started < 2.0
    assert len(cb) == n


def test_a_cycle_is_still_named(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("codes:\n  - {id: a, name: A, parent: c}\n  - {id: b, name: B, parent: a}\n  - {id: c, name: C, parent: b}\n")
    _refused(path, r"cycle in the hierarchy: a -> c -> b -> a")


def test_deep_flow_collections_are_one_line(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("codes: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _refused(path, r"flow\.yaml, line 1: (YAML nested deeper than 128 levels|not valid YAML: exceeded maximum nesting depth)")


def test_deep_json_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"codes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _refused(path, r"JSON nested (too deep to read|deeper than 128 levels)")


def test_a_multi_mb_codebook_gets_a_clear_answer_in_seconds(tmp_path):
    n = 300_000
    path = tmp_path / "huge.yaml"
    path.write_text("codes:\n" + "".join(f"  - {{id: c{i}, name: Code {i}, definition: the code number {i}}}\n" for i in range(n)))
    assert path.stat().st_size > 10 << 20
    _refused(path, r"huge\.yaml: codebook file is \d+\.\d MB, past the 16 MB a codebook may be \(limit codebook_bytes=16 MB; "
                   r"for a trusted file raise it with QCODE_MAX_CODEBOOK_MB\)", 0.5)


@pytest.mark.slow
def test_more_codes_than_the_limit_are_refused_before_they_are_built(tmp_path):
    n = 60_000
    path = tmp_path / "many.yaml"
    path.write_text("codes:\n" + "".join(f"  - {{id: c{i}, name: C{i}}}\n" for i in range(n)))
    _refused(path, r"many\.yaml, line 50002: more than 50000 codes \(limit codes=50000", 3.0)
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"codes": [{"id": f"c{i}", "name": f"C{i}"} for i in range(n)]}))
    _refused(path, r"more than 50000 codes \(limit codes=50000")


@pytest.mark.slow
def test_qdc_codebooks_share_the_limits_and_large_ones_stay_linear(tmp_path):
    from qcode.codebook.model import Code, Codebook
    from qcode.errors import InterchangeError
    from qcode.interchange.qdc import qdc_bytes, read_qdc

    n = 20_000
    started = time.perf_counter()
    data = qdc_bytes(Codebook("big", [Code(f"c{i}", f"Code {i}", definition=f"def {i}") for i in range(n)]))
    path = tmp_path / "big.qdc"
    path.write_bytes(data)
    assert len(read_qdc(path)) == n
    assert time.perf_counter() - started < 5.0  # writing walked children in O(n) each: 20k codes took ~12 s
    with limits.override(codes=1000):
        with pytest.raises(InterchangeError, match=r"big\.qdc: more than 1000 codes \(limit codes=1000"):
            read_qdc(path)
    with limits.override(codebook_bytes=1000):
        with pytest.raises(InterchangeError, match=r"past the 0.000953674 MB a codebook may be \(limit codebook_bytes"):
            read_qdc(path)
