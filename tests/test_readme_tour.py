"""The README's ten-line tour prints suggestions and records them (issue 22, item 18): it printed the
first segment of the last file read, which the model had given "no code", as an empty list, and
recorded documents and segments but no suggestion run."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tour() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A tour in ten lines", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_tour_prints_codes_and_records_a_run(tmp_path: Path) -> None:
    (tmp_path / "corpora").symlink_to(ROOT / "corpora")
    code = _tour() + "\nprint('RUNS', len(project.runs()))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    first, runs = result.stdout.strip().splitlines()[-2:]
    codes = ast.literal_eval(first[first.index("["):])
    assert codes and all(isinstance(c, str) for c in codes)
    assert int(runs.split()[1]) >= 1
