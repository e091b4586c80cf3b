"""Training parameters of the two contrastive fine-tunings: to the codebook, and to coders' decisions.

Both train the embedding model with the same supervised contrastive loss
(:func:`qcode.suggest.tuning.contrastive_tune`) and share :class:`ContrastiveParams`;
every field is part of the tuned model's cache key, in this order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ContrastiveParams:
    """What both fine-tunings share: steps, texts per code per step, learning rate, loss temperature."""

    steps: int = 30
    per_code: int = 4
    learning_rate: float = 2e-5
    temperature: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TuningParams(ContrastiveParams):
    """The tuning to the codebook's own text (codes with fewer than ``min_texts`` texts are left out)."""

    min_texts: int = 3
    seed: int = 0
    max_seq_length: int = 128


@dataclass(frozen=True)
class FineTuneParams(ContrastiveParams):
    """The fine-tuning on coders' decisions (codes with fewer than ``min_accepted`` accepted passages keep
    their anchors only)."""

    steps: int = 15
    per_code: int = 3
    min_accepted: int = 2
    seed: int = 0
    max_seq_length: int = 128


__all__ = ["ContrastiveParams", "FineTuneParams", "TuningParams"]
