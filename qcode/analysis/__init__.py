"""From codings to findings: matrices, indicative quotes, co-occurrence, saturation and the study report.

Every function counts one set of codings, chosen by :func:`select_codings`
(one coder's, or the coders' consensus with the lead's adjudications) and
says which in its output (``frame.attrs["codings"]``, a header line in files).

>>> import tempfile
>>> import pandas as pd
>>> from qcode import analysis
>>> from qcode.project.sample import build_sample_project
>>> project = build_sample_project(tempfile.mkdtemp() + "/study")
>>> segs = project.segments().query("role == 'participant'")["segment_id"].tolist()
>>> for seg, code in zip(segs, ["funding", "staffing", "communication", "coordination", "funding"]):
...     _ = project.decide("ann", seg, code, "accept")
>>> _ = project.set_case_attributes("P1", {"site": "A"})
>>> _ = project.set_case_attributes("P2", {"site": "B"})
>>> table = analysis.matrix(project, "site")
>>> table[["code_id", "A", "B", "total"]].values.tolist()[:3]
[['resources', 1, 1, 2], ['funding', 1, 1, 2], ['staffing', 1, 0, 1]]
>>> table.attrs["codings"]
"codings counted: ann's (the project's only coder); 5 codings on 5 passages"
"""

from .cooccur import cooccurrence, pairs_from_units
from .matrix import code_matrix, matrix, participants
from .passages import assign_cases, coded_passages, load_cases
from .quotes import pick as pick_quotes
from .quotes import quotes
from .report import build_report, write_report
from .saturation import saturation
from .selection import ADJUDICATOR, Counted, as_project, consensus, select_codings

__all__ = ["ADJUDICATOR", "Counted", "as_project", "assign_cases", "build_report", "code_matrix", "coded_passages", "consensus",
           "cooccurrence", "load_cases", "matrix", "pairs_from_units", "participants", "quotes", "pick_quotes",
           "saturation", "select_codings", "write_report"]
