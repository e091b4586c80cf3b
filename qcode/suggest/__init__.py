"""Suggesting codes: the ranking (:mod:`.ranking`), its lexical half (:mod:`.lexical`), the options of a
run (:mod:`.options`) and the corpus job (:mod:`.pipeline`).

>>> from qcode.suggest import SuggestOptions, Suggester, suggest_corpus
>>> SuggestOptions().unit
'turn'
"""

from __future__ import annotations

from .options import SuggestOptions
from .pipeline import SUGGESTION_COLUMNS, SuggestRun, suggest_corpus
from .ranking import RankingParams, Suggester, Suggestion, description_text, evidence_texts

__all__ = ["RankingParams", "SUGGESTION_COLUMNS", "SuggestOptions", "SuggestRun", "Suggester", "Suggestion",
           "description_text", "evidence_texts", "suggest_corpus"]
