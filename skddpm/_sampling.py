"""The fitted generator's sampling methods: ``sample`` and ``sample_trajectory``.

A mixin of :class:`~skddpm.DiffusionGenerator`: it reads the fitted attributes (the
network, the schedule, the columns' scaling, the classes) and runs the sampler of the
diffusion module chunk by chunk. It knows nothing of training.
"""

import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import _columns
from ._runtime import check_random_state, chunks, seed_sequence, torch_generator
from .diffusion import GaussianDiffusion
from .samplers import (
    Inpainting,
    check_guidance_scale,
    classifier_free_guidance,
    make_sampler,
    sample_loop,
)

__all__ = ["SamplingMixin"]


def _check_n_samples(n_samples):
    """``n_samples`` as an int >= 1, or an error that says what to pass."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise TypeError(
            f"n_samples must be an integer, got n_samples={n_samples!r} "
            f"({type(n_samples).__name__}); pass a whole number such as int(n_samples)."
        )
    if n_samples < 1:
        raise ValueError(
            f"Expected n_samples >= 1, got n_samples={n_samples}; ask for at least one row."
        )
    return int(n_samples)


def _check_count(value, name):
    """``value`` as an int >= 0, or an error that names ``name`` and what to pass."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"{name} must be a whole number >= 0, got {name}={value!r}; 0 turns it off."
        )
    return int(value)


