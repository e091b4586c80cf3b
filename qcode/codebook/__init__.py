"""Codebooks: a validated hierarchy of codes (:mod:`.model`), loaded from YAML, JSON or .qdc (:mod:`.io`).

>>> from qcode.codebook import load_codebook
>>> cb = load_codebook("mcn-sst")
>>> cb.name, len(cb.roots()) > 0
('mcn-sst', True)
"""

from __future__ import annotations

from dataclasses import replace

from .io import (
    CODEBOOK_READERS,
    builtin_codebook_names,
    load_codebook,
    read_codebook_file,
    register_codebook_reader,
    save_codebook,
)
from .model import Code, Codebook, codebook_from_dict, validate_codes

__all__ = ["Code", "Codebook", "load_codebook", "read_codebook_file", "codebook_from_dict",
           "builtin_codebook_names", "validate_codes", "replace", "save_codebook", "register_codebook_reader",
           "CODEBOOK_READERS"]
