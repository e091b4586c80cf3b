"""Who may ask what: the token of a link, the ``Host`` header, the CSRF header and the JSON body.

:func:`guarded` wraps a handler ``(request, access) -> response``: it answers a wrong host (421), an
unknown token (403) or a coder's link on a lead's page (403) itself, and turns a
:class:`~qcode.errors.QcodeError` into an answer with the error's own ``status``. Deciding requests
are JSON POSTs carrying ``X-Qcode-Csrf`` (derived from the token), so a form or script on another
site cannot make a coder's browser record anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import QcodeError
from .pages import COMMON_HEADERS, Pages
from .payload import RequestError, Viewer
from .service import ReviewService
from .tokens import Access, TokenStore

MAX_BODY_BYTES = 64 * 1024
FORBIDDEN = ("This link is not valid for this project: ask the project lead for your own link "
             "(qcode serve prints one per coder). Nothing was recorded.")

Handler = Callable[[Request, Access], Awaitable[Response]]


def csrf_value(token: str) -> str:
    """The value a page sends in ``X-Qcode-Csrf``: derived from its token, so it survives a server restart."""
    return hmac.new(token.encode("utf-8"), b"qcode-csrf", hashlib.sha256).hexdigest()


class Site:
    """What every handler shares: the review service, the links, the pages and the allowed host names.

    ``allowed_hosts`` (``host:port`` values) guards against DNS rebinding on
    loopback; None accepts any ``Host`` header (a lab network).
    """

    def __init__(self, service: ReviewService, tokens: TokenStore, allowed_hosts: set[str] | None = None):
        self.service = service
        self.tokens = tokens
        self.allowed_hosts = allowed_hosts
        self.pages = Pages()
        self._known: dict[str, Access] = {}

    def access_for(self, token: str) -> Access | None:
        found = self._known.get(token)
        if found is None:
            found = self.tokens.find(token)
            if found is not None:
                self._known[token] = found
        return found

    def host_ok(self, request: Request) -> bool:
        return self.allowed_hosts is None or request.headers.get("host", "").lower() in self.allowed_hosts

    def viewer_of(self, access: Access) -> Viewer:
        return self.service.viewer(access.coder, lead=access.is_lead)

    def forbidden(self, api: bool) -> Response:
        if api:
            return JSONResponse({"error": FORBIDDEN}, status_code=403, headers=COMMON_HEADERS)
        return self.pages.error(403, "Not a valid link", FORBIDDEN)


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def guarded(handler: Handler, api: bool = False, lead_only: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that runs ``handler`` for the holder of a valid token (of the lead's, with ``lead_only``)."""
    async def endpoint(request: Request) -> Response:
        site = site_of(request)
        if not site.host_ok(request):
            return site.pages.error(421, "Wrong address", "This server does not answer to that host name.")
        access = site.access_for(request.path_params["token"])
        if access is None:
            return site.forbidden(api)
        if lead_only and not access.is_lead:
            if api:
                return JSONResponse({"error": "only the project lead's link can do this"}, status_code=403,
                                    headers=COMMON_HEADERS)
            return site.pages.error(403, "For the project lead", "Only the project lead's link opens this page.")
        try:
            return await handler(request, access)
        except QcodeError as exc:
            if api:
                return JSONResponse({"error": str(exc), "retry": exc.status == 503}, status_code=exc.status,
                                    headers=COMMON_HEADERS)
            return site.pages.error(exc.status, "Cannot show this page", str(exc))
    return endpoint


async def json_body(request: Request, access: Access) -> dict[str, Any]:
    """The JSON object of a deciding request, once its content type, CSRF header, origin and size are right."""
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


__all__ = ["MAX_BODY_BYTES", "Site", "csrf_value", "guarded", "json_body", "site_of"]
