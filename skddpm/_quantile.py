"""Quantile maps: a numeric column to normal scores by its quantiles, and back.

As ``QuantileTransformer(output_distribution="normal")`` and TabDDPM do, but
invertible (linear between distinct quantiles, continued beyond the end ones) and with
piles of repeated values kept. This module works on numpy arrays; it knows nothing of
tables, torch or training.
"""

import numpy as np
from scipy.special import ndtri

__all__ = ["far_from_normal", "from_scores", "log_slope", "quantile_map", "to_scores"]

# sklearn's QuantileTransformer: at most 1,000 quantiles, normal scores within ±5.2.
_N_QUANTILES = 1000
_BOUND = 1e-7


def quantile_map(values):
    """The map of a column's observed values to normal scores, as a (2, m) array.

    Row 0 holds ``m <= 1000`` quantiles of the observed values (repeated where values
    are tied), row 1 their normal scores ``Φ⁻¹`` of the quantile levels, as in
    ``QuantileTransformer(output_distribution="normal")``. None for a column with no
    observed value.
    """
    observed = values[~np.isnan(values)]
    if observed.size == 0:
        return None
    levels = np.linspace(0.0, 1.0, min(_N_QUANTILES, observed.size))
    return np.stack([np.quantile(observed, levels), ndtri(np.clip(levels, _BOUND, 1 - _BOUND))])


# When standardizing leaves a column far from normal: its values pile up (fewer distinct
# values than half the observed cells) or it is skewed (|sample skewness| above 1).
_MAX_DISTINCT_SHARE = 0.5
_MAX_SKEW = 1.0


def far_from_normal(values):
    """Whether "auto" gives this column (an array with NaN where missing) a quantile map."""
    observed = values[~np.isnan(values)]
    if observed.size < 3:
        return False
    if len(np.unique(observed)) < _MAX_DISTINCT_SHARE * observed.size:
        return True
    spread = observed.std()
    if spread == 0:
        return False
    skewness = np.mean(((observed - observed.mean()) / spread) ** 3)
    return bool(abs(skewness) > _MAX_SKEW)


def _distinct(knots):
    """The map with tied quantiles merged, their scores averaged: strictly increasing."""
    values, index = np.unique(knots[0], return_inverse=True)
    return values, np.bincount(index, knots[1]) / np.bincount(index)


def _extend(out, x, xp, fp):
    """Continue the end segments of the piecewise-linear map ``xp -> fp`` beyond its ends."""
    below, above = x < xp[0], x > xp[-1]
    out[below] = fp[0] + (x[below] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
    out[above] = fp[-1] + (x[above] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return out


def to_scores(x, knots):
    """Values to normal scores: a tied value to the middle of its scores (as sklearn does),
    linear between distinct quantiles and beyond the end ones."""
    values, scores = _distinct(knots)
    if len(values) == 1:
        return np.zeros_like(x, dtype=np.float64)
    return _extend(np.interp(x, values, scores), x, values, scores)


def from_scores(z, knots):
    """Normal scores back to values. A tied value owns the whole range of its scores, so
    the values the data piles on (prices, sizes rounded to a grid) come back piled."""
    values, scores = _distinct(knots)
    if len(values) == 1:
        return np.full_like(z, values[0], dtype=np.float64)
    out = np.interp(z, knots[1], knots[0])
    return _extend(out, z, scores, values)


def log_slope(x, knots):
    """``log dz/dx`` of :func:`to_scores` at ``x``.

    The map is linear between its distinct quantiles: a value on one takes the slope
    of the segment that ends there (a value the data piles on has, strictly, no
    density; this is the density of its neighbourhood). 0 for a map of one value.
    """
    values, scores = _distinct(knots)
    if len(values) == 1:
        return np.zeros_like(x, dtype=np.float64)
    slopes = np.diff(scores) / np.diff(values)
    segment = np.clip(np.searchsorted(values, x) - 1, 0, len(slopes) - 1)
    return np.log(slopes[segment])
