"""The scikit-learn estimator: parameters, validation, fitted attributes.

It composes the other modules and holds none of their loops: the table encoder
(``_columns``), the network, the schedule, the training loop, devices and seeds
(``_runtime``); ``sample`` and ``sample_trajectory`` come from ``_sampling`` and
``score_samples`` from ``_likelihood`` (both through ``_model``), pickling and the
safe file from ``_persistence``.
"""

import numbers
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._columns import TableEncoder
from ._labels import encode_labels
from ._likelihood import LikelihoodMixin
from ._persistence import PersistenceMixin, continued_state
from ._runtime import (
    progress_bar,
    resolve_device,
    seed,
    seed_sequence,
    torch_generator,
)
from ._sampling import SamplingMixin
from ._validation import categorical_mask, validate_table
from .diffusion import (
    LOSSES,
    PREDICTION_TYPES,
    VARIANCE_TYPES,
    GaussianDiffusion,
)
from .network import ACTIVATIONS, DEFAULT_STRUCTURE, build_network
from .schedules import BETA_SCHEDULES, NoiseSchedule, betas_for
from .training import (
    EMA,
    NonFiniteLossError,
    TrainingState,
    make_optimizer,
    resolve_batch_size,
    resolve_max_iter,
    train,
    validation_split,
)

__all__ = ["DiffusionGenerator"]

# Parameters that fix the schedule or the network: warm_start cannot change them.
_STRUCTURE_PARAMS = (
    "timesteps",
    "beta_schedule",
    "beta_start",
    "beta_end",
    "prediction_type",
    "hidden_layer_sizes",
    "activation",
    "time_embedding",
    "embedding_dim",
    "fourier_features",
    "residual",
    "categorical_features",
    "numeric_transform",
)


def _encoder_field(name):
    """A fitted attribute read from the table encoder ``encoder_``."""
    return property(lambda self: getattr(self.encoder_, name), doc=f"``encoder_.{name}``.")


