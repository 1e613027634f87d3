"""The fitted generator's sampling methods: ``sample`` and ``sample_trajectory``.

A mixin of :class:`~skddpm.DiffusionGenerator`: it validates the arguments, has the
fitted model (:class:`~skddpm._model.FittedModel`) draw rows in its block, and decodes
them with the table encoder. It knows nothing of training.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._columns import paste_given
from ._model import FittedModel
from ._runtime import check_sample_seed, seed_sequence, torch_generator
from ._validation import check_number
from .samplers import (
    check_guidance_scale,
    make_sampler,
)

__all__ = ["SamplingMixin"]


def _check_n_samples(n_samples):
    """``n_samples`` as an int >= 1, or an error that says what to pass."""
    fix = "pass a whole number of rows, such as int(n_samples)."
    return check_number(n_samples, "n_samples", integer=True, low=1, fix=fix)


class SamplingMixin:
    """``sample`` and ``sample_trajectory`` for a fitted :class:`~skddpm.DiffusionGenerator`."""

    def _given_frame(self, given, n_samples):
        """``given`` validated against the fitted columns, as a DataFrame."""
        frame, _ = self.validate_table(given, name="given")
        if frame.shape[0] not in (1, n_samples):
            raise ValueError(
                f"given has {frame.shape[0]} rows but n_samples={n_samples}; pass one row "
                "to fix the same cells in every sample, or n_samples=len(given)."
            )
        return frame

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
        jumps = check_number(jumps, "jumps", integer=True, low=0, fix="0 turns it off.")
        corrector_steps = check_number(
            corrector_steps, "corrector_steps", integer=True, low=0, fix="0 turns it off."
        )
        blocks = None
        if given is not None:
            # One given row stays one row here; each chunk repeats it for its rows.
            blocks = self.encoder_.encode_given(given, fill=fill)
        random_state = check_sample_seed(random_state)
        model = FittedModel.of(self)
        labels = model.label_indices(y, n_samples)
        sampler = make_sampler(method, self.noise_schedule_.timesteps, steps=steps, eta=eta)
        check_guidance_scale(guidance_scale, labels is not None)
        sequence = seed_sequence(random_state if random_state is not None else self.random_state)
        return model.draw(
            n_samples, labels=labels, guidance_scale=guidance_scale, sampler=sampler,
            generator=torch_generator(sequence, self.device_), given=blocks, jumps=jumps,
            corrector_steps=corrector_steps, trajectory=trajectory,
        )  # fmt: skip

    def _to_user_table(self, Z, given=None):
        """Rows of the model's block as ``sample`` returns them: a DataFrame like the
        training one, or an array of its dtype; the cells of a ``given`` frame as given."""
        frame = self.encoder_.decode(Z, clip=self.clip_sample)
        if given is not None:
            frame = paste_given(frame, given)
        if self._output_dtype is None:
            return frame
        return frame.to_numpy(dtype=self._output_dtype)

    def sample(
        self,
        n_samples=1,
        *,
        given=None,
        allow_missing=True,
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
            (``allow_missing=False`` draws values only). A given number outside the
            range seen at fit is warned about.
        allow_missing : bool, default=True
            With ``given``: whether a free cell may come out missing, at the model's
            conditional rate (as rows of the table do). False draws a value in every
            free cell, as :class:`~skddpm.DiffusionImputer` does.
        jumps : int, default=0
            With ``given``: RePaint's resampling jumps. Each step is undone and
            redone ``jumps`` more times, for ``1 + jumps`` times the network calls;
            see :ref:`imputation` for what they buy.
        corrector_steps : int, default=3
            With ``given``: Langevin corrector steps (Song et al. 2021) on the free
            numbers after each reverse step, so they follow the model's conditional
            given the fixed cells; each costs a network call. 0 is replacement alone.
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels: the class of every row, or one class for
            all of them. None draws from the whole table: each row's class is drawn
            in the proportions seen at fit (``class_prior_``), then the row given it.
        guidance_scale : float, default=1.0
            Classifier-free guidance ``ε̂ = ε̂_∅ + s (ε̂_y - ε̂_∅)`` (Ho & Salimans,
            2022), needs ``y``: 1 is plain conditional sampling (one network call per
            step), 0 unconditional, larger values stick closer to the class.
        method : {"ddpm", "ddim", "dpm"}, default="ddpm"
            ``"ddpm"``: the ancestral sampler (Ho et al. Algorithm 2), ``timesteps``
            network calls. ``"ddim"``: Song et al. (2021), ``steps`` network calls.
            ``"dpm"``: DPM-Solver++(2M) (Lu et al. 2022), a second-order multistep
            solver, ``steps`` network calls: the fast path (the user guide's section
            on samplers gives the figures).
        steps : int, default=None
            DDIM and the solver: network calls, from 1 to ``timesteps`` (default 10,
            or ``timesteps`` if fewer). The sequence always starts at ``t = T`` and
            ends at ``t = 1``.
        eta : float, default=None
            DDIM and the solver, in [0, 1]: the share of the ancestral sampler's noise
            added at each step. DDIM's default is 0, deterministic given the starting
            noise; 1 with ``steps=timesteps`` draws from the ancestral sampler's
            distribution when ``variance_type="fixed_small"`` (its reverse variance
            is then DDIM's ``σ²``); with ``"fixed_large"`` the ancestral sampler adds
            more noise, ``σ_t² = β_t``. The solver's default is 1 (SDE-DPM-Solver++),
            which at 10 and 20 calls comes closer to the ancestral sampler than 0 (the
            probability-flow ODE).
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
            fill=not allow_missing,
        )  # fmt: skip
        return self._to_user_table(out, given)

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
            ``timesteps`` for ``"ddpm"`` and ``steps`` for ``"ddim"`` and ``"dpm"``.
        x0_hats : ndarray of shape (n_steps, n_samples, n_features)
            ``x0_hats[i]`` is the estimate of ``x₀`` made from ``xs[i]``.
        """
        xs, x0_hats = self._draw(
            n_samples, y, guidance_scale, method, steps, eta, random_state, True
        )
        dtype = np.float64 if self._output_dtype in (None, object) else self._output_dtype
        return xs.astype(dtype), x0_hats.astype(dtype)
