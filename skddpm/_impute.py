"""``DiffusionImputer``: missing cells filled by draws from a generator's conditional.

A transformer in the style of ``sklearn.impute``. It fits a
:class:`~skddpm.DiffusionGenerator` on the incomplete table as it is (the generator
learns where cells are missing, nothing is filled first) and fills each hole with a
draw given the row's observed cells, by the generator's inpainting
(``sample(given=...)``). It knows nothing of the network or the training loop.
"""

import numbers
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._estimator import DiffusionGenerator
from ._persistence import (
    decode,
    encode,
    export_state,
    read_model_file,
    rebuilding,
    restore_state,
    write_model_file,
)
from ._runtime import draw_seed
from ._validation import as_frame, check_number, validate_table

__all__ = ["DiffusionImputer"]


def _is_nan(value):
    return isinstance(value, numbers.Real) and np.isnan(value)


class DiffusionImputer(TransformerMixin, BaseEstimator):
    """Fill missing cells with draws from a diffusion model of the table.

    ``fit`` trains a :class:`DiffusionGenerator` on the incomplete table as it is: the
    generator learns the missing cells as data, so nothing is filled first. ``transform``
    fills every missing cell with a draw from the generator's conditional distribution
    given the row's observed cells (inpainting in the reverse chain, see
    :meth:`DiffusionGenerator.sample`); observed cells are never changed. Several draws
    (:meth:`multiple_imputations`) give multiple imputation; their spread is the
    uncertainty of each filled cell.

    Read more in the :ref:`User Guide <imputation>`.

    Parameters
    ----------
    generator : DiffusionGenerator, default=None
        The model to fit, as ``IterativeImputer(estimator=...)`` takes one: it is cloned
        at fit. None is ``DiffusionGenerator()`` with its defaults. A generator without
        a ``random_state`` gets one drawn from this imputer's.
    missing_values : float, int, str or None, default=np.nan
        The placeholder of a missing cell; NaN, None and ``pd.NA`` are always missing.
    sample_posterior : bool, default=True
        True: each cell is one draw from the conditional, so filled rows keep the
        table's spread. False: each cell is the conditional mean, estimated from
        ``n_draws`` draws (for a categorical column, the most frequent draw): closer to
        the truth on average, but the filled cells have less spread than real ones.
        (``IterativeImputer`` defaults to False; a generative imputer's point is the
        draw.)
    n_draws : int, default=20
        The draws averaged when ``sample_posterior=False``.
    jumps : int, default=0
        RePaint's resampling jumps of the inpainting (:meth:`DiffusionGenerator.sample`).
    corrector_steps : int, default=3
        Langevin corrector steps of the inpainting after each reverse step.
    add_indicator : bool, default=False
        Append a 0/1 column per feature that had missing cells at fit, 1 where the cell
        was missing (as ``sklearn.impute.MissingIndicator`` with
        ``features="missing-only"``).
    keep_empty_features : bool, default=False
        A feature with no observed cell at fit has nothing to learn from. False drops
        it from the output; True keeps it, filled with 0 (as ``SimpleImputer``).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws (and the generator, when it has no seed of its own): with an
        int, ``transform`` returns the same table for the same input.

    Attributes
    ----------
    generator_ : DiffusionGenerator
        The fitted generator (on the features that had an observed cell).
    indicator_features_ : ndarray of int
        The features that had missing cells at fit, those ``add_indicator`` marks.
    n_features_in_ : int
        The number of columns of the table seen at fit.
    feature_names_in_ : ndarray of str
        The column names seen at fit; defined only when X had string column names.

    See Also
    --------
    DiffusionGenerator.sample : ``sample(given=...)``, rows with some cells fixed.
    sklearn.impute.IterativeImputer : Each feature regressed on the others, in turn.

    Notes
    -----
    A row is filled given its observed cells; when the generator saw missing cells in
    a column, the filled value is drawn as if the cell were observed. The inpainting
    sets its Langevin step from all the rows filled together (Song et al. 2021), so a
    row's draw depends, a little, on the rows imputed with it.

    Examples
    --------
    >>> import numpy as np
    >>> from skddpm import DiffusionGenerator, DiffusionImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=500)
    >>> X[rng.random(500) < 0.2, 1] = np.nan
    >>> imputer = DiffusionImputer(DiffusionGenerator(max_iter=5), random_state=0)
    >>> X_filled = imputer.fit_transform(X)
    >>> bool(np.isnan(X_filled).any())
    False
    """

    _parameter_constraints = {
        "generator": [HasMethods(["fit", "sample"]), None],
        "missing_values": [numbers.Real, numbers.Integral, str, None],
        "sample_posterior": ["boolean"],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "jumps": [Interval(Integral, 0, None, closed="left")],
        "corrector_steps": [Interval(Integral, 0, None, closed="left")],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        generator=None,
        *,
        missing_values=np.nan,
        sample_posterior=True,
        n_draws=20,
        jumps=0,
        corrector_steps=3,
        add_indicator=False,
        keep_empty_features=False,
        random_state=None,
    ):
        self.generator = generator
        self.missing_values = missing_values
        self.sample_posterior = sample_posterior
        self.n_draws = n_draws
        self.jumps = jumps
        self.corrector_steps = corrector_steps
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -- validation ------------------------------------------------------------------------

    def _table(self, X, *, reset):
        """``(frame, missing)``: X as a DataFrame with missing cells as NaN/NA, and where
        they are."""
        frame, _ = validate_table(self, X, reset=reset)
        missing = frame.isna().to_numpy()
        if not (self.missing_values is None or _is_nan(self.missing_values)):
            placeholder = (frame == self.missing_values).to_numpy()
            missing = missing | placeholder
            frame = frame.mask(pd.DataFrame(placeholder, index=frame.index, columns=frame.columns))
        return frame, missing

    # -- fit and transform -----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the generator on the incomplete table X.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Missing cells as ``missing_values`` (NaN, None and pd.NA always count).
        y : None
            Ignored.

        Returns
        -------
        self : DiffusionImputer
        """
        frame, missing = self._table(X, reset=True)
        self._empty = missing.all(axis=0)
        self.indicator_features_ = np.flatnonzero(missing.any(axis=0))
        self._array_dtype = None if isinstance(X, pd.DataFrame) else np.asarray(X).dtype
        generator = DiffusionGenerator() if self.generator is None else self.generator
        generator = clone(generator)
        if generator.get_params().get("random_state", 0) is None:
            generator.set_params(random_state=draw_seed(self.random_state))
        self.generator_ = generator.fit(self._kept(frame))
        return self

    def _kept(self, frame):
        """The features the generator models: those with an observed cell at fit."""
        table = frame.iloc[:, np.flatnonzero(~self._empty)]
        if self._array_dtype is not None:
            return table.to_numpy(dtype=self._array_dtype)
        return table

    def _draws(self, given, n_draws, random_state):
        """``n_draws`` completions of the rows of ``given`` (the kept features, as
        :meth:`_kept` gives them), as one list of frames, the rows of each in order."""
        stacked = given
        if n_draws > 1 and isinstance(given, pd.DataFrame):
            stacked = pd.concat([given] * n_draws, ignore_index=True)
        elif n_draws > 1:
            stacked = np.concatenate([given] * n_draws)
        out = self.generator_.sample(
            len(stacked), given=stacked, allow_missing=False, random_state=draw_seed(random_state),
            jumps=self.jumps, corrector_steps=self.corrector_steps,
        )  # fmt: skip
        out = as_frame(out)
        n = len(given)
        return [out.iloc[k * n : (k + 1) * n].reset_index(drop=True) for k in range(n_draws)]

    def _complete(self, X, n_draws, average, random_state):
        """X with its missing cells filled: one table per draw, or their average."""
        check_is_fitted(self)
        frame, missing = self._table(X, reset=False)
        kept = np.flatnonzero(~self._empty)
        rows = np.flatnonzero(missing[:, kept].any(axis=1))
        filled = [frame.copy() for _ in range(1 if average else n_draws)]
        if rows.size and kept.size:
            draws = self._draws(self._kept(frame.iloc[rows]), n_draws, random_state)
            if average:
                draws = [_average(draws, self.generator_.is_categorical_)]
            for table, draw in zip(filled, draws):
                for k, j in enumerate(kept):
                    holes = missing[rows, j]
                    if holes.any():
                        column = table.iloc[:, j].to_numpy(dtype=object, copy=True)
                        column[rows[holes]] = draw.iloc[:, k].to_numpy(dtype=object)[holes]
                        table.isetitem(j, _like(column, table.iloc[:, j], draw.iloc[:, k]))
        return [self._output(table, missing, X) for table in filled]

    def _output(self, table, missing, X):
        """A completed table as ``transform`` returns it: empty features dropped or
        zeros, indicators appended, an array for an array X."""
        if self.keep_empty_features:
            for j in np.flatnonzero(self._empty):
                table.isetitem(j, pd.Series(np.zeros(len(table)), index=table.index))
        else:
            table = table.iloc[:, np.flatnonzero(~self._empty)]
        if self.add_indicator:
            marks = missing[:, self.indicator_features_]
            names = self._indicator_names()
            indicator = pd.DataFrame(marks.astype(np.float64), columns=names, index=table.index)
            table = pd.concat([table, indicator], axis=1)
        if isinstance(X, pd.DataFrame):
            return table
        dtype = self._array_dtype if self._array_dtype is not None else np.float64
        return table.to_numpy(dtype=dtype)

    def _indicator_names(self):
        names = _check_feature_names_in(self, None)
        return [f"missingindicator_{names[j]}" for j in self.indicator_features_]

    def transform(self, X):
        """Fill every missing cell of X; observed cells are returned as they are.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        X_filled : ndarray or DataFrame of shape (n_samples, n_features_out)
            A DataFrame for a DataFrame X (its columns and dtypes), else an array. The
            features with no observed cell at fit are dropped unless
            ``keep_empty_features``; the indicators follow when ``add_indicator``.
        """
        average = not self.sample_posterior
        (table,) = self._complete(X, self.n_draws if average else 1, average, self.random_state)
        return table

    def multiple_imputations(self, X, n_imputations=20):
        """``n_imputations`` completions of X, each hole an independent conditional draw.

        For multiple imputation (Rubin 1987): fit the downstream model on each table and
        pool, or read each filled cell's spread across the tables as its uncertainty.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        n_imputations : int, default=20

        Returns
        -------
        tables : list of n_imputations arrays or DataFrames, as :meth:`transform` gives
        """
        n_imputations = check_number(
            n_imputations, "n_imputations", integer=True, low=1, fix="ask for one table or more."
        )
        return self._complete(X, int(n_imputations), False, self.random_state)

    def get_feature_names_out(self, input_features=None):
        """The output's column names: the kept features, then the indicators.

        Parameters
        ----------
        input_features : array-like of str or None, default=None

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if not self.keep_empty_features:
            names = names[~self._empty]
        if self.add_indicator:
            names = np.concatenate([names, np.asarray(self._indicator_names(), dtype=object)])
        return np.asarray(names, dtype=object)

    # -- persistence -----------------------------------------------------------------------

    def save(self, path):
        """Write the fitted imputer to ``path`` in the generator's safe format.

        The generator's weights and state and the imputer's own go into one file that
        loading never executes (see :meth:`DiffusionGenerator.save`).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        self : DiffusionImputer
        """
        check_is_fitted(self)
        state, tensors = export_state(self.generator_)
        own = {k: v for k, v in self.__dict__.items() if k not in ("generator", "generator_")}
        content = {
            "state": encode(state, "DiffusionGenerator"),
            "imputer": encode(own, "DiffusionImputer"),
        }
        write_model_file(path, "DiffusionImputer", content, tensors)
        return self

    @classmethod
    def load(cls, path, *, device=None):
        """Read an imputer written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : {"cpu", "cuda", "cuda:N", "auto"}, default=None
            As in :meth:`DiffusionGenerator.load`.

        Returns
        -------
        imputer : DiffusionImputer
        """
        content, tensors = read_model_file(path, "DiffusionImputer", device=device)
        generator = DiffusionGenerator.__new__(DiffusionGenerator)
        imputer = cls.__new__(cls)
        with rebuilding(path):
            restore_state(generator, decode(content["state"]), tensors, device)
            imputer.__dict__.update(decode(content["imputer"]))
        imputer.generator = clone(generator)
        imputer.generator_ = generator
        return imputer


def _average(draws, is_categorical):
    """The mean of the numeric columns of several draws, the most frequent categories."""
    first = draws[0].copy()
    for j in range(first.shape[1]):
        if is_categorical[j]:
            stacked = pd.concat([d.iloc[:, j] for d in draws], axis=1).astype(object)
            first.isetitem(j, stacked.mode(axis=1).iloc[:, 0].astype(first.dtypes.iloc[j]))
        else:
            values = np.stack([d.iloc[:, j].to_numpy(dtype=np.float64) for d in draws])
            first.isetitem(j, pd.Series(values.mean(axis=0), index=first.index))
    return first


def _like(values, original, drawn):
    """``values`` (objects) as a column of the input's dtype, or of the draw's where the
    input's cannot hold them (a float column in an int64 input, say)."""
    try:
        return pd.Series(values, index=original.index).astype(original.dtype)
    except (TypeError, ValueError):
        return pd.Series(values, index=original.index).astype(drawn.dtype)
