"""A table's columns and the model's block: kinds, scaling, categories, missing cells, and back.

The model sees a table as one float block: the numeric columns standardized (zero
mean, unit variance, in float64 here), then one-hot codes of the categorical
variables. Those are the categorical columns (a missing cell is one more level of its
column), then, for each numeric column that had missing cells at fit, a variable of two
levels that says whether the cell is missing. The model learns where cells are missing
from the indicators, jointly with the rest of the row. A missing number is the stand-in
0 in the block: nothing is imputed (the column's statistics come from its observed
cells), the model learns the stand-in as what a missing cell holds, tied to its
indicator, and it never comes out, the cell is missing in the samples. (Leaving the
stand-in out of the loss instead, as MissDiff does, let the indicators drift from what
the network saw in training: samples held 3 to 5 points too few missing cells.)

Samples come back in the data's units, clipped to the range seen at fit, whole-number
columns rounded, categories from those seen at fit, missing cells where the indicators
say so, in the dtypes of the training data. Class labels ``y`` become class indices here
too. This module works on numpy arrays and pandas DataFrames; it knows nothing of torch
or training.
"""

import contextlib
import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.utils.multiclass import type_of_target

__all__ = [
    "as_frame",
    "categorical_mask",
    "decode",
    "encode",
    "encode_labels",
    "far_from_normal",
    "fit_columns",
    "input_hint",
    "label_indices",
    "layout",
    "log_jacobian",
    "numbers_from_model",
    "numbers_to_model",
    "quantile_map",
    "standardize",
    "to_codes",
    "to_user_units",
    "update_columns",
]

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


def _name(frame, j):
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
        f"Column {_name(frame, j)} of X has dtype {dtype}, which DiffusionGenerator cannot "
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
            f"Column {_name(frame, j)} of X has dtype {frame.dtypes.iloc[j]} but "
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


# -- fit -------------------------------------------------------------------------------------


def _levels(frame, j, values):
    """The levels of categorical column ``j`` seen in ``values`` (missing cells left out)."""
    dtype = frame.dtypes.iloc[j]
    present = values[~pd.isna(values)]
    try:
        seen = pd.unique(present)
    except TypeError as exc:
        raise TypeError(
            f"Column {_name(frame, j)} of X holds a cell that cannot be a category ({exc}); "
            "categories must be hashable values such as strings or numbers. Convert the "
            "column, for example with .astype(str)."
        ) from None
    if isinstance(dtype, pd.CategoricalDtype):
        seen = set(seen.tolist())
        return [level for level in dtype.categories.tolist() if level in seen]
    seen = [_plain(level) for level in seen.tolist()]
    try:
        return sorted(seen)
    except TypeError:
        kinds = sorted({type(level).__name__ for level in seen})
        raise TypeError(
            f"Column {_name(frame, j)} of X mixes values of types {kinds}, which cannot be "
            "ordered as categories; make them one type, for example with .astype(str)."
        ) from None


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _dtype_record(dtype):
    """A dtype as plain values: its name, and a category dtype's categories and order."""
    if isinstance(dtype, pd.CategoricalDtype):
        return ("category", dtype.categories.tolist(), bool(dtype.ordered))
    return str(dtype)


def _numeric_values(frame, j):
    values = frame.iloc[:, j]
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        out = values.to_numpy()
    else:
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(out).any():
        raise ValueError(
            f"Column {_name(frame, j)} of X holds infinity. Replace or drop the infinite "
            "values before calling this method."
        )
    return out


