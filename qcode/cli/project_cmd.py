"""Commands of this group are registered here (work in progress)."""
from .app import app, codebook_app  # noqa: F401
