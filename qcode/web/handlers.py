"""The endpoints of ``qcode serve``: each parses its request, calls the review service and renders the answer.

Handlers under ``/r/TOKEN/`` take ``(request, access)`` and are wrapped by
:func:`qcode.web.guard.guarded`; the service's work runs in a thread, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..errors import AgreementError
from . import lead
from .guard import Site, csrf_value, json_body, site_of
from .pages import COMMON_HEADERS, REPORT_CSP, base_url
from .payload import STATE_LABELS, Filters
from .tokens import Access


async def json_action(request: Request, access: Access, act: Callable[[Site, Any], Any]) -> Response:
    """The common shape of a JSON POST: the checked body, ``act(site, data)`` in a thread, its answer as JSON."""
    site = site_of(request)
    data = await json_body(request, access)
    answer = await run_in_threadpool(act, site, data)
    return JSONResponse(answer, headers=COMMON_HEADERS)


# -- a coder's pages ----------------------------------------------------------------------
async def review_page(request: Request, access: Access) -> Response:
    site = site_of(request)
    viewer = site.viewer_of(access)
    filters = Filters.parse(dict(request.query_params))
    segment = request.query_params.get("seg") or None

    def build() -> HTMLResponse:
        card = site.service.locate(viewer, segment, "here", filters)
        return site.pages.page("review.html", card=card, card_html=site.pages.card_html(access, card),
                               base=base_url(access), csrf=csrf_value(access.token),
                               codes=site.service.codebook_entries(), documents=site.service.documents(viewer),
                               filters=filters, labels=STATE_LABELS, viewer=viewer)
    return await run_in_threadpool(build)


async def card_fragment(request: Request, access: Access) -> Response:
    site = site_of(request)
    viewer = site.viewer_of(access)
    filters = Filters.parse(dict(request.query_params))
    segment = request.query_params.get("seg") or None
    go = request.query_params.get("go", "here")

    def build() -> JSONResponse:
        card = site.service.locate(viewer, segment, go, filters)
        return JSONResponse(site.pages.card_reply(access, card), headers=COMMON_HEADERS)
    return await run_in_threadpool(build)


async def decide(request: Request, access: Access) -> Response:
    site = site_of(request)
    data = await json_body(request, access)
    viewer = site.viewer_of(access)

    def act() -> JSONResponse:
        result = site.service.decide(viewer, data)
        return JSONResponse({"events": result["events"], **site.pages.card_reply(access, result["card"])},
                            headers=COMMON_HEADERS)
    return await run_in_threadpool(act)


async def undo(request: Request, access: Access) -> Response:
    site = site_of(request)
    data = await json_body(request, access)
    viewer = site.viewer_of(access)

    def act() -> JSONResponse:
        result = site.service.undo(viewer, data)
        return JSONResponse({"undone": result["undone"], "note": result["note"],
                             **site.pages.card_reply(access, result["card"])}, headers=COMMON_HEADERS)
    return await run_in_threadpool(act)


async def ping(request: Request, access: Access) -> Response:
    return JSONResponse({"ok": True}, headers=COMMON_HEADERS)


# -- the lead's pages ---------------------------------------------------------------------
async def disagreements(request: Request, access: Access) -> Response:
    site = site_of(request)
    everything = request.query_params.get("show") != "open"

    def build() -> HTMLResponse:
        data = site.service.disagreements(include_resolved=everything)
        return site.pages.page("disagreements.html", data=data, base=base_url(access),
                               csrf=csrf_value(access.token), everything=everything, viewer=site.viewer_of(access))
    return await run_in_threadpool(build)


async def adjudicate(request: Request, access: Access) -> Response:
    return await json_action(request, access, lambda site, data: site.service.adjudicate(data))


async def agreement(request: Request, access: Access) -> Response:
    site = site_of(request)

    def build() -> HTMLResponse:
        try:
            body = site.service.agreement_html()
        except AgreementError as exc:
            return site.pages.error(200, "No agreement to report yet", str(exc))
        return HTMLResponse(body, headers={**COMMON_HEADERS, "Content-Security-Policy": REPORT_CSP})
    return await run_in_threadpool(build)


async def study_report(request: Request, access: Access) -> Response:
    site = site_of(request)

    def build() -> HTMLResponse:
        return HTMLResponse(site.service.study_report_html(),
                            headers={**COMMON_HEADERS, "Content-Security-Policy": REPORT_CSP})
    return await run_in_threadpool(build)


# -- the lead's memos and candidate codes (issues 19 and 20) -------------------------------
async def lead_desk(request: Request, access: Access) -> Response:
    site = site_of(request)

    def build() -> HTMLResponse:
        return site.pages.page("lead.html", memos=lead.memo_board(site.service),
                               found=lead.candidate_board(site.service, site.candidates), base=base_url(access),
                               csrf=csrf_value(access.token), viewer=site.viewer_of(access))
    return await run_in_threadpool(build)


async def add_memo(request: Request, access: Access) -> Response:
    return await json_action(request, access, lambda site, data: lead.add_memo(site.service, access.coder, data))


async def edit_memo(request: Request, access: Access) -> Response:
    return await json_action(request, access, lambda site, data: lead.edit_memo(site.service, access.coder, data))


async def make_code(request: Request, access: Access) -> Response:
    return await json_action(request, access, lambda site, data: lead.make_code(site.service, access.coder,
                                                                                 site.candidates, data))


# -- outside the token --------------------------------------------------------------------
async def static_file(request: Request) -> Response:
    site = site_of(request)
    found = site.pages.static.get(request.path_params["name"])
    if found is None:
        return site.pages.error(404, "Not found", "There is no such file.")
    data, kind = found
    return Response(data, media_type=kind, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


async def root(request: Request) -> Response:
    return site_of(request).forbidden(False)


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


async def not_found(request: Request, exc: Exception) -> Response:
    return site_of(request).pages.error(404, "Not found",
                                        "There is no such page. Use the link qcode serve printed for you.")


async def not_allowed(request: Request, exc: Exception) -> Response:
    return site_of(request).pages.error(405, "Not allowed", "This address does not take that kind of request.")


async def server_error(request: Request, exc: Exception) -> Response:
    if request.url.path.rstrip("/").split("/")[-2:-1] == ["api"]:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}", "retry": True}, status_code=500)
    return site_of(request).pages.error(500, "Internal error", f"qcode hit an internal error "
                                        f"({type(exc).__name__}); nothing half-written was kept.")
