"""The review page in a real browser (Debian's chromium driven by Playwright): a coder presses the keys,
reads the page, and the project's decision log is checked after every key."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright", reason="playwright is part of the test extra")

from web_support import HOSTILE_DOC, LiveServer, chromium_session, live_events, live_server, sample_project


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session()


pytestmark = pytest.mark.slow  # one chromium per module (~1.5 s) and real key presses


@pytest.fixture
def project(tmp_path):
    return sample_project(tmp_path / "study", hostile=True)


@pytest.fixture
def server(project):
    with live_server(project.path) as running:
        yield running


def open_page(browser, url, errors=None, bypass_csp=False):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("#card")
    return page


def acks(page) -> int:
    return int(page.evaluate("document.body.dataset.acks || '0'"))


def press(page, key, answered=True):
    """Press a key; with ``answered``, wait until the server has answered the request it made."""
    before = acks(page)
    page.keyboard.press(key)
    if answered:
        page.wait_for_function("(n) => Number(document.body.dataset.acks || 0) > n", arg=before, timeout=10_000)


def navigate(page, key):
    before = int(page.evaluate("document.body.dataset.loads || '0'"))
    page.keyboard.press(key)
    page.wait_for_function("(n) => Number(document.body.dataset.loads || 0) > n", arg=before, timeout=10_000)


def current(page) -> str:
    return page.get_attribute("#card", "data-seg")


def segs(project):
    return [s for s in project.segments().itertuples() if s.role != "interviewer"]


def decided(project, coder="ana"):
    log = live_events(project, coder)
    return [(r.segment_id, r.code_id if isinstance(r.code_id, str) else None, r.verdict) for r in log.itertuples()]


def test_every_key_records_what_it_says(browser, project, server):
    errors: list[str] = []
    page = open_page(browser, server.url(server.coder("ana")), errors)
    s = segs(project)
    assert current(page) == s[0].segment_id
    assert "0 of 8" in page.text_content("#progress")
    assert "We bid for the grant every year" in page.text_content("#segment-text")
    assert "How is the service paid for?" in page.text_content(".context")     # the turn before, for context
    assert "blind" in page.text_content("header")
    assert page.locator(".score").count() == 0

    press(page, "2")                                       # accept suggestion 2 and go on
    assert decided(project) == [(s[0].segment_id, "staffing", "accept")]
    assert current(page) == s[1].segment_id and "1 of 8" in page.text_content("#progress")

    press(page, "Shift+1")                                 # accept and stay: several codes per segment
    press(page, "Shift+3")
    assert current(page) == s[1].segment_id
    assert decided(project)[1:] == [(s[1].segment_id, "staffing", "accept"),
                                    (s[1].segment_id, "communication", "accept")]
    assert page.locator(".suggestion.accepted").count() == 2

    press(page, "x")                                       # reject the one suggestion not accepted, go on
    assert decided(project)[3:] == [(s[1].segment_id, "funding", "reject")]
    assert current(page) == s[2].segment_id

    press(page, "a")                                       # accept the top suggestion
    assert decided(project)[4:] == [(s[2].segment_id, "communication", "accept")]

    press(page, "Space")                                   # skip
    assert decided(project)[5:] == [(s[3].segment_id, None, "skip")]
    assert current(page) == s[4].segment_id

    press(page, "Backspace")                               # undo the skip: back on that segment
    assert len(decided(project)) == 5 and current(page) == s[3].segment_id
    press(page, "r")                                       # r rejects too
    assert [v for _, _, v in decided(project)[5:]] == ["reject"] * 3
    press(page, "u")                                       # u undoes the whole key press (3 rejections)
    assert len(decided(project)) == 5 and current(page) == s[3].segment_id

    navigate(page, "ArrowLeft")                            # back to the previous segment
    assert current(page) == s[2].segment_id
    navigate(page, "Enter")                                # next without deciding: the first undecided one
    assert current(page) == s[3].segment_id and len(decided(project)) == 5

    page.keyboard.press("c")                               # search the whole codebook and add a code
    page.keyboard.type("joining")                          # matches Coordination's definition
    assert page.locator("#code-list li:not([hidden])").count() == 1
    press(page, "Enter")
    assert decided(project)[5:] == [(s[3].segment_id, "coordination", "accept")]
    assert current(page) == s[3].segment_id                # adding a code stays on the segment

    page.keyboard.press("?")
    assert page.is_visible("#help") and "Shift" in page.text_content("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    press(page, "9", answered=False)                       # no ninth suggestion: nothing is sent
    assert "There is no suggestion 9 here (there are 3)" in page.text_content("#status")
    assert len(decided(project)) == 6
    assert not errors, errors


def test_a_note_is_kept_through_undo_and_accept_again(browser, project, server):
    page = open_page(browser, server.url(server.coder("ana")))
    first = current(page)
    page.keyboard.press("n")
    page.keyboard.type("budget, but about nurses <b>at night</b>")
    page.keyboard.press("Enter")
    assert "Note kept" in page.text_content("#status")
    press(page, "1")
    assert live_events(project, "ana")["note"].tolist() == ["budget, but about nurses <b>at night</b>"]
    press(page, "u")
    assert current(page) == first
    assert page.input_value("#note") == "budget, but about nurses <b>at night</b>"
    press(page, "2")
    log = live_events(project, "ana")
    assert log["code_id"].tolist() == ["staffing"]
    assert log["note"].tolist() == ["budget, but about nurses <b>at night</b>"]
    # a note typed and left with Enter (next) is saved with a skip, never dropped
    page.keyboard.press("n")
    page.keyboard.type("come back to this")
    page.keyboard.press("Escape")
    press(page, "Enter")
    last = live_events(project, "ana").iloc[-1]
    assert (last["verdict"], last["note"]) == ("skip", "come back to this")


def test_transcript_markup_is_shown_as_text_and_runs_nothing(browser, project, server):
    errors: list[str] = []
    hostile = [s for s in segs(project) if s.doc_id == HOSTILE_DOC]
    # the page's CSP would block inline scripts anyway; bypass it so that escaping alone is what is tested
    page = open_page(browser, server.url(server.coder("ana"), seg=hostile[1].segment_id), errors, bypass_csp=True)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#card img").count() == 0 and page.locator("#card script").count() == 0
    shown = page.text_content("#segment-text")
    assert 'onerror="window.__pwned = 2"' in shown
    assert "<script>window.__pwned = 1</script>" in page.text_content(".context")
    # a note with markup, saved and shown back: still text
    page.keyboard.press("n")
    page.keyboard.type('<img src=y onerror="window.__pwned = 3">')
    page.keyboard.press("Enter")
    press(page, "Shift+1")
    assert page.evaluate("window.__pwned") is None
    assert '<img src=y onerror="window.__pwned = 3">' in page.text_content(".my-notes")
    page.screenshot(path=str(project.path / "hostile.png"))
    assert (project.path / "hostile.png").stat().st_size > 10_000
    assert not errors, errors


def test_server_down_the_page_keeps_the_decision_and_sends_it_once(browser, project):
    from qcode.web.server import prepare

    with live_server(project.path) as first:
        url = first.url(first.coder("ana"))
        port = first.plan.port
        page = open_page(browser, url)
        seg = current(page)
    # the server is gone: the key press is kept and the page says so
    page.keyboard.press("1")
    page.wait_for_selector("#conn:not([hidden])", timeout=10_000)
    assert "Not saved yet" in page.text_content("#conn")
    assert page.get_attribute("body", "data-pending") == "1"
    page.keyboard.press("2")                                # refused while one is unsaved: nothing queued
    assert page.get_attribute("body", "data-pending") == "1"
    assert len(project.decisions()) == 0
    page.wait_for_timeout(1200)                             # a few retries fail meanwhile
    second = LiveServer(prepare(project.path, coders=["ana"], port=port)).start()
    try:
        page.wait_for_function("() => document.body.dataset.pending === '0'", timeout=15_000)
        assert "Connected again" in page.text_content("#conn")
        assert [(r.segment_id, r.code_id) for r in live_events(project).itertuples()] == [(seg, "funding")]
        assert current(page) != seg
    finally:
        second.stop()


def test_a_reloaded_tab_sends_what_it_kept(browser, project):
    from qcode.web.server import prepare

    with live_server(project.path) as first:
        url, port = first.url(first.coder("ana")), first.plan.port
        page = open_page(browser, url)
        seg = current(page)
    page.keyboard.press("a")
    page.wait_for_selector("#conn:not([hidden])", timeout=10_000)
    second = LiveServer(prepare(project.path, coders=["ana"], port=port)).start()
    try:
        page.reload()                                      # the outbox lives in localStorage
        page.wait_for_function("() => document.body.dataset.pending === '0'", timeout=15_000)
        assert [(r.segment_id, r.code_id) for r in live_events(project).itertuples()] == [(seg, "funding")]
    finally:
        second.stop()


def test_the_lead_adjudicates_and_reads_the_agreement_report(browser, project, server):
    s = [x.segment_id for x in segs(project)]
    for i, seg in enumerate(s[:4]):
        project.decide("ana", seg, "funding", "accept", note="ana's reason")
        project.decide("ben", seg, "funding" if i % 2 else "staffing", "accept")
    page = open_page(browser, server.url(server.lead))
    assert page.locator(".score").count() > 0                 # the lead is not blind
    page.click("text=Disagreements")
    page.wait_for_selector("article.dis")
    rows = page.locator("article.dis")
    assert rows.count() == 2
    first = rows.nth(0)
    assert "ana's reason" in first.text_content()
    first.locator('input[value="staffing"]').check()
    first.locator("button[type=submit]").click()
    page.wait_for_function("() => Number(document.body.dataset.acks || 0) >= 1")
    assert "saved: staffing" in first.locator(".result").text_content()
    adjudicated = live_events(project, "adjudicator")
    assert sorted(zip(adjudicated["code_id"], adjudicated["verdict"])) == [("funding", "reject"),
                                                                           ("staffing", "accept")]
    page.goto(server.url(server.lead) + "agreement")
    assert "Inter-coder agreement" in page.text_content("h1")
    assert "adjudicator" not in page.content()


def choose(page, select, value):
    """Pick a filter: the page reloads with it in the address, like a coder's change of the menu."""
    with page.expect_navigation():
        page.select_option(f'select[name="{select}"]', value)
    page.wait_for_selector("#card")


