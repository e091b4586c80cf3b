"""``qcode agree`` at 80 columns breaks code names between words, not inside them (issue 22, item 18)."""

from __future__ import annotations

import io
import random
import re

import pandas as pd
from rich.console import Console

from qcode.agreement import report
from qcode.agreement.render import print_report

NAMES = ["communication_between_organisations", "funding-and-commissioning", "Workforce capacity",
         "Interprofessional education days"]


def test_names_wrap_between_words_at_80_columns() -> None:
    rng = random.Random(1)
    rows = [{"unit": f"u{u}", "coder": coder, "code": rng.choice(NAMES)} for u in range(40) for coder in ("ana", "ben")]
    out = io.StringIO()
    print_report(report(pd.DataFrame(rows), n_boot=0), console=Console(width=80, file=out, force_terminal=False))
    text = out.getvalue()
    table = text.split("Coders ")[0]
    assert max(len(line) for line in table.splitlines()) <= 80
    for name in NAMES:
        for word in re.split(r"[ \-_]", name):
            assert word in table, (word, table)  # every word whole, on one line
