"""The lead's memos and candidate codes in `qcode serve` (issues 19 and 20), over HTTP without a browser:
idempotent writes, history kept, hostile text escaped, coders (blind or not) shut out, one-line 4xx."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette, uvicorn, jinja2) is part of the test extra")

from starlette.testclient import TestClient

from qcode.web.app import create_app
from qcode.web.guard import csrf_value
from qcode.web.service import ReviewService
from qcode.web.tokens import TokenStore
from web_support import sample_project

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def write_candidates(path, label="Waiting for beds"):
    """A candidates file as `qcode discover` writes it (two candidates and one duplicate note)."""
    data = {"candidates": [
        {"id": "cand-01", "label": label, "keywords": ["beds", "waiting", "<b>ward</b>"],
         "definition": "Draft: talk of waiting for a bed.", "size": 6, "draft": True,
         "examples": ["We waited three days for a bed.", HOSTILE],
         "members": [{"doc_id": "d", "segment_id": "s", "text": "We waited three days for a bed."}]},
        {"id": "cand-02", "label": "Funding", "keywords": ["money"], "definition": "Draft: money.", "size": 5,
         "draft": True, "examples": ["The money ran out."], "members": []}],
        "notes": [{"id": "cand-03", "label": "Staff rotas", "size": 5, "looks_like": "staffing",
                   "note": "this looks like staffing"}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class Desk:
    def __init__(self, project, candidates=None, blind=True):
        self.project = project
        self.service = ReviewService(project.path, blind=blind)
        self.tokens = TokenStore(project.path)
        self.lead = self.tokens.ensure_lead("lead")
        self.client = TestClient(create_app(self.service, self.tokens, candidates=candidates),
                                 base_url="http://127.0.0.1:8765")

    def token(self, who):
        return self.lead.token if who == "lead" else self.tokens.ensure_coder(who).token

    def get(self, who, path):
        return self.client.get(f"/r/{self.token(who)}/{path}")

    def post(self, who, path, body):
        token = self.token(who)
        return self.client.post(f"/r/{token}/{path}", content=json.dumps(body),
                                headers={"X-Qcode-Csrf": csrf_value(token), "Content-Type": "application/json"})


@pytest.fixture
def project(tmp_path):
    return sample_project(tmp_path / "study", hostile=True)


@pytest.fixture
def desk(project, tmp_path):
    return Desk(project, write_candidates(tmp_path / "candidates.json"))


def test_a_memo_is_added_once_per_key_edited_with_history_and_shown_escaped(desk, project):
    seg = project.segments().segment_id.iloc[1]
    body = {"key": "memo-key-0001", "kind": "passage", "target": seg, "text": HOSTILE}
    first = desk.post("lead", "api/add-memo", body)
    again = desk.post("lead", "api/add-memo", body)          # a retried request: recorded once
    assert first.status_code == 200 and first.json()["repeated"] is False
    assert again.json() == {**first.json(), "repeated": True}
    memos = project.memos()
    assert memos[["target_kind", "target_id", "author", "text"]].values.tolist() == [["passage", seg, "lead", HOSTILE]]
    memo_id = first.json()["memo_id"]
    edit = {"memo_id": memo_id, "version": 1, "text": "Second thoughts."}
    assert desk.post("lead", "api/edit-memo", edit).json()["version"] == 2
    assert desk.post("lead", "api/edit-memo", edit).json() == {"memo_id": memo_id, "version": 2, "repeated": True}
    stale = desk.post("lead", "api/edit-memo", {**edit, "text": "Third, from an old page."})
    assert stale.status_code == 409 and "reload" in stale.json()["error"]
    assert project.memo_history(memo_id)["text"].tolist() == [HOSTILE, "Second thoughts."]
    page = desk.get("lead", "lead")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>window.__pwned" not in page.text and "&lt;script&gt;window.__pwned = 1" in page.text
    assert "Second thoughts." in page.text and "1 earlier version" in page.text


def test_bad_memo_requests_are_one_line_4xx_and_change_nothing(desk, project):
    cases = [({"kind": "code", "target": "no-such-code", "text": "x"}, 422, "no code 'no-such-code'"),
             ({"kind": "planet", "target": "x", "text": "x"}, 422, "one of project"),
             ({"kind": "project", "text": "   "}, 422, "needs text")]
    for i, (body, status, words) in enumerate(cases):
        reply = desk.post("lead", "api/add-memo", {"key": f"bad-memo-{i:04d}", **body})
        assert reply.status_code == status and words in reply.json()["error"]
        assert "\n" not in reply.json()["error"]
    assert desk.post("lead", "api/add-memo", {"kind": "project", "text": "no key"}).status_code == 400
    assert desk.post("lead", "api/edit-memo", {"memo_id": 99, "text": "x"}).status_code == 404
    assert len(project.memo_history()) == 0


def test_coders_blind_or_not_neither_see_nor_write_memos(project, tmp_path):
    seg = project.segments().segment_id.iloc[1]
    project.add_memo("passage", seg, "LEAD-ONLY-MEMO about this passage", "lead")
    project.add_memo("passage", seg, "BEN-MEMO on the same passage", "ben")
    for blind in (True, False):
        desk = Desk(project, blind=blind)
        card = desk.client.get(f"/r/{desk.token('ana')}/card", params={"seg": seg})
        assert card.status_code == 200
        assert "MEMO" not in card.json()["html"] and "MEMO" not in desk.get("ana", f"?seg={seg}").text
        assert desk.get("ana", "lead").status_code == 403
        denied = desk.post("ana", "api/add-memo", {"key": "coder-key-01", "kind": "project", "text": "mine"})
        assert denied.status_code == 403
    assert len(project.memo_history()) == 2


def test_a_candidate_becomes_a_code_once_with_its_edits_logged(desk, project):
    page = desk.get("lead", "lead")
    assert "Waiting for beds" in page.text and "We waited three days for a bed." in page.text
    assert "&lt;b&gt;ward&lt;/b&gt;" in page.text and "<img src=x" not in page.text
    assert "looks like staffing" in page.text
    version = desk.service.current_codebook()[1]
    body = {"key": "make-code-0001", "candidate": "cand-01", "label": "Bed waits", "code_id": "bed-waits",
            "definition": "Waiting for an inpatient bed.", "codebook_version": version}
    made = desk.post("lead", "api/make-code", body)
    assert made.status_code == 200, made.text
    assert made.json()["code_id"] == "bed-waits" and made.json()["repeated"] is False
    again = desk.post("lead", "api/make-code", body)        # retried after the codebook changed: not added twice
    assert again.status_code == 200 and again.json()["repeated"] is True
    code = project.codebook["bed-waits"]
    assert (code.name, code.definition) == ("Bed waits", "Waiting for an inpatient bed.")
    assert "We waited three days for a bed." in code.examples
    history = project.codebook_history()
    assert history["action"].tolist().count("add") == 1
    assert history.iloc[-1]["author"] == "lead" and "cand-01" in history.iloc[-1]["detail"]
    assert "in the codebook as bed-waits" in desk.get("lead", "lead").text


def test_unknown_candidate_name_clash_and_stale_page_are_refused(desk, project):
    version = desk.service.current_codebook()[1]
    before = len(project.codebook_history())
    unknown = desk.post("lead", "api/make-code", {"key": "make-code-0002", "candidate": "cand-99",
                                                  "codebook_version": version})
    assert unknown.status_code == 404 and "no candidate 'cand-99'" in unknown.json()["error"]
    clash = desk.post("lead", "api/make-code", {"key": "make-code-0003", "candidate": "cand-02",
                                                "codebook_version": version})
    assert clash.status_code == 409 and "clashes with code 'funding'" in clash.json()["error"]
    stale = desk.post("lead", "api/make-code", {"key": "make-code-0004", "candidate": "cand-01",
                                                "codebook_version": "0" * 12})
    assert stale.status_code == 409 and "reload" in stale.json()["error"]
    assert desk.post("ana", "api/make-code", {"key": "make-code-0005", "candidate": "cand-01"}).status_code == 403
    assert len(project.codebook_history()) == before and "cand-01" not in str(project.codebook.codes)


def test_without_a_candidates_file_the_page_says_how_to_make_one(project):
    desk = Desk(project)
    assert "qcode discover --project" in desk.get("lead", "lead").text
    reply = desk.post("lead", "api/make-code", {"key": "make-code-0006", "candidate": "cand-01"})
    assert reply.status_code == 404 and "--candidates" in reply.json()["error"]


def test_a_broken_candidates_file_is_one_line_at_start_and_on_the_page(project, tmp_path):
    from qcode.errors import QcodeError
    from qcode.web.server import prepare

    broken = tmp_path / "candidates.json"
    broken.write_text('{"candidates": [{"label": "no id"}]}', encoding="utf-8")
    with pytest.raises(QcodeError, match="no 'candidates' list with an 'id'"):
        prepare(project.path, port=0, candidates=broken)
    desk = Desk(project, write_candidates(broken))
    project.add_memo("project", None, "Still shown.", "lead")
    broken.write_text("{not json", encoding="utf-8")              # edited badly while the server runs
    page = desk.get("lead", "lead")
    assert page.status_code == 200 and "not a candidates file" in page.text and "Still shown." in page.text