def fit_columns(frame, is_categorical, preserve_integers, numeric_transform="standard"):
    """What a first fit learns of each column of ``frame``.

    ``numeric_transform="quantile"`` first maps each numeric column to normal scores by
    its quantiles (:func:`quantile_map`); the mean and scale are then those of the
    scores. "standard" standardizes the values themselves; "auto" maps the columns
    that are :func:`far_from_normal` and standardizes the others.

    Returns
    -------
    columns : dict
        ``quantiles``, each numeric column's quantile map (None for a categorical
        column, or with "standard"); ``mean``, ``scale`` (1 for a constant column,
        which stays constant),
        ``data_min``, ``data_max`` and ``integer_columns`` (whole numbers only, when
        ``preserve_integers``), arrays of shape (n_features,) that are NaN (False) for
        categorical columns; ``is_categorical``; ``categories``, a list with the levels
        of each categorical column (None for a numeric one); ``missing``, the columns
        that had missing cells; ``dtypes``, each column's dtype as plain values;
        ``names``, the column labels.
    """
    n = frame.shape[1]
    columns = {
        "mean": np.full(n, np.nan),
        "scale": np.full(n, np.nan),
        "data_min": np.full(n, np.nan),
        "data_max": np.full(n, np.nan),
        "integer_columns": np.zeros(n, dtype=bool),
        "is_categorical": np.asarray(is_categorical, dtype=bool).copy(),
        "categories": [None] * n,
        "missing": np.zeros(n, dtype=bool),
        "dtypes": [_dtype_record(d) for d in frame.dtypes],
        "names": [_plain(name) for name in frame.columns.tolist()],
        "quantiles": [None] * n,
    }
    numeric = np.flatnonzero(~columns["is_categorical"])
    if numeric.size:
        X = _numeric_block(frame, numeric)
        missing = np.isnan(X)
        with _all_missing_allowed():
            low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        T = X
        if numeric_transform != "standard":
            for k, j in enumerate(numeric):
                if numeric_transform == "quantile" or far_from_normal(X[:, k]):
                    columns["quantiles"][j] = quantile_map(X[:, k])
            T = _quantile_forward(columns, numeric, X)
        if missing.any():
            with _all_missing_allowed():
                mean = np.nanmean(T, axis=0, dtype=np.float64)
                scale = np.nanstd(T, axis=0, dtype=np.float64)
            mean[np.isnan(mean)] = 0.0  # a column with no observed cell
        else:
            mean = T.mean(axis=0, dtype=np.float64)
            scale = T.std(axis=0, dtype=np.float64)
        scale[(scale == 0) | np.isnan(scale)] = 1.0
        columns["mean"] = _scatter(columns["mean"], numeric, mean)
        columns["scale"] = _scatter(columns["scale"], numeric, scale)
        columns["data_min"] = _scatter(columns["data_min"].astype(low.dtype), numeric, low)
        columns["data_max"] = _scatter(columns["data_max"].astype(high.dtype), numeric, high)
        if preserve_integers:
            columns["integer_columns"][numeric] = _whole(X)
        columns["missing"][numeric] = missing.any(axis=0)
    for j in np.flatnonzero(columns["is_categorical"]):
        values = frame.iloc[:, j]
        columns["categories"][j] = np.array(_levels(frame, j, values) or [], dtype=object)
        columns["missing"][j] = bool(pd.isna(values).any())
    return columns


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


def _quantile_scores(x, knots):
    """Values to normal scores: a tied value to the middle of its scores (as sklearn does),
    linear between distinct quantiles and beyond the end ones."""
    values, scores = _distinct(knots)
    if len(values) == 1:
        return np.zeros_like(x, dtype=np.float64)
    return _extend(np.interp(x, values, scores), x, values, scores)


def _quantile_values(z, knots):
    """Normal scores back to values. A tied value owns the whole range of its scores, so
    the values the data piles on (prices, sizes rounded to a grid) come back piled."""
    values, scores = _distinct(knots)
    if len(values) == 1:
        return np.full_like(z, values[0], dtype=np.float64)
    out = np.interp(z, knots[1], knots[0])
    return _extend(out, z, scores, values)


def _quantile_forward(columns, numeric, X):
    T = np.array(X, dtype=np.float64)
    for k, j in enumerate(numeric):
        knots = columns["quantiles"][j]
        if knots is not None:
            T[:, k] = _quantile_scores(T[:, k], knots)
    return T


def numbers_to_model(columns, X):
    """Numeric columns (n, n_numeric) in the data's units to the model's, float64."""
    numeric = np.flatnonzero(~columns["is_categorical"])
    T = _quantile_forward(columns, numeric, X)
    return standardize(T, columns["mean"][numeric], columns["scale"][numeric])


def numbers_from_model(columns, Z):
    """The inverse of :func:`numbers_to_model`."""
    numeric = np.flatnonzero(~columns["is_categorical"])
    X = to_user_units(Z, columns["mean"][numeric], columns["scale"][numeric])
    for k, j in enumerate(numeric):
        knots = columns["quantiles"][j]
        if knots is not None:
            X[:, k] = _quantile_values(X[:, k], knots)
    return X


