"""The user's arguments checked: a table's shape, its cells' dtypes and which columns
are categories, and the numbers a method takes.

One validation for every method that takes a table (the estimator's X and ``given``,
the imputer's X), with messages that name the argument, and one for a scalar argument
(:func:`check_number`, on scikit-learn's ``check_scalar``). This module knows nothing
of the model, torch or training.
"""

import numbers
import re

import numpy as np
import pandas as pd
from sklearn.utils import check_scalar
from sklearn.utils.validation import validate_data

__all__ = ["as_frame", "categorical_mask", "check_number", "column_name", "validate_table"]


def check_number(value, name, *, integer, low=None, high=None, fix=""):
    """``value`` as an int (``integer``) or a finite float in ``[low, high]``, or an error.

    scikit-learn's ``check_scalar`` does the checking (a wrong type is a TypeError, a
    value out of range a ValueError); a bool is not taken as a number, and the message
    says what is expected, what came (``name=value``) and ``fix``, what to pass instead.
    """
    expected = "a whole number" if integer else "a finite number"
    if low is not None and high is not None:
        expected += f" in [{low}, {high}]"
    elif low is not None:
        expected += f" >= {low}"
    kind = numbers.Integral if integer else numbers.Real
    try:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TypeError
        check_scalar(value, name, kind, min_val=low, max_val=high)
        if not np.isfinite(value):
            raise ValueError
    except (TypeError, ValueError) as exc:
        given = f"{value!r} ({type(value).__name__})" if isinstance(exc, TypeError) else repr(value)
        message = f"{name} must be {expected}, got {name}={given}"
        raise type(exc)(f"{message}; {fix}" if fix else f"{message}.") from None
    return int(value) if integer else float(value)


def validate_table(estimator, X, *, reset, name="X"):
    """``(frame, dtype)``: X as a DataFrame, and the dtype of an array X (None for a frame).

    A DataFrame is taken as it is (its names and width checked against ``estimator``
    by scikit-learn's ``validate_data``); anything else is validated as numbers
    (float32 kept) or, when it holds text, as objects. Missing values pass. ``reset``
    as in ``validate_data``; ``name`` is the argument the messages name.
    """
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                f"is required: {name} needs at least one row."
            )
        if X.shape[1] < 1:
            raise ValueError(
                f"{name} is a DataFrame with no columns (shape={X.shape}); pass a table "
                "with at least one column."
            )
        return X, None
    checks = {"reset": reset, "ensure_all_finite": "allow-nan"}
    try:
        try:
            X = validate_data(estimator, X, dtype=[np.float64, np.float32], **checks)
        except ValueError as exc:
            if "could not convert" not in str(exc):
                raise
            X = validate_data(estimator, X, dtype=object, **checks)
    except (TypeError, ValueError) as exc:
        # scikit-learn calls every table "X"; the message names the argument given.
        message = re.sub(r"\bX\b", name, str(exc))
        hint = input_hint(message)
        if hint is not None or message != str(exc):
            raise type(exc)(message if hint is None else f"{message} {hint}") from exc
        raise
    return as_frame(X), X.dtype


# Hints added to scikit-learn's messages for bad X, keyed by a phrase of the message.
_INPUT_HINTS = {
    "infinity": "Replace or drop the infinite values before calling this method.",
    "dim <= 2": "X must be 2-D, (n_samples, n_features): reshape it, e.g. X.reshape(len(X), -1).",
}


def input_hint(message):
    """What to do about a validation error whose text is ``message``, or None."""
    for phrase, hint in _INPUT_HINTS.items():
        if phrase in message and hint not in message:
            return hint
    return None


# -- column kinds ----------------------------------------------------------------------------


def as_frame(X):
    """X as a DataFrame: itself, or an array's columns with the dtypes pandas infers.

    A numeric array keeps its dtype; an object array (text beside numbers) gets each
    column's own dtype, as ``DataFrame.infer_objects`` finds it.
    """
    if isinstance(X, pd.DataFrame):
        return X
    frame = pd.DataFrame(X, copy=False)
    return frame.infer_objects() if X.dtype == object else frame


def column_name(frame, j):
    """The label of column ``j`` as a message shows it."""
    return repr(frame.columns[j])


def _is_categorical_dtype(dtype):
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _check_dtype(frame, j):
    dtype = frame.dtypes.iloc[j]
    if _is_categorical_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        if not pd.api.types.is_complex_dtype(dtype):
            return
    raise ValueError(
        f"Column {column_name(frame, j)} of X has dtype {dtype}, which DiffusionGenerator cannot "
        "model: it takes numbers, booleans and categories (category, object or string "
        "dtypes). Convert it (for example a date to a number with "
        ".astype('int64'), or to text with .astype(str)) or drop it."
    )


def categorical_mask(frame, categorical_features, feature_names):
    """Which columns of ``frame`` are categorical, as a bool array.

    ``categorical_features`` is "from_dtype" (bool, category, object and string
    columns), None (none), or indices, names or a boolean mask as in
    ``HistGradientBoostingClassifier``. A text column cannot be made numeric.
    """
    n = frame.shape[1]
    for j in range(n):
        _check_dtype(frame, j)
    from_dtype = np.array([_is_categorical_dtype(d) for d in frame.dtypes], dtype=bool)
    if isinstance(categorical_features, str) and categorical_features == "from_dtype":
        return from_dtype
    mask = np.zeros(n, dtype=bool)
    if categorical_features is not None:
        mask = _features_mask(categorical_features, n, feature_names)
    text = (
        from_dtype
        & ~mask
        & np.array([not pd.api.types.is_bool_dtype(d) for d in frame.dtypes], dtype=bool)
    )
    if text.any():
        j = int(np.flatnonzero(text)[0])
        raise ValueError(
            f"Column {column_name(frame, j)} of X has dtype {frame.dtypes.iloc[j]} but "
            f"categorical_features={categorical_features!r} makes it numeric; include it "
            "in categorical_features (or leave categorical_features='from_dtype'), or "
            "convert it to numbers."
        )
    return mask | (from_dtype & ~text)


def _features_mask(features, n, feature_names):
    values = np.asarray(features)
    if values.ndim != 1:
        raise ValueError(
            f"categorical_features must be 1-D (indices, names or a boolean mask), got "
            f"shape {values.shape}."
        )
    if values.dtype.kind == "b":
        if len(values) != n:
            raise ValueError(
                f"categorical_features is a boolean mask of length {len(values)} but X has "
                f"{n} columns; give one entry per column."
            )
        return values.copy()
    mask = np.zeros(n, dtype=bool)
    if values.size == 0:
        return mask
    if values.dtype.kind in "iu":
        bad = values[(values < 0) | (values >= n)]
        if bad.size:
            raise ValueError(
                f"categorical_features holds the index {bad[0]}, but X has {n} columns "
                f"(indices 0 to {n - 1})."
            )
        mask[values] = True
        return mask
    if values.dtype.kind in "OUS":
        if feature_names is None:
            raise ValueError(
                "categorical_features names columns, but X has no column names; pass a "
                "DataFrame, or give the columns' indices."
            )
        names = list(feature_names)
        for name in values.tolist():
            if name not in names:
                raise ValueError(
                    f"categorical_features names {name!r}, which is not a column of X; its "
                    f"columns are {names}."
                )
            mask[names.index(name)] = True
        return mask
    raise ValueError(
        f"categorical_features must hold ints, strings or bools, got {values.dtype} ({features!r})."
    )
