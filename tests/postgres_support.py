"""A real PostgreSQL server for the tests: Debian's binaries, a temporary data folder, a Unix socket only.

``pg_server`` (session scope) runs ``initdb`` on a fresh folder and starts
the server as the ``postgres`` user when the tests run as root; it listens on
no TCP port (``listen_addresses=''``) and is stopped at the end. Local roles
log in with a password (scram-sha-256), so wrong credentials really fail.
``pg_database`` gives each test a fresh database and its owner's URL.

Without the binaries the tests skip locally; in CI (``CI=true``) they fail,
so a CI machine that lost PostgreSQL cannot pass by skipping them.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ADMIN = "postgres"
ADMIN_PASSWORD = "admin-secret"
_counter = itertools.count(1)


def find_bindir() -> Path | None:
    """The folder holding initdb/pg_ctl: $QCODE_PG_BINDIR, Debian's /usr/lib/postgresql/N/bin, or PATH."""
    if os.environ.get("QCODE_PG_BINDIR"):
        return Path(os.environ["QCODE_PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PgServer:
    """One throwaway PostgreSQL server (see the module docstring)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qcode-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0
        self.socket_dir.mkdir()
        if self.as_root:
            user = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(self.root, 0o755)
        pwfile = self.root / "pw"
        pwfile.write_text(ADMIN_PASSWORD + "\n")
        if self.as_root:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", ADMIN, "--pwfile", str(pwfile), "-E", "UTF8",
                  "--locale=C", "--auth-local=scram-sha-256", "--auth-host=reject", "-N")
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.socket_dir}'\n"
                       "max_connections = 60\nshared_buffers = 16MB\nfsync = on\nsynchronous_commit = on\n")
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stderr or result.stdout}\n{log}")
        return result

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=mode != "immediate")

    def url(self, user: str = ADMIN, password: str | None = ADMIN_PASSWORD, dbname: str = "postgres") -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@/{dbname}?host={self.socket_dir}"

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname=dbname), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_role(self, name: str, password: str) -> None:
        self.admin(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")

    def create_database(self, owner: str = ADMIN) -> str:
        name = f"qc{os.getpid()}_{next(_counter)}"
        self.admin(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        return name

    def close(self) -> None:
        try:
            self.stop("fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        reason = "PostgreSQL server binaries not found (apt-get install postgresql, or set QCODE_PG_BINDIR)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI: {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI: psycopg is not installed (the test extra includes qcode[postgres])", pytrace=False)
        pytest.skip("psycopg not installed (pip install 'qcode[postgres]')")
    server = PgServer(bindir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the test server; its owner's URL (the superuser)."""
    return pg_server.url(dbname=pg_server.create_database())


def wait_until(predicate, timeout: float = 30.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(step)
