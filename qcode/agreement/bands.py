"""Names shared by building and rendering a report: units of analysis, the pooled row, interpretation bands.

>>> band(0.81), band(0.7), band(0.5, KAPPA_BANDS)
('reliable', 'tentative conclusions only', 'moderate')
>>> sample_caution(4, 8, 4)
'only 4 units (fewer than 30)'
>>> sample_caution(200, 400, 3)
'the rarer value occurs 3 times in 400 pairable values (fewer than 10)'
>>> sample_caution(200, 400, 150)
''
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

#: qcode's own minimums (not Krippendorff's figures): below them a coefficient carries a caution.
MIN_UNITS = 30
MIN_RARER_VALUES = 10
SAMPLE_TEXT = (
    f"Caution marks a coefficient from fewer than {MIN_UNITS} units, or one whose rarer value (the code present, "
    f"or absent) occurs fewer than {MIN_RARER_VALUES} times among the pairable values (units x coders); "
    "these minimums are qcode's choice. Krippendorff (2004, Content Analysis, 2nd ed., on sampling reliability "
    "data) sizes a reliability sample by the smallest alpha one is willing to accept and by the probability of "
    "the rarest value: the rarer a value, the more units are needed, and a value from too few says little "
    "however high it is."
)


def sample_caution(n_units: int, n_values: int, rarer_values: int) -> str:
    """Why a coefficient rests on too few data ('' when it does not): too few units, or a rare value too rare."""
    if n_units < MIN_UNITS:
        return f"only {n_units} unit{'s' if n_units != 1 else ''} (fewer than {MIN_UNITS})"
    if 0 < rarer_values < MIN_RARER_VALUES:
        times = "once" if rarer_values == 1 else f"{rarer_values} times"
        return (f"the rarer value occurs {times} in {n_values} pairable values "
                f"(fewer than {MIN_RARER_VALUES})")
    return ""


def band(value: float | None, bands: Bands = ALPHA_BANDS) -> str:
    """The interpretation band of a coefficient ('' for undefined)."""
    if value is None or not math.isfinite(value):
        return ""
    for floor, label in bands:
        if value >= floor:
            return label
    return bands[-1][1]
