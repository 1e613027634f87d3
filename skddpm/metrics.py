"""Measures of how well generated rows match real ones.

Each compares two samples, for example real rows and generated ones. None of them is 0
(or 0.5) for two real samples of finite size: compare a generator's figure with the one
two independent real samples of the same sizes give, its floor.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import pairwise_distances_chunked
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils import check_array
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

__all__ = ["classifier_two_sample_test", "energy_distance", "maximum_mean_discrepancy"]

# Rows used to pick the RBF bandwidth by the median heuristic: the median of ~2M
# distances is stable to a percent, and all pairs of large samples would be slow.
_MEDIAN_ROWS = 2000


def _check_samples(X, Y, min_rows=2):
    X = check_array(X, input_name="X", dtype=np.float64)
    Y = check_array(Y, input_name="Y", dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but Y has {Y.shape[1]}; the samples must share "
            "their columns."
        )
    if min(len(X), len(Y)) < min_rows:
        raise ValueError(f"Each sample needs at least {min_rows} rows, got {len(X)} and {len(Y)}.")
    return X, Y


def _mean_pairwise(A, B, transform, *, same):
    """Mean of ``transform(d(a, b))`` over pairs, without the diagonal when ``same``.

    Computed in chunks of rows, so memory stays bounded for large samples.
    """
    total = 0.0

    def reduce(chunk, start):
        nonlocal total
        total += transform(chunk).sum()
        return None

    for _ in pairwise_distances_chunked(A, B, reduce_func=reduce):
        pass
    if same:
        total -= len(A) * transform(np.zeros(1))[0]
        return total / (len(A) * (len(A) - 1))
    return total / (len(A) * len(B))


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def energy_distance(X, Y):
    """The energy distance between two samples of any dimension (Székely & Rizzo, 2013).

    ``D² = 2 E‖x - y‖ - E‖x - x'‖ - E‖y - y'‖`` with x, x' from X and y, y' from Y, in
    the units of the data. It is zero exactly when the two distributions are equal.
    The within-sample means leave out each row's distance to itself (U-statistics), so
    the estimate is unbiased: two real samples give about 0, give or take a small
    spread, and can give a slightly negative figure.

    Parameters
    ----------
    X, Y : array-like of shape (n_x, n_features) and (n_y, n_features)
        At least two rows each.

    Returns
    -------
    distance : float
        The squared energy distance ``D²``; smaller is better.

    Examples
    --------
    >>> import numpy as np
    >>> from skddpm.metrics import energy_distance
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    >>> abs(energy_distance(a, b)) < 0.02
    True
    >>> energy_distance(a, b + 1) > 0.5
    True
    """
    X, Y = _check_samples(X, Y)
    identity = np.asarray
    return float(
        2 * _mean_pairwise(X, Y, identity, same=False)
        - _mean_pairwise(X, X, identity, same=True)
        - _mean_pairwise(Y, Y, identity, same=True)
    )


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "bandwidth": [Interval(Real, 0, None, closed="neither"), None],
    },
    prefer_skip_nested_validation=True,
)
def maximum_mean_discrepancy(X, Y, *, bandwidth=None):
    """The squared maximum mean discrepancy between two samples, with an RBF kernel.

    ``MMD² = E k(x, x') + E k(y, y') - 2 E k(x, y)`` with
    ``k(a, b) = exp(-‖a - b‖² / (2 h²))`` (Gretton et al., 2012), estimated without
    bias (the diagonal is left out), so two real samples give about 0 and possibly a
    slightly negative figure. Between 0 and 2; smaller is better.

    Parameters
    ----------
    X, Y : array-like of shape (n_x, n_features) and (n_y, n_features)
        At least two rows each.
    bandwidth : float, default=None
        The kernel width ``h``, in the data's units. None takes the median heuristic:
        the median distance between rows of the pooled samples (of 2,000 evenly spaced
        rows of them when they are larger), so the figure does not depend on the
        data's scale.

    Returns
    -------
    mmd2 : float

    Examples
    --------
    >>> import numpy as np
    >>> from skddpm.metrics import maximum_mean_discrepancy
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    >>> abs(maximum_mean_discrepancy(a, b)) < 0.01
    True
    >>> maximum_mean_discrepancy(a, b + 1) > 0.1
    True
    """
    X, Y = _check_samples(X, Y)
    if bandwidth is None:
        pooled = np.vstack([X, Y])
        pooled = pooled[np.linspace(0, len(pooled) - 1, min(len(pooled), _MEDIAN_ROWS)).astype(int)]
        distances = np.concatenate(list(pairwise_distances_chunked(pooled)), axis=None)
        bandwidth = float(np.median(distances[distances > 0])) if np.any(distances > 0) else 1.0

    def kernel(distance):
        return np.exp(-(distance**2) / (2 * bandwidth**2))

    return float(
        _mean_pairwise(X, X, kernel, same=True)
        + _mean_pairwise(Y, Y, kernel, same=True)
        - 2 * _mean_pairwise(X, Y, kernel, same=False)
    )


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "classifier": [HasMethods(["fit", "predict"]), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def classifier_two_sample_test(X, Y, *, classifier=None, cv=5, random_state=None):
    """Cross-validated accuracy of a classifier told to separate X's rows from Y's.

    The classifier two-sample test (C2ST, Lopez-Paz & Oquab, 2017): 0.5 means the two
    samples cannot be told apart, 1.0 that they always can. Two real samples of the same
    size score about 0.5 plus noise (±0.01 for 2,000 rows each); compare a generator's
    score with that floor rather than with 0.5.

    Parameters
    ----------
    X, Y : array-like or DataFrame of shape (n_x, n_features) and (n_y, n_features)
        The two samples, for example real and generated rows. Two DataFrames may hold
        categorical, boolean and text columns and missing cells: the default
        classifier splits on categories natively (a column of more than 255 levels
        enters as its level codes) and sends missing cells down their own branch.
    classifier : estimator, default=None
        Defaults to ``HistGradientBoostingClassifier``.
    cv : int, default=5
        Folds of the shuffled stratified cross-validation.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the default classifier.

    Returns
    -------
    accuracy : float
        Mean held-out accuracy over the folds.

    Examples
    --------
    >>> import numpy as np
    >>> from skddpm.metrics import classifier_two_sample_test
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 2)), rng.normal(3, 1, size=(500, 2))
    >>> classifier_two_sample_test(a, b, random_state=0) > 0.9
    True
    """
    if hasattr(X, "columns") and hasattr(Y, "columns"):
        rows = _mixed_rows(X, Y)
    else:
        X = check_array(X, input_name="X")
        Y = check_array(Y, input_name="Y")
        rows = None
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but Y has {Y.shape[1]}; the samples must share "
            "their columns."
        )
    if min(len(X), len(Y)) < cv:
        raise ValueError(
            f"Each sample needs at least cv={cv} rows, got {len(X)} and {len(Y)}; "
            "pass more rows or a smaller cv."
        )
    if classifier is None:
        classifier = HistGradientBoostingClassifier(random_state=random_state)
    rows = np.vstack([X, Y]) if rows is None else rows
    labels = np.r_[np.zeros(len(X)), np.ones(len(Y))]
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return float(cross_val_score(classifier, rows, labels, cv=folds, scoring="accuracy").mean())


# HistGradientBoostingClassifier's most categories per feature.
_MAX_CATEGORIES = 255


def _mixed_rows(X, Y):
    """Two DataFrames stacked, their non-numeric columns as shared pandas categories."""
    import pandas as pd

    if list(X.columns) != list(Y.columns):
        raise ValueError(
            f"X has the columns {list(X.columns)} but Y has {list(Y.columns)}; the samples "
            "must share their columns, in the same order."
        )
    rows = pd.concat([X, Y], ignore_index=True)
    for name in rows.columns:
        column = rows[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            rows[name] = column.astype(np.float64)
            continue
        column = column.astype(object).where(column.notna(), None).astype("category")
        if len(column.cat.categories) > _MAX_CATEGORIES:
            column = column.cat.codes.replace(-1, np.nan).astype(np.float64)
        rows[name] = column
    return rows