def test_filters_resume_and_the_mouse(browser, project, server):
    s = segs(project)
    url = server.url(server.coder("ana"))
    page = open_page(browser, url)
    before = acks(page)
    page.click('#card .suggestion[data-code="staffing"] button.accept')      # the mouse accepts too
    page.wait_for_function("(n) => Number(document.body.dataset.acks || 0) > n", arg=before)
    assert decided(project) == [(s[0].segment_id, "staffing", "accept")]
    assert current(page) == s[1].segment_id
    definition = page.locator("#card .suggestion").nth(0).locator("details")
    assert not definition.locator("p").is_visible()                            # definitions fold out
    definition.locator("summary").click()
    assert definition.locator("p").is_visible() and "Recruiting" in definition.locator("p").text_content()
    press(page, "Space")
    assert decided(project)[1:] == [(s[1].segment_id, None, "skip")] and current(page) == s[2].segment_id

    choose(page, "state", "skipped")                                          # "skipped by me"
    assert current(page) == s[1].segment_id and "1 in this view" in page.text_content("#progress")
    assert "skipped earlier" in page.text_content("#card .where")
    choose(page, "state", "new")                                              # "not yet reviewed"
    assert current(page) == s[2].segment_id and "6 in this view" in page.text_content("#progress")
    choose(page, "state", "all")
    choose(page, "doc", "site-b/interview-02.txt")                            # by document
    assert current(page) == s[3].segment_id and "site-b/interview-02.txt" in page.text_content("#card .where")
    choose(page, "code", "funding")                                           # by code (and document)
    assert current(page) == s[5].segment_id and "1 in this view" in page.text_content("#progress")
    assert "doc=site-b" in page.url and "code=funding" in page.url

    page.click("#search")                                                     # a code from the whole codebook
    before = acks(page)
    page.click('#code-list li[data-code="coordination"] button')
    page.wait_for_function("(n) => Number(document.body.dataset.acks || 0) > n", arg=before)
    assert decided(project)[2:] == [(s[5].segment_id, "coordination", "accept")]

    again = open_page(browser, url)                                           # the plain link resumes
    assert current(again) == s[2].segment_id                                  # the first one not yet decided
    assert "2 of 8" in again.text_content("#progress") and "1 skipped" in again.text_content("#progress")


