"""Reviewing suggestions: the terminal session (:mod:`.terminal`, ``qcode review``); the web app is :mod:`qcode.web`."""

from __future__ import annotations

from .terminal import ReviewSession, build_queue, run_review

__all__ = ["ReviewSession", "build_queue", "run_review"]
