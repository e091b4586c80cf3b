"""Start ``qcode serve``: check the project, make the links, bind the port, run uvicorn.

``serve("my-study", coders=["ana", "ben"], port=0)`` prints one link per coder and the lead's,
then serves until interrupted (the tests in ``tests/test_web_cli.py`` run it).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..errors import ProjectError
from .service import ReviewService
from .tokens import Access, TokenStore

DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str:
    """What serving on a non-loopback address exposes, in one paragraph."""
    return (f"warning: serving on {host}:{port}, not only this computer: anyone who can reach this address "
            "and holds a link can read the transcripts shown to that link and record decisions under its "
            "coder's name. The links travel as plain HTTP (no encryption): use this only on a network you "
            "trust, and share each link with its coder only.")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port); a one-line error when it is taken."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ProjectError(f"port {port} on {host} is already in use (is another qcode serve running? "
                               "choose another with --port, or --port 0 for a free one)") from None
        raise ProjectError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _check_coder(name: str) -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or any(ord(ch) < 32 for ch in cleaned):
        raise ProjectError(f"coder name must be non-empty text without control characters, got {name!r}")
    return cleaned


def _did_you_mean(name: str, known: Iterable[str]) -> str | None:
    lowered = name.casefold()
    for other in known:
        if other != name and other.casefold() == lowered:
            return other
    return None


@dataclass
class Plan:
    """What ``qcode serve`` is about to serve: the service, the links and the socket."""

    service: ReviewService
    tokens: TokenStore
    lead: Access
    coders: list[Access]
    sock: socket.socket
    host: str
    port: int
    warnings: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        if host in ("0.0.0.0", "[::]"):
            host = socket.gethostname()
        return f"http://{host}:{self.port}"

    def allowed_hosts(self) -> set[str] | None:
        if not is_loopback(self.host):
            return None
        return {f"{h}:{self.port}" for h in ("127.0.0.1", "localhost", "[::1]", self.host)}


def prepare(project: str | Path, coders: Iterable[str] = (), lead: str = "lead", host: str = "127.0.0.1",
            port: int = DEFAULT_PORT, order: str = "document", blind: bool = True, run: int | None = None,
            top_k: int = 5, include_interviewer: bool = False, adjudicator: str = "adjudicator") -> Plan:
    """Check everything ``qcode serve`` needs and bind the port; nothing is served yet."""
    service = ReviewService(project, order=order, blind=blind, run=run, top_k=top_k,
                            include_interviewer=include_interviewer, adjudicator=adjudicator)
    tokens = TokenStore(service.path)
    known = service.project().coders()
    stored = tokens.all()
    names = []
    for raw in coders:
        name = _check_coder(raw)
        have = [a.coder for a in stored if not a.is_lead] + known
        similar = _did_you_mean(name, have)
        if similar is not None and name not in have:
            raise ProjectError(f"--coder {name!r}: the project already has the coder {similar!r}; did you mean "
                               f"{similar!r}? (coder names are kept as written, so {name!r} would be a "
                               "second coder)")
        if name in (adjudicator, lead):
            raise ProjectError(f"--coder {name!r}: that name is the {'adjudicator' if name == adjudicator else 'lead'}'s")
        names.append(name)
    lead_access = tokens.ensure_lead(_check_coder(lead))
    for name in names:
        tokens.ensure_coder(name)
    coder_access = [a for a in tokens.all() if not a.is_lead]
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    plan = Plan(service, tokens, lead_access, coder_access, sock, host, actual)
    if not is_loopback(host):
        plan.warnings.append(exposure_warning(host, actual))
    return plan


def describe(plan: Plan) -> list[str]:
    """The lines ``qcode serve`` prints: one link per coder and the lead's."""
    from .app import link

    blind = "blind" if plan.service.blind else "NOT blind (--no-blind)"
    lines = [f"qcode serve: project {plan.service.path} on {plan.base}  (order {plan.service.order})"]
    for access in plan.coders:
        lines.append(f"  coder {access.coder} ({blind}): {link(plan.base, access)}")
    lines.append(f"  lead {plan.lead.coder} (not blind; disagreements, adjudication as "
                 f"{plan.service.adjudicator!r}, agreement report): {link(plan.base, plan.lead)}")
    if not plan.coders:
        lines.append("  no coder links yet: add one with `qcode serve PROJECT --coder NAME`")
    lines.append("Each link is secret: whoever holds it codes under that name. Ctrl-C stops the server; "
                 "every decision a page showed as saved is already on disk.")
    return lines


def http_stack(http: str = "auto", loop: str = "auto") -> tuple[str, str]:
    """The HTTP parser and event loop uvicorn is given: httptools and uvloop where installed.

    Both come with the ``web`` extra (uvloop not on Windows); without them
    uvicorn's pure-Python h11 and asyncio serve the same pages, with about
    twice the latency under load (``bench/bench_web.py --compare``).
    """
    import importlib.util

    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    if loop == "auto":
        loop = "uvloop" if sys.platform != "win32" and importlib.util.find_spec("uvloop") is not None else "asyncio"
    return http, loop


def run(plan: Plan, out: TextIO | None = None, on_started: Callable[[], None] | None = None,
        http: str = "auto", loop: str = "auto") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); ``http``/``loop`` as :func:`http_stack` chooses them."""
    import uvicorn

    from .app import create_app

    out = out or sys.stdout
    app = create_app(plan.service, plan.tokens, allowed_hosts=plan.allowed_hosts())
    http, loop = http_stack(http, loop)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False,
                            date_header=False, timeout_graceful_shutdown=5, http=http, loop=loop,
                            proxy_headers=False)  # never behind a proxy: X-Forwarded-* is not trusted
    def announce() -> None:
        for warning in plan.warnings:
            print(warning, file=sys.stderr, flush=True)
        for line in describe(plan):
            print(line, file=out, flush=True)
        if on_started is not None:
            on_started()

    # the links are printed once the server serves and Ctrl-C is its own: a Ctrl-C that came
    # before uvicorn took the signals could be lost in its start-up and leave it running
    server = _quiet_server(uvicorn, announce)(config)
    server.run(sockets=[plan.sock])
    print("qcode serve stopped; every acknowledged decision is saved.", file=out, flush=True)


def _quiet_server(uvicorn: Any, on_serving: Callable[[], None] | None = None) -> Any:
    """uvicorn's Server, except that Ctrl-C or SIGTERM ends it normally instead of being raised again,
    and ``on_serving`` is called once it has started (signals already captured)."""
    import contextlib
    import signal
    import threading

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_serving is not None:
                on_serving()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def serve(project: str | Path, **options) -> None:
    """``qcode serve``: prepare and run (see :func:`prepare` for the options)."""
    run(prepare(project, **options))


__all__ = ["serve", "prepare", "run", "http_stack", "describe", "bind", "is_loopback", "exposure_warning", "DEFAULT_PORT"]
