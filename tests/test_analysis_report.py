"""The study report: one self-contained HTML file that opens in real Chromium (Debian's, driven by
Playwright) with no request outside it, no console error, hostile text shown as text, every coded
theme and every attribute value present; and the same tables in .docx."""

from __future__ import annotations

import docx
import pytest

from analysis_support import demo_project
from qcode import analysis
from qcode.embed.fake import FakeEmbedder
from qcode.errors import AnalysisError

pytest.importorskip("playwright", reason="playwright is part of the test extra")

from web_support import chromium_session

BY = ["phase", "org_type", "role", "sector"]
MEMO = "Check P07's <script>alert(2)</script> remark & the =SUM(A1) idea"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    project, cases = demo_project(folder / "demo", hostile=True)
    project.add_memo("project", None, MEMO, author="ana")
    html = folder / "report.html"
    report = analysis.write_report(project, html, by=BY, embedder=FakeEmbedder())
    return project, cases, html, report


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session()


def coded_themes(project):
    frame = analysis.matrix(project, "role")
    leaves = {c.id for c in project.codebook.leaves()}
    return frame[(frame["total"] > 0) & frame["code_id"].isin(leaves)]["code_name"].tolist()


@pytest.mark.slow
def test_report_opens_in_chromium_offline_without_errors_and_shows_everything(study, browser):
    project, cases, html, report = study
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requests, errors, dialogs = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    assert errors == [] and dialogs == []
    outside = [u for u in requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert outside == [] and requests[0] == html.as_uri()
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    text = page.inner_text("body")
    assert "<script>alert(1)</script>" in text  # the transcript's text, shown as text
    assert MEMO in text
    for theme in coded_themes(project):
        assert theme in text, theme
    for name in BY:
        for value in cases[name].dropna().unique():
            assert page.locator("#participants th, #participants td, #matrices th").filter(
                has_text=str(value)).count() > 0, (name, value)
    images = page.evaluate("[...document.images].map(i => [i.src.slice(0, 26), i.naturalWidth > 0])")
    assert images and all(src == "data:image/svg+xml;base64," and loaded for src, loaded in images)
    assert len(images) == 3  # framework, heatmap, saturation
    assert report.codings in text
    context.close()


def test_report_counts_equal_the_matrix_and_quotes(study):
    project, _, html, report = study
    frame = analysis.matrix(project, "role").set_index("code_id")
    passages = analysis.matrix(project, "role", count="passages").set_index("code_id")
    for domain in report.domains:
        assert domain.cases == frame.loc[domain.code_id, "total"]
        for theme in domain.themes:
            assert theme.cases == frame.loc[theme.code_id, "total"]
            assert theme.passages == passages.loc[theme.code_id, "total"]
            assert len(theme.quotes) == min(3, theme.passages)
    matrices = dict(report.matrices)
    assert list(matrices) == BY
    assert matrices["role"]["total"].tolist() == analysis.matrix(project, "role")["total"].tolist()
    assert report.agreement is not None and "ana, ben" in report.agreement_note
    assert report.participants[0][1].iloc[-1].tolist() == ["Total", 5, 4, 9]


def test_report_is_reproducible_and_escapes_every_user_string(study, tmp_path):
    project, _, html, _ = study
    again = tmp_path / "again.html"
    analysis.write_report(project, again, by=BY, embedder=FakeEmbedder())
    assert again.read_bytes() == html.read_bytes()
    source = html.read_text(encoding="utf-8")
    assert "<script" not in source and "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert "default-src 'none'" in source and "http://" not in source.replace('http://evil', '')


def test_docx_report_holds_the_same_tables(study, tmp_path):
    project, cases, _, _ = study
    out = tmp_path / "report.docx"
    analysis.write_report(project, out, by=BY, embedder=FakeEmbedder())
    document = docx.Document(str(out))
    cells = {c.text for t in document.tables for row in t.rows for c in row.cells}
    text = "\n".join(cells) + "\n".join(p.text for p in document.paragraphs)
    for theme in coded_themes(project):
        assert theme in text
    for name in BY:
        for value in cases[name].dropna().unique():
            assert value in cells
    assert "<script>alert(1)</script>" in text and MEMO in cells
    assert len(document.inline_shapes) == 3


def test_report_refuses_unknown_format_and_attribute(study, tmp_path):
    project, _, _, _ = study
    with pytest.raises(AnalysisError, match=r"\.pdf"):
        analysis.write_report(project, tmp_path / "r.pdf", embedder=FakeEmbedder())
    with pytest.raises(AnalysisError, match="unknown attribute 'grade'"):
        analysis.write_report(project, tmp_path / "r.html", by=["grade"], embedder=FakeEmbedder())
    assert not (tmp_path / "r.html").exists()
