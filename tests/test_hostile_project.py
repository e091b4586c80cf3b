"""Hostile use of a project (issue 13): typed-ahead review keys, escape sequences in transcripts and code
names, two live sessions of one coder, init over a folder's settings, look-alike coder names, GUIDs and
imports whose user clashes with a local coder."""

from __future__ import annotations

import json
import subprocess
import sys

import pexpect
import pytest

from qcode.codebook.model import codebook_from_dict
from qcode.document import Document, Segment, Turn
from qcode.errors import InterchangeError, ProjectError
from qcode.project import init_project, open_project
from qcode.project.sample import build_sample_project
from qcode.project.validation import check_coder

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


def _review(path, *args):
    return pexpect.spawn(QCODE[0], [*QCODE[1:], "review", str(path), *args], encoding="utf-8", timeout=20,
                         dimensions=(60, 140))


@pytest.mark.slow
def test_keys_typed_ahead_are_all_kept(tmp_path):
    project = build_sample_project(tmp_path / "study")
    child = _review(project.path, "--coder", "bob")
    child.expect(r"0/6 reviewed")
    child.send("aaaaa")  # five accepts typed faster than the screen redraws
    child.send("q")
    child.expect(r"saved (\d+) decisions this session")
    assert int(child.match.group(1)) == 5
    child.expect(pexpect.EOF)
    assert len(open_project(project.path).decisions()) == 5


def _hostile_project(path):
    cb = codebook_from_dict({"codes": [{"id": "hidden", "name": "Hid\x1b[8mden", "definition": "Blank \x1b[2J it"}]})
    project = init_project(path, codebook=cb)
    text = "P1: this line \x1b[2J\x1b[8m clears the screen \u202eesrever\n"
    doc = Document("evil.txt", text, [Turn(4, len(text) - 1, "P1", "participant")], source="evil.txt")
    project.add_documents([doc])
    project.add_segments([Segment("s-evil", "evil.txt", 4, len(text) - 1, text[4:-1], "turn", "P1", "participant", 0)])
    project.add_run({"model": "hand-made"}, [("s-evil", "hidden", 0.5, 1)])
    return project


@pytest.mark.slow
def test_escape_sequences_in_a_transcript_or_a_code_name_are_shown_escaped(tmp_path):
    project = _hostile_project(tmp_path / "evil")
    out = subprocess.run([*QCODE, "review", str(project.path), "--coder", "carol"], input="c\n\nq\n",
                         capture_output=True, text=True, timeout=60).stdout
    assert "\x1b[8m" not in out and "\x1b[2J" not in out and "\u202e" not in out
    assert "\\x1b[2J\\x1b[8m clears the screen \\u202eesrever" in out
    assert "Hid\\x1b[8mden" in out


@pytest.mark.slow
def test_a_second_live_session_of_one_coder_is_refused(tmp_path):
    project = build_sample_project(tmp_path / "study")
    first = _review(project.path, "--coder", "bob")
    first.expect(r"0/6 reviewed")
    second = subprocess.run([*QCODE, "review", str(project.path), "--coder", "bob"], input="a\nq\n",
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"error: {project.path}: coder 'bob' already has a live review session "
        "(finish it, or quit it with q, before starting another)"]
    other = subprocess.run([*QCODE, "review", str(project.path), "--coder", "carol"], input="q\n",
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 0  # another coder may review at the same time
    first.send("q")
    first.expect(pexpect.EOF)
    again = subprocess.run([*QCODE, "review", str(project.path), "--coder", "bob"], input="q\n",
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0  # the lock went with the first session


def test_init_never_overwrites_a_settings_file(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "settings.json").write_text('{"my": "own settings"}')
    with pytest.raises(ProjectError, match=r"already holds a settings\.json \(left untouched"):
        init_project(folder)
    assert json.loads((folder / "settings.json").read_text()) == {"my": "own settings"}
    assert not (folder / "qcode.sqlite").exists()


@pytest.mark.parametrize("name, problem", [
    ("an\u200ba", "invisible"),          # zero-width space
    ("ana\u202e", "invisible"),          # right-to-left override
    ("\u0430na", "mixes alphabets"),     # Cyrillic a + Latin na
    ("a\x1b[2Jna", "control"),
])
def test_look_alike_coder_names_are_refused(tmp_path, name, problem):
    with pytest.raises(ProjectError, match=problem):
        check_coder(name)
    project = build_sample_project(tmp_path / "study")
    with pytest.raises(ProjectError):
        project.add_coder(name)


def test_coder_names_are_nfkc_and_whole_scripts_are_fine():
    assert check_coder("\uff41\uff4e\uff41") == "ana"          # full-width letters
    assert check_coder("Анна") == "Анна"                        # all Cyrillic
    assert check_coder("=HYPERLINK(1)") == "=HYPERLINK(1)"     # kept as a name; exports neutralise it


def test_coder_guids_are_random_and_stable(tmp_path):
    one = build_sample_project(tmp_path / "one")
    two = build_sample_project(tmp_path / "two")
    one.add_coder("ana")
    two.add_coder("ana")
    g1, g2 = one.coder_guids()["ana"], two.coder_guids()["ana"]
    assert g1 and g2 and g1 != g2
    one.add_coder("ana")
    assert open_project(one.path).coder_guids()["ana"] == g1


def test_an_import_whose_user_shares_a_local_name_with_another_guid_is_refused_or_mapped(tmp_path):
    from qcode.project.bridge import export_qdpx, import_qdpx

    theirs = build_sample_project(tmp_path / "theirs")
    theirs.decide("ana", theirs.segments()["segment_id"].iloc[1], "funding", "accept")
    export_qdpx(theirs, tmp_path / "theirs.qdpx")
    mine = build_sample_project(tmp_path / "mine")
    mine.add_coder("ana")
    with pytest.raises(InterchangeError, match=r"user 'ana' has GUID .* but this project's coder 'ana' has .*--map-coder"):
        import_qdpx(mine, tmp_path / "theirs.qdpx")
    assert mine.decisions().empty
    summary = import_qdpx(mine, tmp_path / "theirs.qdpx", map_coder={"ana": "ana-site-b"})
    assert summary["coders"] == ["ana-site-b"]
    assert set(open_project(mine.path).decisions()["coder"]) == {"ana-site-b"}
    again = import_qdpx(theirs, tmp_path / "theirs.qdpx")  # the file's own project: same GUID, no question
    assert again["already_present"] == 1


@pytest.mark.slow
def test_the_cli_takes_map_coder(tmp_path):
    from qcode.project.bridge import export_qdpx

    theirs = build_sample_project(tmp_path / "theirs")
    theirs.decide("ana", theirs.segments()["segment_id"].iloc[1], "funding", "accept")
    export_qdpx(theirs, tmp_path / "theirs.qdpx")
    mine = build_sample_project(tmp_path / "mine")
    mine.add_coder("ana")
    refused = subprocess.run([*QCODE, "import", str(mine.path), str(tmp_path / "theirs.qdpx")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--map-coder" in refused.stderr and "Traceback" not in refused.stderr
    done = subprocess.run([*QCODE, "import", str(mine.path), str(tmp_path / "theirs.qdpx"), "--map-coder", "ana=ana"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(open_project(mine.path).decisions()["coder"]) == {"ana"}
