"""The ASGI application of ``qcode serve``: routes, the token and CSRF checks, headers, error pages.

Every route but ``/static/`` lives under ``/r/TOKEN/``; the token alone says
who is asking (:mod:`qcode.web.tokens`). Deciding requests are JSON POSTs that
carry the header ``X-Qcode-Csrf`` (a value derived from the token and given
to the page), so a form or script on another site cannot make a coder's
browser record anything: a cross-site JSON request with a custom header needs
a CORS preflight, which this server never grants, and an ``Origin`` that is
not this server's is refused outright.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> app = create_app(ReviewService(study), TokenStore(study))
>>> sorted({route.path for route in app.routes})[:2]
['/', '/favicon.ico']
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import QcodeError
from .review import STATE_LABELS, Filters, RequestError, ReviewService, Viewer
from .tokens import Access, TokenStore

MAX_BODY_BYTES = 64 * 1024
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                  "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def csrf_value(token: str) -> str:
    """The value a page sends in ``X-Qcode-Csrf``: derived from its token, so it survives a server restart."""
    return hmac.new(token.encode("utf-8"), b"qcode-csrf", hashlib.sha256).hexdigest()


def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("qcode.web", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    return env


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file of the package's static folder, read once: nothing outside it can be served."""
    files: dict[str, tuple[bytes, str]] = {}
    folder = resources.files("qcode.web") / "static"
    for entry in folder.iterdir():
        name = entry.name
        suffix = name[name.rfind("."):] if "." in name else ""
        if entry.is_file() and suffix in STATIC_TYPES:
            files[name] = (entry.read_bytes(), STATIC_TYPES[suffix])
    return files


def _status_for(exc: QcodeError) -> int:
    if isinstance(exc, RequestError):
        return exc.status
    message = str(exc).lower()
    if any(word in message for word in ("locked", "read-only", "disk is full", "cannot open")):
        return 503  # the page keeps the decision and retries
    if "unknown segment" in message or "has changed since" in message:
        return 404
    if "has no code" in message:
        return 422
    return 400


