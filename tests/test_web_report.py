"""The lead's page of `qcode serve` links to the study report, which only the lead can open."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette, uvicorn, jinja2) is part of the test extra")

import qcode.embed
from qcode.embed.fake import FakeEmbedder
from qcode.web.pages import REPORT_CSP
from test_web_service import Site
from web_support import HOSTILE_SAID, sample_project


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr(qcode.embed, "load_embedder", lambda *a, **k: FakeEmbedder())
    project = sample_project(tmp_path / "study", hostile=True)
    segs = project.segments().query("role == 'participant'")["segment_id"].tolist()
    for coder in ("ana", "ben"):
        for seg, code in zip(segs, ["funding", "staffing", "communication", "coordination", "funding",
                                    "communication", "staffing", "coordination"]):
            project.decide(coder, seg, code, "accept")
    return Site(project.path)


def test_the_lead_opens_the_study_report_and_coders_cannot(site):
    assert 'href="/r/' in site.get("lead").text and "report\">Study report</a>" in site.get("lead").text
    assert "Study report" in site.get("lead", "disagreements").text
    assert "Study report" not in site.get("ana").text
    assert site.get("ana", "report").status_code == 403
    reply = site.get("lead", "report")
    assert reply.status_code == 200 and reply.headers["content-security-policy"] == REPORT_CSP
    page = reply.text
    assert "codings counted: consensus of ana, ben" in page
    assert "<script>window" not in page and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert HOSTILE_SAID[0].split("<")[0].strip() in page
    assert "Funding" in page and "Coordination" in page
