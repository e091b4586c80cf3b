"""The project store: documents, segments, codebooks, suggestion runs and the
append-only decision log of every coder, in one SQLite database.

>>> import qcode, tempfile
>>> folder = tempfile.mkdtemp() + "/my-study"
>>> project = qcode.init_project(folder, codebook="mcn-sst")
>>> project = qcode.open_project(folder)
>>> project.codebook.name
'mcn-sst'
"""

from .cases import case_of_codings, case_of_segments
from .store import DB_NAME, Project, derive_codings, init_project, open_project

__all__ = ["Project", "init_project", "open_project", "derive_codings", "DB_NAME", "case_of_codings",
           "case_of_segments"]
