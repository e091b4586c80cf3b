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

The pieces: :mod:`qcode.web.review` (what a coder sees and does, over the
``Project`` API), :mod:`qcode.web.app` (routes, token and CSRF checks),
:mod:`qcode.web.tokens` (the links), :mod:`qcode.web.server` (binding the
port and running uvicorn).
"""

from .review import Filters, ReviewService, Viewer
from .tokens import Access, TokenStore


def create_app(*args, **kwargs):  # imported lazily: starlette is the optional extra "web"
    from .app import create_app as build

    return build(*args, **kwargs)


__all__ = ["ReviewService", "Viewer", "Filters", "TokenStore", "Access", "create_app"]
