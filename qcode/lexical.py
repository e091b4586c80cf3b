"""Deprecated: the TF-IDF model lives in :mod:`qcode.suggest.lexical`."""

from __future__ import annotations

from .suggest.lexical import STOP_WORDS, TfidfModel, tokenize

__all__ = ["STOP_WORDS", "TfidfModel", "tokenize"]