def log_jacobian(columns, frame):
    """``log |dz/dx|`` of the map to the model's units, summed over each row's observed
    numbers: the model's log-density plus this is the log-density in the data's units.

    A quantile map is linear between its distinct quantiles: a value on one takes the
    slope of the segment that ends there (a value the data piles on has, strictly, no
    density; this is the density of its neighbourhood).
    """
    numeric = np.flatnonzero(~columns["is_categorical"])
    if not numeric.size:
        return np.zeros(frame.shape[0])
    X = _numeric_block(frame, numeric)
    logs = np.broadcast_to(-np.log(columns["scale"][numeric]), X.shape).copy()
    for k, j in enumerate(numeric):
        knots = columns["quantiles"][j]
        if knots is None:
            continue
        values, scores = _distinct(knots)
        if len(values) > 1:
            slopes = np.diff(scores) / np.diff(values)
            segment = np.clip(np.searchsorted(values, X[:, k]) - 1, 0, len(slopes) - 1)
            logs[:, k] += np.log(slopes[segment])
    logs[np.isnan(X)] = 0.0
    return logs.sum(axis=1)


@contextlib.contextmanager
def _all_missing_allowed():
    """Silence numpy's warnings about a column with no observed cell (NaN statistics)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _scatter(target, index, values):
    target[index] = values
    return target


def _numeric_block(frame, numeric):
    """The numeric columns as one float array (float32 kept, NaN where missing)."""
    parts = [_numeric_values(frame, j) for j in numeric]
    dtype = np.result_type(*[p.dtype for p in parts])
    return np.stack(parts, axis=1).astype(dtype, copy=False)


def update_columns(columns, frame):
    """A warm start's columns: the first fit's scaling and levels, ranges widened to X's.

    New levels, or missing cells in a column that had none, are errors: the network
    has no place for them.
    """
    encode(columns, frame)  # the same checks as every later use of the columns
    numeric = np.flatnonzero(~columns["is_categorical"])
    updated = dict(columns)
    if numeric.size:
        X = _numeric_block(frame, numeric)
        with _all_missing_allowed():
            low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        for key, new, pick in (("data_min", low, np.fmin), ("data_max", high, np.fmax)):
            updated[key] = columns[key].copy()
            updated[key][numeric] = pick(columns[key][numeric], new)
        updated["integer_columns"] = columns["integer_columns"].copy()
        updated["integer_columns"][numeric] &= _whole(X)
    return updated


def _whole(X):
    with np.errstate(invalid="ignore"):
        return np.all((X == np.round(X)) | np.isnan(X), axis=0)


# -- the model's block -------------------------------------------------------------------------


def layout(columns):
    """``(n_numeric, sizes)``: the numeric width and the levels of each categorical variable.

    The variables are the categorical columns (their levels, and one more for a missing
    cell when the column had some at fit), then a two-level indicator (observed,
    missing) for each numeric column that had missing cells.
    """
    is_cat, missing = columns["is_categorical"], columns["missing"]
    sizes = [len(columns["categories"][j]) + int(missing[j]) for j in np.flatnonzero(is_cat)]
    sizes += [2] * int((missing & ~is_cat).sum())
    return int((~is_cat).sum()), sizes


def standardize(X, mean, scale):
    """X in the model's units, float64."""
    return (np.asarray(X, dtype=np.float64) - mean) / scale


def to_user_units(Z, mean, scale):
    """Rows in the model's units (any float array) back in the data's, float64."""
    return np.asarray(Z, dtype=np.float64) * scale + mean