def test_a_codebook_changed_under_the_server_says_reload_and_records_nothing(browser, project, server):
    import json

    from qcode.codebook import codebook_from_dict
    from qcode.project.sample import SAMPLE_CODEBOOK

    page = open_page(browser, server.url(server.coder("ana")))
    changed = json.loads(json.dumps(SAMPLE_CODEBOOK))
    changed["codes"].append({"id": "wellbeing", "name": "Wellbeing", "definition": "How people feel."})
    project.set_codebook(codebook_from_dict(changed, where="test"))
    press(page, "1")
    status = page.text_content("#status")
    assert "NOT SAVED" in status and "codebook changed" in status and "reload the page" in status
    assert len(project.decisions()) == 0
    page.reload()
    page.wait_for_selector("#card")
    page.keyboard.press("c")
    page.keyboard.type("wellbeing")
    press(page, "Enter")
    assert [(c, v) for _, c, v in decided(project)] == [("wellbeing", "accept")]


def test_a_locked_project_is_said_and_retried_and_a_wrong_link_is_a_readable_page(browser, project):
    import sqlite3

    from qcode.web.server import prepare

    plan = prepare(project.path, coders=["ana"], port=0)
    plan.service.lock_timeout = 0.3                 # the threads serving requests open their connections later
    server = LiveServer(plan).start()
    try:
        page = open_page(browser, server.url(server.coder("ana")))
        seg = current(page)
        blocker = sqlite3.connect(project.path / "qcode.sqlite", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")          # another program holds the project's write lock
        try:
            page.keyboard.press("1")
            page.wait_for_selector("#conn:not([hidden])", timeout=10_000)
            assert "Not saved yet" in page.text_content("#conn") and "lock" in page.text_content("#conn")
            assert page.get_attribute("body", "data-pending") == "1"
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        page.wait_for_function("() => document.body.dataset.pending === '0'", timeout=15_000)
        assert "Connected again" in page.text_content("#conn")
        assert [(r.segment_id, r.code_id) for r in live_events(project).itertuples()] == [(seg, "funding")]

        wrong = page.context.new_page()
        answer = wrong.goto(server.base + "/r/not-anyones-token/")
        assert answer.status == 403
        assert wrong.text_content("h1") == "Not a valid link" and "ask the project lead" in wrong.text_content("main")
        answer = wrong.goto(server.url(server.coder("ana")) + "disagreements")
        assert answer.status == 403 and wrong.text_content("h1") == "For the project lead"
    finally:
        server.stop()


def test_a_segment_with_no_suggestion_is_queued_and_0_says_no_code(browser, project):
    """Issue 22 high 1: an abstained segment reaches the page; 0 records "no code", Backspace undoes it."""
    s = segs(project)
    silent = s[2].segment_id
    rows = [(r.segment_id, r.code_id, r.score, r.rank) for r in project.suggestions().itertuples()
            if r.segment_id != silent]
    project.add_run({"model": "hand-made", "note": "abstains on one segment"}, rows)
    with live_server(project.path) as running:
        page = open_page(browser, running.url(running.coder("ana")))
        assert "0 of 8" in page.text_content("#progress")         # the silent segment is counted
        press(page, "1")
        press(page, "1")
        assert current(page) == silent
        assert "No code suggested" in page.text_content("#card")
        press(page, "0")
        assert decided(project)[2:] == [(silent, None, "no_code")]
        assert current(page) == s[3].segment_id
        press(page, "Backspace")
        assert len(decided(project)) == 2 and current(page) == silent
        before = acks(page)
        page.click("button[data-act=nocode]")                     # the button does the same
        page.wait_for_function("(n) => Number(document.body.dataset.acks || 0) > n", arg=before)
        assert decided(project)[2:] == [(silent, None, "no_code")]
