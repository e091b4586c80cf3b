"""The lead's memos and candidate codes in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright", reason="playwright is part of the test extra")

from test_web_lead_desk import HOSTILE, write_candidates
from web_support import chromium_session, live_server, sample_project

pytestmark = pytest.mark.slow  # one chromium per module and real clicks


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session()


def open_page(browser, url, errors):
    # the page's CSP would block inline scripts anyway; bypass it so that escaping alone is what is tested
    context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    return page


def test_the_lead_adds_a_memo_and_makes_a_code_and_a_blind_coder_sees_no_memo(browser, tmp_path):
    project = sample_project(tmp_path / "study", hostile=True)
    seg = project.segments().segment_id.iloc[1]
    candidates = write_candidates(tmp_path / "candidates.json", label=HOSTILE)
    errors: list[str] = []
    with live_server(project.path, candidates=candidates) as server:
        page = open_page(browser, server.url(server.lead), errors)
        page.click("text=Memos & candidates")
        page.wait_for_selector("#add-memo")
        # a memo with markup on a passage: saved once, shown back as text
        page.select_option("#add-memo select[name=kind]", "passage")
        page.fill("#add-memo input[name=target]", seg)
        page.fill("#add-memo textarea[name=text]", HOSTILE)
        with page.expect_navigation():
            page.click("#add-memo button[type=submit]")
        page.wait_for_selector("article.memo")
        assert page.text_content("article.memo .memo-text") == HOSTILE
        assert page.evaluate("window.__pwned") is None and page.locator("article.memo img").count() == 0
        assert project.memos()[["target_kind", "target_id", "author", "text"]].values.tolist() == [
            ["passage", seg, "lead", HOSTILE]]
        # edit it: a second version, the first kept in the history
        page.click("article.memo details.edit summary")
        page.fill("article.memo form.edit-memo textarea", "Ask P3 about the form.")
        with page.expect_navigation():
            page.click("article.memo form.edit-memo button[type=submit]")
        page.wait_for_selector("article.memo details.history")
        assert page.text_content("article.memo > .memo-text") == "Ask P3 about the form."
        assert project.memo_history(1)["text"].tolist() == [HOSTILE, "Ask P3 about the form."]
        # the candidate's hostile label and quote are text; the lead renames it and makes a code
        card = page.locator('article.cand[data-cand="cand-01"]')
        assert HOSTILE in card.locator("h2").text_content() and card.locator("img, script").count() == 0
        card.locator("input[name=label]").fill("Bed waits")
        card.locator("textarea[name=definition]").fill("Waiting for an inpatient bed.")
        with page.expect_navigation():
            card.locator("button[type=submit]").click()
        page.wait_for_selector("text=in the codebook as bed-waits")
        assert project.codebook["bed-waits"].name == "Bed waits"
        assert project.codebook_history().iloc[-1]["author"] == "lead"
        # a name clash is one line on the page, nothing added
        clash = page.locator('article.cand[data-cand="cand-02"]')
        clash.locator("button[type=submit]").click()
        clash.locator(".result.error").wait_for()
        assert "clashes with code 'funding'" in clash.locator(".result").text_content()
        assert page.evaluate("window.__pwned") is None
        # a blind second coder's page shows no memo on that passage
        coder = open_page(browser, server.url(server.coder("ben"), seg=seg), [])
        coder.wait_for_selector("#card")
        assert coder.get_attribute("#card", "data-seg") == seg
        assert "Ask P3" not in coder.content() and "Memos" not in coder.content()
    assert not [e for e in errors if "409" not in e], errors
