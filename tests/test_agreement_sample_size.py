"""Every coefficient shows its units and pairable values, and a caution below qcode's minimums (issue 11, defect 7)."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from qcode import agreement as ag
from qcode.agreement.bands import MIN_RARER_VALUES, MIN_UNITS


def codings(n_units: int, applied: set[int] | None = None) -> pd.DataFrame:
    """Two coders who agree on every unit: code x on ``applied`` (default every other unit), y on the rest."""
    applied = set(range(1, n_units, 2)) if applied is None else applied
    return pd.DataFrame([{"unit": f"u{u:03d}", "coder": c, "code": "x" if u in applied else "y", "doc_id": "d",
                          "text": f"unit {u}"} for u in range(n_units) for c in ("ann", "bob")])


def terminal(report) -> str:
    console = Console(file=io.StringIO(), width=100)
    report.print(console)
    return console.file.getvalue()


def test_four_units_reliable_with_a_degenerate_interval_carry_a_caution_in_every_output(tmp_path):
    r = ag.report(codings(4), n_boot=200, seed=0)
    row = r.per_code.set_index("code").loc["x"]
    assert (row["alpha"], row["alpha_low"], row["alpha_high"], row["alpha_band"]) == (1.0, 1.0, 1.0, "reliable")
    assert (row["n_units"], row["n_values"]) == (4, 8)
    assert row["caution"] == f"only 4 units (fewer than {MIN_UNITS})"
    assert r.pooled["caution"] == f"only 4 units (fewer than {MIN_UNITS})"  # units, not units x codes

    csv = pd.read_csv(io.StringIO(r.to_csv())).set_index("code")
    assert csv.loc["x", "n_values"] == 8 and csv.loc["x", "caution"].startswith("only 4 units")
    for text in (r.to_markdown(), r.to_html().replace("&#x27;", "'")):
        assert "only 4 units (fewer than 30)" in text and "qcode's choice" in text
        assert "Krippendorff (2004, Content Analysis" in text
    md_header = next(line for line in r.to_markdown().splitlines() if line.startswith("| code"))
    assert "| n | values |" in md_header and "caution" in md_header
    shown = terminal(r)
    assert "values" in shown and "reliable*" in shown
    assert "* caution: x: only 4 units (fewer than 30)" in shown and "qcode's choice" in shown


def test_enough_balanced_units_carry_no_caution():
    r = ag.report(codings(MIN_UNITS + 10), n_boot=0)
    assert (r.per_code["caution"] == "").all()
    assert r.per_code.set_index("code").loc["x", "n_values"] == 2 * (MIN_UNITS + 10)
    shown = terminal(r)
    assert "caution" not in shown and "*" not in shown.split("Coders")[0]
    assert all(c == "-" for c in r.formatted()["caution"])


def test_a_code_too_rare_among_many_units_is_cautioned():
    r = ag.report(codings(60, applied={3, 40}), n_boot=0)  # x present in 2 x 2 = 4 of 120 values
    row = r.per_code.set_index("code").loc["x"]
    assert row["n_units"] == 60 and 4 < MIN_RARER_VALUES
    assert row["caution"] == f"the rarer value occurs 4 times in 120 pairable values (fewer than {MIN_RARER_VALUES})"
    assert r.per_code.set_index("code").loc["y", "caution"] == row["caution"]  # y is absent on those 4 values
    assert r.pooled["caution"] == ""


def test_character_level_shows_values_without_unit_minimums():
    frame = pd.DataFrame({"coder": ["a", "b"], "code": ["x", "x"], "doc_id": ["d", "d"], "start": [0, 0],
                          "end": [5, 5]})
    r = ag.report(frame, unit="character", doc_lengths={"d": 10})
    row = r.per_code.set_index("code").loc["x"]
    assert (row["n_units"], row["n_values"], row["caution"]) == (10, 20, "")
