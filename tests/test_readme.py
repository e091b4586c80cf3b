"""The README keeps its first commands, stays short, and links to pages that exist.

Its code blocks run in tests/test_docs.py, with the pages of the docs.
"""

from __future__ import annotations

import re

from conftest import ROOT


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_install_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", readme(), re.S).group(1)
    commands = [line for line in first_block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[0].startswith("bash scripts/install.sh && .venv/bin/qcode suggest corpora/demo")
    assert commands[1] == "bash scripts/install.sh && .venv/bin/python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/install.sh" in ci and ".venv/bin/python -m pytest -q" in ci


def test_readme_is_what_a_newcomer_needs_first():
    lines = readme().splitlines()
    assert 150 <= len(lines) <= 200, len(lines)
    text = readme()
    assert "source .venv/bin/activate" in text
    assert "## A tour in ten lines" in text


def test_readme_links_point_at_files_that_exist():
    text = re.sub(r"<!--.*?-->", "", readme(), flags=re.S)  # a placeholder for a file still to come
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 12
    missing = [link for link in local if not (ROOT / link).exists()]
    assert missing == []
