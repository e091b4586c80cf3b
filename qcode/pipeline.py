"""Deprecated: the suggestion job lives in :mod:`qcode.suggest.pipeline` (``qcode.suggest_corpus``)."""

from __future__ import annotations

from .suggest.pipeline import (
    SUGGESTION_COLUMNS,
    SuggestRun,
    corpus_digest,
    iter_segments,
    run_id_for,
    run_record,
    suggest_corpus,
    suggestion_rows,
)

__all__ = ["SUGGESTION_COLUMNS", "SuggestRun", "corpus_digest", "iter_segments", "run_id_for", "run_record",
           "suggest_corpus", "suggestion_rows"]
