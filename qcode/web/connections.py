"""Bounds on the connections ``qcode serve`` holds, so that slow or idle clients cannot crowd out coders.

uvicorn gives a connection all the time it likes to send a request's headers:
thousands of clients that open a connection and send a byte now and then (no
token needed) held a file descriptor each until the server could accept no
more, and coders' requests were reset. :func:`bounded_protocol` wraps
uvicorn's HTTP protocol class so that

* a connection has ``header_timeout`` seconds to start each request (after it
  opens, and after each response); one that has not is closed;
* past ``max_connections`` open connections, each new one closes the oldest
  connection with no request in progress (a coder's request being answered
  is never cut).

Requests themselves are bounded elsewhere: the body by
:func:`qcode.web.guard.read_body`, the header size by the HTTP parser.
"""

from __future__ import annotations

import time
from typing import Any

#: seconds a connection has to start a request (its headers complete)
HEADER_TIMEOUT = 10.0
#: open connections past which the oldest one with no request in progress is closed
MAX_CONNECTIONS = 1000


def _busy(protocol: Any) -> bool:
    cycle = getattr(protocol, "cycle", None)
    return cycle is not None and not cycle.response_complete


def bounded_protocol(base: type, header_timeout: float = HEADER_TIMEOUT,
                     max_connections: int = MAX_CONNECTIONS) -> type:
    """A subclass of uvicorn's HTTP protocol ``base`` with the bounds described in the module docstring."""

    class Bounded(base):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._opened = time.monotonic()
            self._deadline: Any = None
            self._arm()
            if len(self.connections) > max_connections:
                idle = [c for c in self.connections if c is not self and not _busy(c)]
                if idle:
                    oldest = min(idle, key=lambda c: getattr(c, "_opened", 0.0))
                    oldest.transport.close()

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _too_slow(self) -> None:
            self._deadline = None
            if not _busy(self) and not self.transport.is_closing():
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            super().connection_lost(exc)

    Bounded.__name__ = f"Bounded{base.__name__}"
    return Bounded


def protocol_class(http: str, header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> type:
    """uvicorn's protocol class for ``http`` ("httptools" or "h11"), bounded."""
    base: type
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return bounded_protocol(base, header_timeout, max_connections)


__all__ = ["HEADER_TIMEOUT", "MAX_CONNECTIONS", "bounded_protocol", "protocol_class"]
