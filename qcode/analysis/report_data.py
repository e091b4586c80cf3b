"""What the study report holds (:class:`StudyReport`): gathered by :mod:`.report`, laid out by
:mod:`.report_html` and :mod:`.report_docx`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Theme:
    code_id: str
    name: str
    cases: int
    passages: int
    quotes: pd.DataFrame


@dataclass
class Domain:
    code_id: str
    name: str
    cases: int
    passages: int
    themes: list[Theme]


@dataclass
class StudyReport:
    """Everything the report shows (see the module docstring)."""

    title: str
    codings: str
    provenance: dict[str, str]
    n_cases: int
    case_unit: str
    participants: list[tuple[str, pd.DataFrame]]
    domains: list[Domain]
    matrices: list[tuple[str, pd.DataFrame]]
    cooccurrence: pd.DataFrame
    saturation: pd.DataFrame
    saturation_order: str
    agreement: pd.DataFrame | None
    agreement_note: str
    memos: pd.DataFrame | None
    #: matplotlib figures by name: framework, heatmap, saturation (None: nothing to draw)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def attribute_values(self) -> list[str]:
        """Every attribute value that appears in the participant tables and matrices."""
        found: list[str] = []
        for _, table in self.participants:
            found += [str(c) for c in table.columns[1:]] + [str(v) for v in table.iloc[:, 0]]
        for _, table in self.matrices:
            found += [str(c) for c in table.columns[2:-1]]
        return list(dict.fromkeys(found))


__all__ = ["Domain", "StudyReport", "Theme"]
