"""A review order that asks first for the decisions that teach the model most (``--order active``).

Uncertainty with diversity: segments whose two best codes are closest come
first (the model is least sure there), taken in turn from each top code so
that one unsure pair of codes does not fill the start of the queue. The order
depends on the model's scores, so it tells a coder the model's confidence:
it is refused in blind mode.

Measured (``bench/bench_learning.py --ablation``, SERDIF, the blend learner, top-1 on
the unseen half): worse than document order after 25-100 decisions (0.234-0.273
against 0.255-0.300), better after 200 (0.371 against 0.333); it is offered, not
the default.

>>> active_order([[("a", 0.9), ("b", 0.1)], [("a", 0.5), ("b", 0.49)], [("b", 0.6), ("a", 0.55)]])
[1, 2, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError


def margin(suggestions: Sequence[tuple[str, float]]) -> float:
    """Top score minus the second (the top score alone with one suggestion; +inf with none)."""
    if not suggestions:
        return float("inf")
    scores = sorted((float(s) for _, s in suggestions), reverse=True)
    return scores[0] - (scores[1] if len(scores) > 1 else 0.0)


def active_order(suggestions: Sequence[Sequence[tuple[str, float]]]) -> list[int]:
    """Positions of ``suggestions`` (one list of (code, score) per segment) in active order."""
    by_code: dict[str, list[tuple[float, int]]] = {}
    for i, sugg in enumerate(suggestions):
        top = max(sugg, key=lambda cs: cs[1])[0] if sugg else ""
        by_code.setdefault(top, []).append((margin(sugg), i))
    queues = [sorted(items) for items in by_code.values()]
    queues.sort(key=lambda q: q[0])
    order: list[int] = []
    while queues:
        next_round = []
        for q in sorted(queues, key=lambda q: q[0]):
            order.append(q.pop(0)[1])
            if q:
                next_round.append(q)
        queues = next_round
    return order


def check_order(order: str, blind: bool) -> None:
    """Refuse ``--order active`` and ``--order uncertain`` in blind mode (the order would reveal the model's
    confidence, as the web review refuses them too)."""
    if order in ("active", "uncertain") and blind:
        raise InputError(f"--order {order} puts the segments the model is least sure of first, which tells a blind "
                         "coder the model's confidence; use it with --no-blind (a first pass), or --order document")


__all__ = ["active_order", "check_order", "margin"]
