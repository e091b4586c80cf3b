"""Suggesting codes: the ranking (:mod:`.ranking`, a front over :mod:`.scoring` and :mod:`.learned`),
the model choice (:mod:`.models`), its lexical half (:mod:`.lexical`), the options of a run
(:mod:`.options`) and the corpus job (:mod:`.pipeline`).

>>> from qcode.suggest import SuggestOptions, Suggester, make_suggester, suggest_corpus
>>> SuggestOptions().unit
'turn'
"""

from __future__ import annotations

from .models import make_suggester
from .options import SuggestOptions
from .pipeline import SUGGESTION_COLUMNS, SuggestRun, suggest_corpus
from .ranking import ModelSource, Suggester
from .scoring import RankingParams, Suggestion, description_text, evidence_texts

__all__ = ["ModelSource", "RankingParams", "SUGGESTION_COLUMNS", "SuggestOptions", "SuggestRun", "Suggester",
           "Suggestion", "description_text", "evidence_texts", "make_suggester", "suggest_corpus"]
