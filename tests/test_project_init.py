"""`qcode init` never turns a folder of other files into a project by mistake (issue 11, defect 9)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qcode.errors import ProjectError
from qcode.project import init_project, open_project

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


def transcripts(folder):
    folder.mkdir()
    for i in range(3):
        (folder / f"interview_{i:02d}.txt").write_text(f"Interviewer: hello\nP{i}: hi\n", encoding="utf-8")
    return sorted(p.name for p in folder.iterdir())


def test_a_folder_of_files_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "transcripts"
    before = transcripts(folder)
    with pytest.raises(ProjectError, match=r"transcripts: not empty and not a qcode project \(it holds "
                                           r"'interview_0\d\.txt', \.\.\.\).*--force"):
        init_project(folder, codebook="mcn-sst")
    assert sorted(p.name for p in folder.iterdir()) == before


def test_force_makes_the_folder_a_project_and_keeps_its_files(tmp_path):
    folder = tmp_path / "transcripts"
    before = transcripts(folder)
    init_project(folder, codebook="mcn-sst", force=True).close()
    assert open_project(folder).codebook.name == "mcn-sst"
    assert set(before) <= {p.name for p in folder.iterdir()}


def test_a_new_path_an_empty_folder_or_one_with_only_hidden_files_is_fine(tmp_path):
    init_project(tmp_path / "new" / "nested").close()
    (tmp_path / "empty").mkdir()
    init_project(tmp_path / "empty").close()
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".DS_Store").write_bytes(b"\0")
    init_project(tmp_path / "hidden").close()
    with pytest.raises(ProjectError, match="already a qcode project"):
        init_project(tmp_path / "empty", force=True)  # force never re-creates a project


def run(*args):
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_cli_refuses_with_one_line_and_exit_2_unless_forced(tmp_path):
    folder = tmp_path / "transcripts"
    transcripts(folder)
    refused = run("init", folder)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "not empty and not a qcode project" in lines[0] and "--force" in lines[0], lines
    assert not (folder / "qcode.sqlite").exists()
    forced = run("init", folder, "--force", "--codebook", "mcn-sst")
    assert forced.returncode == 0, forced.stderr
    assert "created project" in forced.stdout
    again = run("init", folder)
    assert again.returncode == 2 and "already a qcode project" in again.stderr
