"""The ``qcode`` command line: a thin layer over the library.

Command modules import only typer at import time; torch, spaCy and pandas are
imported inside the command bodies, so ``qcode --help`` answers fast.
"""

from .app import app, main

__all__ = ["app", "main"]
