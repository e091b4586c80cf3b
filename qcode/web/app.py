"""The ASGI application of ``qcode serve``: the route table.

Every route but ``/static/`` lives under ``/r/TOKEN/``; the token alone says
who is asking (:mod:`qcode.web.tokens`). The checks are :mod:`qcode.web.guard`
(token, host, CSRF header: a cross-site JSON request with a custom header needs
a CORS preflight, which this server never grants, and an ``Origin`` that is
not this server's is refused outright), the endpoints :mod:`qcode.web.handlers`,
the templates and headers :mod:`qcode.web.pages`.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> from qcode.web.service import ReviewService
>>> from qcode.web.tokens import TokenStore
>>> app = create_app(ReviewService(study), TokenStore(study))
>>> sorted({route.path for route in app.routes})[:2]
['/', '/favicon.ico']
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.routing import Route

from . import handlers as h
from .guard import Site, guarded
from .service import ReviewService
from .tokens import Access, TokenStore


def create_app(service: ReviewService, tokens: TokenStore, allowed_hosts: set[str] | None = None) -> Starlette:
    """The Starlette app serving ``service`` to the holders of ``tokens``.

    ``allowed_hosts`` (``host:port`` values) guards against DNS rebinding on
    loopback; None accepts any ``Host`` header (a lab network).
    """
    routes = [
        Route("/", h.root),
        Route("/favicon.ico", h.favicon),
        Route("/static/{name}", h.static_file),
        Route("/r/{token}/", guarded(h.review_page)),
        Route("/r/{token}/card", guarded(h.card_fragment, api=True)),
        Route("/r/{token}/api/decide", guarded(h.decide, api=True), methods=["POST"]),
        Route("/r/{token}/api/undo", guarded(h.undo, api=True), methods=["POST"]),
        Route("/r/{token}/api/ping", guarded(h.ping, api=True)),
        Route("/r/{token}/disagreements", guarded(h.disagreements, lead_only=True)),
        Route("/r/{token}/api/adjudicate", guarded(h.adjudicate, api=True, lead_only=True), methods=["POST"]),
        Route("/r/{token}/agreement", guarded(h.agreement, lead_only=True)),
        Route("/r/{token}/report", guarded(h.study_report, lead_only=True)),
    ]
    app = Starlette(routes=routes, exception_handlers={404: h.not_found, 405: h.not_allowed, 500: h.server_error})
    app.state.site = Site(service, tokens, allowed_hosts)
    app.state.service = service
    return app


def link(base: str, access: Access, **query: str) -> str:
    """The URL of a token's review page on a server at ``base`` (``http://127.0.0.1:8765``)."""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base.rstrip('/')}/r/{access.token}/{suffix}"


__all__ = ["create_app", "link"]
