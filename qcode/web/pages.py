"""Rendering for ``qcode serve``: the Jinja templates, the static files and the headers every answer carries.

Every user text reaches a page through Jinja's autoescaping; pages may load scripts and styles from
this server only (``PAGE_CSP``), and the agreement report, a self-contained page, loads nothing.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from starlette.responses import HTMLResponse

from .payload import STATE_LABELS
from .tokens import Access

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                  "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("qcode.web", "templates"), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True, auto_reload=False)


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


def base_url(access: Access) -> str:
    """The path every page and request of ``access`` lives under."""
    return f"/r/{access.token}/"


class Pages:
    """The site's templates and static files, loaded once per app."""

    def __init__(self) -> None:
        self.env = _templates()
        self.static = _static_files()
        self._card = self.env.get_template("card.html")

    def page(self, template: str, status: int = 200, csp: str = PAGE_CSP, **context: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers={**COMMON_HEADERS, "Content-Security-Policy": csp})

    def error(self, status: int, title: str, message: str) -> HTMLResponse:
        return self.page("error.html", status=status, title=title, message=message)

    def card_html(self, access: Access, card: dict[str, Any]) -> str:
        return self._card.render(card=card, base=base_url(access), labels=STATE_LABELS)

    def card_reply(self, access: Access, card: dict[str, Any]) -> dict[str, Any]:
        """The JSON a card request answers with: the card's HTML and what the page script tracks."""
        seg = card["segment"]
        return {"html": self.card_html(access, card), "segment_id": seg["segment_id"] if seg else None,
                "last": card["last"], "progress": card["progress"]}


__all__ = ["COMMON_HEADERS", "PAGE_CSP", "REPORT_CSP", "STATIC_TYPES", "Pages", "base_url"]
