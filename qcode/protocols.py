"""The narrow views of a project store that lower layers work with, as typing Protocols.

The suggester and the pipeline sit below :mod:`qcode.project` and must not
import it; they take any object with these methods, which
:class:`qcode.project.Project` has.

>>> from qcode.project.store import Project
>>> all(hasattr(Project, m) for m in ("labels", "transaction", "set_codebook", "add_documents",
...                                  "add_segments", "add_run"))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from .codebook.model import Codebook
from .document import Document, Segment


@runtime_checkable
class LabelSource(Protocol):
    """Reads the accept/reject labels that stand (:meth:`qcode.project.Project.labels`)."""

    def labels(self, coder: str | None = None) -> Any:
        """A DataFrame with at least ``text``, ``code_id`` and ``accepted``."""
        ...


@runtime_checkable
class RunRecorder(Protocol):
    """Records a suggestion run: its codebook, documents, segments and scores, in transactions."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def set_codebook(self, codebook: Codebook) -> str: ...

    def add_documents(self, docs: Iterable[Document]) -> dict[str, list[str]]: ...

    def add_segments(self, segments: Iterable[Segment]) -> int: ...

    def add_run(self, meta: Mapping[str, Any], suggestions: Iterable[tuple[str, str, float, int]]) -> int: ...


__all__ = ["LabelSource", "RunRecorder"]
