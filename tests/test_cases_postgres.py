"""Cases, attributes and memos on a real PostgreSQL server, and through `qcode project copy` (lossless)."""

from __future__ import annotations

import pytest

from qcode.errors import InputError, ProjectError
from qcode.project import init_project, open_project
from qcode.project.copy import copy_project, fingerprint
from qcode.project.integrity import check_project
from qcode.project.sample import build_sample_project, sample_codebook, sample_documents


def add_history(project, author="alice"):
    """Cases, a changed attribute, a cleared one, and memos with a second version (fixed content)."""
    project.set_case_attributes("P1", {"phase": "1", "org_type": "hub", "note": "«late» 😀"}, author=author)
    project.set_case_attributes("P2", {"phase": "2", "org_type": "spoke"}, author=author)
    project.set_case_attributes("P1", {"org_type": "spoke", "note": None}, author=author)
    project.set_case_attributes("site-a/interview-01.txt", {"site": "a"}, by="document", author=author)
    seg = project.segments().segment_id.iloc[1]
    memo = project.add_memo("code", "funding", "First thoughts.", author)
    project.add_memo("passage", seg, "Quote <this>.", author)
    project.edit_memo(memo, "Second thoughts.", author)


def test_sqlite_copy_keeps_cases_and_memos(tmp_path):
    source = build_sample_project(tmp_path / "study")
    add_history(source)
    copy_project(source, tmp_path / "copy")
    copied = open_project(tmp_path / "copy")
    assert fingerprint(copied) == fingerprint(source)
    assert copied.cases().equals(source.cases())
    assert copied.memo_history().equals(source.memo_history())
    assert copied.add_memo("project", None, "after the copy", "bob") == 3  # ids go on after the copied ones
    assert check_project(tmp_path / "copy").ok


@pytest.mark.slow
def test_cases_and_memos_on_postgres_and_back(tmp_path, pg_url):
    import psycopg

    source = build_sample_project(tmp_path / "study")
    add_history(source, author="postgres")
    copy_project(source, pg_url)
    copy_project(pg_url, tmp_path / "back")
    pg, back = open_project(pg_url), open_project(tmp_path / "back")
    assert fingerprint(source) == fingerprint(pg) == fingerprint(back)
    assert pg.cases().equals(source.cases()) and pg.memos().equals(source.memos())
    assert pg.integrity_check() == "ok" and check_project(pg_url).ok
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in ("UPDATE case_events SET value = 'x'", "DELETE FROM memo_events", "TRUNCATE case_events"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
    assert pg.set_case_attributes("P2", {"phase": "3"}) == 1  # the author is the connected role
    assert pg.case_history().iloc[-1][["author", "value"]].tolist() == ["postgres", "3"]
    table = tmp_path / "cases.csv"
    table.write_text("case,phase,site\nP2,3,b\nP9,1,x\n", encoding="utf-8")
    before = pg.case_history()
    with pytest.raises(InputError, match="'P9'"):
        pg.import_cases(table)
    assert pg.case_history().equals(before)
    table.write_text("case,phase,site\nP2,3,b\n", encoding="utf-8")
    assert pg.import_cases(table)["changed"] == 1
    assert pg.add_memo("project", None, "on the server", "postgres") == 3


@pytest.mark.slow
def test_a_coder_writes_memos_as_themselves(pg_server, pg_url):
    lead = init_project(pg_url)
    lead.set_codebook(sample_codebook())
    docs, segments = sample_documents()
    lead.add_documents(docs)
    lead.add_segments(segments)
    try:
        pg_server.create_role("carol_pg", "carol_pg-pw")
    except Exception:
        pass  # created by an earlier test of this session
    lead.grant_coder("carol_pg")
    dbname = pg_url.split("@/")[1].split("?")[0]
    carol = open_project(pg_server.url("carol_pg", "carol_pg-pw", dbname))
    assert carol.add_memo("code", "funding", "mine") == 1
    with pytest.raises(ProjectError, match="connected as carol_pg: cannot write as author dave"):
        carol.add_memo("code", "funding", "not mine", "dave")
    assert lead.memos()[["author", "text"]].values.tolist() == [["carol_pg", "mine"]]


@pytest.mark.slow
def test_an_older_postgres_project_upgrades_with_its_triggers(pg_url):
    import psycopg

    init_project(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:  # make it look like a schema-2 project
        conn.execute("DROP TABLE case_events, memo_events")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    assert check_project(pg_url).ok  # an older schema lacks the tables without being damaged
    project = open_project(pg_url)
    assert project.schema_version == 3 and project.integrity_check() == "ok"
