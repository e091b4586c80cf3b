"""Cases, attributes and memos through REFI-QDA: written as the schema says, read back as they were."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree

from qcode.errors import InterchangeError
from qcode.interchange.qdpx import read_qdpx
from qcode.project import open_project
from qcode.project.bridge import export_qdpx, import_file
from qcode.project.sample import build_sample_project

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "refi-qda" / "Project.xsd"
NS = "{urn:QDA-XML:project:1.0}"


def study_with_history(folder):
    project = build_sample_project(folder)
    seg = project.segments().segment_id.iloc[1]
    project.decide("alice", seg, "funding", "accept")
    project.set_case_attributes("P1", {"role": "nurse", "phase": "1"}, author="alice")
    project.set_case_attributes("P2", {"role": "<b>lead</b> & co", "phase": "2"}, author="alice")
    project.set_case_attributes("site-b/interview-02.txt", {"site": "b"}, by="document", author="alice")
    project.add_memo("project", None, "Overall memo", "alice")
    memo = project.add_memo("code", "funding", "first", "bob")
    project.edit_memo(memo, "second « version » 😀", "alice")
    project.add_memo("case", "P1", "Interviewed twice.", "zoe")
    project.add_memo("passage", seg, "Key quote.", "alice")  # a coded selection: the note goes on it
    project.add_memo("passage", project.segments().segment_id.iloc[3], "Uncoded passage.", "alice")
    project.add_memo("document", "site-a/interview-01.txt", "Noisy recording.", "alice")
    return project


def qde(path):
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read("project.qde"))


def test_export_is_valid_and_holds_cases_variables_and_notes(tmp_path):
    out = tmp_path / "study.qdpx"
    summary = export_qdpx(study_with_history(tmp_path / "study"), out)
    assert summary["cases"] == 3 and summary["memos"] == 6
    root = qde(out)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(root), schema.error_log
    names = [el.get("name") for el in root.iter(f"{NS}Variable")]
    assert names == ["phase", "role", "site"]
    assert {el.get("typeOfVariable") for el in root.iter(f"{NS}Variable")} == {"Text"}
    p2 = next(el for el in root.iter(f"{NS}Case") if el.get("name") == "P2")
    assert [v.findtext(f"{NS}TextValue") for v in p2.iter(f"{NS}VariableValue")] == ["2", "<b>lead</b> & co"]
    assert len(p2.findall(f"{NS}SourceRef")) == 1
    assert len(root.find(f"{NS}Notes")) == 6
    holders = sorted(ref.getparent().tag.replace(NS, "") for ref in root.iter(f"{NS}NoteRef"))
    assert holders == ["Code", "PlainTextSelection", "PlainTextSelection", "Project", "TextSource"]


def test_a_qdpx_round_trip_keeps_cases_and_memos_and_a_second_import_adds_nothing(tmp_path):
    source = study_with_history(tmp_path / "study")
    export_qdpx(source, tmp_path / "study.qdpx")
    summary = import_file(tmp_path / "copy", tmp_path / "study.qdpx")
    assert summary["cases"] == 3 and summary["memos"] == 6 and summary["warnings"] == []
    copy = open_project(tmp_path / "copy")
    assert copy.cases().equals(source.cases())
    columns = ["memo_id", "target_kind", "target_id", "text", "author", "guid"]
    assert copy.memos()[columns].equals(source.memos()[columns])
    again = import_file(tmp_path / "copy", tmp_path / "study.qdpx")
    assert again["memos"] == 0 and again["attribute_changes"] == 0
    assert len(copy.memo_history()) == 6 and len(copy.case_history()) == len(source.case_history())


def test_cases_and_notes_from_another_tool(tmp_path):
    export_qdpx(build_sample_project(tmp_path / "study"), tmp_path / "plain.qdpx")
    with zipfile.ZipFile(tmp_path / "plain.qdpx") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    root = etree.fromstring(members["project.qde"])
    sources = {el.get("name"): el for el in root.iter(f"{NS}TextSource")}
    guid_a, guid_b = (sources[n].get("guid") for n in ("site-a/interview-01.txt", "site-b/interview-02.txt"))
    extra = etree.fromstring(f"""<Project xmlns="urn:QDA-XML:project:1.0">
      <Variables>
        <Variable guid="11111111-1111-1111-1111-111111111111" name="Sector" typeOfVariable="Boolean"/>
        <Variable guid="22222222-2222-2222-2222-222222222222" name="Age" typeOfVariable="Integer"/>
      </Variables>
      <Cases>
        <Case guid="33333333-3333-3333-3333-333333333333" name="P2">
          <VariableValue><VariableRef targetGUID="11111111-1111-1111-1111-111111111111"/>
            <BooleanValue>true</BooleanValue></VariableValue>
          <SourceRef targetGUID="{guid_b}"/>
        </Case>
        <Case guid="44444444-4444-4444-4444-444444444444" name="Site A family">
          <VariableValue><VariableRef targetGUID="22222222-2222-2222-2222-222222222222"/>
            <IntegerValue>41</IntegerValue></VariableValue>
          <SourceRef targetGUID="{guid_a}"/>
        </Case>
      </Cases>
      <Notes>
        <Note guid="55555555-5555-5555-5555-555555555555" name="Memo"><PlainTextContent>On site A.</PlainTextContent></Note>
        <Note guid="66666666-6666-6666-6666-666666666666" name="Loose"><PlainTextContent>Loose.</PlainTextContent></Note>
      </Notes>
    </Project>""")
    position = [child.tag for child in root].index(f"{NS}Sources")
    for i, tag in enumerate(("Variables", "Cases")):
        root.insert(position + i, extra.find(f"{NS}{tag}"))
    root.append(extra.find(f"{NS}Notes"))
    etree.SubElement(sources["site-a/interview-01.txt"], f"{NS}NoteRef",
                     targetGUID="55555555-5555-5555-5555-555555555555")
    root.set("origin", "NVivo 14")
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "nvivo.qdpx", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    read = read_qdpx(tmp_path / "nvivo.qdpx")
    assert [(c.name, c.values) for c in read.cases] == [("P2", {"Sector": "true"}), ("Site A family", {"Age": "41"})]
    summary = import_file(tmp_path / "into", tmp_path / "nvivo.qdpx")
    assert any("'Site A family' is neither a speaker nor a document" in w for w in summary["warnings"])
    cases = open_project(tmp_path / "into").cases()
    assert cases[["case", "by", "Age", "Sector"]].values.tolist() == [
        ["site-a/interview-01.txt", "document", "41", None], ["P2", "speaker", None, "true"]]
    memos = open_project(tmp_path / "into").memos()
    assert memos[["target_kind", "target_id", "text", "author"]].values.tolist() == [
        ["document", "site-a/interview-01.txt", "On site A.", "unknown"], ["project", "", "Loose.", "unknown"]]


def test_a_formula_attribute_in_a_qdpx_refuses_the_whole_import(tmp_path):
    source = build_sample_project(tmp_path / "study")
    source._conn.execute("INSERT INTO case_events (time, author, case_by, case_name, attribute, value, source) "
                         "VALUES ('2026-01-01T00:00:00Z', 'x', 'speaker', 'P1', 'role', '=cmd()', 'test')")
    export_qdpx(source, tmp_path / "bad.qdpx")
    with pytest.raises(InterchangeError, match="starts like a spreadsheet formula"):
        import_file(tmp_path / "into", tmp_path / "bad.qdpx")
    assert not (tmp_path / "into").exists()
