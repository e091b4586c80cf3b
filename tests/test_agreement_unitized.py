"""Krippendorff's unitizing alpha: published intermediate values, invariances, errors."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qcode import agreement as ag
from qcode.errors import AgreementError

# Krippendorff (2004) p.254 example (begin 150, length 300, two coders, categories c and k)
K2004 = [(0, 225, 70, "c"), (0, 370, 30, "c"), (1, 220, 80, "c"), (1, 355, 20, "c"), (1, 400, 20, "c"),
         (0, 180, 60, "k"), (0, 300, 50, "k"), (1, 180, 60, "k"), (1, 300, 50, "k")]


def test_published_intermediate_disagreements():
    d_o, d_e = ag.unitized_disagreements(K2004, 150, 300, 2, "c")
    assert d_o == pytest.approx(0.0144, abs=5e-5) and d_e == pytest.approx(0.0532, abs=5e-5)
    d_o, d_e = ag.unitized_disagreements(K2004, 150, 300, 2, "k")
    assert d_o == 0.0 and d_e == pytest.approx(0.049, abs=5e-4)


@st.composite
def unitizings(draw):
    length = draw(st.integers(20, 200))
    spans = []
    for coder in range(2):
        pos = 0
        while True:
            pos += draw(st.integers(0, 30))
            size = draw(st.integers(1, 30))
            if pos + size > length:
                break
            spans.append((coder, pos, size, "x"))
            pos += size
    return length, spans


@settings(max_examples=50, deadline=None)
@given(unitizings(), st.integers(-500, 500))
def test_alpha_ignores_where_the_continuum_starts_and_which_coder_is_first(data, shift):
    length, spans = data
    assume(ag.unitized_disagreements(spans, 0, length, 2, "x")[1] > 0)
    base = ag.unitized_alpha(spans, 0, length, 2, "x")
    moved = [(c, s + shift, n, k) for c, s, n, k in spans]
    assert ag.unitized_alpha(moved, shift, length, 2, "x") == pytest.approx(base, abs=1e-9)
    swapped = [(1 - c, s, n, k) for c, s, n, k in spans]
    assert ag.unitized_alpha(swapped, 0, length, 2, "x") == pytest.approx(base, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(unitizings())
def test_identical_unitizations_agree_perfectly(data):
    length, spans = data
    first = [s for s in spans if s[0] == 0]
    assume(first)
    both = first + [(1, s, n, k) for _, s, n, k in first]
    assume(ag.unitized_disagreements(both, 0, length, 2, "x")[1] > 0)
    assert ag.unitized_alpha(both, 0, length, 2) == pytest.approx(1.0)


@pytest.mark.parametrize("spans, message", [
    ([(0, 0, 10, "x"), (0, 5, 10, "x"), (1, 0, 5, "x")], "overlap"),
    ([(0, 95, 10, "x"), (1, 0, 5, "x")], "outside the continuum"),
    ([(2, 0, 10, "x")], "coder 2 is not in 0..1"),
    ([(0, 0, 0, "x")], "length must be positive"),
])
def test_bad_unitizing_input(spans, message):
    with pytest.raises(AgreementError, match=message):
        ag.unitized_alpha(spans, 0, 100, 2)


def test_category_nobody_marked_is_undefined():
    with pytest.raises(ag.OneCategory, match="expected disagreement is 0"):
        ag.unitized_alpha([(0, 0, 5, "x")], 0, 100, 2, category="y")
