"""The interchange commands as a user runs them: real processes, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from qcode.codebook import load_codebook
from qcode.document import Document, Turn
from qcode.interchange.qdc import read_qdc
from qcode.interchange.qdpx import read_qdpx
from qcode.project import init_project, open_project

DATA = Path(__file__).parent / "data" / "interchange"
NVIVO = Path(__file__).parents[1].parent / "shared" / "refi-qda" / "nvivo_project.qdpx"


def qcode(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", "from qcode.cli import main; main()", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_codebook_export_then_import_round_trips_a_shipped_codebook(tmp_path):
    r = qcode("codebook", "export", "mcn-sst", "--out", "mcn.qdc", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = qcode("codebook", "import", "mcn.qdc", "--name", "mcn-sst", "--out", "mcn.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote mcn.yaml" in r.stdout
    original = load_codebook("mcn-sst")
    back = load_codebook(tmp_path / "mcn.yaml")
    assert [(c.id, c.parent, c.definition, c.inclusion, c.exclusion, c.examples) for c in back.codes] == \
        [(c.id, c.parent, c.definition, c.inclusion, c.exclusion, c.examples) for c in original.codes]
    assert all(c.guid for c in back.codes)
    # refuses to overwrite without --force
    r = qcode("codebook", "import", "mcn.qdc", "--out", "mcn.yaml", cwd=tmp_path)
    assert_one_line_error(r, "mcn.yaml: already exists")


def test_codebook_import_prints_warnings_for_irregular_files(tmp_path):
    r = qcode("codebook", "import", str(DATA / "flat_dotted.qdc"), "--out", "flat.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "warning:" in r.stderr and "dotted names" in r.stderr and "empty <Sets/>" in r.stderr
    data = yaml.safe_load((tmp_path / "flat.yaml").read_text(encoding="utf-8"))
    parents = {c["name"]: c.get("parent") for c in data["codes"]}
    assert parents["Barriers.Funding"] == "barriers"


def test_codebook_import_of_a_broken_file_is_one_line(tmp_path):
    assert_one_line_error(qcode("codebook", "import", str(DATA / "not_well_formed.qdc"), cwd=tmp_path),
                          "not_well_formed.qdc line 5: not well-formed XML")
    assert not list(tmp_path.iterdir())


def test_qdc_is_usable_wherever_a_codebook_is(tmp_path):
    r = qcode("codebook", "show", str(DATA / "nested_accents.qdc"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Coût" in r.stdout and "Accès aux soins" in r.stdout


@pytest.mark.slow
@pytest.mark.skipif(not NVIVO.is_file(), reason=f"shared fixture {NVIVO} is absent")
def test_import_nvivo_into_a_new_project_then_export_qdpx(tmp_path):
    r = qcode("import", "study", str(NVIVO), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 new" in r.stdout and "262 codes added" in r.stdout and "chrisp, cp" in r.stdout
    project = open_project(tmp_path / "study")
    assert len(project.codebook) == 262
    project.close()
    r = qcode("export", "study", "--out", "back.qdpx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(read_qdpx(tmp_path / "back.qdpx").codebook) == 262


def test_failed_import_into_a_new_folder_leaves_nothing_behind(tmp_path):
    bad = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("project.qde", "<Project xmlns='urn:QDA-XML:project:1.0' name='x'><Oops/></Project>")
    r = qcode("import", "fresh", str(bad), cwd=tmp_path)
    assert_one_line_error(r, "bad.qdpx: project.qde line 1: not valid REFI-QDA project XML")
    assert not (tmp_path / "fresh").exists()


@pytest.mark.slow
def test_import_codings_spreadsheet_and_qdc_into_existing_project(tmp_path):
    project = init_project(tmp_path / "p", codebook="mcn-sst")
    text = "P1: The money runs out every March."
    project.add_documents([Document("a.txt", text, [Turn(0, len(text))])])
    code = project.codebook.leaves()[0]
    project.close()
    (tmp_path / "c.csv").write_text(f"document,text,code\na.txt,money runs out,{code.name}\n", encoding="utf-8")
    r = qcode("import", "p", "c.csv", "--coder", "gus", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 codings recorded" in r.stdout
    project = open_project(tmp_path / "p")
    row = project.codings().iloc[0]
    assert (row["coder"], row["text"], row["code_id"]) == ("gus", "money runs out", code.id)
    project.close()
    r = qcode("import", "p", str(DATA / "nested_accents.qdc"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 codes added" in r.stdout
    with open_project(tmp_path / "p") as project:
        assert project.codebook.find("Coût") is not None and project.codebook.get(code.id) is not None


@pytest.mark.slow
@pytest.mark.parametrize("args, fragments", [
    (["import", "p", "codes.txt"], ["codes.txt: cannot import '.txt'"]),
    (["import", "nowhere", "c.csv"], ["nowhere: not a qcode project; a spreadsheet of codings needs a project"]),
    (["import", "p", "missing.qdpx"], ["missing.qdpx: no such file"]),
    (["codebook", "export", "mcn-sst", "--out", "x.yaml"], ["x.yaml: the output must be a .qdc file"]),
    (["codebook", "export", "no-such-codebook", "--out", "x.qdc"], ["unknown codebook 'no-such-codebook'"]),
])
def test_usage_errors_are_one_line(tmp_path, args, fragments):
    (tmp_path / "codes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "c.csv").write_text("document,start,end,code,coder\n", encoding="utf-8")
    init_project(tmp_path / "p").close()
    assert_one_line_error(qcode(*args, cwd=tmp_path), *fragments)


def test_codebook_export_from_a_project_folder(tmp_path):
    init_project(tmp_path / "p", codebook="mcn-sst").close()
    r = qcode("codebook", "export", "p", "--out", "p.qdc", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(read_qdc(tmp_path / "p.qdc")) == len(load_codebook("mcn-sst"))
