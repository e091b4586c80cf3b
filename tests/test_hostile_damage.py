"""Damaged and read-only projects (issue 13): writes refused to a database that fails a quick check,
``qcode check`` (integrity plus the log's own rules, one line per problem), damaged text read around and
named, and projects on read-only media still readable."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from qcode.errors import DamageWarning, ProjectError
from qcode.project import open_project
from qcode.project.integrity import check_project
from qcode.project.sample import build_sample_project

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
MARKER = "marker-note-for-damage"


def qcode(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> Path:
    """A sample project with decisions of two coders (one with a marked note) and an undo, closed."""
    folder = tmp_path_factory.mktemp("coded") / "study"
    project = build_sample_project(folder)
    segments = list(project.segments()["segment_id"])
    for coder in ("ana", "ben"):
        for i, seg in enumerate(segments):
            note = MARKER if (coder, i) == ("ana", 3) else None
            project.decide(coder, seg, "funding" if i % 2 else "staffing", "accept", note=note)
    project.undo("ben")
    project.close()
    assert not Path(f"{folder}/qcode.sqlite-wal").exists()
    return folder


def copy_of(coded: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(coded, target)
    return target


def events_root_page(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()[0]
        return int(root), int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def overwrite_event_pages(folder: Path) -> None:
    """Overwrite the cell pointers of the events table's page, as a torn or stray write would."""
    db = folder / "qcode.sqlite"
    root, size = events_root_page(db)
    data = bytearray(db.read_bytes())
    offset = (root - 1) * size
    data[offset + 8: offset + 48] = b"\x0f\xf0" * 20
    db.write_bytes(bytes(data))


def flip_byte_after(folder: Path, marker: bytes, at: int = 1, value: int = 0xFF) -> None:
    db = folder / "qcode.sqlite"
    data = bytearray(db.read_bytes())
    where = data.find(marker)
    assert where >= 0 and data.find(marker, where + 1) < 0
    data[where + at] = value
    db.write_bytes(bytes(data))


def digest(folder: Path) -> str:
    return hashlib.sha256((folder / "qcode.sqlite").read_bytes()).hexdigest()


# -- writes to a damaged database ---------------------------------------------------------------

