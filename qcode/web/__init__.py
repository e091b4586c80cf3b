"""``qcode serve``: the web review page that several coders use at once, blind by default.

``qcode serve PROJECT --coder ana --coder ben`` prints one secret link per
coder and one for the project lead. A coder's link opens a keyboard-first
review of the suggestions (the keys of :mod:`qcode.review` plus Prodigy's
conventions); the lead's link also shows the disagreements between coders,
where the lead records adjudicated codes, and the live agreement report.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> from qcode.web import ReviewService, create_app, TokenStore
>>> app = create_app(ReviewService(study), TokenStore(study))

The pieces: :mod:`qcode.web.service` (what a coder sees and does, over the
``Project`` API and the review core :mod:`qcode.review.core`), with :mod:`qcode.web.cards`
(the card), :mod:`qcode.web.lead` (the lead's views), :mod:`qcode.web.payload` (what a
request may say) and :mod:`qcode.web.writer` (group commit); :mod:`qcode.web.app` (the
routes), :mod:`qcode.web.guard` (token and CSRF checks), :mod:`qcode.web.handlers` (the
endpoints), :mod:`qcode.web.pages` (templates and headers); :mod:`qcode.web.tokens` (the
links), :mod:`qcode.web.server` (binding the port and running uvicorn).
"""

from .payload import Filters, Viewer
from .service import ReviewService
from .tokens import Access, TokenStore


def create_app(*args, **kwargs):  # imported lazily: starlette is the optional extra "web"
    from .app import create_app as build

    return build(*args, **kwargs)


__all__ = ["ReviewService", "Viewer", "Filters", "TokenStore", "Access", "create_app"]
