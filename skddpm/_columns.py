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
say so, in the dtypes of the training data. All of it is :class:`TableEncoder`, fitted
once. This module works on numpy arrays and pandas DataFrames; it knows nothing of
torch or training.
"""

import contextlib
import warnings

import numpy as np
import pandas as pd

from ._quantile import far_from_normal, from_scores, log_slope, quantile_map, to_scores
from ._validation import column_name

__all__ = ["TableEncoder", "paste_given"]

# -- fit -------------------------------------------------------------------------------------


def _levels(frame, j, values):
    """The levels of categorical column ``j`` seen in ``values`` (missing cells left out)."""
    dtype = frame.dtypes.iloc[j]
    present = values[~pd.isna(values)]
    try:
        seen = pd.unique(present)
    except TypeError as exc:
        raise TypeError(
            f"Column {column_name(frame, j)} of X holds a cell that cannot be a category ({exc}); "
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
            f"Column {column_name(frame, j)} of X mixes values of types {kinds}, which cannot be "
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
            f"Column {column_name(frame, j)} of X holds infinity. Replace or drop the infinite "
            "values before calling this method."
        )
    return out


class TableEncoder:
    """What a fit learned of a table's columns, and the maps between the table and the
    model's block.

    Made by :meth:`fit`; every later use of the columns (encoding rows, given cells,
    the clip range, the log-Jacobian, decoding samples) is a method here.

    Attributes
    ----------
    mean, scale : ndarray of shape (n_features,)
        The standardization of each numeric column (of its normal scores, for a column
        with a quantile map); 1 is the scale of a constant column. NaN for a
        categorical column.
    data_min, data_max : ndarray of shape (n_features,)
        The range of each numeric column at fit, NaN for a categorical one.
    integer_columns : ndarray of bool of shape (n_features,)
        The columns that held whole numbers only (when ``preserve_integers``).
    is_categorical : ndarray of bool of shape (n_features,)
    categories : list of length n_features
        The levels of each categorical column (an ndarray), None for a numeric one.
    missing : ndarray of bool of shape (n_features,)
        The columns that had missing cells.
    dtypes : list of length n_features
        Each column's dtype as plain values (:func:`_dtype_record`).
    names : list of length n_features
        The column labels.
    quantiles : list of length n_features
        Each numeric column's quantile map (:func:`~skddpm._quantile.quantile_map`), or
        None: a categorical column, or one that is standardized only.
    """

    _FIELDS = (
        "mean", "scale", "data_min", "data_max", "integer_columns", "is_categorical",
        "categories", "missing", "dtypes", "names", "quantiles",
    )  # fmt: skip

    def __init__(self, **fields):
        missing = set(self._FIELDS) - set(fields)
        if missing:
            raise TypeError(f"TableEncoder needs {sorted(missing)}.")
        for name in self._FIELDS:
            setattr(self, name, fields[name])

    def state(self):
        """The fields as plain values, for :mod:`~skddpm._persistence`."""
        return {name: getattr(self, name) for name in self._FIELDS}

    @classmethod
    def fit(cls, frame, is_categorical, preserve_integers, numeric_transform="standard"):
        """What a first fit learns of each column of ``frame``: a new encoder.

        ``numeric_transform="quantile"`` first maps each numeric column to normal scores
        by its quantiles (:func:`~skddpm._quantile.quantile_map`); the mean and scale
        are then those of the scores. "standard" standardizes the values themselves;
        "auto" maps the columns that are
        :func:`~skddpm._quantile.far_from_normal` and standardizes the others.
        ``is_categorical`` comes from :func:`categorical_mask`.
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
                T = _scores(columns["quantiles"], numeric, X)
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
        return cls(**columns)

    def widened(self, frame):
        """A warm start's encoder: this one's scaling and levels, ranges widened to X's.

        New levels, or missing cells in a column that had none, are errors: the network
        has no place for them.
        """
        self.encode(frame)  # the same checks as every later use of the columns
        numeric = np.flatnonzero(~self.is_categorical)
        updated = self.state()
        if numeric.size:
            X = _numeric_block(frame, numeric)
            with _all_missing_allowed():
                low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
            for key, new, pick in (("data_min", low, np.fmin), ("data_max", high, np.fmax)):
                updated[key] = updated[key].copy()
                updated[key][numeric] = pick(updated[key][numeric], new)
            updated["integer_columns"] = self.integer_columns.copy()
            updated["integer_columns"][numeric] &= _whole(X)
        return type(self)(**updated)

    def layout(self):
        """``(n_numeric, sizes)``: the numeric width and the levels of each categorical variable.

        The variables are the categorical columns (their levels, and one more for a missing
        cell when the column had some at fit), then a two-level indicator (observed,
        missing) for each numeric column that had missing cells.
        """
        is_cat, missing = self.is_categorical, self.missing
        sizes = [len(self.categories[j]) + int(missing[j]) for j in np.flatnonzero(is_cat)]
        sizes += [2] * int((missing & ~is_cat).sum())
        return int((~is_cat).sum()), sizes

    def network_inputs(self):
        """``(n_inputs, one_hot_features)``: the block's width and its categories' part."""
        n_numeric, sizes = self.layout()
        return n_numeric + sum(sizes), sum(sizes)

    def to_model_units(self, X):
        """Numeric columns (n, n_numeric) in the data's units to the model's, float64."""
        numeric = np.flatnonzero(~self.is_categorical)
        T = _scores(self.quantiles, numeric, X)
        return (T - self.mean[numeric]) / self.scale[numeric]

    def from_model_units(self, Z):
        """The inverse of :meth:`to_model_units`, float64."""
        numeric = np.flatnonzero(~self.is_categorical)
        X = np.asarray(Z, dtype=np.float64) * self.scale[numeric] + self.mean[numeric]
        for k, j in enumerate(numeric):
            knots = self.quantiles[j]
            if knots is not None:
                X[:, k] = from_scores(X[:, k], knots)
        return X

    def model_units(self, frame):
        """The numeric columns of ``frame`` in the model's units (NaN where missing).

        What the network sees of them before the noise: the values the forward process
        starts from, for pictures of it.
        """
        return self.to_model_units(_numeric_block(frame, np.flatnonzero(~self.is_categorical)))

    def clip_range(self):
        """``(low, high)``: the fitted range of each numeric column in the model's units.

        A column with no observed value has no range: 0 stands in, as for its cells.
        """
        numeric = ~self.is_categorical
        return tuple(
            np.nan_to_num(self.to_model_units(v[numeric][None, :])[0])
            for v in (self.data_min, self.data_max)
        )

    def log_jacobian(self, frame):
        """``log |dz/dx|`` of the map to the model's units, summed over each row's observed
        numbers: the model's log-density plus this is the log-density in the data's units.

        A quantile map adds its :func:`~skddpm._quantile.log_slope`.
        """
        numeric = np.flatnonzero(~self.is_categorical)
        if not numeric.size:
            return np.zeros(frame.shape[0])
        X = _numeric_block(frame, numeric)
        logs = np.broadcast_to(-np.log(self.scale[numeric]), X.shape).copy()
        for k, j in enumerate(numeric):
            if self.quantiles[j] is not None:
                logs[:, k] += log_slope(X[:, k], self.quantiles[j])
        logs[np.isnan(X)] = 0.0
        return logs.sum(axis=1)

    def encode(self, frame, what="X"):
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
        is_cat, missing = self.is_categorical, self.missing
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
                    f"Column {column_name(frame, j)} of {what}"
                    f" holds missing values (NaN, None or pd.NA), "
                    "but it had none when the generator was fitted, so the model cannot place "
                    "them; drop or fill those rows, or refit (warm_start=False) on data with "
                    "missing values in that column."
                )
            Z = self.to_model_units(X)
            if absent.any() or missing[numeric].any():
                Z[absent] = 0.0
                mask = (~absent).astype(np.float64)
            blocks.append(Z)
        codes = []
        for j in np.flatnonzero(is_cat):
            levels = self.categories[j]
            values = frame.iloc[:, j]
            index = _level_codes(values, levels)
            absent = pd.isna(values).to_numpy()
            unseen = (index < 0) & ~absent
            if unseen.any():
                new = pd.unique(values[unseen]).tolist()
                raise ValueError(
                    f"Column {column_name(frame, j)} of {what}"
                    f" holds {new[:5]}, not among the categories "
                    f"seen at fit ({levels.tolist()}); the model cannot make new categories. "
                    "Map them to known ones, or refit (warm_start=False) on data that has them."
                )
            if absent.any() and not missing[j]:
                raise ValueError(
                    f"Column {column_name(frame, j)} of {what}"
                    f" holds missing values (NaN, None or pd.NA), "
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

    def encode_given(self, frame, *, fill):
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
        is_cat, missing = self.is_categorical, self.missing
        given = ~frame.isna().to_numpy()
        parts = {}
        for j in range(frame.shape[1]):
            values = frame.iloc[:, j]
            if is_cat[j]:
                levels = self.categories[j]
                stand_in = levels[0] if len(levels) else None
                parts[j] = values.astype(object).where(given[:, j], stand_in)
            else:
                numbers_ = _numeric_values(frame, j)
                low, high = self.data_min[j], self.data_max[j]
                outside = given[:, j] & ((numbers_ < low) | (numbers_ > high))
                if outside.any():
                    warnings.warn(
                        f"Column {column_name(frame, j)} of given"
                        f" holds {numbers_[outside][:3].tolist()}, "
                        f"outside the range seen at fit [{low:g}, {high:g}]; the model has "
                        "not seen such rows, so the cells drawn beside them are extrapolated.",
                        UserWarning,
                        stacklevel=4,
                    )
                parts[j] = pd.Series(np.where(given[:, j], numbers_, low))
        filled = pd.DataFrame({j: part.reset_index(drop=True) for j, part in parts.items()})
        filled.columns = frame.columns
        Z, _ = self.encode(filled, what="given")
        _n_numeric, sizes = self.layout()
        numeric, categorical = np.flatnonzero(~is_cat), np.flatnonzero(is_cat)
        variables = [given[:, j] for j in categorical]
        variables += [given[:, j] | fill for j in numeric if missing[j]]
        known = np.concatenate(
            [given[:, numeric]]
            + [np.repeat(v[:, None], k, axis=1) for v, k in zip(variables, sizes)],
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

    def _split_levels(self, Z):
        """Numbers and each categorical variable's level index from rows of the block."""
        n_numeric, sizes = self.layout()
        numbers_, start, index = Z[:, :n_numeric], n_numeric, []
        for size in sizes:
            index.append(np.argmax(Z[:, start : start + size], axis=1))
            start += size
        return numbers_, index

    def to_codes(self, Z):
        """Rows of the block as (n, n_features) floats: numbers in the data's units, level indices.

        For the reverse chain's pictures, where ``x_t`` is not yet a table: a categorical
        column holds the index of its most likely level (its missing level after the last).
        """
        is_cat = self.is_categorical
        numbers_, index = self._split_levels(Z)
        out = np.empty((Z.shape[0], len(is_cat)))
        numeric = np.flatnonzero(~is_cat)
        out[:, numeric] = self.from_model_units(numbers_)
        for k, j in enumerate(np.flatnonzero(is_cat)):
            out[:, j] = index[k]
        return out

    def decode(self, Z, *, clip):
        """Rows of the model's block as a DataFrame with the columns and dtypes seen at fit.

        Numbers are clipped to the fitted range (``clip``: x̂₀ was clipped in float32, this
        makes the range exact) and whole-number columns rounded within it; categories are
        the most likely level of each variable's one-hot code; cells are missing where a
        column's missing level or indicator says so.
        """
        is_cat, missing = self.is_categorical, self.missing
        numbers_, index = self._split_levels(Z)
        numeric = np.flatnonzero(~is_cat)
        X = self.from_model_units(numbers_)
        low, high = self.data_min[numeric], self.data_max[numeric]
        if clip:
            np.clip(X, low, high, out=X)
        whole = self.integer_columns[numeric]
        if whole.any():
            X[:, whole] = np.clip(np.round(X[:, whole]), low[whole], high[whole])
        n_categorical = int(is_cat.sum())
        indicators = iter(index[n_categorical:])
        data = {}
        for k, j in enumerate(numeric):
            values = X[:, k]
            if missing[j]:
                values = np.where(next(indicators) == 1, np.nan, values)
            data[j] = _as_dtype(values, self.dtypes[j], np.isnan(values))
        for k, j in enumerate(np.flatnonzero(is_cat)):
            levels = self.categories[j]
            codes = index[k]
            absent = codes >= len(levels)
            values = np.empty(len(codes), dtype=object)
            if len(levels):
                values[~absent] = levels[codes[~absent]]
            values[absent] = None
            data[j] = _as_dtype(values, self.dtypes[j], absent)
        frame = pd.DataFrame({j: data[j] for j in range(len(is_cat))})
        frame.columns = self.names
        return frame


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


def _scores(quantiles, numeric, X):
    """The numeric columns ``X`` with those that have a quantile map as normal scores."""
    T = np.array(X, dtype=np.float64)
    for k, j in enumerate(numeric):
        if quantiles[j] is not None:
            T[:, k] = to_scores(T[:, k], quantiles[j])
    return T


def _whole(X):
    with np.errstate(invalid="ignore"):
        return np.all((X == np.round(X)) | np.isnan(X), axis=0)


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


def _as_dtype(values, record, absent):
    """A column of ``values`` (missing where ``absent``) in the dtype of ``record``."""
    if isinstance(record, tuple):
        _, categories, ordered = record
        return pd.Categorical(values, categories=categories, ordered=ordered)
    dtype = pd.api.types.pandas_dtype(record)
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        out = values.astype(object)
        out[absent] = np.nan
        # A Series of its own: from a bare object array pandas 3 would infer "str".
        return pd.Series(out, dtype=object)
    if isinstance(dtype, np.dtype):
        # A numpy integer or bool column had no missing cells at fit, so has none here.
        return values.astype(dtype)
    # Nullable and string dtypes: pandas puts their own missing value where None is.
    return pd.Series(values, dtype=object).where(~absent, None).astype(dtype).array