@pytest.mark.slow
def test_decide_and_review_refuse_to_write_into_overwritten_event_pages(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    overwrite_event_pages(folder)
    before = digest(folder)
    segment = "s-08f58caaad1b"
    decided = qcode("decide", folder, "--coder", "cleo", "--segment", segment, "--code", "funding", "--accept")
    assert decided.returncode == 2
    assert "damaged" in one_error_line(decided) and "qcode check" in decided.stderr
    reviewed = qcode("review", folder, "--coder", "cleo")
    assert reviewed.returncode == 2 and "damaged" in one_error_line(reviewed)
    status = qcode("status", folder)
    assert status.returncode == 2 and "damaged" in one_error_line(status)
    assert digest(folder) == before
    assert not Path(f"{folder}/qcode.sqlite-wal").exists() or Path(f"{folder}/qcode.sqlite-wal").stat().st_size == 0


def test_the_library_refuses_the_first_write_of_a_damaged_opening(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    overwrite_event_pages(folder)
    project = open_project(folder)
    try:
        with pytest.raises(ProjectError, match="damaged .*quick_check.*writes are refused"):
            project.add_coder("cleo")
        with pytest.raises(ProjectError, match="damaged"):
            project.check_writable()
    finally:
        project.close()


def test_the_quick_check_runs_once_per_opening_for_write(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    project = open_project(folder)
    statements: list[str] = []
    project._conn.set_trace_callback(statements.append)
    try:
        for seg in list(project.segments()["segment_id"])[:3]:
            project.decide("cleo", seg, "funding", "accept")
    finally:
        project._conn.set_trace_callback(None)
        project.close()
    assert sum("quick_check" in s for s in statements) == 1


# -- qcode check ---------------------------------------------------------------------------------

def test_check_says_ok_for_a_sound_project(coded):
    result = qcode("check", coded)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{coded}: ok (") and "19 events" in result.stdout


def test_check_lists_overwritten_pages_one_line_each_and_exits_non_zero(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    overwrite_event_pages(folder)
    result = qcode("check", folder)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(f"{folder}: ") for line in lines)
    assert any("integrity_check:" in line and "page" in line for line in lines)
    assert "problem(s) found" in one_error_line(result)


def test_check_finds_each_broken_rule_of_the_log(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    conn = sqlite3.connect(folder / "qcode.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    insert = ('INSERT INTO events (event_id, time, coder, doc_id, doc_version, segment_id, start, "end", text, '
              "code_id, verdict, source, undoes) VALUES (?, '2026-01-01T00:00:00Z', ?, ?, ?, ?, 0, 4, 'text', ?, ?, "
              "'manual', ?)")
    doc = conn.execute("SELECT doc_id FROM documents LIMIT 1").fetchone()[0]
    conn.execute(insert, (100, "ana", doc, 1, None, None, "undo", 999))           # undo of no event
    conn.execute(insert, (101, "ana", "missing.txt", 1, None, "funding", "accept", None))
    conn.execute(insert, (102, "ana", doc, 1, "s-000000000000", "funding", "accept", None))
    conn.execute(insert, (103, "ghost", doc, 1, None, "funding", "accept", None))
    conn.execute(insert, (104, "ben", doc, 1, None, None, "undo", 1))              # ana's event, undone by ben
    conn.execute(insert, (105, "ana", doc, 1, None, "funding", "accept", 105))    # a non-undo naming an undo target
    conn.execute("UPDATE sqlite_sequence SET seq = 50 WHERE name = 'events'")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    report = check_project(folder)
    text = "\n".join(report.problems)
    expected = ["'events_no_delete' is missing", "event 100 undoes event 999, which does not exist",
                "event 101 names document 'missing.txt' version 1, which does not exist",
                "event 102 names segment 's-000000000000'", "event 103 names coder 'ghost'",
                "event 104 (coder 'ben') undoes event 1 of another coder ('ana')",
                "event 105 is not an undo but names event 105", "event id sequence (50) is behind the last event",
                "schema version '99' is not one this qcode knows"]
    for phrase in expected:
        assert phrase in text, (phrase, text)
    assert all("\n" not in p for p in report.problems)
    result = qcode("check", folder)
    assert result.returncode == 1 and len(result.stdout.splitlines()) == len(report.problems)


# -- damaged text: read what can be read, name the event -----------------------------------------

@pytest.mark.slow
def test_a_flipped_byte_in_an_events_note_is_named_and_the_rest_is_read(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    flip_byte_after(folder, MARKER.encode())
    assert sqlite3.connect(folder / "qcode.sqlite").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    damaged_id = 4  # ana's fourth decision carries the marked note
    status = qcode("status", folder)
    assert status.returncode == 0, status.stderr
    assert "events     19" in status.stdout
    assert f"event {damaged_id} is damaged: column 'note' is not valid UTF-8" in status.stderr
    assert all(line.startswith("warning: ") for line in status.stderr.splitlines())
    out = tmp_path / "log.csv"
    exported = qcode("export", folder, "--what", "decisions", "--out", out)
    assert exported.returncode == 0 and f"event {damaged_id} is damaged" in exported.stderr
    import pandas as pd

    log = pd.read_csv(out)
    assert len(log) == 19 and "\ufffd" in log.loc[log["event_id"] == damaged_id, "note"].item()
    agreed = qcode("agree", folder, "--n-boot", "0")
    assert agreed.returncode == 0, agreed.stderr
    assert "Traceback" not in agreed.stderr
    checked = qcode("check", folder)
    assert checked.returncode == 1 and f"event {damaged_id}: column 'note' is not valid UTF-8" in checked.stdout


def test_an_event_whose_code_is_damaged_is_left_out_and_named(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    conn = sqlite3.connect(folder / "qcode.sqlite", isolation_level=None)
    row = conn.execute("SELECT doc_id, doc_version, segment_id, start, \"end\", text FROM events "
                       "WHERE event_id = 1").fetchone()
    conn.execute('INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, code_id, '
                 "verdict, source) VALUES ('2026-01-01T00:00:00Z', 'ana', ?, ?, ?, ?, ?, ?, "
                 "CAST(X'66756EFF64696E67' AS TEXT), 'accept', 'manual')", row)
    conn.close()
    project = open_project(folder)
    try:
        with pytest.warns(DamageWarning, match=r"event 20 is damaged: column 'code_id' .* left out"):
            log = project.decisions()
        assert list(log["event_id"]) == list(range(1, 20))
        with pytest.warns(DamageWarning):
            assert len(project.codings(coder="ana")) == 9
    finally:
        project.close()
    assert "event 20: column 'code_id' is not valid UTF-8" in "\n".join(check_project(folder).problems)


def test_malformed_json_in_a_column_is_named_by_check(coded, tmp_path):
    folder = copy_of(coded, tmp_path)
    data = (folder / "qcode.sqlite").read_bytes()
    assert b'"name": "sample"' in data or b'"name":"sample"' in data
    flip_byte_after(folder, b'"title": "Sample codebook', at=0, value=ord("X"))
    problems = "\n".join(check_project(folder).problems)
    assert "codebook version" in problems and "column 'json' is not valid JSON" in problems


# -- read-only media ------------------------------------------------------------------------------

@pytest.fixture
def read_only_mount(tmp_path):
    """A tmpfs holding a copy of the project, remounted read-only (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root (CI runs as root)")
    mount = tmp_path / "media"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"mount is not permitted here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def remount_read_only(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)


@pytest.mark.slow
def test_a_project_on_read_only_media_is_read_but_not_written(coded, read_only_mount, tmp_path):
    folder = read_only_mount / "study"
    shutil.copytree(coded, folder)
    remount_read_only(read_only_mount)
    status = qcode("status", folder)
    assert status.returncode == 0, status.stderr
    assert "events     19" in status.stdout
    out = tmp_path / "codings.csv"
    assert qcode("export", folder, "--out", out).returncode == 0 and out.stat().st_size > 0
    agreed = qcode("agree", folder, "--n-boot", "0")
    assert agreed.returncode == 0, agreed.stderr
    assert qcode("check", folder).returncode == 0
    decided = qcode("decide", folder, "--coder", "ana", "--segment", "s-08f58caaad1b", "--code", "funding",
                    "--accept")
    assert decided.returncode == 2 and "read-only" in one_error_line(decided)
    project = open_project(folder)
    try:
        assert project.readonly and len(project.decisions()) == 19
    finally:
        project.close()


@pytest.mark.slow
def test_read_only_media_with_an_unreplayed_write_ahead_log_warns(coded, read_only_mount, tmp_path):
    source = copy_of(coded, tmp_path)
    live = open_project(source)
    try:
        live._conn.execute("PRAGMA wal_autocheckpoint = 0")
        live.decide("cleo", "s-08f58caaad1b", "funding", "accept")
        shutil.copytree(source, read_only_mount / "study")
        live._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        live.close()
    folder = read_only_mount / "study"
    (folder / "qcode.sqlite-shm").unlink(missing_ok=True)
    remount_read_only(read_only_mount)
    status = qcode("status", folder)
    assert status.returncode == 0, status.stderr
    assert "write-ahead log that cannot be replayed" in status.stderr


# -- salvage: export what can still be read -------------------------------------------------------

def a_leaf_page_of_events(db: Path, nth: int) -> int:
    """The page number of the events table's ``nth`` leaf, read from its interior root page."""
    root, size = events_root_page(db)
    data = db.read_bytes()
    page = data[(root - 1) * size: root * size]
    assert page[0] == 0x05, "the events table should have an interior root page here"
    cells = int.from_bytes(page[3:5], "big")
    pointer = int.from_bytes(page[12 + 2 * nth: 14 + 2 * nth], "big")
    assert nth < cells
    return int.from_bytes(page[pointer: pointer + 4], "big")


@pytest.mark.slow
def test_an_export_of_a_log_with_a_damaged_page_saves_every_other_event(tmp_path):
    folder = tmp_path / "big"
    project = build_sample_project(folder)
    segments = list(project.segments()["segment_id"])
    project.record_many([{"coder": f"c{i % 3}", "segment_id": segments[i % len(segments)], "code_id": "funding",
                          "verdict": "accept", "note": f"a note long enough to fill pages, number {i} " * 2}
                         for i in range(3000)])
    project.close()
    db = folder / "qcode.sqlite"
    leaf = a_leaf_page_of_events(db, 20)
    root, size = events_root_page(db)
    data = bytearray(db.read_bytes())
    data[(leaf - 1) * size: leaf * size] = bytes(range(256)) * (size // 256)
    db.write_bytes(bytes(data))
    out = tmp_path / "log.csv"
    result = qcode("export", folder, "--what", "decisions", "--out", out)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "damaged pages" in line]
    assert len(warning) == 1 and "lost" in warning[0]
    import pandas as pd

    log = pd.read_csv(out)
    assert 2800 < len(log) < 3000 and log["event_id"].is_monotonic_increasing
    lost = sorted(set(range(1, 3001)) - set(log["event_id"]))
    assert lost == list(range(lost[0], lost[-1] + 1)), "one damaged page loses one run of ids"
    assert f"event ids {lost[0]}-{lost[-1]} lost" in warning[0]
    decided = qcode("decide", folder, "--coder", "c0", "--segment", segments[0], "--code", "funding", "--accept")
    assert decided.returncode == 2 and "damaged" in one_error_line(decided)
