"""Multi-criteria scoring in vectorised form: weighted sum (min-max) and TOPSIS.

Inputs are complete matrices (missing values already resolved by policy). Both return
(scores, normalised, contributions, constant) where contributions sum, row by row, to the score.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def weighted_sum(
    x: Array, benefit: NDArray[np.bool_], w: Array
) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Min-max over the candidates: benefit (x-min)/(max-min), cost (max-x)/(max-min); a constant column gives 0."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = hi - lo
    constant = span == 0
    safe = np.where(constant, 1.0, span)
    norm = np.where(benefit, (x - lo) / safe, (hi - x) / safe)
    norm[:, constant] = 0.0
    contrib = norm * w
    return contrib.sum(axis=1), norm, contrib, constant


def topsis(x: Array, benefit: NDArray[np.bool_], w: Array) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Textbook TOPSIS (Hwang & Yoon): vector normalisation, weights, ideal/anti-ideal by direction, closeness.

    The per-criterion contribution is the closeness split in proportion to each criterion's share of the
    squared distance from the anti-ideal: C·d⁻ⱼ²/Σd⁻², so contributions sum to the score.
    """
    norms = np.sqrt((x**2).sum(axis=0))
    constant = x.max(axis=0) == x.min(axis=0)
    r = x / np.where(norms == 0, 1.0, norms)
    v = r * w
    ideal = np.where(benefit, v.max(axis=0), v.min(axis=0))
    anti = np.where(benefit, v.min(axis=0), v.max(axis=0))
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus_sq = (v - anti) ** 2
    d_minus = np.sqrt(d_minus_sq.sum(axis=1))
    denom = d_plus + d_minus
    score = np.where(denom == 0, 0.0, d_minus / np.where(denom == 0, 1.0, denom))
    total = d_minus_sq.sum(axis=1, keepdims=True)
    contrib = np.where(total == 0, 0.0, score[:, None] * d_minus_sq / np.where(total == 0, 1.0, total))
    return score, v, contrib, constant


METHODS = {"weighted_sum": weighted_sum, "topsis": topsis}
