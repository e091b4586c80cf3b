"""The project store: documents, segments, codebooks, suggestion runs and the
append-only decision log of every coder, in one SQLite database.

>>> import qcode
>>> project = qcode.init_project("my-study", codebook="mcn-sst")   # doctest: +SKIP
>>> project = qcode.open_project("my-study")                       # doctest: +SKIP
"""

from .store import DB_NAME, Project, derive_codings, init_project, open_project

__all__ = ["Project", "init_project", "open_project", "derive_codings", "DB_NAME"]
