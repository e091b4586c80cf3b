"""Inter-coder agreement: coefficients, multi-label codings, reports.

>>> from qcode import agreement
>>> round(agreement.krippendorff_alpha([[1, 2, 2], [1, 2, 1]]), 3)
0.444
"""

from .bands import POOLED, band
from .build import report
from .characters import CharacterCounts, character_counts, coverage_mask
from .coding import normalize_codings, suggestions_to_codings
from .metrics import (
    LEVELS,
    OneCategory,
    UndefinedAgreement,
    alpha_from_coincidences,
    brennan_prediger,
    cohen_kappa,
    coincidence_matrix,
    conger_kappa,
    counts_from_matrix,
    encode_matrix,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    matrix_from_counts,
    matrix_from_table,
    pairwise_agreement,
    percent_agreement,
    scott_pi,
)
from .result import AgreementReport
from .sources import codings_as_of, model_codings, project_report, source_report
from .unitized import unitized_alpha, unitized_disagreements

__all__ = [
    "unitized_alpha",
    "unitized_disagreements",
    "AgreementReport",
    "report",
    "project_report",
    "source_report",
    "model_codings",
    "codings_as_of",
    "POOLED",
    "band",
    "normalize_codings",
    "suggestions_to_codings",
    "CharacterCounts",
    "character_counts",
    "coverage_mask",
    "LEVELS",
    "OneCategory",
    "UndefinedAgreement",
    "alpha_from_coincidences",
    "brennan_prediger",
    "coincidence_matrix",
    "cohen_kappa",
    "conger_kappa",
    "counts_from_matrix",
    "encode_matrix",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "matrix_from_counts",
    "matrix_from_table",
    "pairwise_agreement",
    "percent_agreement",
    "scott_pi",
]
