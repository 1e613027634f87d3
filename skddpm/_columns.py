"""A table's columns and the model's numeric block: checks, standardization, and back.

The model sees each column standardized (zero mean, unit variance, in float64 here);
samples come back in the data's units, clipped to the range seen at fit, whole-number
columns rounded, in the dtype of the training data. Class labels ``y`` become class
indices here too. This module works on numpy arrays that scikit-learn's validation has
already made; it knows nothing of torch or training.
"""

import numpy as np
from sklearn.utils.multiclass import type_of_target

__all__ = [
    "check_numeric_columns",
    "encode_labels",
    "finish_samples",
    "fit_columns",
    "input_hint",
    "label_indices",
    "standardize",
    "to_user_units",
    "update_columns",
]

# Hints added to scikit-learn's messages for bad X, keyed by a phrase of the message.
_INPUT_HINTS = {
    "infinity": "Replace or drop the infinite values before calling this method.",
    "could not convert": (
        "X must hold numbers only: encode text (for example with "
        "sklearn.preprocessing.OrdinalEncoder) or drop those columns."
    ),
    "dim <= 2": "X must be 2-D, (n_samples, n_features): reshape it, e.g. X.reshape(len(X), -1).",
}


def input_hint(message):
    """What to do about a validation error whose text is ``message``, or None."""
    for phrase, hint in _INPUT_HINTS.items():
        if phrase in message and hint not in message:
            return hint
    return None


def check_numeric_columns(X):
    """Name the first non-numeric column of a DataFrame before numpy loses its name."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    for column, dtype in dtypes.items():
        if getattr(dtype, "kind", "O") not in "biuf":
            raise ValueError(
                f"Column {column!r} of X has dtype {dtype}, which is not numeric; "
                "DiffusionGenerator models numeric tables. Encode it (for example with "
                "sklearn.preprocessing.OrdinalEncoder) or drop it."
            )


def fit_columns(X, preserve_integers):
    """What a first fit learns of each column of X.

    Returns
    -------
    columns : dict
        ``mean``, ``scale`` (1 for a constant column, which stays constant),
        ``data_min``, ``data_max`` and ``integer_columns`` (whole numbers only, when
        ``preserve_integers``), arrays of shape (n_features,).
    """
    scale = X.std(axis=0, dtype=np.float64)
    scale[scale == 0] = 1.0
    return {
        "mean": X.mean(axis=0, dtype=np.float64),
        "scale": scale,
        "data_min": X.min(axis=0),
        "data_max": X.max(axis=0),
        "integer_columns": (
            _whole(X) if preserve_integers else np.zeros(X.shape[1], dtype=bool)
        ),
    }


def update_columns(columns, X):
    """A warm start's columns: the first fit's scaling, the ranges widened to X's."""
    return {
        **columns,
        "data_min": np.minimum(columns["data_min"], X.min(axis=0)),
        "data_max": np.maximum(columns["data_max"], X.max(axis=0)),
        "integer_columns": columns["integer_columns"] & _whole(X),
    }


def _whole(X):
    return np.all(X == np.round(X), axis=0)


def standardize(X, mean, scale):
    """X in the model's units, float64."""
    return (np.asarray(X, dtype=np.float64) - mean) / scale


def to_user_units(Z, mean, scale):
    """Rows in the model's units (any float array) back in the data's, float64."""
    return np.asarray(Z, dtype=np.float64) * scale + mean


def finish_samples(X, *, data_min, data_max, integer_columns, clip, dtype):
    """Samples in the data's units as ``sample`` returns them, changed in place.

    Clipped to the fitted range (``clip``: x̂₀ was clipped in float32, this makes the
    range exact), whole-number columns rounded within it, cast to ``dtype``.
    """
    if clip:
        np.clip(X, data_min, data_max, out=X)
    if integer_columns.any():
        X[:, integer_columns] = np.clip(
            np.round(X[:, integer_columns]), data_min[integer_columns], data_max[integer_columns]
        )
    return X.astype(dtype, copy=False)


def _is_missing(label):
    """None, NaN, NaT or pd.NA (whose comparisons give NA, which has no truth value)."""
    if label is None:
        return True
    try:
        return bool(label != label)
    except TypeError:
        return True


def encode_labels(y, n_rows):
    """``(classes, indices)`` for labels ``y``, or ``(None, None)`` when y is None.

    Missing labels and continuous targets are refused with a message that says what
    to do; ``classes`` are sorted as ``np.unique`` sorts them.
    """
    if y is None:
        return None, None
    values = np.asarray(y, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1 or len(values) != n_rows:
        raise ValueError(
            f"y must hold one label per row of X: expected shape ({n_rows},), got {values.shape}."
        )
    missing = [i for i, label in enumerate(values.tolist()) if _is_missing(label)]
    if missing:
        raise ValueError(
            f"y holds a missing label (None, NaN or pd.NA) at row {missing[0]}; drop those "
            "rows or give them a class of their own."
        )
    values = np.asarray(y).reshape(n_rows)
    try:
        classes, indices = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            f"The labels in y cannot be sorted ({exc}); use labels of one kind, for "
            "example all strings."
        ) from None
    kind = type_of_target(values, input_name="y")
    if kind not in ("binary", "multiclass"):
        example = values.ravel()[:1].tolist()[0]
        raise ValueError(
            f"Unknown label type: y is {kind} (for example {example!r}), but "
            "DiffusionGenerator takes class labels and would make one class per distinct "
            "value. To condition on a number, bin it (for example with "
            "sklearn.preprocessing.KBinsDiscretizer) or make it a column of X."
        )
    return classes, indices.ravel()


def label_indices(classes, y, n_samples):
    """Indices into ``classes`` of the labels ``y`` (one per row, or one for all rows)."""
    values = np.asarray(y, dtype=object)
    if values.ndim == 0:
        values = np.full(n_samples, values.item(), dtype=object)
    elif values.ndim != 1 or len(values) != n_samples:
        raise ValueError(
            f"y has shape {values.shape} but n_samples={n_samples}; pass one label for "
            "every row, or a single label for all of them."
        )
    index = {label: i for i, label in enumerate(classes.tolist())}
    unknown = [label for label in values.tolist() if label not in index]
    if unknown:
        raise ValueError(
            f"y holds {unknown[0]!r}, which is not one of the classes seen at fit: "
            f"{classes.tolist()}."
        )
    return np.array([index[label] for label in values.tolist()], dtype=np.int64)
