"""The tables the defaults are chosen and confirmed on (issue 12).

Twenty tables that differ in rows (100 to 50,000), columns (2 to 64) and kind: thin
manifolds, clusters, heavy tails, skewed positive columns, counts and other whole numbers,
and the real measured tables scikit-learn installs with it (no download). Each is split
into training rows and held-out real rows to compare samples with; a table's floor is
C2ST between held-out rows and as many training rows.

The split into halves was written down before any default was tuned, and every default
is chosen on ``TUNING`` only: each kind has a table in both halves, and the confirmation
half holds the 50,000-row × 64-column table, so that the budget rule meets its largest
table only when it is confirmed.
"""

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_moons,
    make_s_curve,
    make_swiss_roll,
)

from skddpm.datasets import make_checkers, make_gaussian_ring, make_spiral

# name -> kind. The halves are fixed here, before tuning.
TUNING = {
    "spiral": "thin manifold, 2-D",
    "ring of 8 Gaussians": "clusters, 2-D",
    "figure eight": "thin self-crossing curve, 2-D",
    "swiss roll": "thin manifold, 3-D",
    "blobs 10-D": "clusters",
    "student-t 8-D": "heavy tails",
    "lognormal 6-D": "skewed positive",
    "counts 6-D": "counts",
    "digits": "real, whole numbers, 64-D",
    "iris": "real, small",
}
CONFIRMATION = {
    "checkerboard": "clusters with edges, 2-D",
    "two moons": "thin manifold, 2-D",
    "small mixture": "clusters, 100 rows",
    "s-curve": "thin manifold, 3-D",
    "manifold 32-D": "2-D manifold in 32-D",
    "factor 64-D": "50,000 rows, 64-D, nonlinear factors",
    "gamma mixed": "skewed positive and counts",
    "wine": "real, small",
    "breast cancer": "real, 30-D",
    "diabetes": "real, whole numbers",
}


def _blobs(n, rng):
    centers = np.random.default_rng(12).uniform(-10, 10, size=(8, 10))
    return make_blobs(n, centers=centers, random_state=int(rng.integers(2**31)))[0]


def _moons(n, rng):
    # make_moons spaces its points evenly: draw n of 50 n so that two samples are not twins.
    X = make_moons(50 * n, noise=0.05, random_state=int(rng.integers(2**31)))[0]
    return X[rng.choice(len(X), n, replace=False)]


def _figure_eight(n, rng):
    s = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.sin(s), np.sin(s) * np.cos(s)] + rng.normal(0, 0.01, (n, 2))


def _student_t(n, rng):
    A = np.random.default_rng(7).normal(size=(8, 8)) / np.sqrt(8)
    return rng.standard_t(3, size=(n, 8)) @ A


def _lognormal(n, rng):
    A = np.random.default_rng(8).normal(size=(6, 6)) / np.sqrt(6)
    return np.exp(rng.normal(size=(n, 6)) @ A)


def _counts(n, rng):
    z = rng.gamma(2.0, 1.0, size=(n, 1))
    rates = z * np.array([0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
    return rng.poisson(rates).astype(float)


def _small_mixture(n, rng):
    centers = np.random.default_rng(9).normal(0, 3, size=(3, 5))
    return centers[rng.integers(3, size=n)] + rng.normal(size=(n, 5))


def _manifold(n, rng):
    W = np.random.default_rng(10).normal(size=(6, 32))
    u = rng.uniform(-1, 1, size=(n, 2))
    features = np.c_[np.sin(3 * u), np.cos(2 * u), u * u[:, ::-1]]
    return features @ W + rng.normal(0, 0.05, (n, 32))


def _factor(n, rng):
    W = np.random.default_rng(11).normal(size=(8, 64)) / np.sqrt(8)
    z = rng.normal(size=(n, 8))
    return np.tanh(z @ W) * 2 + 0.5 * (z[:, :1] ** 2) + rng.normal(0, 0.1, (n, 64))


def _gamma_mixed(n, rng):
    scale = rng.gamma(3.0, 1.0, size=n)
    return np.c_[
        scale,
        rng.gamma(1.0 + scale, 0.5),
        rng.poisson(2 * scale),
        rng.binomial(10, 1 / (1 + np.exp(-(scale - 3)))),
    ].astype(float)


def _generated(make, n_train, n_test):
    def load(seed):
        rng = np.random.default_rng(seed)
        return make(n_train, rng), make(n_test, rng)

    return load


def _real(loader, **kwargs):
    X = loader(**kwargs).data

    def load(seed):
        rows = np.random.default_rng(seed).permutation(len(X))
        n_test = min(2000, len(X) // 3)
        return X[rows[n_test:]].astype(float), X[rows[:n_test]].astype(float)

    return load


_LOADERS = {
    "spiral": lambda seed: (
        make_spiral(10_000, random_state=seed)[0],
        make_spiral(2000, random_state=seed + 1000)[0],
    ),
    "ring of 8 Gaussians": lambda seed: (
        make_gaussian_ring(5000, random_state=seed)[0],
        make_gaussian_ring(2000, random_state=seed + 1000)[0],
    ),
    "figure eight": _generated(_figure_eight, 1500, 1000),
    "swiss roll": lambda seed: (
        make_swiss_roll(4000, noise=0.2, random_state=seed)[0],
        make_swiss_roll(2000, noise=0.2, random_state=seed + 1000)[0],
    ),
    "blobs 10-D": _generated(_blobs, 5000, 2000),
    "student-t 8-D": _generated(_student_t, 3000, 1500),
    "lognormal 6-D": _generated(_lognormal, 3000, 1500),
    "counts 6-D": _generated(_counts, 3000, 1500),
    "digits": _real(load_digits),
    "iris": _real(load_iris),
    "checkerboard": lambda seed: (
        make_checkers(10_000, random_state=seed)[0],
        make_checkers(2000, random_state=seed + 1000)[0],
    ),
    "two moons": _generated(_moons, 2000, 1000),
    "small mixture": _generated(_small_mixture, 100, 100),
    "s-curve": lambda seed: (
        make_s_curve(4000, noise=0.05, random_state=seed)[0],
        make_s_curve(2000, noise=0.05, random_state=seed + 1000)[0],
    ),
    "manifold 32-D": _generated(_manifold, 5000, 2000),
    "factor 64-D": _generated(_factor, 50_000, 2000),
    "gamma mixed": _generated(_gamma_mixed, 4000, 2000),
    "wine": _real(load_wine),
    "breast cancer": _real(load_breast_cancer),
    "diabetes": _real(load_diabetes, scaled=False),
}


def load_table(name, seed=0):
    """``(train, reference)``: training rows and held-out real rows of one table."""
    return _LOADERS[name](seed)


def tables(half="all"):
    """Names of the tables of ``"tuning"``, ``"confirmation"`` or ``"all"``."""
    return {
        "tuning": list(TUNING),
        "confirmation": list(CONFIRMATION),
        "all": [*TUNING, *CONFIRMATION],
    }[half]
