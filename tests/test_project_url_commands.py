"""Every command that takes a project takes its postgresql:// URL (issue 22, item 3).

Before, status, suggest --project, serve, decide, undo, export, agree (and learn, import, codebook use)
read the argument as a path: ``postgresql://…`` became the folder ``postgresql:/…``, and the advice to
``qcode init postgresql:/…`` made a local SQLite project that the URL then reached instead of the server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qcode.cli.app import app
from qcode.errors import ProjectError
from qcode.project import open_project
from qcode.project.ref import ProjectRef
from qcode.project.sample import build_sample_project

DEMO_P07 = Path(__file__).parents[1] / "corpora" / "demo" / "interview_p07.txt"


def run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)
    return result


def ok(*args: object) -> str:
    result = run(*args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    assert "postgresql:/" not in result.output.replace("postgresql://", "")
    return result.output


def test_a_reference_keeps_a_url_a_url_and_refuses_a_mangled_one() -> None:
    assert ProjectRef.parse("postgresql://ana:pw@db/study").target == "postgresql://ana:pw@db/study"
    assert str(ProjectRef.parse("postgresql://ana:pw@db/study")) == "postgresql://ana@db/study"
    assert ProjectRef.parse("study").target == Path("study")
    with pytest.raises(ProjectError, match="without its '//'"):
        ProjectRef.parse("postgresql:/db/study")


@pytest.mark.slow
def test_every_project_command_reaches_the_server(pg_url, tmp_path, monkeypatch, fake_embedder) -> None:
    import qcode.embed

    monkeypatch.setattr(qcode.embed, "load_embedder", lambda *a, **k: fake_embedder)
    monkeypatch.chdir(tmp_path)  # a mangled URL would leave a folder named postgresql: here
    project = build_sample_project(pg_url)
    seg = project.segments().query("role == 'participant'").iloc[0]
    project.close()

    assert "documents" in ok("status", pg_url)
    assert "ok" in ok("check", pg_url)
    ok("decide", pg_url, "--coder", "alice", "--segment", seg.segment_id, "--code", "funding", "--accept")
    ok("decide", pg_url, "--coder", "bob", "--segment", seg.segment_id, "--code", "funding", "--accept")
    ok("decide", pg_url, "--coder", "bob", "--segment", seg.segment_id, "--code", "staffing", "--accept")
    ok("undo", pg_url, "--coder", "bob")
    ok("export", pg_url, "--out", tmp_path / "codings.csv")
    assert (tmp_path / "codings.csv").read_text(encoding="utf-8").count("alice") == 1
    ok("agree", pg_url, "--coders", "alice,bob", "--n-boot", "0")
    ok("suggest", DEMO_P07, "--project", pg_url, "--no-tune")
    ok("codebook", "export", pg_url, "--out", tmp_path / "book.qdc")
    ok("export", pg_url, "--out", tmp_path / "study.qdpx")
    ok("import", pg_url, tmp_path / "book.qdc")
    assert "memo" in ok("memo", "add", pg_url, "--on", "code:funding", "--text", "Grants or budgets?",
                        "--author", "alice")
    ok("memo", "list", pg_url)
    ok("cases", "list", pg_url)
    ok("cases", "history", pg_url)
    with open_project(pg_url) as proj:
        assert sorted(proj.coders()) == ["alice", "bob"]
        assert len(proj.runs()) == 2
    assert not any(tmp_path.glob("postgres*")), "a URL was turned into a local folder"


@pytest.mark.slow
def test_serve_with_a_url_says_it_needs_the_folder(pg_url, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    build_sample_project(pg_url).close()
    result = run("serve", pg_url, "--coder", "ana")
    assert result.exit_code != 0
    assert isinstance(result.exception, ProjectError) and "secret link" in str(result.exception)
    assert not any(tmp_path.glob("postgres*"))
