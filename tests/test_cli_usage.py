"""Usage lines and help name what to type (PROJECT, PATH, CODERS, N), not Python types (issue 11, defect 10)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT

QCODE = [sys.executable, "-m", "qcode"]


def help_of(*command: str) -> str:
    result = subprocess.run([*QCODE, *command, "--help"], capture_output=True, text=True, timeout=120,
                            env={"COLUMNS": "120", "PATH": ""})
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command, usage", [
    (["decide"], "Usage: qcode decide [OPTIONS] PROJECT"),
    (["suggest"], "Usage: qcode suggest [OPTIONS] PATH"),
    (["agree"], "Usage: qcode agree [OPTIONS] SOURCE"),
    (["codebook", "export"], "Usage: qcode codebook export [OPTIONS] NAME"),
])
def test_usage_lines_show_readable_argument_names(command, usage):
    text = help_of(*command)
    assert text.splitlines()[0] == usage


@pytest.mark.parametrize("command", [["decide"], ["suggest"], ["agree"], ["export"], ["serve"], ["import"],
                                     ["codebook", "import"], ["review"], ["init"]])
def test_help_shows_no_python_types(command):
    text = help_of(*command)
    for jargon in ("{", "<list[str]>", "<int range>", "<str>", "<path>", "<int>", "<float>", "<float range>"):
        assert jargon not in text, (command, jargon)


@pytest.mark.slow
def test_options_name_what_to_type():
    agree = help_of("agree")
    assert re.search(r"--coders CODERS\b", agree)
    suggest = help_of("suggest")
    assert re.search(r"--top-k, -k N\b|-k, --top-k N\b", suggest), suggest
    assert re.search(r"--threshold SCORE\b", suggest) and re.search(r"--interviewer INTERVIEWER\b", suggest)
    assert re.search(r"--out, -o FILE\b|-o, --out FILE\b", suggest) and re.search(r"--max-tokens N\b", suggest)
    decide = help_of("decide")
    assert re.search(r"--start N\b", decide) and re.search(r"--coder CODER\b", decide)


def test_the_export_format_error_lists_every_format(tmp_path):
    from qcode.errors import ProjectError
    from qcode.project.bridge import export_file
    from qcode.project.sample import build_sample_project

    project = build_sample_project(tmp_path / "study")
    with pytest.raises(ProjectError) as info:
        export_file(project, tmp_path / "x.docx")
    message = str(info.value)
    for suffix in (".csv", ".jsonl", ".parquet", ".xlsx", ".qdpx"):
        assert suffix in message


def test_version_hashes_in_the_docs_are_real():
    from qcode.codebook import builtin_codebook_names, load_codebook

    real = {load_codebook(name).version for name in builtin_codebook_names()}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for found in re.findall(r"version ([0-9a-f]{16})\b", page.read_text(encoding="utf-8")):
            assert found in real, (page, found)