class DiffusionGenerator(SamplingMixin, LikelihoodMixin, PersistenceMixin, BaseEstimator):
    """Generate new rows like a table with a denoising diffusion model (DDPM).

    ``fit`` learns to undo a gradual noising of the data (Ho et al., 2020); ``sample``
    starts from pure noise and applies the learned denoiser ``timesteps`` times. Numeric
    columns are standardized inside and come back in the data's units; categorical
    columns are diffused as categories (multinomial diffusion, Hoogeboom et al., 2021)
    in the same chain; missing cells are learned, with their pattern. Fitted on a
    DataFrame, ``sample`` returns a DataFrame with its columns and dtypes.

    Parameters
    ----------
    timesteps : int, default=100
        ``T``, the number of noising steps, and the network calls per sample. The
        linear, quadratic and sigmoid schedules need ``T >= 1000 * beta_end / 0.999``
        (21 at the default ``beta_end``): below it some betas are clipped and fitting
        warns; ``"cosine"`` has no such limit.
    beta_schedule : {"linear", "cosine", "quadratic", "sigmoid"} or array-like of shape \
(timesteps,), default="cosine"
        The variances ``β_t`` of the forward steps (``"cosine"``: Nichol & Dhariwal,
        2021). An array gives them directly; its length must equal ``timesteps``. A
        warning is raised when the schedule leaves ``ᾱ_T`` above 0.01, that is when it
        never reaches noise.
    beta_start, beta_end : float, default=1e-4, 0.02
        First and last β of the built-in schedules, given as if ``T`` were 1000 and
        scaled by ``1000 / timesteps``. Ignored by ``"cosine"`` (which warns when
        they differ from these defaults) and by arrays.
    prediction_type : {"epsilon", "sample", "v_prediction", "mean"}, default="epsilon"
        What the network predicts: the noise, the clean rows, the velocity
        ``√ᾱ_t ε - √(1 - ᾱ_t) x₀``, or the posterior mean.
    clip_sample : bool, default=True
        Clip each estimate ``x̂₀`` to the range each column had at fit time.
    variance_type : {"fixed_small", "fixed_large"}, default="fixed_small"
        The variance ``σ_t²`` of each reverse step (Ho et al. §3.2), used by the
        ancestral sampler and by :meth:`score_samples`: the posterior variance ``β̃_t``
        or the forward variance ``β_t``. "fixed_small" draws better samples (spiral
        C2ST 0.545 against 0.574 at the defaults before issue 12, 0.566 against 0.617 at
        ``timesteps=40``); "fixed_large" gives a far tighter bound (with a perfect
        denoiser of Gaussian data at ``timesteps=100`` it is within 0.01 nats of the
        exact log-likelihood, against 1.3 for "fixed_small"). It needs no refit:
        ``set_params(variance_type="fixed_large")`` before scoring.
    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Width of each residual block of the denoising network.
    activation : {"silu", "relu", "gelu", "tanh"}, default="silu"
    time_embedding : {"sinusoidal", "learned"}, default="sinusoidal"
        How the step ``t`` is embedded.
    embedding_dim : int, default=64
        Size of the step embedding (even).
    fourier_features : int, default=4
        Sine and cosine features ``sin(2^k π x / 4)`` of each standardized column for
        ``k < fourier_features`` (periods of 8, 4, 2 and 1 standard deviations at the
        default); 0 feeds the columns as they are.
    residual : bool, default=True
        Residual blocks with layer norm; False gives a plain MLP.
    batch_size : int or "auto", default="auto"
        Rows per optimizer step (fewer if the data has fewer rows). "auto" is
        ``min(256, max(16, n_samples // 8))``: at least eight steps an epoch, and
        batches of 256 rows from 2,048 training rows up.
    learning_rate : {"constant", "cosine"}, default="cosine"
        How Adam's step size changes over a ``fit``: kept at ``learning_rate_init``, or
        annealed from it to zero along a half cosine over the ``max_iter`` epochs.
    learning_rate_init : float, default=2e-3
        Adam's initial learning rate.
    max_iter : int or "auto", default="auto"
        Epochs: passes over the training rows. "auto" runs as many as make about 2,000
        optimizer steps, at least one: the budget of a fit is set in steps, so a small
        table gets as much training as a large one (a 100-row table 333 epochs, a
        50,000-row table 11). ``n_iter_`` tells how many ran.
    loss : {"mse", "l1", "huber"}, default="mse"
        The distance between the network's output and its target.
    ema_decay : float, default=0.995
        Decay of the exponential moving average of the weights that sampling uses;
        0 samples with the trained weights themselves.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the best weights.
    validation_fraction : float, default=0.1
        Share of rows held out to compute ``validation_loss_curve_`` (and for early
        stopping); 0 trains on every row.
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` instead of starting
        again; the scaling learned by the first fit is kept.
    cond_drop_prob : float, default=0.2
        For a model fitted with labels: the probability that a training row's label is
        replaced by "no label", so the same network also samples unconditionally and
        classifier-free guidance works (0.2 as in the DenoisingDiffusion.jl examples).
    preserve_integers : bool, default=True
        Columns that held only whole numbers at fit time (counts, ages) come back
        rounded to whole numbers within the range seen at fit.
    categorical_features : "from_dtype", None or array-like, default="from_dtype"
        Which columns are categories, as in ``HistGradientBoostingClassifier``:
        "from_dtype" takes ``bool``, ``category``, ``object`` and string columns;
        None takes none (a text column is then an error); or the categorical columns
        as indices, names (of a DataFrame) or a boolean mask. A numeric column made
        categorical comes back as one of the values seen at fit.
    numeric_transform : {"auto", "quantile", "standard"}, default="auto"
        How numeric columns reach the model's units. "standard": standardized (mean 0,
        variance 1). "quantile": first mapped to normal scores by their quantiles (at
        most 1,000, as ``QuantileTransformer(output_distribution="normal")`` and TabDDPM
        do; linear between distinct quantiles, so invertible, and continued beyond the
        range seen at fit), which takes skew, heavy tails and piles of repeated values
        out of a column before the noise is added; values the data piles on come back
        piled. "auto": the quantile map for the columns that are skewed (absolute
        skewness above 1) or hold fewer distinct values than half their cells,
        standardization for the others. ``score_samples`` includes the map's
        log-Jacobian either way.
    device : {"cpu", "cuda", "cuda:N", "auto"}, default="cpu"
        Where the network trains and samples; "auto" takes CUDA where there is one.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the validation split, training and (unless ``sample`` gets
        its own) sampling, through explicit ``torch.Generator`` objects: the global
        numpy and torch random states are left untouched. An int makes ``fit`` and
        ``sample`` reproducible on the CPU.
    verbose : bool, default=False
        Show a progress bar of the epochs and the current loss during ``fit``, and of
        the rows during ``sample``, ``sample_trajectory`` and ``score_samples``.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained denoising network.
    ema_network_ : torch.nn.Module or None
        The moving average of its weights that sampling uses (None if ``ema_decay=0``).
    optimizer_ : torch.optim.Adam
    noise_schedule_ : NoiseSchedule
        The betas and the arrays derived from them.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_loss_curve_ : list of float or None
        Validation loss of each epoch, with the sampling weights and fixed noise.
    best_validation_loss_ : float or None
    n_iter_ : int
        Epochs run by the last ``fit``.
    encoder_ : TableEncoder
        What the fit learned of the columns; the attributes below are read from it.
    mean_, scale_ : ndarray of shape (n_features,)
        The standardization of each column.
    data_min_, data_max_ : ndarray of shape (n_features,)
        The range of each column at fit time; ``clip_sample`` keeps ``x̂₀`` inside it.
    integer_columns_ : ndarray of bool of shape (n_features,)
        Columns returned as whole numbers.
    is_categorical_ : ndarray of bool of shape (n_features,)
        The columns modelled as categories; ``mean_``, ``scale_``, ``data_min_`` and
        ``data_max_`` are NaN there.
    categories_ : list of length n_features
        The levels seen at fit of each categorical column (an ndarray), None for a
        numeric one.
    classes_ : ndarray of shape (n_classes,)
        The labels seen by ``fit(X, y)``, as ``np.unique`` orders them. Defined only for
        a model fitted with labels.
    class_prior_ : ndarray of shape (n_classes,)
        Each class's share of the rows of the last ``fit(X, y)``: ``sample(n)`` without
        ``y`` draws classes in these shares, and ``score_samples(X)`` without ``y``
        weights the classes' bounds by them. Defined only for a model fitted with labels.
    device_ : torch.device
        The device that ``device`` resolved to.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined only when X has feature names that are all strings.

    See Also
    --------
    sklearn.neighbors.KernelDensity : A kernel density estimate with ``sample``.
    sklearn.mixture.GaussianMixture : A Gaussian mixture with ``sample``.

    References
    ----------
    Ho, J., Jain, A. and Abbeel, P. (2020). Denoising Diffusion Probabilistic Models.
    NeurIPS.

    Examples
    --------
    >>> from skddpm import DiffusionGenerator
    >>> from skddpm.datasets import make_spiral
    >>> X, _ = make_spiral(500, random_state=0)
    >>> gen = DiffusionGenerator(timesteps=20, max_iter=5, random_state=0).fit(X)
    >>> gen.sample(100).shape
    (100, 2)
    """

    _parameter_constraints = {
        "timesteps": [Interval(Integral, 2, None, closed="left")],
        "beta_schedule": [StrOptions(set(BETA_SCHEDULES)), "array-like"],
        "beta_start": [Interval(Real, 0, 1, closed="neither")],
        "beta_end": [Interval(Real, 0, 1, closed="neither")],
        "prediction_type": [StrOptions(set(PREDICTION_TYPES))],
        "clip_sample": ["boolean"],
        "variance_type": [StrOptions(set(VARIANCE_TYPES))],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "time_embedding": [StrOptions({"sinusoidal", "learned"})],
        "embedding_dim": [Interval(Integral, 2, None, closed="left")],
        "fourier_features": [Interval(Integral, 0, None, closed="left")],
        "residual": ["boolean"],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "cond_drop_prob": [Interval(Real, 0, 1, closed="left")],
        "preserve_integers": ["boolean"],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "numeric_transform": [StrOptions({"auto", "quantile", "standard"})],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        timesteps=100,
        *,
        beta_schedule="cosine",
        beta_start=1e-4,
        beta_end=0.02,
        prediction_type="epsilon",
        clip_sample=True,
        variance_type="fixed_small",
        hidden_layer_sizes=DEFAULT_STRUCTURE["hidden_layer_sizes"],
        activation=DEFAULT_STRUCTURE["activation"],
        time_embedding=DEFAULT_STRUCTURE["time_embedding"],
        embedding_dim=DEFAULT_STRUCTURE["embedding_dim"],
        fourier_features=DEFAULT_STRUCTURE["fourier_features"],
        residual=DEFAULT_STRUCTURE["residual"],
        batch_size="auto",
        learning_rate="cosine",
        learning_rate_init=2e-3,
        max_iter="auto",
        loss="mse",
        ema_decay=0.995,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        shuffle=True,
        warm_start=False,
        cond_drop_prob=0.2,
        preserve_integers=True,
        categorical_features="from_dtype",
        numeric_transform="auto",
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.timesteps = timesteps
        self.beta_schedule = beta_schedule
        self.beta_start = beta_start
        self.beta_end = beta_end
        self.prediction_type = prediction_type
        self.clip_sample = clip_sample
        self.variance_type = variance_type
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.time_embedding = time_embedding
        self.embedding_dim = embedding_dim
        self.fourier_features = fourier_features
        self.residual = residual
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.loss = loss
        self.ema_decay = ema_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.cond_drop_prob = cond_drop_prob
        self.preserve_integers = preserve_integers
        self.categorical_features = categorical_features
        self.numeric_transform = numeric_transform
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -- validation ------------------------------------------------------------------------

    mean_ = _encoder_field("mean")
    scale_ = _encoder_field("scale")
    data_min_ = _encoder_field("data_min")
    data_max_ = _encoder_field("data_max")
    integer_columns_ = _encoder_field("integer_columns")
    is_categorical_ = _encoder_field("is_categorical")
    categories_ = _encoder_field("categories")

    def validate_table(self, X, *, name="X"):
        """``(frame, dtype)``: a table checked against the fitted columns.

        The one check of every method that takes a table (and of
        :class:`~skddpm.DiffusionImputer`, which uses it): X as a DataFrame, and the
        dtype of an array X (None for a DataFrame). Errors name the argument ``name``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        name : str, default="X"

        Returns
        -------
        frame : DataFrame
        dtype : numpy dtype or None
        """
        check_is_fitted(self)
        return validate_table(self, X, reset=False, name=name)

    def _check_structure(self):
        """The constructor values that the schedule and the network are built from."""
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        if not sizes or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(
                f"The 'hidden_layer_sizes' parameter must be a positive int or a non-empty "
                f"tuple of positive ints, got {self.hidden_layer_sizes!r}; for example (128, 128)."
            )
        if self.embedding_dim % 2:
            raise ValueError(
                f"The 'embedding_dim' parameter must be even, got {self.embedding_dim}; "
                f"use {self.embedding_dim + 1}."
            )
        return sizes, betas_for(self.beta_schedule, self.timesteps, self.beta_start, self.beta_end)

    def _check_warm_start(self, classes):
        """Refuse to continue a network whose structure or classes have changed."""
        changed = [
            name
            for name in _STRUCTURE_PARAMS
            if not _same(self.get_params()[name], self._structure[name])
        ]
        if changed:
            raise ValueError(
                f"warm_start=True continues the fitted network, but {', '.join(changed)} "
                "changed since it was fitted; set warm_start=False to fit a new one."
            )
        if not _same(classes, getattr(self, "classes_", None)):
            raise ValueError(
                "warm_start=True continues the fitted network, but the classes in y differ "
                "from those it was fitted with; set warm_start=False to fit a new one."
            )

    # -- fit --------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn to generate rows like those of X.

        A fit that fails (a diverging loss, an interrupt, too little memory) leaves the
        generator as it was before the call, whether it continues (``warm_start``) or
        starts again.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training rows: numbers (float32 data is sampled as float32), and, in a
            DataFrame or an object array, booleans, categories and text. Missing cells
            (NaN, None, ``pd.NA``) are learned: ``sample`` returns them at the data's
            rates.
        y : array-like of shape (n_samples,), default=None
            Class labels of any hashable, sortable kind (strings, ints, ...). With them
            the model is class-conditional: ``sample(n, y=...)`` draws rows of chosen
            classes, and ``sample(n)`` still draws from the whole table. A continuous
            target (a regression ``y``) is refused, as classifiers refuse it.

        Returns
        -------
        self : DiffusionGenerator
            The fitted generator.
        """
        before = dict(self.__dict__)
        try:
            return self._fit(X, y)
        except BaseException:
            # Validation sets n_features_in_ and feature_names_in_ before anything can
            # fail: whatever the failed call set or deleted goes back as it was.
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y):
        sizes, betas = self._check_structure()
        continuing = self.warm_start and hasattr(self, "network_")
        frame, array_dtype = validate_table(self, X, reset=not continuing)
        n_rows = frame.shape[0]
        classes, labels = encode_labels(y, n_rows)
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.long)
        if continuing:
            self._check_warm_start(classes)
        device = resolve_device(self.device)
        seeds = seed_sequence(self.random_state).spawn(3)
        if continuing:
            encoder = self.encoder_.widened(frame)
            schedule = self.noise_schedule_
            state = continued_state(self, device)
        else:
            is_categorical = categorical_mask(
                frame, self.categorical_features, getattr(self, "feature_names_in_", None)
            )
            encoder = TableEncoder.fit(
                frame, is_categorical, self.preserve_integers, self.numeric_transform
            )
            schedule = NoiseSchedule(betas)
            n_classes = 0 if classes is None else len(classes)
            state = self._initial_state(encoder, sizes, n_classes, device, seeds[0])

        # A missing number is the stand-in 0 beside its indicator (see _columns).
        Z, _ = encoder.encode(frame)
        X_scaled = torch.as_tensor(Z, dtype=torch.float32)
        train_rows, val_rows = validation_split(
            n_rows, self.validation_fraction, self.early_stopping,
            torch_generator(seeds[1], "cpu"),
        )  # fmt: skip
        if val_rows is not None and state.validation_loss_curve is None:
            state.validation_loss_curve = []

        def rows_on_device(values, rows):
            if values is None or rows is None:
                return None
            return values[rows].to(device)

        diffusion = GaussianDiffusion(
            schedule, self.prediction_type, device, categories=encoder.layout()[1]
        )
        # Each fit of a warm-started model continues with fresh randomness.
        generator = torch_generator(
            np.random.SeedSequence(
                seeds[2].entropy, spawn_key=(*seeds[2].spawn_key, len(state.loss_curve))
            ),
            device,
        )
        batch_size = resolve_batch_size(self.batch_size, len(train_rows))
        max_iter = resolve_max_iter(self.max_iter, len(train_rows), batch_size)
        with progress_bar(self.verbose, max_iter) as progress:
            try:
                n_iter = train(
                    state,
                    diffusion,
                    rows_on_device(X_scaled, train_rows),
                    rows_on_device(X_scaled, val_rows),
                    labels=rows_on_device(labels, train_rows),
                    val_labels=rows_on_device(labels, val_rows),
                    cond_drop_prob=self.cond_drop_prob,
                    max_iter=max_iter,
                    batch_size=batch_size,
                    loss=self.loss,
                    shuffle=self.shuffle,
                    early_stopping=self.early_stopping,
                    n_iter_no_change=self.n_iter_no_change,
                    tol=self.tol,
                    generator=generator,
                    learning_rate=self.learning_rate,
                    progress=progress,
                )
            except NonFiniteLossError as exc:
                raise ValueError(
                    f"Training diverged: {exc}. Lower learning_rate_init (now "
                    f"{self.learning_rate_init}), for example to {self.learning_rate_init / 10:g}, "
                    "or check X for extreme values."
                ) from None

        # Only a fit that succeeded changes the fitted attributes.
        self.network_ = state.module
        self.ema_network_ = None if state.ema is None else state.ema.module
        self._ema_updates = 0 if state.ema is None else state.ema.n_updates
        self.optimizer_ = state.optimizer
        self.noise_schedule_ = schedule
        self.loss_curve_ = state.loss_curve
        self.validation_loss_curve_ = state.validation_loss_curve
        self.best_validation_loss_ = (
            None if state.validation_loss_curve is None else min(state.validation_loss_curve)
        )
        self.n_iter_ = n_iter
        self.encoder_ = encoder
        self.device_ = device
        if classes is not None:
            self.classes_ = classes
            self.class_prior_ = np.bincount(labels.numpy(), minlength=len(classes)) / len(labels)
        else:
            for name in ("classes_", "class_prior_"):
                if hasattr(self, name):
                    delattr(self, name)
        self._output_dtype = array_dtype
        self._structure = {name: self.get_params()[name] for name in _STRUCTURE_PARAMS}
        return self

    def _initial_state(self, encoder, sizes, n_classes, device, seed_sequence):
        """A new network, its optimizer and its average: a cold fit's starting point."""
        params = {**self.get_params(), "hidden_layer_sizes": sizes}
        n_inputs, one_hot = encoder.network_inputs()
        module = build_network(
            params, n_inputs, n_classes=n_classes, one_hot_features=one_hot,
            seed=seed(seed_sequence),
        ).to(device)  # fmt: skip
        optimizer = make_optimizer(module, self.learning_rate_init)
        ema = EMA(module, self.ema_decay) if self.ema_decay > 0 else None
        return TrainingState(module, optimizer, ema)


def _same(a, b):
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except (TypeError, ValueError):
        return a is b