def encode(columns, frame, what="X"):
    """``(Z, mask)``: the model's block of ``frame`` and where its numbers are observed.

    ``what`` names the table in the errors.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_numeric + sum(sizes))
        float64: standardized numbers (0 where missing), then one-hot codes.
    mask : ndarray of shape (n_samples, n_numeric) or None
        1.0 where a number is observed, 0.0 where it is missing; None when no numeric
        column had missing cells at fit.

    Raises
    ------
    ValueError
        A level not seen at fit, or a missing cell in a column that had none.
    """
    is_cat, missing = columns["is_categorical"], columns["missing"]
    numeric = np.flatnonzero(~is_cat)
    n_rows = frame.shape[0]
    blocks, mask = [], None
    if numeric.size:
        X = _numeric_block(frame, numeric)
        absent = np.isnan(X)
        unexpected = absent.any(axis=0) & ~missing[numeric]
        if unexpected.any():
            j = int(numeric[np.flatnonzero(unexpected)[0]])
            raise ValueError(
                f"Column {_name(frame, j)} of {what} holds missing values (NaN, None or pd.NA), "
                "but it had none when the generator was fitted, so the model cannot place "
                "them; drop or fill those rows, or refit (warm_start=False) on data with "
                "missing values in that column."
            )
        Z = numbers_to_model(columns, X)
        if absent.any() or missing[numeric].any():
            Z[absent] = 0.0
            mask = (~absent).astype(np.float64)
        blocks.append(Z)
    codes = []
    for j in np.flatnonzero(is_cat):
        levels = columns["categories"][j]
        values = frame.iloc[:, j]
        index = _level_codes(values, levels)
        absent = pd.isna(values).to_numpy()
        unseen = (index < 0) & ~absent
        if unseen.any():
            new = pd.unique(values[unseen]).tolist()
            raise ValueError(
                f"Column {_name(frame, j)} of {what} holds {new[:5]}, not among the categories "
                f"seen at fit ({levels.tolist()}); the model cannot make new categories. "
                "Map them to known ones, or refit (warm_start=False) on data that has them."
            )
        if absent.any() and not missing[j]:
            raise ValueError(
                f"Column {_name(frame, j)} of {what} holds missing values (NaN, None or pd.NA), "
                "but it had none when the generator was fitted, so the model cannot place "
                "them; drop or fill those rows, or refit on data with missing values."
            )
        index[absent] = len(levels)
        codes.append((index, len(levels) + int(missing[j])))
    if mask is not None:
        for k, j in enumerate(numeric):
            if missing[j]:
                codes.append(((mask[:, k] == 0).astype(np.int64), 2))
    for index, size in codes:
        onehot = np.zeros((n_rows, size))
        onehot[np.arange(n_rows), index] = 1.0
        blocks.append(onehot)
    if not blocks:
        return np.zeros((n_rows, 0)), mask
    return np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0], mask


def encode_given(columns, frame, *, fill):
    """``(Z, known, allowed)``: a table of given cells in the model's block.

    ``frame`` holds the given cells and missing values where a cell is to be drawn.

    Parameters
    ----------
    fill : bool
        Draw values, never missing cells: a free numeric cell's observed/missing
        indicator is known to be "observed" and a free categorical cell may not take
        its missing level. False lets free cells come out missing at the model's rate.

    Returns
    -------
    Z : ndarray of shape (n_samples, width)
        The block of ``frame`` (stand-ins in the free cells).
    known : ndarray of shape (n_samples, width)
        1.0 on the block's columns of the given cells (and of known indicators).
    allowed : ndarray of shape (n_samples, width of the categories' block) or None
        1.0 for the levels a free categorical cell may take; None without ``fill``.
    """
    is_cat, missing = columns["is_categorical"], columns["missing"]
    given = ~frame.isna().to_numpy()
    parts = {}
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j]
        if is_cat[j]:
            levels = columns["categories"][j]
            stand_in = levels[0] if len(levels) else None
            parts[j] = values.astype(object).where(given[:, j], stand_in)
        else:
            numbers_ = _numeric_values(frame, j)
            low, high = columns["data_min"][j], columns["data_max"][j]
            outside = given[:, j] & ((numbers_ < low) | (numbers_ > high))
            if outside.any():
                warnings.warn(
                    f"Column {_name(frame, j)} of given holds {numbers_[outside][:3].tolist()}, "
                    f"outside the range seen at fit [{low:g}, {high:g}]; the model has "
                    "not seen such rows, so the cells drawn beside them are extrapolated.",
                    UserWarning,
                    stacklevel=4,
                )
            parts[j] = pd.Series(np.where(given[:, j], numbers_, low))
    filled = pd.DataFrame({j: part.reset_index(drop=True) for j, part in parts.items()})
    filled.columns = frame.columns
    Z, _ = encode(columns, filled, what="given")
    _n_numeric, sizes = layout(columns)
    numeric, categorical = np.flatnonzero(~is_cat), np.flatnonzero(is_cat)
    variables = [given[:, j] for j in categorical]
    variables += [given[:, j] | fill for j in numeric if missing[j]]
    known = np.concatenate(
        [given[:, numeric]] + [np.repeat(v[:, None], k, axis=1) for v, k in zip(variables, sizes)],
        axis=1,
    ).astype(np.float64)
    if not fill:
        return Z, known, None
    allowed = np.ones((frame.shape[0], sum(sizes)))
    start = 0
    for j, k in zip(categorical, sizes):
        if missing[j]:
            allowed[~given[:, j], start + k - 1] = 0.0
        start += k
    return Z, known, allowed


