"""Full disks, read-only folders and locked projects (issue 13): suggestions, exports, codebook files and
decisions written onto a full tmpfs, into a read-only folder, or into a project another process holds in a
write transaction past the lock timeout give one error line, leave nothing half-written, keep the project
sound (PRAGMA integrity_check), and a retry after space is freed completes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qcode.errors import OutputError
from qcode.project import open_project
from qcode.project.sample import build_sample_project

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
SEGMENT = "s-08f58caaad1b"


def qcode(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def integrity(folder: Path) -> str:
    conn = sqlite3.connect(folder / "qcode.sqlite")
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def event_count(folder: Path) -> int:
    conn = sqlite3.connect(folder / "qcode.sqlite")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


class Mounts:
    """tmpfs mounts made for one test (root only), unmounted at its end."""

    def __init__(self, base: Path):
        self.base = base
        self.made: list[Path] = []

    def tmpfs(self, name: str, size: str = "64k") -> Path:
        point = self.base / name
        point.mkdir()
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here: {made.stderr.strip()}")
        self.made.append(point)
        return point

    @staticmethod
    def fill(point: Path) -> Path:
        """Take every free block of the file system; returns the filler file (delete it to free the space)."""
        filler = point / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            for block in (65536, 4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * block)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return filler

    @staticmethod
    def read_only(point: Path) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


@pytest.fixture
def mounts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    made = Mounts(tmp_path)
    try:
        yield made
    finally:
        for point in reversed(made.made):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("diskfull") / "study"
    proj = build_sample_project(folder)
    for seg in list(proj.segments()["segment_id"])[:4]:
        proj.decide("ana", seg, "funding", "accept", note="=HYPERLINK(\"x\")")
        proj.decide("ben", seg, "staffing", "accept")
    proj.close()
    return folder


def left_in(point: Path) -> set[str]:
    return {p.name for p in point.iterdir()}


EXPORTS = {
    "qdpx": ["--out", "{dir}/study.qdpx"],
    "xlsx": ["--out", "{dir}/codings.xlsx"],
    "long csv": ["--out", "{dir}/codings.csv", "--shape", "long"],
    "decisions csv": ["--what", "decisions", "--out", "{dir}/log.csv"],
}


@pytest.mark.parametrize("kind", sorted(EXPORTS))
@pytest.mark.slow
def test_an_export_onto_a_full_disk_is_one_line_and_a_retry_completes(project, mounts, kind):
    full = mounts.tmpfs("full")
    filler = mounts.fill(full)
    args = [a.format(dir=full) for a in EXPORTS[kind]]
    target = Path(args[args.index("--out") + 1])
    result = qcode("export", project, *args)
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(target) in line and "the disk is full" in line and "nothing was written" in line
    assert left_in(full) == {"filler"}
    assert integrity(project) == "ok"
    filler.unlink()
    again = qcode("export", project, *args)
    assert again.returncode == 0, again.stderr
    assert target.stat().st_size > 0 and left_in(full) == {target.name}


@pytest.mark.slow
def test_codebook_export_and_import_onto_a_full_disk(mounts, tmp_path):
    qdc = tmp_path / "mcn.qdc"
    assert qcode("codebook", "export", "mcn-sst", "--out", qdc).returncode == 0
    full = mounts.tmpfs("full", size="512k")  # room for both files once the filler is gone
    filler = mounts.fill(full)
    exported = qcode("codebook", "export", "mcn-sst", "--out", full / "mcn.qdc")
    imported = qcode("codebook", "import", qdc, "--out", full / "mcn.yaml")
    for result, name in ((exported, "mcn.qdc"), (imported, "mcn.yaml")):
        assert result.returncode == 2
        line = one_error_line(result)
        assert name in line and "the disk is full" in line
    assert left_in(full) == {"filler"}
    filler.unlink()
    assert qcode("codebook", "export", "mcn-sst", "--out", full / "mcn.qdc").returncode == 0
    assert qcode("codebook", "import", qdc, "--out", full / "mcn.yaml").returncode == 0
    assert left_in(full) == {"mcn.qdc", "mcn.yaml"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_suggestions_onto_a_full_disk_raise_one_line_and_leave_no_part_file(mounts, tmp_path, fake_suggester,
                                                                            suffix):
    from qcode.suggest.pipeline import suggest_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"interview-{i}.txt").write_text(
            "\n\n".join(f"P{i}: We never had the budget for night staff, and the grant ends in March. " * 3
                        for _ in range(6)), encoding="utf-8")
    full = mounts.tmpfs("full")
    filler = mounts.fill(full)
    out = full / f"suggestions{suffix}"
    with pytest.raises(OutputError) as caught:
        suggest_corpus(corpus, fake_suggester, out=out)
    message = str(caught.value)
    assert "\n" not in message and str(out) in message and "the disk is full" in message
    assert left_in(full) == {"filler"}
    filler.unlink()
    suggest_corpus(corpus, fake_suggester, out=out)
    assert out.stat().st_size > 0 and not [p for p in full.iterdir() if p.name.endswith(".part")]


def test_the_cli_boundary_gives_any_os_error_one_line(monkeypatch, capsys, project):
    import qcode.project.bridge as bridge
    from qcode.cli import main

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bridge, "export_file", broken)
    monkeypatch.setattr(sys, "argv", ["qcode", "export", str(project), "--out", "x.csv"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: the disk is full (No space left on device)\n"


@pytest.mark.slow
def test_decisions_onto_a_full_disk_are_refused_and_the_project_stays_sound(project, mounts):
    import shutil

    place = mounts.tmpfs("full", size="1m")
    folder = place / "study"
    shutil.copytree(project, folder)
    before = event_count(folder)
    filler = mounts.fill(place)
    decided = qcode("decide", folder, "--coder", "cleo", "--segment", SEGMENT, "--code", "funding", "--accept")
    assert decided.returncode == 2
    assert "the disk is full" in one_error_line(decided) and "nothing of this change was written" in decided.stderr
    filler.unlink()
    assert integrity(folder) == "ok" and event_count(folder) == before
    again = qcode("decide", folder, "--coder", "cleo", "--segment", SEGMENT, "--code", "funding", "--accept")
    assert again.returncode == 0, again.stderr
    assert event_count(folder) == before + 1 and integrity(folder) == "ok"


@pytest.mark.slow
def test_writes_into_a_read_only_folder_are_one_line(project, mounts, tmp_path, fake_suggester):
    from qcode.suggest.pipeline import suggest_corpus

    folder = mounts.tmpfs("ro")
    mounts.read_only(folder)
    for args, name in ((["export", project, "--out", folder / "p.qdpx"], "p.qdpx"),
                       (["export", project, "--what", "decisions", "--out", folder / "log.csv"], "log.csv"),
                       (["codebook", "export", "mcn-sst", "--out", folder / "c.qdc"], "c.qdc")):
        result = qcode(*args)
        assert result.returncode == 2
        line = one_error_line(result)
        assert name in line and "read-only" in line
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("P: The budget never covers night nurses.", encoding="utf-8")
    with pytest.raises(OutputError, match="read-only"):
        suggest_corpus(corpus, fake_suggester, out=folder / "s.csv")
    assert left_in(folder) == set()


@pytest.mark.slow
def test_a_project_held_in_another_write_transaction_past_the_timeout(project, tmp_path):
    import shutil

    folder = tmp_path / "held"
    shutil.copytree(project, folder)
    before = event_count(folder)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(folder / 'qcode.sqlite')!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\n"
         "c.execute(\"INSERT INTO meta (key, value) VALUES ('held', 'yes')\")\n"
         "print('holding', flush=True)\n"
         "sys.stdin.readline()\n"
         "c.execute('ROLLBACK')\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        decided = qcode("decide", folder, "--coder", "ana", "--segment", SEGMENT, "--code", "funding", "--accept",
                        env={"QCODE_LOCK_TIMEOUT": "1"})
        undone = qcode("undo", folder, "--coder", "ana", env={"QCODE_LOCK_TIMEOUT": "1"})
        took = time.monotonic() - started
        for result in (decided, undone):
            assert result.returncode == 2
            assert "locked by another process" in one_error_line(result)
        # each write waited out its 1 s timeout before giving up; a hang is caught by qcode()'s subprocess timeout
        assert took >= 2 * 0.95, f"two writes gave up after {took:.2f} s with a 1 s lock timeout each"
    finally:
        if holder.stdin is not None:
            holder.stdin.write("\n")
            holder.stdin.close()
        holder.wait(timeout=30)
    assert integrity(folder) == "ok" and event_count(folder) == before
    again = qcode("decide", folder, "--coder", "ana", "--segment", SEGMENT, "--code", "funding", "--accept",
                  env={"QCODE_LOCK_TIMEOUT": "1"})
    assert again.returncode == 0, again.stderr
    assert event_count(folder) == before + 1
    with open_project(folder) as reopened:
        assert reopened.integrity_check() == "ok"
