"""Toy data sets: the 2-D spiral the DDPM tutorial trains on."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_spiral"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_spiral(n_samples=100, *, noise=0.0, random_state=None):
    """Generate a 2-D spiral, the flat sibling of :func:`sklearn.datasets.make_swiss_roll`.

    The position along the spiral ``t`` is uniform on ``[1.5π, 4.5π]`` and the point is
    ``(t cos t, t sin t)``, plus Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n_samples : int, default=100
        The number of points.
    noise : float, default=0.0
        The standard deviation of the Gaussian noise added to each coordinate.
    random_state : int, RandomState instance or None, default=None
        Determines the random numbers. Pass an int for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.
    t : ndarray of shape (n_samples,)
        The position of each point along the spiral.

    Examples
    --------
    >>> from skddpm.datasets import make_spiral
    >>> X, t = make_spiral(1000, noise=0.1, random_state=0)
    >>> X.shape, t.shape
    ((1000, 2), (1000,))
    """
    rng = check_random_state(random_state)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, size=n_samples)
    X = np.column_stack([t * np.cos(t), t * np.sin(t)])
    if noise > 0:
        X += noise * rng.standard_normal(size=X.shape)
    return X, t
