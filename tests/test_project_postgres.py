"""Team projects on a real PostgreSQL server: the same store, the same guarantees as SQLite."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from qcode.errors import ProjectError
from qcode.project import init_project, open_project
from qcode.project.copy import copy_project, fingerprint
from qcode.project.sample import build_sample_project, sample_codebook, sample_documents, sample_suggestions

QCODE = [sys.executable, "-m", "qcode"]

pytestmark = pytest.mark.slow  # every test here needs a real PostgreSQL server started for the session


def fill(project, coders=("postgres",)):
    """The sample content plus a fixed decision history (times given, so two stores can match exactly)."""
    if project.codebook_or_none() is None:
        project.set_codebook(sample_codebook())
    docs, segments = sample_documents()
    project.add_documents(docs)
    project.add_segments(segments)
    run = project.add_run({"model": "hand-made"}, sample_suggestions(segments))
    participant = [s for s in segments if s.role == "participant"]
    events = []
    for i, seg in enumerate(participant * 2):
        coder = coders[i % len(coders)]
        events.append({"coder": coder, "segment_id": seg.id, "code_id": ["funding", "staffing", "communication",
                                                                         "coordination"][i % 4],
                       "verdict": "reject" if i % 5 == 4 else "accept", "note": f"nöte {i} 😀" if i % 3 else None,
                       "run_id": run, "time": f"2026-03-01T10:{i:02d}:00.000001Z"})
    events.append({"coder": coders[0], "doc_id": docs[0].id, "start": 0, "end": 12, "code_id": "funding",
                   "verdict": "accept", "source": "import", "time": "2026-03-01T11:00:00.000000Z"})
    project.record_many(events)
    return project


@pytest.mark.slow
def test_sample_project_runs_unchanged_on_postgres(pg_url):
    project = fill(init_project(pg_url))
    assert project.schema_version == 3
    assert project.identity == "postgres"
    assert project.integrity_check() == "ok"
    status = project.status()
    assert status["segments"] == 9 and status["runs"] == 1 and status["events"] == 13
    undo = project.undo("postgres")
    assert undo == 14
    assert project.decisions()["undone"].sum() == 1
    reopened = open_project(pg_url)
    assert reopened.decisions()["event_id"].tolist() == list(range(1, 15))
    assert len(reopened.suggestions()) == 18


def test_codings_identical_on_both_stores(tmp_path, pg_url):
    lite = fill(init_project(tmp_path / "lite"))
    pg = fill(init_project(pg_url))
    for method in ("decisions", "codings", "labels", "segments", "suggestions"):
        a, b = getattr(lite, method)(), getattr(pg, method)()
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=method)
    pd.testing.assert_frame_equal(lite.codings(as_of=7), pg.codings(as_of=7), check_dtype=False)
    assert fingerprint(lite)["events"] == fingerprint(pg)["events"]


def test_the_log_is_append_only_in_the_database(pg_url):
    import psycopg

    fill(init_project(pg_url))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in ("UPDATE events SET note = 'changed'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT COUNT(*) FROM events WHERE note = 'changed'").fetchone()[0] == 0
    project = open_project(pg_url)
    with pytest.raises(ProjectError, match="append-only: DELETE is not allowed") as info:
        with project.transaction():
            project._conn.execute("DELETE FROM events WHERE event_id = 1")
    assert "\n" not in str(info.value)
    assert len(project.decisions()) == 13


def test_a_coder_decides_as_the_role_the_server_authenticated(pg_server, pg_url):
    lead = fill(init_project(pg_url))
    for role in ("alice_pg", "bob_pg"):
        try:
            pg_server.create_role(role, f"{role}-pw")
        except Exception:
            pass  # created by an earlier test of this session
        lead.grant_coder(role)
    dbname = pg_url.split("@/")[1].split("?")[0]
    alice = open_project(pg_server.url("alice_pg", "alice_pg-pw", dbname))
    assert alice.identity == "alice_pg" and not alice.is_owner
    seg = alice.segments().iloc[1]["segment_id"]
    event = alice.decide("alice_pg", seg, "funding", "accept", note="mine")
    with pytest.raises(ProjectError, match="connected as alice_pg: cannot record a decision of coder bob_pg"):
        alice.decide("bob_pg", seg, "funding", "reject")
    with pytest.raises(ProjectError, match="permission denied"):
        alice.add_run({"model": "x"}, [])
    log = lead.decisions()
    assert log.iloc[-1]["event_id"] == event and log.iloc[-1]["coder"] == "alice_pg"
    assert "bob_pg" not in set(log["coder"])
    # the owner (the lead) may record for others: imports, adjudication (a refused insert may leave
    # a gap in the ids on PostgreSQL, whose sequences do not roll back)
    assert lead.decide("bob_pg", seg, "staffing", "accept", source="import") > event


def test_bad_urls_and_credentials_are_one_line_errors(pg_server, pg_url):
    dbname = pg_url.split("@/")[1].split("?")[0]
    cases = [
        (pg_server.url(password="wrong", dbname=dbname), "refused the credentials"),
        (pg_server.url(dbname="no_such_db"), "no such database"),
        (f"postgresql://postgres@/x?host={pg_server.root}/nowhere", "cannot reach the PostgreSQL server"),
        ("postgresql://[bad", "not a valid PostgreSQL URL"),
        (pg_url, "not a qcode project"),
    ]
    for url, message in cases:
        with pytest.raises(ProjectError, match=message) as info:
            open_project(url)
        assert "\n" not in str(info.value)
        assert "wrong" not in str(info.value) and "admin-secret" not in str(info.value)
    result = subprocess.run([*QCODE, "status", str(pg_server.root / "missing")], capture_output=True, text=True)
    assert result.returncode == 2


def test_qcode_init_url_creates_the_project_on_the_server(pg_url):
    result = subprocess.run([*QCODE, "init", pg_url, "--codebook", "mcn-sst"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "created project postgresql://postgres@/" in result.stdout and "admin-secret" not in result.stdout
    assert open_project(pg_url).codebook.name == "mcn-sst"
    again = subprocess.run([*QCODE, "init", pg_url], capture_output=True, text=True)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already a qcode project" in again.stderr
    assert "admin-secret" not in again.stderr


def test_a_schema_from_a_newer_qcode_is_refused(pg_url):
    project = init_project(pg_url)
    with project.transaction():
        project._set_meta("schema_version", "99")
    with pytest.raises(ProjectError, match="schema version 99 was written by a newer qcode"):
        open_project(pg_url)


def test_schema_upgrades_run_the_same_on_postgres(pg_url):
    import psycopg

    init_project(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:  # make it look like a schema-1 project
        conn.execute("ALTER TABLE events DROP COLUMN event_key")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    project = fill(open_project(pg_url))
    assert project.schema_version == 3
    seg = project.segments().iloc[1]["segment_id"]
    first = project.decide("postgres", seg, "funding", "accept", event_key="retry-1")
    assert project.decide("postgres", seg, "funding", "accept", event_key="retry-1") == first


@pytest.mark.slow
def test_init_a_folder_whose_settings_name_the_server(tmp_path, pg_server, pg_url, monkeypatch):
    folder = tmp_path / "team-study"
    result = subprocess.run([*QCODE, "init", str(folder), "--store", pg_url, "--codebook", "mcn-sst"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["store"].startswith("postgresql://postgres@/") and "admin-secret" not in settings["store"]
    assert not (folder / "qcode.sqlite").exists()
    monkeypatch.setenv("PGPASSWORD", "admin-secret")  # credentials come from the coder's environment
    status = subprocess.run([*QCODE, "status", str(folder)], capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    assert "codebook   mcn-sst" in status.stdout
    monkeypatch.setenv("PGPASSWORD", "wrong")
    status = subprocess.run([*QCODE, "status", str(folder)], capture_output=True, text=True)
    assert status.returncode == 2 and status.stderr.count("\n") == 1
    assert "refused the credentials" in status.stderr


@pytest.mark.slow
def test_copy_sqlite_to_postgres_and_back_is_lossless(tmp_path, pg_url):
    from qcode.project.bridge import export_file

    source = build_sample_project(tmp_path / "study")
    segs = source.segments()["segment_id"].tolist()
    source.decide("alice", segs[1], "funding", "accept", note="a «quoted» note")
    source.decide("bob", segs[3], "staffing", "reject", event_key="web-7")
    source.undo("alice")
    source.code_span("bob", source.segments().iloc[0]["doc_id"], 0, 5, "funding")
    source.set_codebook(sample_codebook())
    result = subprocess.run([*QCODE, "project", "copy", str(source.path), pg_url], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "0 memo versions, 4 events (verified equal)" in result.stdout
    back = tmp_path / "back"
    summary = copy_project(pg_url, back)
    assert summary["rows"]["events"] == 4
    pg, copied = open_project(pg_url), open_project(back)
    assert fingerprint(source) == fingerprint(pg) == fingerprint(copied)
    for what in ("decisions", "codings", "segments", "suggestions"):
        exports = []
        for project, name in ((source, "a"), (pg, "b"), (copied, "c")):
            out = tmp_path / f"{what}-{name}.csv"
            export_file(project, out, what=what)
            exports.append(out.read_bytes())
        assert exports[0] == exports[1] == exports[2], what
    # the copies keep working: new ids continue after the copied ones
    assert pg.decide("carol", segs[5], "funding", "accept") == 5
    assert copied.decide("carol", segs[5], "funding", "accept") == 5


def test_copy_refuses_a_destination_with_data_and_writes_nothing(tmp_path, pg_url):
    source = build_sample_project(tmp_path / "study")
    target = fill(init_project(pg_url))
    before = fingerprint(target)
    with pytest.raises(ProjectError, match="already holds a project's data"):
        copy_project(source.path, pg_url)
    assert fingerprint(open_project(pg_url)) == before
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="not empty"):
        copy_project(source.path, tmp_path / "occupied")
    assert sorted(p.name for p in (tmp_path / "occupied").iterdir()) == ["notes.txt"]


def test_a_failed_copy_leaves_no_destination(tmp_path, pg_server, pg_url, monkeypatch):
    from qcode.project import copy as copy_module

    source = build_sample_project(tmp_path / "study")
    real = copy_module.table_dump

    def damaged(project, table):
        rows = real(project, table)
        if table == "segments" and "postgresql" in str(project.db_path) and rows:
            rows = rows[:-1]
        return rows

    monkeypatch.setattr(copy_module, "table_dump", damaged)
    with pytest.raises(ProjectError, match="differs from the source"):
        copy_project(source.path, pg_url)
    monkeypatch.undo()
    with pytest.raises(ProjectError, match="not a qcode project"):
        open_project(pg_url)
    copy_project(source.path, pg_url)  # the database is clean, a second copy succeeds
    assert fingerprint(open_project(pg_url)) == fingerprint(source)


@pytest.mark.slow
def test_server_gone_mid_run_then_back(pg_server, pg_url):
    project = fill(init_project(pg_url))
    seg = project.segments().iloc[1]["segment_id"]
    pg_server.stop("immediate")
    try:
        with pytest.raises(ProjectError, match="cannot reach the PostgreSQL server") as info:
            project.decide("postgres", seg, "funding", "accept", event_key="after-crash")
        assert "\n" not in str(info.value)
        with pytest.raises(ProjectError, match="cannot reach"):
            project.decide("postgres", seg, "funding", "accept", event_key="after-crash")
    finally:
        pg_server.start()
    event = project.decide("postgres", seg, "funding", "accept", event_key="after-crash")  # reconnects
    assert event > 13  # after a crash the server's sequences skip ahead (they are logged 32 at a time)
    assert project.decide("postgres", seg, "funding", "accept", event_key="after-crash") == event
    assert len(open_project(pg_url).decisions()) == 14
