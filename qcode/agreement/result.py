"""The agreement report as data (:class:`AgreementReport`); its outputs are written by :mod:`.render`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import render
from .bands import POOLED

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class AgreementReport:
    """Result of :func:`qcode.agreement.report`.

    Attributes
    ----------
    per_code : DataFrame
        One row per code plus a ``(pooled)`` row: ``code, label, n_units, n_values, n_applied,
        percent_agreement, kappa, alpha, alpha_low, alpha_high, ac1, brennan_prediger,
        alpha_band, kappa_band, caution, note``. Undefined coefficients are NaN and ``note`` says why;
        ``n_values`` counts the pairable values (units x coders) and ``caution`` says when a row rests
        on fewer data than qcode's minimums (:data:`~qcode.agreement.bands.SAMPLE_TEXT`), else ''.
    pairwise : dict of str -> DataFrame
        Coder x coder matrices of pooled ``"kappa"`` (Cohen) and ``"alpha"``.
    disagreements : DataFrame
        One row per unit where the coders differ: ``unit, doc_id, start, end, text,
        disputed, <one column per coder>`` (the codes that coder applied).
    per_source : DataFrame or None
        Character level only: one row per (code, source), as NVivo reports it.
    provenance : dict of str -> str
        Where the report comes from (qcode version, time; source and codebook when known).
    """

    per_code: pd.DataFrame
    pairwise: dict[str, pd.DataFrame]
    disagreements: pd.DataFrame
    coders: list[str]
    unit: str
    include_uncoded: bool
    n_units: int
    kappa_name: str
    n_boot: int
    seed: int
    notes: list[str] = field(default_factory=list)
    per_source: pd.DataFrame | None = None
    provenance: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ..version import __version__

        self.provenance = {"qcode": __version__,
                           "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                           **self.provenance}

    def provenance_line(self) -> str:
        """Where the report comes from: source, codebook, qcode version and time (for methods sections)."""
        return "; ".join(f"{k}: {v}" for k, v in self.provenance.items())

    @property
    def pooled(self) -> pd.Series:
        """The pooled row (all codes stacked as present/absent items)."""
        return self.per_code[self.per_code["code"] == POOLED].iloc[0]

    def describe(self) -> str:
        """One line saying what was compared."""
        scope = "all of them" if self.include_uncoded else "those coded by at least one compared coder"
        interval = f"95% bootstrap interval over units ({self.n_boot} resamples, seed {self.seed})" \
            if self.n_boot and self.unit != "character" else "no interval"
        noun = "characters" if self.unit == "character" else "units"
        return (f"Coders {', '.join(self.coders)}; unit: {self.unit}; {self.n_units} {noun} ({scope}); "
                f"kappa: {self.kappa_name}; alpha: {interval}.")

    def formatted(self, digits: int = 3) -> pd.DataFrame:
        """The per-code table as display strings (undefined values spelled out, never NaN)."""
        return render.formatted_table(self, digits)

    def to_csv(self, path: str | Path | None = None) -> str:
        """The per-code table as CSV text (also written to ``path`` when given)."""
        return render.to_csv(self, path)

    def to_markdown(self, path: str | Path | None = None) -> str:
        """The report as Markdown text (also written to ``path`` when given)."""
        return render.to_markdown(self, path)

    def to_html(self, path: str | Path | None = None) -> str:
        """The report as one self-contained HTML page (also written to ``path`` when given)."""
        return render.to_html(self, path)

    def save(self, path: str | Path) -> Path:
        """Write ``.html``, ``.md`` or ``.csv`` according to the suffix."""
        return render.save(self, path)

    def print(self, console: Console | None = None, written_to: str | Path | None = None) -> None:
        """Print the terminal table (rich); ``written_to`` names the report file the disagreements go to."""
        render.print_report(self, console, written_to)