def paste_given(frame, given):
    """``frame`` with the cells ``given`` holds (one row for all, or one per row) put back."""
    out = frame.copy()
    present = ~given.isna().to_numpy()
    if given.shape[0] == 1:
        present = np.repeat(present, frame.shape[0], axis=0)
    for j in np.flatnonzero(present.any(axis=0)):
        values = given.iloc[:, j].to_numpy(dtype=object)
        if given.shape[0] == 1:
            values = np.repeat(values, frame.shape[0])
        column = out.iloc[:, j].astype(object)
        column[present[:, j]] = values[present[:, j]]
        out.isetitem(j, pd.Series(column, index=out.index).astype(out.dtypes.iloc[j]))
    return out


def _level_codes(values, levels):
    """The index of each value among ``levels``, -1 for missing or unseen values."""
    index = pd.Index(levels, dtype=object)
    return index.get_indexer(values.to_numpy(dtype=object)).astype(np.int64)


def _split_levels(columns, Z):
    """Numbers and each categorical variable's level index from rows of the block."""
    n_numeric, sizes = layout(columns)
    numbers_, start, index = Z[:, :n_numeric], n_numeric, []
    for size in sizes:
        index.append(np.argmax(Z[:, start : start + size], axis=1))
        start += size
    return numbers_, index


def to_codes(columns, Z):
    """Rows of the block as (n, n_features) floats: numbers in the data's units, level indices.

    For the reverse chain's pictures, where ``x_t`` is not yet a table: a categorical
    column holds the index of its most likely level (its missing level after the last).
    """
    is_cat = columns["is_categorical"]
    numbers_, index = _split_levels(columns, Z)
    out = np.empty((Z.shape[0], len(is_cat)))
    numeric = np.flatnonzero(~is_cat)
    out[:, numeric] = numbers_from_model(columns, numbers_)
    for k, j in enumerate(np.flatnonzero(is_cat)):
        out[:, j] = index[k]
    return out


def decode(columns, Z, *, clip):
    """Rows of the model's block as a DataFrame with the columns and dtypes seen at fit.

    Numbers are clipped to the fitted range (``clip``: x̂₀ was clipped in float32, this
    makes the range exact) and whole-number columns rounded within it; categories are
    the most likely level of each variable's one-hot code; cells are missing where a
    column's missing level or indicator says so.
    """
    is_cat, missing = columns["is_categorical"], columns["missing"]
    numbers_, index = _split_levels(columns, Z)
    numeric = np.flatnonzero(~is_cat)
    X = numbers_from_model(columns, numbers_)
    low, high = columns["data_min"][numeric], columns["data_max"][numeric]
    if clip:
        np.clip(X, low, high, out=X)
    whole = columns["integer_columns"][numeric]
    if whole.any():
        X[:, whole] = np.clip(np.round(X[:, whole]), low[whole], high[whole])
    n_categorical = int(is_cat.sum())
    indicators = iter(index[n_categorical:])
    data = {}
    for k, j in enumerate(numeric):
        values = X[:, k]
        if missing[j]:
            values = np.where(next(indicators) == 1, np.nan, values)
        data[j] = _as_dtype(values, columns["dtypes"][j], np.isnan(values))
    for k, j in enumerate(np.flatnonzero(is_cat)):
        levels = columns["categories"][j]
        codes = index[k]
        absent = codes >= len(levels)
        values = np.empty(len(codes), dtype=object)
        if len(levels):
            values[~absent] = levels[codes[~absent]]
        values[absent] = None
        data[j] = _as_dtype(values, columns["dtypes"][j], absent)
    frame = pd.DataFrame({j: data[j] for j in range(len(is_cat))})
    frame.columns = columns["names"]
    return frame


def _as_dtype(values, record, absent):
    """A column of ``values`` (missing where ``absent``) in the dtype of ``record``."""
    if isinstance(record, tuple):
        _, categories, ordered = record
        return pd.Categorical(values, categories=categories, ordered=ordered)
    dtype = pd.api.types.pandas_dtype(record)
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        out = values.astype(object)
        out[absent] = np.nan
        return out
    if isinstance(dtype, np.dtype):
        # A numpy integer or bool column had no missing cells at fit, so has none here.
        return values.astype(dtype)
    # Nullable and string dtypes: pandas puts their own missing value where None is.
    return pd.Series(values, dtype=object).where(~absent, None).astype(dtype).array


# -- labels ----------------------------------------------------------------------------------


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
