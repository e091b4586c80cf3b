"""The report's charts: matplotlib figures, saved as SVG for HTML, PNG for Word.

Labels are user text (code names): a ``$`` is escaped so that matplotlib never
reads it as mathematics, matplotlib escapes the SVG's text, and the SVG is
shown through ``<img>``, where a browser runs no script and loads nothing.
Text stays text (``svg.fonttype: none``: drawing every glyph as a path made
the report's charts 2-4 times slower and larger), and the margins are fixed
from the labels' lengths rather than by a layout engine (half the drawing
time of the co-occurrence heatmap). The same input gives byte-identical SVG
(no date, fixed hash salt).

>>> uri = svg_data_uri(to_svg(saturation_chart(__import__("pandas").DataFrame(
...     {"coder": ["ann", "ann"], "order": [1, 2], "document": ["a", "b"], "new_codes": [2, 1], "cumulative": [2, 3]}))))
>>> uri.startswith("data:image/svg+xml;base64,")
True
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd

_STYLE: Any = {"svg.hashsalt": "qcode", "svg.fonttype": "none", "font.size": 9}
#: inches per character of a 9-point label, to size margins
_CHAR = 0.075


def label(text: Any, width: int = 0) -> str:
    """User text safe as a matplotlib label: ``$`` escaped, optionally wrapped at ``width`` characters.

    >>> label("cost $5")
    'cost \\\\$5'
    """
    value = str(text).replace("\\", "\\\\").replace("$", r"\$")
    return "\n".join(textwrap.wrap(value, width)) if width else value


def _figure(width: float, height: float, left: float = 0.8, bottom: float = 0.6, right: float = 0.3,
            top: float = 0.3) -> Any:
    """A figure of ``width`` x ``height`` inches plus the margins (inches) around its axes."""
    from matplotlib.figure import Figure

    full_w, full_h = width + left + right, height + bottom + top
    figure = Figure(figsize=(full_w, full_h))
    figure.subplots_adjust(left=left / full_w, right=1 - right / full_w, bottom=bottom / full_h, top=1 - top / full_h)
    return figure


def to_svg(figure: Any) -> bytes:
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def svg_data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def to_png(figure: Any, dpi: int = 150) -> bytes:
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def heatmap(table: pd.DataFrame, title: str = "") -> Any:
    """A code x code table as a heatmap with the counts written in its cells."""
    import matplotlib

    n = len(table)
    margin = 0.3 + _CHAR * max((len(label(c)) for c in table.index), default=4)
    with matplotlib.rc_context(_STYLE):
        figure = _figure(max(2.0, 0.32 * n) + 1.2, max(2.0, 0.32 * n), left=margin, bottom=margin,
                         top=0.5 if title else 0.2)
        ax = figure.add_subplot()
        values = table.to_numpy(dtype=float)
        image = ax.imshow(values, cmap="Blues")
        names = [label(c) for c in table.index]
        ax.set_xticks(range(n), names, rotation=90)
        ax.set_yticks(range(n), names)
        for i in range(n):
            for j in range(n):
                if values[i, j]:
                    colour = "white" if values[i, j] > values.max() / 2 else "black"
                    ax.text(j, i, f"{values[i, j]:g}", ha="center", va="center", fontsize=7, color=colour)
        if title:
            ax.set_title(label(title))
        figure.colorbar(image, ax=ax, shrink=0.6)
        return figure


def saturation_chart(table: pd.DataFrame) -> Any:
    """Cumulative codes per document in interview order, one line per coder, new codes as bars."""
    import matplotlib

    with matplotlib.rc_context(_STYLE):
        figure = _figure(6, 2.8, left=0.8, bottom=0.6)
        ax = figure.add_subplot()
        coders = list(dict.fromkeys(table["coder"]))
        width = 0.8 / max(len(coders), 1)
        for k, coder in enumerate(coders):
            mine = table[table["coder"] == coder]
            line = ax.plot(mine["order"], mine["cumulative"], marker="o", markersize=3, label=label(coder))
            # new codes as thick vertical strokes: one collection, not a patch per document and coder
            shift = (k - (len(coders) - 1) / 2) * width
            ax.vlines(mine["order"] + shift, 0, mine["new_codes"], colors=line[0].get_color(), alpha=0.35,
                      linewidth=min(12.0, max(1.5, 240 / (max(len(mine), 1) * len(coders)))))
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("document, in interview order")
        ax.set_ylabel("codes (line: cumulative, bars: new)")
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
        return figure


def framework_figure(domains: Sequence[tuple[str, int, Sequence[tuple[str, int]]]], unit: str = "cases") -> Any:
    """The codebook's domains side by side (name, cases, themes), each theme labelled with its number of cases."""
    import matplotlib
    from matplotlib.patches import FancyBboxPatch

    columns = max(len(domains), 1)
    rows = max((len(t) for _, _, t in domains), default=1)
    with matplotlib.rc_context(_STYLE):
        figure = _figure(min(2.3 * columns, 16), 0.75 * (rows + 1) + 0.2, left=0.05, bottom=0.05, right=0.05,
                         top=0.05)
        ax = figure.add_subplot()
        ax.set_xlim(0, columns)
        ax.set_ylim(-(rows + 1), 0.2)
        ax.axis("off")
        for x, (domain, total, themes) in enumerate(domains):
            ax.add_patch(FancyBboxPatch((x + 0.05, -0.75), 0.9, 0.7, boxstyle="round,pad=0.02", fc="#dbe8f5",
                                        ec="#2b5d8a"))
            ax.text(x + 0.5, -0.4, label(domain, 22) + f"\n({total} {unit})", ha="center", va="center", fontsize=8,
                    weight="bold")
            for y, (theme, n) in enumerate(themes, start=1):
                ax.add_patch(FancyBboxPatch((x + 0.08, -0.72 - y * 0.75 - 0.02), 0.84, 0.66,
                                            boxstyle="round,pad=0.02", fc="white" if n else "#f1f1f1",
                                            ec="#7a9cbd"))
                ax.text(x + 0.5, -0.4 - y * 0.75, label(theme, 26) + f"\n({n} {unit})", ha="center",
                        va="center", fontsize=6.5)
        return figure


__all__ = ["framework_figure", "heatmap", "label", "saturation_chart", "svg_data_uri", "to_png", "to_svg"]
