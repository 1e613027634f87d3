"""Measures of how well generated rows match real ones."""

from numbers import Integral

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils import check_array
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

__all__ = ["classifier_two_sample_test"]


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
    X, Y : array-like of shape (n_x, n_features) and (n_y, n_features)
        The two samples, for example real and generated rows.
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
    X = check_array(X, input_name="X")
    Y = check_array(Y, input_name="Y")
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
    rows = np.vstack([X, Y])
    labels = np.r_[np.zeros(len(X)), np.ones(len(Y))]
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return float(cross_val_score(classifier, rows, labels, cv=folds, scoring="accuracy").mean())
