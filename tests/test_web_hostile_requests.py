"""Issue 22 item 13: the web server against hostile requests. A body is read only up to the 64 KB limit, deeply
nested JSON is the client's 400 (not a retryable 500), a code listed 5,000 times in one reject is one event,
a retried adjudication gets the first answer, and a flood of slow connections is bounded."""

from __future__ import annotations

import asyncio
import json

import pytest

from qcode.web.guard import MAX_BODY_BYTES, read_body
from test_web_service import Site
from web_support import live_events, sample_project


@pytest.fixture
def project(tmp_path):
    return sample_project(tmp_path / "study", hostile=True)


@pytest.fixture
def site(project):
    return Site(project.path)


def participant_segments(project):
    return [s.segment_id for s in project.segments().itertuples() if s.role != "interviewer"]


class FakeRequest:
    """A request whose body streams in 1 KB chunks without end; counts what was read."""

    def __init__(self, headers):
        self.headers = headers
        self.read = 0

    async def stream(self):
        while True:
            self.read += 1024
            yield b" " * 1024


def test_a_body_is_read_only_up_to_the_limit():
    endless = FakeRequest({})
    with pytest.raises(Exception, match="larger than"):
        asyncio.run(read_body(endless, MAX_BODY_BYTES))
    assert endless.read <= MAX_BODY_BYTES + 1024           # stopped at the limit, not at the end of the body
    declared = FakeRequest({"content-length": str(400 * 1024 * 1024)})
    with pytest.raises(Exception, match="larger than"):
        asyncio.run(read_body(declared, MAX_BODY_BYTES))
    assert declared.read == 0                               # a declared length over the limit: nothing read


def test_an_oversized_body_is_413_and_records_nothing(project, site):
    seg = participant_segments(project)[0]
    body = json.dumps({"key": "k-big-000001", "action": "skip", "segment_id": seg, "note": "x" * (MAX_BODY_BYTES + 1)})
    reply = site.post("ana", "api/decide", None, raw=body)
    assert reply.status_code == 413
    assert "ana" not in project.coders()


def test_deeply_nested_json_is_a_400_not_a_retryable_500(project, site):
    reply = site.post("ana", "api/decide", None, raw="[" * 30_000 + "]" * 30_000)
    assert reply.status_code == 400, reply.text
    assert reply.json()["retry"] is False and "nested" in reply.json()["error"]


def test_a_code_listed_5000_times_is_one_rejection(project, site):
    seg = participant_segments(project)[0]
    reply = site.decide("ana", "k-dup-000001", action="reject", segment_id=seg, code_ids=["funding"] * 5000)
    assert reply.status_code == 200, reply.text
    log = live_events(project, "ana")
    assert list(zip(log["code_id"], log["verdict"])) == [("funding", "reject")]


def test_a_retried_adjudication_gets_the_first_answer(project, site):
    segs = participant_segments(project)
    site.decide("ana", "k-adr-a00001", action="accept", segment_id=segs[0], code_id="funding")
    first = site.post("lead", "api/adjudicate", {"key": "k-adr-000001", "segment_id": segs[0],
                                                 "codes": ["funding", "staffing"]})
    assert first.status_code == 200, first.text
    # the lead changes their mind: staffing (only the lead's own code there) is rejected with this press,
    # so a retry of it, computed afresh, would no longer reject it and would not match what was saved
    second = site.post("lead", "api/adjudicate", {"key": "k-adr-000002", "segment_id": segs[0], "codes": ["funding"]})
    assert second.status_code == 200, second.text
    assert second.json()["rejected"] == ["staffing"]
    again = site.post("lead", "api/adjudicate", {"key": "k-adr-000002", "segment_id": segs[0], "codes": ["funding"]})
    assert again.status_code == 200, again.text
    assert again.json() == second.json()
    assert len(live_events(project, "adjudicator")) == 4   # nothing recorded twice


@pytest.mark.slow
@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_slow_connections_without_a_token_cannot_crowd_out_a_coder(project, http):
    """300 loopback connections that send half a request and wait: past the cap the oldest are closed, each
    is closed once its header time is up, and a coder's request is answered meanwhile."""
    import socket
    import threading
    import time
    import urllib.request

    import uvicorn

    pytest.importorskip(http)
    from qcode.web.app import create_app, link
    from qcode.web.server import prepare, server_config

    plan = prepare(project.path, coders=("ana",), port=0)
    config = server_config(create_app(plan.service, plan.tokens, allowed_hosts=plan.allowed_hosts()), http=http,
                           header_timeout=2.0, max_connections=40)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [plan.sock]}, daemon=True)
    thread.start()
    slow: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        host, port = plan.sock.getsockname()[:2]
        for _ in range(300):
            conn = socket.create_connection((host, port), timeout=5)
            conn.sendall(b"GET /r/nothing/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")   # never finished
            slow.append(conn)
        ana = next(a for a in plan.tokens.all() if a.coder == "ana" and not a.is_lead)
        started = time.monotonic()
        with urllib.request.urlopen(link(plan.base, ana) + "api/ping", timeout=10) as reply:
            assert reply.status == 200
        assert time.monotonic() - started < 5

        def closed(conn: socket.socket) -> bool:
            conn.settimeout(0.01)
            try:
                return conn.recv(1) == b""
            except (TimeoutError, BlockingIOError):
                return False
            except OSError:
                return True

        assert sum(closed(c) for c in slow) >= 300 - 41   # the cap: the oldest idle ones were closed
        time.sleep(3.0)                                     # past the header time: every one is closed
        assert all(closed(c) for c in slow)
    finally:
        for conn in slow:
            conn.close()
        server.should_exit = True
        thread.join(10)
        plan.sock.close()
