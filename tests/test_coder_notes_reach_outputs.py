"""Issue 22 item 18: coders' notes reach the .qdpx export (REFI-QDA Notes the codings refer to) and the
agreement report (a notes column on the disagreements)."""

from __future__ import annotations

import zipfile

from lxml import etree

from qcode.agreement import project_report
from qcode.interchange.model import PROJECT_NS
from qcode.project.bridge import export_project
from qcode.project.sample import build_sample_project

NS = {"p": PROJECT_NS}


def test_a_coding_note_is_a_refi_note_the_coding_refers_to(tmp_path):
    project = build_sample_project(tmp_path / "study")
    seg = project.segments().segment_id.iloc[1]
    project.decide("ana", seg, "funding", "accept", note="grant money <not> salaries & rota")
    out = tmp_path / "p.qdpx"
    export_project(project, out)                      # validated against the REFI-QDA schema as it is written
    with zipfile.ZipFile(out) as zf:
        root = etree.fromstring(zf.read("project.qde"))
    notes = root.findall("p:Notes/p:Note", NS)
    assert [n.findtext("p:PlainTextContent", namespaces=NS) for n in notes] == ["grant money <not> salaries & rota"]
    refs = root.findall(".//p:Coding/p:NoteRef", NS)
    assert [r.get("targetGUID") for r in refs] == [notes[0].get("guid")]
    assert notes[0].get("name") == "note by ana"


def test_the_agreement_report_shows_what_coders_wrote_where_they_disagree(tmp_path):
    project = build_sample_project(tmp_path / "study")
    segs = project.segments()
    participant = segs[segs["role"] != "interviewer"].segment_id.tolist()
    for seg in participant[:4]:
        project.decide("ana", seg, "funding", "accept")
        project.decide("ben", seg, "funding", "accept")
    project.decide("ana", participant[4], "funding", "accept", note="the rota is about money")
    project.decide("ben", participant[4], "staffing", "accept", note="<b>staff</b> not money")
    result = project_report(project, coders=["ana", "ben"], n_boot=20)
    table = result.disagreements
    assert "notes" in table.columns
    row = table[table["text"].str.contains(segs.set_index("segment_id").loc[participant[4], "text"][:20],
                                           regex=False)].iloc[0]
    assert row["notes"] == "ana: the rota is about money; ben: <b>staff</b> not money"
    html = result.to_html()
    assert "&lt;b&gt;staff&lt;/b&gt; not money" in html and "<b>staff</b>" not in html
