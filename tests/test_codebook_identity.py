"""A .qdc or .qdpx round trip keeps the codebook's name, title, description, source and version (issue 11, defect 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qcode.codebook import load_codebook
from qcode.codebook.model import Code, Codebook
from qcode.interchange.qdc import qdc_bytes, read_qdc, read_qdc_bytes, write_qdc

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


def qcode(*args, cwd=None):
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def _without_guids(cb: Codebook) -> dict:
    data = cb.to_dict()
    for code in data["codes"]:
        code.pop("guid", None)
    return data


def test_a_qdc_round_trip_keeps_the_codebooks_identity():
    cb = load_codebook("mcn-sst")
    back = read_qdc_bytes(qdc_bytes(cb), "renamed-file.qdc")
    assert (back.name, back.title, back.description, back.source) == (cb.name, cb.title, cb.description, cb.source)
    assert back.version == cb.version
    assert _without_guids(back) == _without_guids(cb)


def test_derived_guids_do_not_change_the_version_but_a_codes_own_guid_does():
    from qcode.codebook.model import derived_guid
    from qcode.interchange.model import QCODE_GUID_NS, stable_guid

    cb = Codebook("demo", [Code("a", "Access", guid="00000000-0000-0000-0000-0000000000aa"),
                           Code("b", "Cost", definition="Money.")], title="Demo", description="Two codes.",
                  source="made up")
    back = read_qdc_bytes(qdc_bytes(cb), "x.qdc")
    assert back["a"].guid == "00000000-0000-0000-0000-0000000000aa"
    assert back["b"].guid == stable_guid("code", "demo", "b") == derived_guid("demo", "b")
    assert back.version == cb.version
    assert Codebook("demo", [Code("a", "Access", guid="00000000-0000-0000-0000-0000000000ab"),
                             Code("b", "Cost", definition="Money.")], title="Demo", description="Two codes.",
                    source="made up").version != cb.version
    from qcode.codebook.model import GUID_NAMESPACE

    assert GUID_NAMESPACE == QCODE_GUID_NS


def test_an_explicit_name_still_wins():
    cb = load_codebook("mcn-sst")
    back = read_qdc_bytes(qdc_bytes(cb), "x.qdc", name="team")
    assert back.name == "team" and back.title == cb.title and back.source == cb.source


def test_a_codebook_edited_elsewhere_after_export_is_read_as_it_is_now(tmp_path):
    cb = load_codebook("mcn-sst")
    data = qdc_bytes(cb).replace(b'name="Goals and metrics"', b'name="Goals and targets"')
    warnings: list[str] = []
    back = read_qdc_bytes(data, "x.qdc", warnings=warnings)
    assert back["goals"].name == "Goals and targets" and back.title == cb.title
    assert any("changed since qcode exported it" in w for w in warnings)


@pytest.mark.slow
def test_codebook_show_prints_the_same_header_after_export(tmp_path):
    out = tmp_path / "m.qdc"
    assert qcode("codebook", "export", "mcn-sst", "--out", out).returncode == 0
    shown = qcode("codebook", "show", out)
    original = qcode("codebook", "show", "mcn-sst")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[:2] == original.stdout.splitlines()[:2]
    imported = qcode("codebook", "import", out, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert load_codebook(tmp_path / "mcn-sst.yaml").version == load_codebook("mcn-sst").version


def test_a_foreign_qdc_without_a_title_shows_no_empty_title(tmp_path):
    path = tmp_path / "team.qdc"
    write_qdc(Codebook("team", [Code("a", "Access")]), path)
    data = path.read_bytes()
    start = data.index(b"<?qcode-codebook")
    path.write_bytes(data[:start] + data[data.index(b"?>", start) + 2:])  # as another tool would write it
    cb = read_qdc(path)
    assert cb.name == "team" and cb.title == ""
    header = qcode("codebook", "show", path).stdout.splitlines()[0]
    assert header.startswith("team (version ") and ":  " not in header


def test_a_qdpx_round_trip_keeps_the_codebook_and_makes_turn_segments(tmp_path):
    from qcode.project import open_project
    from qcode.project.bridge import export_qdpx, import_file
    from qcode.project.sample import build_sample_project

    source = build_sample_project(tmp_path / "study")
    source.decide("ana", source.segments().segment_id.iloc[1], "funding", "accept")
    export_qdpx(source, tmp_path / "study.qdpx")
    summary = import_file(tmp_path / "copy", tmp_path / "study.qdpx")
    copy = open_project(tmp_path / "copy")
    assert copy.codebook.name == source.codebook.name and copy.codebook.version == source.codebook.version
    segments = copy.segments()
    assert len(segments) > 0 and set(segments["unit"]) == {"turn"}
    assert summary["segments"] == len(segments)
    original = source.segments()
    assert sorted(zip(original.doc_id, original.start, original.end)) == sorted(
        zip(segments.doc_id, segments.start, segments.end))
    assert set(segments.role) >= {"interviewer", "participant"}
