"""Toy data sets: the 2-D spiral the DDPM tutorial trains on, and other 2-D shapes.

With :func:`sklearn.datasets.make_moons` and :func:`sklearn.datasets.make_swiss_roll`
these are the shapes of the examples and benchmarks.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._runtime import numpy_random_state

__all__ = ["make_checkers", "make_gaussian_ring", "make_spiral"]


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
        Determines the random numbers. Pass an int for reproducible output; None
        draws fresh ones, leaving numpy's global random state untouched.

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
    rng = numpy_random_state(random_state)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, size=n_samples)
    X = np.column_stack([t * np.cos(t), t * np.sin(t)])
    if noise > 0:
        X += noise * rng.standard_normal(size=X.shape)
    return X, t


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_gaussian_ring(n_samples=100, *, n_components=8, radius=4.0, noise=0.3,
                       random_state=None):  # fmt: skip
    """Generate a ring of round Gaussians, the "8 Gaussians" of generative-model papers.

    Component ``k`` is centred at angle ``2πk / n_components`` on a circle of radius
    ``radius``; each point picks a component uniformly.

    Parameters
    ----------
    n_samples : int, default=100
    n_components : int, default=8
    radius : float, default=4.0
    noise : float, default=0.3
        The standard deviation of each Gaussian.
    random_state : int, RandomState instance or None, default=None
        As in :func:`make_spiral`.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        The component of each point.

    Examples
    --------
    >>> from skddpm.datasets import make_gaussian_ring
    >>> X, y = make_gaussian_ring(800, random_state=0)
    >>> X.shape, sorted(set(y)) == list(range(8))
    ((800, 2), True)
    """
    rng = numpy_random_state(random_state)
    y = rng.randint(n_components, size=n_samples)
    angle = 2 * np.pi * y / n_components
    X = radius * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal(size=X.shape)
    return X, y


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_squares": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_checkers(n_samples=100, *, n_squares=4, random_state=None):
    """Generate points uniform on the dark squares of a checkerboard.

    The board spans ``[-n_squares/2, n_squares/2]²`` in unit squares; a point is uniform
    on the squares whose row and column indices have an even sum. (Not to be confused
    with :func:`sklearn.datasets.make_checkerboard`, which makes biclustering matrices.)

    Parameters
    ----------
    n_samples : int, default=100
    n_squares : int, default=4
        Squares along each side.
    random_state : int, RandomState instance or None, default=None
        As in :func:`make_spiral`.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        The index of each point's square, ``row * n_squares + column``.

    Examples
    --------
    >>> from skddpm.datasets import make_checkers
    >>> X, y = make_checkers(1000, random_state=0)
    >>> bool(abs(X).max() <= 2)
    True
    """
    rng = numpy_random_state(random_state)
    dark = [(r, c) for r in range(n_squares) for c in range(n_squares) if (r + c) % 2 == 0]
    squares = np.array(dark)[rng.randint(len(dark), size=n_samples)]
    X = squares[:, ::-1] + rng.uniform(size=(n_samples, 2)) - n_squares / 2
    return X, squares[:, 0] * n_squares + squares[:, 1]
