"""Multi-criteria scoring in vectorised form: weighted sum (min-max) and TOPSIS.

Inputs are complete matrices (missing values already resolved by policy). Both return
(scores, normalised, contributions, constant) where contributions sum, row by row, to the score.

`weighted_sum_extended` is the weighted sum of "Scoring profiles, extended": a normalisation per criterion
(`minmax`, `rank`, `log_minmax`) and a mask of the cells a criterion applies to (`applies_when`); it also
returns the effective weights. With every cell applying and every criterion `minmax` it computes exactly
what `weighted_sum` does, operation for operation.
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


def average_ranks(x: Array) -> Array:
    """Ranks from 1 at the smallest, ties sharing their average rank (scipy.stats.rankdata's "average"; numpy
    alone, so that importing the service does not import scipy.stats, half a second of every start-up)."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts) - 1
    counts = np.bincount(group)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    out = np.empty(n)
    out[order] = mean_rank[group]
    return out


def normalise(x: Array, benefit: bool, how: str) -> tuple[Array, bool]:
    """One criterion over the candidates it is computed over: (normalised values in [0, 1], constant).

    minmax: benefit (x-min)/(max-min), cost (max-x)/(max-min); a constant column gives 0.
    log_minmax: minmax of ln(1 + x) (x ≥ 0, checked when the profile is loaded).
    rank: (r-1)/(n-1) with r the value's rank from the smallest (ties share their average rank), 1 - that for
    cost; 1.0 when n is 1 (so a constant column gives 0.5 to everyone, and a lone candidate 1.0).
    """
    n = x.shape[0]
    constant = bool(n == 0 or x.max() == x.min())
    if how == "rank":
        if n == 1:
            return np.ones(1), constant
        r = average_ranks(x)
        up = (r - 1.0) / (n - 1.0) if n else r
        return (up if benefit else 1.0 - up), constant
    if how == "log_minmax":
        x = np.log1p(x)
    elif how != "minmax":
        raise ValueError(f"unknown normalisation {how!r}")
    if n == 0:
        return np.zeros(0), constant
    lo, hi = x.min(), x.max()
    span = hi - lo
    if span == 0:
        return np.zeros(n), True
    return ((x - lo) / span if benefit else (hi - x) / span), constant


def weighted_sum_extended(
    x: Array,
    benefit: NDArray[np.bool_],
    w: Array,
    how: list[str],
    applies: NDArray[np.bool_],
    neutral: NDArray[np.bool_] | None = None,
) -> tuple[Array, Array, Array, NDArray[np.bool_], Array]:
    """Weighted sum with a normalisation per criterion and criteria that do not concern every candidate.

    Each criterion is normalised over the candidates it applies to; elsewhere it is neutral: its normalised
    value is NaN (not computed), it contributes 0 and the candidate's weights are re-normalised over the
    criteria that apply to it (w_j / Σ w_k over those), so its weight is shared in proportion to theirs.
    A candidate to whom every criterion applies keeps the profile's weights exactly.
    `neutral` (within `applies`): cells that count at their weight with the normalised value 0.5, left out of
    the criterion's normalisation (a question the facility was never asked, under the `neutral` option).
    Returns (scores, normalised with NaN where not applying, contributions, constant, effective weights).
    """
    n, m = x.shape
    norm = np.full((n, m), np.nan)
    constant = np.zeros(m, dtype=bool)
    over = applies if neutral is None else applies & ~neutral
    for j in range(m):
        rows = over[:, j]
        values, constant[j] = normalise(x[rows, j], bool(benefit[j]), how[j])
        norm[rows, j] = values
    if neutral is not None:
        norm[neutral] = 0.5
    wa = np.where(applies, w, 0.0)
    total = wa.sum(axis=1, keepdims=True)
    everywhere = applies.all(axis=1, keepdims=True)
    shared = np.where(total > 0, wa / np.where(total > 0, total, 1.0), 0.0)
    eff = np.where(everywhere, np.broadcast_to(w, (n, m)), shared)
    contrib = np.where(applies, np.nan_to_num(norm) * eff, 0.0)
    return contrib.sum(axis=1), norm, contrib, constant, eff


METHODS = {"weighted_sum": weighted_sum, "topsis": topsis}
