"""Names shared by building and rendering a report: units of analysis, the pooled row, interpretation bands.

>>> band(0.81), band(0.7), band(0.5, KAPPA_BANDS)
('reliable', 'tentative conclusions only', 'moderate')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

UNITS = ("segment", "document", "character")
POOLED = "(pooled)"

Bands = Sequence[tuple[float, str]]

#: Krippendorff (2004): lower bound of each band, highest first.
ALPHA_BANDS: Bands = (
    (0.800, "reliable"),
    (0.667, "tentative conclusions only"),
    (-math.inf, "unreliable"),
)
#: Landis & Koch (1977).
KAPPA_BANDS: Bands = (
    (0.81, "almost perfect"),
    (0.61, "substantial"),
    (0.41, "moderate"),
    (0.21, "fair"),
    (0.00, "slight"),
    (-math.inf, "poor"),
)
BANDS_TEXT = (
    "Krippendorff's alpha: >= 0.800 reliable; 0.667-0.800 tentative conclusions only; < 0.667 unreliable "
    "(Krippendorff 2004). Kappa (Landis & Koch 1977): < 0 poor; 0.00-0.20 slight; 0.21-0.40 fair; "
    "0.41-0.60 moderate; 0.61-0.80 substantial; 0.81-1.00 almost perfect."
)


def band(value: float | None, bands: Bands = ALPHA_BANDS) -> str:
    """The interpretation band of a coefficient ('' for undefined)."""
    if value is None or not math.isfinite(value):
        return ""
    for floor, label in bands:
        if value >= floor:
            return label
    return bands[-1][1]