def create_app(service: ReviewService, tokens: TokenStore, allowed_hosts: set[str] | None = None) -> Starlette:
    """The Starlette app serving ``service`` to the holders of ``tokens``.

    ``allowed_hosts`` (``host:port`` values) guards against DNS rebinding on
    loopback; None accepts any ``Host`` header (a lab network).
    """
    env = _templates()
    static = _static_files()
    known: dict[str, Access] = {}

    def access_for(token: str) -> Access | None:
        found = known.get(token)
        if found is None:
            found = tokens.find(token)
            if found is not None:
                known[token] = found
        return found

    def page(template: str, status: int = 200, csp: str = PAGE_CSP, **context: Any) -> HTMLResponse:
        body = env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers={**COMMON_HEADERS, "Content-Security-Policy": csp})

    def error_page(status: int, title: str, message: str) -> HTMLResponse:
        return page("error.html", status=status, title=title, message=message)

    def forbidden(api: bool) -> Response:
        message = ("This link is not valid for this project: ask the project lead for your own link "
                   "(qcode serve prints one per coder). Nothing was recorded.")
        if api:
            return JSONResponse({"error": message}, status_code=403, headers=COMMON_HEADERS)
        return error_page(403, "Not a valid link", message)

    def viewer_of(access: Access) -> Viewer:
        return service.viewer(access.coder, lead=access.is_lead)

    def host_ok(request: Request) -> bool:
        if allowed_hosts is None:
            return True
        return request.headers.get("host", "").lower() in allowed_hosts

    def guarded(handler: Callable[[Request, Access], Awaitable[Response]], api: bool = False,
                lead_only: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not host_ok(request):
                return error_page(421, "Wrong address", "This server does not answer to that host name.")
            access = access_for(request.path_params["token"])
            if access is None:
                return forbidden(api)
            if lead_only and not access.is_lead:
                if api:
                    return JSONResponse({"error": "only the project lead's link can do this"}, status_code=403,
                                        headers=COMMON_HEADERS)
                return error_page(403, "For the project lead", "Only the project lead's link opens this page.")
            try:
                return await handler(request, access)
            except QcodeError as exc:
                status = _status_for(exc)
                if api:
                    return JSONResponse({"error": str(exc), "retry": status == 503}, status_code=status,
                                        headers=COMMON_HEADERS)
                return error_page(status, "Cannot show this page", str(exc))
        return endpoint

    async def json_body(request: Request, access: Access) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise RequestError("requests that decide must be JSON (Content-Type: application/json)", 415)
        sent = request.headers.get("x-qcode-csrf", "")
        if not hmac.compare_digest(sent.encode(), csrf_value(access.token).encode()):
            raise RequestError("missing or wrong X-Qcode-Csrf header: reload the page; nothing was recorded", 403)
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise RequestError("cross-site request refused; nothing was recorded", 403)
        if request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
            raise RequestError("cross-site request refused; nothing was recorded", 403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(f"request body is larger than {MAX_BODY_BYTES} bytes", 413)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(f"request body is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise RequestError("request body must be a JSON object")
        return data

    def base_url(access: Access) -> str:
        return f"/r/{access.token}/"

    card_template = env.get_template("card.html")

    def card_html(access: Access, card: dict[str, Any]) -> str:
        return card_template.render(card=card, base=base_url(access), labels=STATE_LABELS)

    # -- pages ------------------------------------------------------------------------
    async def review_page(request: Request, access: Access) -> Response:
        viewer = viewer_of(access)
        filters = Filters.parse(dict(request.query_params))
        segment = request.query_params.get("seg") or None

        def build() -> HTMLResponse:
            card = service.locate(viewer, segment, "here", filters)
            return page("review.html", card=card, card_html=card_html(access, card), base=base_url(access),
                        csrf=csrf_value(access.token), codes=service.codebook_entries(),
                        documents=service.documents(viewer), filters=filters, labels=STATE_LABELS,
                        viewer=viewer)
        return await run_in_threadpool(build)

    async def card_fragment(request: Request, access: Access) -> Response:
        viewer = viewer_of(access)
        filters = Filters.parse(dict(request.query_params))
        segment = request.query_params.get("seg") or None
        go = request.query_params.get("go", "here")

        def build() -> JSONResponse:
            card = service.locate(viewer, segment, go, filters)
            return JSONResponse(_card_reply(access, card), headers=COMMON_HEADERS)
        return await run_in_threadpool(build)

    def _card_reply(access: Access, card: dict[str, Any]) -> dict[str, Any]:
        seg = card["segment"]
        return {"html": card_html(access, card), "segment_id": seg["segment_id"] if seg else None,
                "last": card["last"], "progress": card["progress"]}

    async def decide(request: Request, access: Access) -> Response:
        data = await json_body(request, access)
        viewer = viewer_of(access)

        def act() -> JSONResponse:
            result = service.decide(viewer, data)
            return JSONResponse({"events": result["events"], **_card_reply(access, result["card"])},
                                headers=COMMON_HEADERS)
        return await run_in_threadpool(act)

    async def undo(request: Request, access: Access) -> Response:
        data = await json_body(request, access)
        viewer = viewer_of(access)

        def act() -> JSONResponse:
            result = service.undo(viewer, data)
            return JSONResponse({"undone": result["undone"], "note": result["note"],
                                 **_card_reply(access, result["card"])}, headers=COMMON_HEADERS)
        return await run_in_threadpool(act)

    async def ping(request: Request, access: Access) -> Response:
        return JSONResponse({"ok": True}, headers=COMMON_HEADERS)

    async def disagreements(request: Request, access: Access) -> Response:
        everything = request.query_params.get("show") != "open"

        def build() -> HTMLResponse:
            data = service.disagreements(include_resolved=everything)
            return page("disagreements.html", data=data, base=base_url(access), csrf=csrf_value(access.token),
                        everything=everything, viewer=viewer_of(access))
        return await run_in_threadpool(build)

    async def adjudicate(request: Request, access: Access) -> Response:
        data = await json_body(request, access)

        def act() -> JSONResponse:
            return JSONResponse(service.adjudicate(data), headers=COMMON_HEADERS)
        return await run_in_threadpool(act)

    async def agreement(request: Request, access: Access) -> Response:
        def build() -> HTMLResponse:
            from ..errors import AgreementError

            try:
                body = service.agreement_html()
            except AgreementError as exc:
                return error_page(200, "No agreement to report yet", str(exc))
            return HTMLResponse(body, headers={**COMMON_HEADERS, "Content-Security-Policy": REPORT_CSP})
        return await run_in_threadpool(build)

    # -- outside the token ------------------------------------------------------------------
    async def static_file(request: Request) -> Response:
        found = static.get(request.path_params["name"])
        if found is None:
            return error_page(404, "Not found", "There is no such file.")
        data, kind = found
        return Response(data, media_type=kind, headers={"X-Content-Type-Options": "nosniff",
                                                        "Cache-Control": "no-cache"})

    async def root(request: Request) -> Response:
        return forbidden(False)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_page(404, "Not found", "There is no such page. Use the link qcode serve printed for you.")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error_page(405, "Not allowed", "This address does not take that kind of request.")

    async def server_error(request: Request, exc: Exception) -> Response:
        if request.url.path.rstrip("/").split("/")[-2:-1] == ["api"]:
            return JSONResponse({"error": f"internal error: {type(exc).__name__}", "retry": True}, status_code=500)
        return error_page(500, "Internal error", f"qcode hit an internal error ({type(exc).__name__}); "
                                                 "nothing half-written was kept.")

    routes = [
        Route("/", root),
        Route("/favicon.ico", favicon),
        Route("/static/{name}", static_file),
        Route("/r/{token}/", guarded(review_page)),
        Route("/r/{token}/card", guarded(card_fragment, api=True)),
        Route("/r/{token}/api/decide", guarded(decide, api=True), methods=["POST"]),
        Route("/r/{token}/api/undo", guarded(undo, api=True), methods=["POST"]),
        Route("/r/{token}/api/ping", guarded(ping, api=True)),
        Route("/r/{token}/disagreements", guarded(disagreements, lead_only=True)),
        Route("/r/{token}/api/adjudicate", guarded(adjudicate, api=True, lead_only=True), methods=["POST"]),
        Route("/r/{token}/agreement", guarded(agreement, lead_only=True)),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed, 500: server_error})
    app.state.service = service
    return app


def link(base: str, access: Access, **query: str) -> str:
    """The URL of a token's review page on a server at ``base`` (``http://127.0.0.1:8765``)."""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base.rstrip('/')}/r/{access.token}/{suffix}"


__all__ = ["create_app", "csrf_value", "link"]
