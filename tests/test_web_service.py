"""`qcode serve` over HTTP without a browser: identity from the token, blind views, CSRF, escaping,
idempotent decisions, bad input. Starlette's test client calls the real app in-process."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette, uvicorn, jinja2) is part of the test extra")

from starlette.testclient import TestClient

from qcode.errors import ProjectError
from qcode.project import open_project
from qcode.suggest.coders import EMPTY_LEARNED_STATE, run_is_independent
from qcode.web.app import create_app
from qcode.web.guard import csrf_value
from qcode.web.service import ReviewService
from qcode.web.tokens import TOKENS_NAME, TokenStore
from web_support import HOSTILE_DOC, live_events, sample_project

STATIC = Path(__file__).resolve().parents[1] / "qcode" / "web" / "static"
OTHER = "bérénice"          # a name no token, hash or hex value can contain by chance
OTHER_NOTE = "BÉRÉNICE-SECRET-NOTE"


class Site:
    """The app of one project with an in-process client and a token per coder."""

    def __init__(self, path, blind=True, **options):
        self.service = ReviewService(path, blind=blind, **options)
        self.tokens = TokenStore(path)
        self.lead = self.tokens.ensure_lead("lead")
        self.client = TestClient(create_app(self.service, self.tokens), base_url="http://127.0.0.1:8765")

    def token(self, coder):
        return self.tokens.ensure_coder(coder).token

    def get(self, coder_or_token, path="", **params):
        token = self.lead.token if coder_or_token == "lead" else (
            coder_or_token if len(coder_or_token) > 20 else self.token(coder_or_token))
        return self.client.get(f"/r/{token}/{path}", params=params)

    def post(self, coder, path, body, headers=None, raw=None):
        token = self.lead.token if coder == "lead" else self.token(coder)
        sent = {"X-Qcode-Csrf": csrf_value(token), "Content-Type": "application/json"}
        sent.update(headers or {})
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(f"/r/{token}/{path}", content=data, headers=sent)

    def decide(self, coder, key, **body):
        return self.post(coder, "api/decide", {"key": key, **body})


def first_segment(html):
    return re.search(r'data-seg="([^"]*)"', html).group(1)


@pytest.fixture
def project(tmp_path):
    return sample_project(tmp_path / "study", hostile=True)


@pytest.fixture
def site(project):
    return Site(project.path)


def test_tokens_file_is_private_and_identity_comes_from_the_token(project, site):
    path = project.path / TOKENS_NAME
    ana = site.token("ana")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert site.token("ana") == ana                       # stable: printed again on the next start
    seg = first_segment(site.get("ana").text)
    reply = site.post("ana", "api/decide", {"key": "k-identity-01", "action": "accept", "segment_id": seg,
                                            "code_id": "funding", "coder": "ben"})  # naming someone else: ignored
    assert reply.status_code == 200, reply.text
    log = live_events(project)
    assert list(log["coder"]) == ["ana"]


@pytest.mark.parametrize("token", ["", "nope", "x" * 32])
def test_missing_or_wrong_token_is_403_and_records_nothing(project, site, token):
    seg = project.segments()["segment_id"][1]
    for path in ("", "card", "api/ping", "disagreements", "agreement"):
        assert site.client.get(f"/r/{token}/{path}").status_code in (403, 404)
    reply = site.client.post(f"/r/{token}/api/decide", content=json.dumps(
        {"key": "k-forged-0001", "action": "accept", "segment_id": seg, "code_id": "funding"}),
        headers={"Content-Type": "application/json", "X-Qcode-Csrf": csrf_value(token or "x")})
    assert reply.status_code in (403, 404)
    assert site.client.get("/").status_code == 403
    assert len(project.decisions()) == 0


def test_a_coder_cannot_open_the_leads_pages(site):
    for path in ("disagreements", "agreement", "report"):
        assert site.get("ana", path).status_code == 403
    reply = site.post("ana", "api/adjudicate", {"key": "k-adjud-0001", "segment_id": "x", "codes": []})
    assert reply.status_code == 403
    assert site.get("lead", "disagreements").status_code == 200


def test_cross_site_requests_are_refused(project, site):
    seg = first_segment(site.get("ana").text)
    body = {"key": "k-csrf-00001", "action": "accept", "segment_id": seg, "code_id": "funding"}
    token = site.token("ana")
    no_header = site.client.post(f"/r/{token}/api/decide", content=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
    assert no_header.status_code == 403
    wrong = site.post("ana", "api/decide", body, headers={"X-Qcode-Csrf": csrf_value("someone-else")})
    assert wrong.status_code == 403
    form = site.client.post(f"/r/{token}/api/decide", data={"action": "accept", "segment_id": seg},
                            headers={"X-Qcode-Csrf": csrf_value(token)})
    assert form.status_code == 415
    other_site = site.post("ana", "api/decide", body, headers={"Origin": "http://evil.example"})
    assert other_site.status_code == 403
    fetch_meta = site.post("ana", "api/decide", body, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_meta.status_code == 403
    assert len(project.decisions()) == 0
    same_origin = site.post("ana", "api/decide", body, headers={"Origin": "http://127.0.0.1:8765",
                                                                 "Sec-Fetch-Site": "same-origin"})
    assert same_origin.status_code == 200
    assert len(project.decisions()) == 1


def test_pages_escape_transcript_text_and_send_a_strict_csp(project, site):
    hostile = [s for s in project.segments().itertuples() if s.doc_id == HOSTILE_DOC]
    for seg in hostile:
        page = site.get("ana", seg=seg.segment_id)
        assert page.status_code == 200
        assert "<script>window" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page.text or \
               "&lt;img src=x onerror=&#34;window.__pwned = 2&#34;&gt;" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
    note = '"><script>alert(1)</script>'
    reply = site.decide("ana", "k-escape-0001", action="accept", segment_id=hostile[0].segment_id,
                        code_id="funding", note=note, stay=True)
    assert reply.status_code == 200
    assert "<script>alert(1)</script>" not in reply.json()["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.json()["html"]


def test_static_files_come_from_the_package_only(site):
    assert site.client.get("/static/app.js").status_code == 200
    assert site.client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    for bad in ("/static/..%2Fapp.py", "/static/%2e%2e/tokens.py", "/static/../__init__.py", "/static/",
                "/static/templates", "/static/review.html", "/static/..%2f..%2fqcode.sqlite"):
        reply = site.client.get(bad)
        assert reply.status_code == 404, bad
        assert "import" not in reply.text


def _score_strings(project):
    return {f"{s:.2f}" for s in project.suggestions("all")["score"]} | \
           {repr(float(s)) for s in project.suggestions("all")["score"]}


def _every_route(site, coder):
    """Every GET route a coder can reach, for every segment, filter and direction."""
    project = site.service.project()
    routes = [("", {}), ("api/ping", {}), ("disagreements", {}), ("agreement", {}), ("report", {}), ("nothing-here", {})]
    seg_ids = list(project.segments()["segment_id"])
    for state in ("all", "new", "skipped", "reviewed"):
        routes.append(("", {"state": state}))
        for code in ("funding", "communication"):
            routes.append(("card", {"state": state, "code": code}))
    routes.append(("", {"doc": HOSTILE_DOC}))
    for seg in seg_ids:
        routes.append(("", {"seg": seg}))
        for go in ("here", "next", "prev"):
            routes.append(("card", {"seg": seg, "go": go}))
    out = []
    for path, params in routes:
        reply = site.get(coder, path, **params)
        headers = "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
        out.append(((path, tuple(sorted(params.items()))), reply.status_code, headers + "\n\n" + reply.text))
    for name in ("app.js", "style.css"):
        reply = site.client.get(f"/static/{name}")
        out.append((("static", name), reply.status_code, reply.text))
    return out


def _leaks(text, scores):
    found = [s for s in scores if s in text]
    for needle in (OTHER, OTHER.encode("unicode_escape").decode(), "b&#233;r", "RÉNICE", "R\\u00c9NICE",
                   OTHER_NOTE):
        if needle in text:
            found.append(needle)
    return found


@pytest.mark.slow
def test_blind_coders_are_sent_no_scores_and_nothing_of_other_coders(project, site):
    scores = _score_strings(project)
    seg_ids = list(project.segments()["segment_id"])
    before = _every_route(site, "ana")
    # another coder decides everything, with notes, and so does the lead's adjudicator
    for i, seg in enumerate(seg_ids):
        assert site.decide(OTHER, f"k-other-{i:04d}", action="accept", segment_id=seg, code_id="coordination",
                           note=f"{OTHER_NOTE} {i}").status_code in (200, 404)
    after = _every_route(site, "ana")
    for (route, status, text_before), (_, status_after, text_after) in zip(before, after):
        assert status == status_after, route
        assert text_before == text_after, f"{route}: what ana is sent changed when {OTHER} decided"
        if route[0] == "static":  # the package's own files, byte for byte (CSS has numbers like 0.2rem)
            assert text_after == (STATIC / route[1]).read_text(encoding="utf-8")
            continue
        assert not _leaks(text_after, scores), (route, _leaks(text_after, scores))
    # ana's own deciding replies carry nothing of the other coder either
    seg = first_segment(site.get("ana").text)
    for i, body in enumerate([{"action": "accept", "segment_id": seg, "code_id": "funding", "stay": True},
                              {"action": "reject", "segment_id": seg},
                              {"action": "skip", "segment_id": seg_ids[-1]}]):
        reply = site.decide("ana", f"k-ana-{i:06d}", **body)
        assert reply.status_code == 200
        assert not _leaks("\n".join(f"{k}: {v}" for k, v in reply.headers.items()) + reply.text, scores)
    last = site.get("ana", "card", seg=seg_ids[-1])
    undo = site.post("ana", "api/undo", {"key": "k-ana-undo01", "target": last.json()["last"]})
    assert undo.status_code == 200 and not _leaks(undo.text, scores)
    # the search can fail: the lead's page shows both the scores and the other coder
    lead_text = site.get("lead", seg=seg_ids[1]).text
    assert _leaks(lead_text, scores) and OTHER in lead_text and OTHER_NOTE in lead_text


def test_no_blind_shows_scores_and_other_coders(project):
    site = Site(project.path, blind=False)
    seg = first_segment(site.get("ana").text)
    site.decide("ben", "k-ben-000001", action="accept", segment_id=seg, code_id="staffing", note="ben's reason")
    page = site.get("ana", seg=seg).text
    assert "0.71" in page and "ben" in page and "ben&#39;s reason" in page


def test_blind_order_is_document_or_fixed_random_never_by_score(project):
    doc_site = Site(project.path, order="document")
    viewer = doc_site.service.viewer("ana")
    queue = [it.segment_id for it in doc_site.service.queue(viewer)]
    segs = project.segments()
    participant = segs[segs["role"] != "interviewer"]
    assert queue == list(participant["segment_id"])
    rnd = ReviewService(project.path, order="random")
    ana = [it.segment_id for it in rnd.queue(rnd.viewer("ana"))]
    assert sorted(ana) == sorted(queue) and ana != queue
    assert ana == [it.segment_id for it in ReviewService(project.path, order="random").queue(rnd.viewer("ana"))]
    assert ana != [it.segment_id for it in rnd.queue(rnd.viewer("ben"))]
    with pytest.raises(ProjectError, match="uncertainty"):
        ReviewService(project.path, order="uncertain")
    # the same segments with other scores: the order does not move
    rows = [(r.segment_id, r.code_id, 1.0 - r.score, r.rank) for r in project.suggestions().itertuples()]
    project.add_run({"model": "hand-made", "note": "scores reversed"}, rows)
    again = ReviewService(project.path, order="random")
    assert [it.segment_id for it in again.queue(again.viewer("ana"))] == ana


def test_blind_suggestions_come_from_a_run_no_other_coder_trained(project, site):
    assert run_is_independent({"learned_state": EMPTY_LEARNED_STATE}, "ana")
    assert not run_is_independent({"learned_state": "0123456789abcdef"}, "ana")
    assert run_is_independent({"learned_from": ["ana"], "learned_state": "0123456789abcdef"}, "ana")
    assert not run_is_independent({"learned_from": ["ana", "ben"]}, "ana")
    plain = project.latest_run()
    rows = [(r.segment_id, r.code_id, r.score, r.rank) for r in project.suggestions().itertuples()]
    learned = project.add_run({"model": "hand-made", "learned_state": "0123456789abcdef"}, rows)
    ana_only = project.add_run({"model": "hand-made", "learned_state": "fedcba9876543210", "learned_from": ["ana"]},
                               rows)
    service = ReviewService(project.path)
    assert service.run_for(service.viewer("ben")) == plain
    assert service.run_for(service.viewer("ana")) == ana_only
    assert service.run_for(service.viewer("lead", lead=True)) == ana_only
    assert learned not in (service.run_for(service.viewer("ben")), service.run_for(service.viewer("ana")))


def test_empty_learned_state_matches_a_fresh_suggester():
    import numpy as np

    from qcode import make_suggester
    from qcode.embed.base import Embedder
    from qcode.project.sample import sample_codebook

    class Fixed(Embedder):
        def identity(self):
            return {"name": "fixed", "dim": 4}

        def encode(self, texts, *, progress=None):
            return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    try:
        suggester = make_suggester(sample_codebook(), model=Fixed())
    except TypeError as exc:  # the Embedder interface grew another abstract member
        pytest.fail(f"update the test's Fixed embedder: {exc}")
    assert suggester.identity()["learned_state"] == EMPTY_LEARNED_STATE


def test_a_retried_request_is_recorded_once(project, site):
    seg = first_segment(site.get("ana").text)
    body = {"action": "accept", "segment_id": seg, "code_id": "funding"}
    first = site.decide("ana", "k-retry-00001", **body)
    second = site.decide("ana", "k-retry-00001", **body)
    assert first.status_code == second.status_code == 200
    assert first.json()["events"] == second.json()["events"]
    rejects = [site.decide("ana", "k-retry-00002", action="reject", segment_id=seg) for _ in range(3)]
    assert all(r.status_code == 200 for r in rejects)
    assert len({tuple(r.json()["events"]) for r in rejects}) == 1
    log = live_events(project, "ana")
    assert list(log["verdict"]) == ["accept", "reject", "reject"]
    # an undo sent twice undoes one key press (both rejections), not two
    target = rejects[0].json()["last"]
    assert len(target) == 2
    for _ in range(2):
        assert site.post("ana", "api/undo", {"key": "k-retry-undo1", "target": target}).status_code == 200
    assert list(live_events(project, "ana")["verdict"]) == ["accept"]


def test_undo_gives_back_the_note_and_the_segment(project, site):
    seg = first_segment(site.get("ana").text)
    reply = site.decide("ana", "k-note-000001", action="accept", segment_id=seg, code_id="funding",
                        note="grant money, not salaries")
    assert reply.json()["segment_id"] != seg
    undo = site.post("ana", "api/undo", {"key": "k-note-undo01", "target": reply.json()["last"]})
    assert undo.status_code == 200
    assert undo.json()["note"] == "grant money, not salaries"
    assert undo.json()["segment_id"] == seg
    assert len(live_events(project, "ana")) == 0


def test_an_old_undo_cannot_undo_a_newer_decision(project, site):
    seg = first_segment(site.get("ana").text)
    one = site.decide("ana", "k-old-000001", action="accept", segment_id=seg, code_id="funding", stay=True)
    site.decide("ana", "k-old-000002", action="accept", segment_id=seg, code_id="staffing", stay=True)
    stale = site.post("ana", "api/undo", {"key": "k-old-undo01", "target": one.json()["events"]})
    assert stale.status_code == 409
    assert len(live_events(project, "ana")) == 2


def test_bad_decisions_say_why_and_record_nothing(project, site):
    seg = first_segment(site.get("ana").text)
    cases = [
        ({"key": "k-bad-000001", "action": "accept", "segment_id": "s-000000000000", "code_id": "funding"}, 404),
        ({"key": "k-bad-000002", "action": "accept", "segment_id": seg, "code_id": "no-such-code"}, 422),
        ({"key": "k-bad-000003", "action": "maybe", "segment_id": seg}, 400),
        ({"key": "short", "action": "skip", "segment_id": seg}, 400),
        ({"action": "skip", "segment_id": seg}, 400),
        ({"key": "k-bad-000004", "action": "skip", "segment_id": seg, "note": 7}, 400),
        ({"key": "k-bad-000005", "action": "skip", "segment_id": seg, "filters": {"state": "odd"}}, 400),
    ]
    for body, status in cases:
        reply = site.post("ana", "api/decide", body)
        assert reply.status_code == status, (body, reply.text)
        assert reply.json()["error"]
    assert site.post("ana", "api/decide", None, raw="{not json").status_code == 400
    assert site.post("ana", "api/decide", None, raw="[1, 2]").status_code == 400
    assert site.post("ana", "api/decide", None, raw="x" * 70_000).status_code == 413
    assert site.get("ana", seg="s-000000000000").status_code == 404
    assert "unknown segment" in site.get("ana", seg="s-000000000000").text
    assert len(project.decisions()) == 0


def test_a_codebook_changed_under_the_server_is_refused_until_reload(project, site):
    page = site.get("ana").text
    seg = first_segment(page)
    version = re.search(r'data-cb="([^"]+)"', page).group(1)
    from qcode.codebook import codebook_from_dict
    from qcode.project.sample import SAMPLE_CODEBOOK, sample_codebook  # noqa: F401

    changed = json.loads(json.dumps(SAMPLE_CODEBOOK))
    changed["codes"].append({"id": "wellbeing", "name": "Wellbeing", "definition": "How people feel."})
    project.set_codebook(codebook_from_dict(changed, where="test"))
    stale = site.decide("ana", "k-cb-0000001", action="accept", segment_id=seg, code_id="funding",
                        codebook_version=version)
    assert stale.status_code == 409 and "reload" in stale.json()["error"]
    assert len(project.decisions()) == 0
    fresh = site.get("ana").text
    new_version = re.search(r'data-cb="([^"]+)"', fresh).group(1)
    assert new_version != version and "Wellbeing" in fresh
    ok = site.decide("ana", "k-cb-0000002", action="accept", segment_id=seg, code_id="wellbeing",
                     codebook_version=new_version)
    assert ok.status_code == 200
    # a coder with decisions is shown the codebook's version, not a document version of theirs
    assert re.search(r'data-cb="([^"]+)"', ok.json()["html"]).group(1) == project.codebook.version


def test_a_locked_project_answers_503_so_the_page_retries(project, tmp_path):
    site = Site(project.path, lock_timeout=0.3)
    seg = first_segment(site.get("ana").text)
    blocker = sqlite3.connect(project.path / "qcode.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        reply = site.decide("ana", "k-lock-000001", action="accept", segment_id=seg, code_id="funding")
        assert reply.status_code == 503
        assert reply.json()["retry"] is True and "locked" in reply.json()["error"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    again = site.decide("ana", "k-lock-000001", action="accept", segment_id=seg, code_id="funding")
    assert again.status_code == 200
    assert len(project.decisions()) == 1


def test_filters_resume_and_skipped_segments_come_back(project, site):
    segs = [s for s in project.segments().itertuples() if s.role != "interviewer"]
    first = first_segment(site.get("ana").text)
    assert first == segs[0].segment_id
    skip = site.decide("ana", "k-flt-000001", action="skip", segment_id=first)
    assert skip.json()["segment_id"] == segs[1].segment_id
    site.decide("ana", "k-flt-000002", action="accept", segment_id=segs[1].segment_id, code_id="staffing")
    # resume: a fresh page opens at the first segment never decided, not at the skipped one
    assert first_segment(site.get("ana").text) == segs[2].segment_id
    assert first_segment(site.get("ana", state="skipped").text) == first
    assert "1 in this view" in site.get("ana", state="skipped").text
    doc_page = site.get("ana", doc=HOSTILE_DOC).text
    assert first_segment(doc_page) in {s.segment_id for s in segs if s.doc_id == HOSTILE_DOC}
    code_page = site.get("ana", code="communication", state="new").text
    coded = first_segment(code_page)
    assert "communication" in site.service.locate(site.service.viewer("ana"), coded)["segment"]["text"] or \
        "communication" in [s["code_id"] for s in site.service.locate(site.service.viewer("ana"), coded)["suggestions"]]
    # everything else decided: the skipped segment is offered again, then the view is done
    for i, s in enumerate(segs[2:]):
        site.decide("ana", f"k-flt-{i + 10:06d}", action="accept", segment_id=s.segment_id, code_id="funding")
    assert first_segment(site.get("ana").text) == first
    site.decide("ana", "k-flt-000099", action="accept", segment_id=first, code_id="funding")
    done = site.get("ana").text
    assert first_segment(done) == "" and f"All {len(segs)} segments reviewed" in done


def test_disagreements_adjudication_and_the_agreement_report(project, site):
    segs = [s.segment_id for s in project.segments().itertuples() if s.role != "interviewer"]
    for i, seg in enumerate(segs[:4]):
        site.decide("ana", f"k-dis-a{i:05d}", action="accept", segment_id=seg, code_id="funding", note="ana why")
        site.decide("ben", f"k-dis-b{i:05d}", action="accept", segment_id=seg,
                    code_id="funding" if i < 2 else "staffing", note="<b>ben</b> why")
    page = site.get("lead", "disagreements")
    assert page.status_code == 200
    assert page.text.count('class="dis"') == 2
    assert "&lt;b&gt;ben&lt;/b&gt; why" in page.text and "<b>ben</b>" not in page.text
    reply = site.post("lead", "api/adjudicate", {"key": "k-adj-000001", "segment_id": segs[2],
                                                 "codes": ["staffing"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == ["staffing"] and reply.json()["rejected"] == ["funding"]
    adjudicated = live_events(project, "adjudicator")
    assert list(zip(adjudicated["code_id"], adjudicated["verdict"])) == [("staffing", "accept"),
                                                                         ("funding", "reject")]
    assert "adjudicated: Staffing" in site.get("lead", "disagreements").text
    assert site.get("lead", "disagreements", show="open").text.count('class="dis"') == 1
    report = site.get("lead", "agreement")
    assert report.status_code == 200
    assert "Inter-coder agreement" in report.text and "alpha" in report.text.lower()
    assert "adjudicator" not in report.text
    assert "script-src" not in report.headers["content-security-policy"] or \
        "'none'" in report.headers["content-security-policy"]


def test_agreement_page_without_codings_is_a_readable_page(site):
    reply = site.get("lead", "agreement")
    assert reply.status_code == 200 and "No agreement to report yet" in reply.text


def test_read_only_project_is_refused_at_start(project):
    db = project.path / "qcode.sqlite"
    db.chmod(0o444)
    try:
        with pytest.raises(ProjectError, match="read-only"):
            ReviewService(project.path)
    finally:
        db.chmod(0o644)


def test_unknown_project_is_one_line(tmp_path):
    with pytest.raises(ProjectError, match="not a qcode project"):
        ReviewService(tmp_path / "nowhere")


def test_open_project_is_unchanged_by_the_server(project, site):
    site.get("ana")
    assert open_project(project.path).integrity_check() == "ok"


def test_the_http_status_comes_from_the_error_type_not_its_words():
    import sqlite3

    from qcode.errors import ProjectError, StoreUnavailableError, UnknownCodeError, UnknownSegmentError
    from qcode.project.base import translate

    assert ProjectError("locked? unknown segment 's-1' has no code").status == 400  # words decide nothing
    assert (StoreUnavailableError("x").status, UnknownSegmentError("x").status, UnknownCodeError("x").status) == \
        (503, 404, 422)
    assert isinstance(translate(sqlite3.OperationalError("database is locked"), "p"), StoreUnavailableError)
    assert isinstance(translate(sqlite3.OperationalError("attempt to write a readonly database"), "p"),
                      StoreUnavailableError)
