"""The README's first commands and its Python tour stay true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_install_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", readme(), re.S).group(1)
    commands = [l for l in first_block.splitlines() if l.strip() and not l.startswith("#")]
    assert commands[0].startswith("bash scripts/install.sh && .venv/bin/qcode suggest corpora/demo")
    assert commands[1] == "bash scripts/install.sh && .venv/bin/python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/install.sh" in ci and ".venv/bin/python -m pytest -q" in ci


def test_the_python_tour_runs(tmp_path):
    tour = re.search(r"## A tour in Python\n+```python\n(.*?)```", readme(), re.S).group(1)
    (tmp_path / "corpora").symlink_to(ROOT / "corpora", target_is_directory=True)
    result = subprocess.run([sys.executable, "-c", tour], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "agreement.html").stat().st_size > 1000
    assert (tmp_path / "my-study").is_dir()


def test_every_cli_command_in_the_reference_exists():
    table = readme().split("## Command reference", 1)[1].split("\n## ", 1)[0]
    commands = set(re.findall(r"^\| `qcode ([a-z]+(?: [a-z]+)?)", table, re.M))
    assert len(commands) >= 12
    for command in commands:
        result = subprocess.run([sys.executable, "-m", "qcode", *command.split(), "--help"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (command, result.stderr)
