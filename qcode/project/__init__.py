"""The project store: documents, segments, codebooks, suggestion runs and the
append-only decision log of every coder, in one SQLite database.

>>> import qcode, tempfile
>>> folder = tempfile.mkdtemp() + "/my-study"
>>> project = qcode.init_project(folder, codebook="mcn-sst")
>>> project = qcode.open_project(folder)
>>> project.codebook.name
'mcn-sst'
"""

from .base import DB_NAME
from .cases import case_of_codings, case_of_segments
from .codings import derive_codings
from .opening import init_project, open_project
from .store import Project

__all__ = ["Project", "init_project", "open_project", "derive_codings", "DB_NAME", "case_of_codings",
           "case_of_segments"]