class SamplingMixin:
    """``sample`` and ``sample_trajectory`` for a fitted :class:`~skddpm.DiffusionGenerator`."""

    def _label_indices(self, y, n_samples):
        """Indices of the classes in ``y``, one per row, or None for unconditional rows."""
        if y is None:
            return None
        if not hasattr(self, "classes_"):
            raise ValueError(
                "y was given, but this DiffusionGenerator was fitted without labels; "
                "fit it with fit(X, y) to sample by class."
            )
        indices = _columns.label_indices(self.classes_, y, n_samples)
        return torch.as_tensor(indices, device=self.device_)

    def _given_frame(self, given, n_samples):
        """``given`` validated against the fitted columns, as a DataFrame."""
        frame, _ = self._validate_X(given, reset=False)
        if frame.shape[0] not in (1, n_samples):
            raise ValueError(
                f"given has {frame.shape[0]} rows but n_samples={n_samples}; pass one row "
                "to fix the same cells in every sample, or n_samples=len(given)."
            )
        return frame

    def _given_block(self, frame, n_samples, fill):
        """A given frame as :func:`~skddpm._columns.encode_given` blocks of ``n_samples`` rows."""
        blocks = _columns.encode_given(self._fitted_columns(), frame, fill=fill)
        if frame.shape[0] == 1:
            blocks = tuple(None if b is None else np.repeat(b, n_samples, axis=0) for b in blocks)
        return blocks

    def _draw(
        self, n_samples, y, guidance_scale, method, steps, eta, random_state, trajectory,
        given=None, jumps=0, corrector_steps=0, fill=False,
    ):  # fmt: skip
        """Run the sampler chunk by chunk; returns the model's block of x0, or (xs, x0_hats)
        as :func:`~skddpm._columns.to_codes` gives them.

        ``given`` (a validated frame, missing where a cell is drawn) is inpainted with
        ``jumps`` resampling jumps and ``corrector_steps`` Langevin steps; ``fill`` draws
        values in its free cells, never missing ones.
        """
        check_is_fitted(self)
        n_samples = _check_n_samples(n_samples)
        jumps = _check_count(jumps, "jumps")
        corrector_steps = _check_count(corrector_steps, "corrector_steps")
        blocks = None
        if given is not None:
            blocks = self._given_block(given, n_samples, fill)
        random_state = check_random_state(random_state)
        labels = self._label_indices(y, n_samples)
        sampler = make_sampler(method, self.noise_schedule_.timesteps, steps=steps, eta=eta)
        check_guidance_scale(guidance_scale, labels is not None)
        network = self._sampling_network()
        diffusion = self._diffusion(torch.float32)
        clip = self._clip_range(torch.float32)
        n_inputs, _ = self._network_inputs()
        sequence = seed_sequence(random_state if random_state is not None else self.random_state)
        generator = torch_generator(sequence, self.device_)
        if labels is None and hasattr(self, "classes_"):
            labels = self._draw_labels(n_samples, generator)
        parts = []
        with torch.inference_mode():
            for start, stop in chunks(n_samples, self.verbose, "sample"):
                noise = torch.randn(
                    (stop - start, n_inputs), generator=generator, device=self.device_
                )
                model = network
                if labels is not None:
                    model = classifier_free_guidance(
                        network, labels[start:stop], len(self.classes_), guidance_scale
                    )
                condition = None
                if blocks is not None:
                    Z, known, allowed = (
                        None if b is None else torch.as_tensor(
                            b[start:stop], dtype=torch.float32, device=self.device_
                        )
                        for b in blocks
                    )  # fmt: skip
                    condition = Inpainting(
                        Z, known, allowed=allowed, jumps=jumps, corrector_steps=corrector_steps
                    )
                out = sample_loop(
                    diffusion, model, noise, generator=generator, method=sampler, clip=clip,
                    trajectory=trajectory, condition=condition,
                )  # fmt: skip
                if trajectory:
                    parts.append([self._codes(part) for part in out[1:]])
                else:
                    parts.append(out.cpu().numpy().astype(np.float64))
        if trajectory:
            return tuple(np.concatenate(chain, axis=1) for chain in zip(*parts))
        return np.concatenate(parts)

    def _draw_labels(self, n_samples, generator):
        """Classes for rows drawn without ``y``, in the proportions seen at fit."""
        prior = torch.as_tensor(self.class_prior_, dtype=torch.float32, device=self.device_)
        return torch.multinomial(prior, n_samples, replacement=True, generator=generator)

    def _sampling_network(self):
        """The EMA weights when there are some, else the trained ones, in eval mode."""
        network = self.ema_network_ if self.ema_network_ is not None else self.network_
        return network.eval()

    def _diffusion(self, dtype):
        return GaussianDiffusion(
            self.noise_schedule_,
            self.prediction_type,
            self.device_,
            dtype=dtype,
            variance_type=self.variance_type,
            categories=_columns.layout(self._fitted_columns())[1],
        )

    def _clip_range(self, dtype):
        """The fitted range of each numeric column in the model's units, or None.

        A column with no observed value has no range: 0 stands in, as for its cells.
        """
        if not self.clip_sample:
            return None
        numeric = ~self.is_categorical_
        columns = self._fitted_columns()
        return tuple(
            torch.as_tensor(
                np.nan_to_num(_columns.numbers_to_model(columns, v[numeric][None, :])[0]),
                dtype=dtype,
                device=self.device_,
            )
            for v in (self.data_min_, self.data_max_)
        )

    def _codes(self, x):
        """A chain's states (n_steps, n, width) as :func:`~skddpm._columns.to_codes` rows."""
        steps = x.cpu().numpy().astype(np.float64)
        rows = _columns.to_codes(self._fitted_columns(), steps.reshape(-1, steps.shape[-1]))
        return rows.reshape(*steps.shape[:-1], -1)

    def _to_user_table(self, Z, given=None):
        """Rows of the model's block as ``sample`` returns them: a DataFrame like the
        training one, or an array of its dtype; the cells of a ``given`` frame as given."""
        frame = _columns.decode(self._fitted_columns(), Z, clip=self.clip_sample)
        if given is not None:
            frame = _columns.paste_given(frame, given)
        if self._output_dtype is None:
            return frame
        return frame.to_numpy(dtype=self._output_dtype)

    def sample(
        self,
        n_samples=1,
        *,
        given=None,
        jumps=0,
        corrector_steps=3,
        y=None,
        guidance_scale=1.0,
        method="ddpm",
        steps=None,
        eta=None,
        random_state=None,
    ):
        """Draw new rows.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows. Large counts are drawn in chunks of 8,192 rows, so memory
            stays bounded.
        given : array-like or DataFrame of shape (n_samples or 1, n_features), default=None
            Cells to fix, and missing values (NaN, None, pd.NA) where a cell is to be
            drawn: the rows come back with the given cells as they are and the others
            drawn from the model's conditional distribution given them, by inpainting
            in the reverse chain (RePaint, Lugmayr et al. 2022). One row fixes the
            same cells in every sample. A free cell of a column that had missing
            values at fit may come out missing, at the model's conditional rate
            (:class:`~skddpm.DiffusionImputer` draws values only). A given number
            outside the range seen at fit is warned about.
        jumps : int, default=0
            With ``given``: RePaint's resampling jumps. Each step is undone and
            redone ``jumps`` more times, for ``1 + jumps`` times the network calls;
            see :ref:`imputation` for what they buy.
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels: the class of every row, or one class for
            all of them. None draws from the whole table: each row's class is drawn
            in the proportions seen at fit (``class_prior_``), then the row given it.
        guidance_scale : float, default=1.0
            Classifier-free guidance ``ε̂ = ε̂_∅ + s (ε̂_y - ε̂_∅)`` (Ho & Salimans,
            2022), needs ``y``: 1 is plain conditional sampling (one network call per
            step), 0 unconditional, larger values stick closer to the class.
        method : {"ddpm", "ddim"}, default="ddpm"
            ``"ddpm"``: the ancestral sampler (Ho et al. Algorithm 2), ``timesteps``
            network calls. ``"ddim"``: Song et al. (2021), ``steps`` network calls.
        steps : int, default=None
            DDIM only: network calls, from 1 to ``timesteps`` (default 10, or
            ``timesteps`` if fewer). The sequence always starts at ``t = T`` and ends
            at ``t = 1``.
        eta : float, default=None
            DDIM only, in [0, 1] (default 0): 0 is deterministic given the starting
            noise. 1 with ``steps=timesteps`` draws from the ancestral sampler's
            distribution when ``variance_type="fixed_small"`` (its reverse variance
            is then DDIM's ``σ²``); with ``"fixed_large"`` the ancestral sampler adds
            more noise, ``σ_t² = β_t``.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise; None uses the estimator's ``random_state``, so a fitted
            generator with an int seed returns the same rows for the same call.

        Returns
        -------
        X_new : DataFrame or ndarray of shape (n_samples, n_features)
            Rows like the training data: a DataFrame with its columns and dtypes when
            it was one, else an array of its dtype (float32 or float64, object when it
            held text). Numbers are in the data's units, those in ``integer_columns_``
            whole numbers within the range seen at fit; categories are levels seen at
            fit; cells are missing at the data's rates.
        """
        if given is not None:
            given = self._given_frame(given, _check_n_samples(n_samples))
        out = self._draw(
            n_samples, y, guidance_scale, method, steps, eta, random_state, False,
            given=given, jumps=jumps, corrector_steps=corrector_steps,
        )  # fmt: skip
        return self._to_user_table(out, given)

    def _fill(self, frame, *, random_state, jumps, corrector_steps):
        """The missing cells of a validated ``frame`` drawn given its other cells: values
        only, never missing ones (for :class:`~skddpm.DiffusionImputer`)."""
        out = self._draw(
            frame.shape[0], None, 1.0, "ddpm", None, None, random_state, False,
            given=frame, jumps=jumps, corrector_steps=corrector_steps, fill=True,
        )  # fmt: skip
        return self._to_user_table(out, frame)

    def sample_trajectory(
        self,
        n_samples=1,
        *,
        y=None,
        guidance_scale=1.0,
        method="ddpm",
        steps=None,
        eta=None,
        random_state=None,
    ):
        """The whole reverse chain: ``x_t`` at every step and the estimate ``x̂₀`` made there.

        Parameters are those of :meth:`sample` (``given`` aside); the same ones give
        the chain that ends in
        the rows :meth:`sample` returns (before clipping and rounding to whole numbers).

        Returns
        -------
        xs : ndarray of shape (n_steps + 1, n_samples, n_features)
            A categorical column holds the index of its level (of its most likely
            level, in ``x0_hats``) among ``categories_``, the missing level after the
            others. ``xs[0]`` is the starting noise ``x_T``, ``xs[i]`` the chain after ``i``
            steps and ``xs[-1]`` the sample, in the data's units. ``n_steps`` is
            ``timesteps`` for ``"ddpm"`` and ``steps`` for ``"ddim"``.
        x0_hats : ndarray of shape (n_steps, n_samples, n_features)
            ``x0_hats[i]`` is the estimate of ``x₀`` made from ``xs[i]``.
        """
        xs, x0_hats = self._draw(
            n_samples, y, guidance_scale, method, steps, eta, random_state, True
        )
        dtype = np.float64 if self._output_dtype in (None, object) else self._output_dtype
        return xs.astype(dtype), x0_hats.astype(dtype)
