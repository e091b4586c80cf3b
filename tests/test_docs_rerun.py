"""The README's tour can be run twice in one folder, and a second init says how to open the project (issue 11, defect 4)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from qcode.errors import ProjectError
from qcode.project import init_project


def test_a_second_init_project_says_how_to_open_it_from_python(tmp_path):
    init_project(tmp_path / "tour-study")
    with pytest.raises(ProjectError) as info:
        init_project(tmp_path / "tour-study")
    message = str(info.value)
    assert "already a qcode project" in message and "open_project" in message and "exist_ok=True" in message


def test_exist_ok_opens_the_project_that_is_there(tmp_path):
    first = init_project(tmp_path / "tour-study", codebook="mcn-sst")
    first.add_coder("ana")
    again = init_project(tmp_path / "tour-study", codebook="mcn-sst", exist_ok=True)
    assert again.coders() == ["ana"] and again.codebook.version == first.codebook.version


def test_exist_ok_still_refuses_a_file(tmp_path):
    (tmp_path / "x").write_text("not a folder")
    with pytest.raises(ProjectError, match="not a folder"):
        init_project(tmp_path / "x", exist_ok=True)


def test_the_code_blocks_of_the_docs_do_not_name_demo_participants_as_interviewers():
    from qcode.ingest import read_corpus

    participants = {t.speaker for d in read_corpus(ROOT / "corpora" / "demo") for t in d.turns
                    if t.role == "participant" and t.speaker}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for name in participants:
            assert f'interviewers=["{name}"]' not in text, (page, name)


#: The second pass checks the re-run logic (a project opened again, the same documents, segments and
#: decisions added again), which does not depend on the model, so it ranks with the fake embedder.
FAKE_MODEL = ("import functools, qcode\nfrom qcode.embed.fake import FakeEmbedder\n"
              "qcode.Suggester = functools.partial(qcode.Suggester, model=FakeEmbedder())\n")


@pytest.mark.slow
def test_the_readme_tour_runs_twice_in_the_same_folder(readme_run):
    from test_docs import runnable

    folder, first = readme_run  # the first pass, on the real model: the README's blocks as test_docs runs them
    assert first.returncode == 0, (1, first.stderr[-2000:])
    assert (folder / "tour-study").is_dir()
    python_blocks = [code for lang, code, _ in runnable(ROOT / "README.md") if lang == "python"]
    script = folder / "tour.py"
    script.write_text(FAKE_MODEL + "\n".join(python_blocks), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (2, result.stderr[-2000:])
