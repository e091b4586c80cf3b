"""Docstring examples are tests: none is switched off with +SKIP (issue 11, defect 11)."""

from __future__ import annotations

from conftest import ROOT


def test_no_docstring_example_is_skipped():
    skipped = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "qcode").rglob("*.py"))
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if "doctest:" in line and "+SKIP" in line]
    assert skipped == [], skipped
