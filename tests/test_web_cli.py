"""`qcode serve` as a user starts it: the printed links work, bad input is one line and exit 2."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("uvicorn", reason="the web extra is part of the test extra")

from qcode.web.guard import csrf_value
from qcode.web.server import exposure_warning, is_loopback
from web_support import live_events, sample_project

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
LINK = re.compile(r"^  (coder|lead) (\S+) .*?: (http://\S+)$", re.M)


def start(*args, timeout=20):
    proc = subprocess.Popen([*QCODE, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Each link is secret"):
            return proc, "".join(lines)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"qcode serve did not start: {''.join(lines)}{out}{err}")


def stop(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out, err


def run_cli(*args):
    return subprocess.run([*QCODE, "serve", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path):
    return sample_project(tmp_path / "study")


@pytest.mark.slow
def test_serve_prints_one_link_per_coder_and_they_work(project):
    proc, out = start(str(project.path), "--coder", "ana", "--coder", "ben", "--port", "0")
    try:
        links = {name: (role, url) for role, name, url in LINK.findall(out)}
        assert set(links) == {"ana", "ben", "lead"}
        assert links["lead"][0] == "lead" and links["ana"][0] == "coder"
        assert "ana (blind)" in out
        assert links["ana"][1] != links["ben"][1]
        assert all(url.startswith("http://127.0.0.1:") for _, url in links.values())
        page = urllib.request.urlopen(links["ana"][1], timeout=10).read().decode()
        assert "coder <strong id=\"coder\">ana</strong>" in page
        seg = re.search(r'data-seg="([^"]+)"', page).group(1)
        token = links["ana"][1].rstrip("/").rsplit("/", 1)[1]
        request = urllib.request.Request(links["ana"][1] + "api/decide", method="POST", data=json.dumps(
            {"key": "k-cli-0000001", "action": "accept", "segment_id": seg, "code_id": "funding"}).encode(),
            headers={"Content-Type": "application/json", "X-Qcode-Csrf": csrf_value(token)})
        reply = json.loads(urllib.request.urlopen(request, timeout=10).read())
        assert reply["events"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(links["ana"][1].replace(token, "x" * len(token)), timeout=10)
        assert refused.value.code == 403
    finally:
        code, rest, err = stop(proc)
    assert code == 0, err
    assert "every acknowledged decision is saved" in rest, (rest, err)
    assert token not in err  # no access log of the secret links
    assert list(live_events(project)["coder"]) == ["ana"]
    # a second start prints the same links again, without --coder
    proc, again = start(str(project.path), "--port", "0")
    stop(proc)
    assert {n for _, n, _ in LINK.findall(again)} == {"ana", "ben", "lead"}
    assert token in again


@pytest.mark.slow
def test_port_in_use_unknown_project_and_similar_coder_names_are_one_line_errors(project, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        taken = run_cli(str(project.path), "--port", str(port))
    finally:
        busy.close()
    assert taken.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in taken.stderr
    assert "Traceback" not in taken.stderr and len(taken.stderr.strip().splitlines()) == 1

    missing = run_cli(str(tmp_path / "nowhere"), "--port", "0")
    assert missing.returncode == 2 and "not a qcode project" in missing.stderr
    assert "Traceback" not in missing.stderr

    project.decide("ana", project.segments()["segment_id"][1], "funding", "accept")
    similar = run_cli(str(project.path), "--coder", "Ana", "--port", "0")
    assert similar.returncode == 2
    assert "did you mean 'ana'" in similar.stderr and "Traceback" not in similar.stderr

    uncertain = run_cli(str(project.path), "--order", "uncertain", "--port", "0")
    assert uncertain.returncode == 2 and "--order must be one of document, random" in uncertain.stderr
    assert not (project.path / "web-tokens.json").exists() or "Ana" not in (
        project.path / "web-tokens.json").read_text()


@pytest.mark.slow
def test_serving_beyond_loopback_warns_what_it_exposes(project):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    proc, out = start(str(project.path), "--host", "0.0.0.0", "--port", "0")
    code, _, err = stop(proc)
    assert "warning: serving on 0.0.0.0" in err and "plain HTTP" in err
    assert exposure_warning("0.0.0.0", 1).split(":")[0] == "warning"
    quiet, _ = start(str(project.path), "--port", "0")
    _, _, quiet_err = stop(quiet)
    assert "warning" not in quiet_err
