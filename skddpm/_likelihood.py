"""The bound's per-row noise and the scoring loop of ``score_samples``.

Each row's noise is a counter-based function of its own values (SplitMix64 and
Box-Muller), so a fitted model scores a row the same whatever else is scored with it
and in any order, and two models see the same noise. The loop works on standardized
float64 rows and a denoiser; it knows nothing of training. ``LikelihoodMixin`` gives
:class:`~skddpm.DiffusionGenerator` its ``score_samples`` and ``score`` from them.
"""

import copy
import math

import numpy as np
import torch

from ._model import FittedModel
from ._runtime import chunks
from .samplers import classifier_free_guidance

__all__ = [
    "SCORE_SEED",
    "LikelihoodMixin",
    "bound_scores",
    "mixture_scores",
    "row_keys",
    "row_noise",
]

# The bound's noise comes from each row's own values and this seed.
SCORE_SEED = 20200619

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(z):
    """The SplitMix64 finalizer (Steele et al., 2014), elementwise on uint64 arrays."""
    z = z + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_keys(X):
    """A 64-bit hash of each row's float64 values, seeded with ``SCORE_SEED``."""
    bits = np.ascontiguousarray(X, dtype=np.float64).view(np.uint64)
    keys = np.full(len(X), SCORE_SEED, dtype=np.uint64)
    for column in bits.T:
        keys = _splitmix64(keys ^ column)
    return keys


def row_noise(keys, step, n_features):
    """Standard normal noise of shape (len(keys), n_features) for step ``step``.

    A counter-based generator: SplitMix64 of (row key, step, feature) gives two
    uniforms, Box-Muller makes them a normal. Each row's noise depends on its key only.
    """
    base = _splitmix64(keys ^ _splitmix64(np.full(1, step, dtype=np.uint64)))
    counters = np.arange(1, 2 * n_features + 1, dtype=np.uint64) * _GOLDEN_GAMMA
    bits = _splitmix64(base[:, None] + counters)
    uniforms = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u1, u2 = 1.0 - uniforms[:, :n_features], uniforms[:, n_features:]
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def bound_scores(diffusion, denoiser, X, *, clip, device, mask=None, verbose=False):
    """One-draw estimates of the variational bound on ``log p(x)``, per row, in nats.

    Parameters
    ----------
    diffusion : GaussianDiffusion
        In float64.
    denoiser : callable
        ``denoiser(start, stop)`` returns the ``model(x_t, t)`` for rows
        ``start:stop`` (their labels, when the model is conditional).
    X : ndarray of shape (n_samples, n_features)
        Rows of the model's block, float64: standardized numbers, one-hot categories.
    clip : tuple of two Tensors or None
        The sampler's clipping range of ``x̂₀``.
    device : torch.device
    mask : ndarray of shape (n_samples, n_numeric), optional
        1 where a number is observed, 0 where it is missing.
    verbose : bool, default=False
        A progress bar of the rows.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        In the model's (standardized) units: the caller subtracts the log-Jacobian.
    """
    scores = np.empty(X.shape[0])
    with torch.inference_mode():
        for start, stop in chunks(X.shape[0], verbose, "score"):
            rows = X[start:stop]
            keys = row_keys(rows)
            x0 = torch.as_tensor(rows, device=device)

            def noise(step, keys=keys, n_features=rows.shape[1]):
                return torch.as_tensor(row_noise(keys, step, n_features), device=device)

            rows_mask = None if mask is None else torch.as_tensor(mask[start:stop], device=device)
            terms = diffusion.bound_terms(
                denoiser(start, stop), x0, noise, clip=clip, mask=rows_mask
            )
            scores[start:stop] = -terms.sum(dim=0).cpu().numpy()
    return scores


def mixture_scores(per_class, class_prior):
    """``log Σ_c π_c exp(s_c)`` per row: a bound on ``log p(x)`` from the classes' bounds.

    Each ``exp(s_c)`` is at most ``p(x | c)``, so the mixture is at most
    ``Σ_c π_c p(x | c) = p(x)``. ``per_class`` has shape (n_classes, n_samples).
    """
    with np.errstate(divide="ignore"):  # a class with π = 0 adds nothing
        a = per_class + np.log(np.asarray(class_prior, dtype=np.float64))[:, None]
    top = a.max(axis=0)
    return top + np.log(np.exp(a - top).sum(axis=0))


class LikelihoodMixin:
    """``score_samples`` and ``score`` for a fitted :class:`~skddpm.DiffusionGenerator`."""

    def score_samples(self, X, y=None):
        """An estimate of a lower bound on the log-likelihood of each row, in nats.

        The variational bound of Ho et al. (2020) eq. 5: the prior term, the KL term of
        every step ``t >= 2`` and a Gaussian decoder at ``t = 1``, with the reverse
        means and variances the ancestral sampler uses (``variance_type``,
        ``clip_sample``). The log-Jacobian of the internal standardization is
        subtracted, so the figures are in X's units and comparable with
        ``GaussianMixture.score_samples`` or ``KernelDensity.score_samples`` on the
        same data. Whole-number columns are scored as continuous. A categorical
        column adds its discrete terms (Hoogeboom et al., 2021): the prior's KL to
        the uniform distribution, the posterior KL of every step and ``-log p(x₀ |
        x₁)``; a missing number adds no term, so a row with missing cells is scored
        on its observed cells and on where its cells are missing.

        Each row's figure is a one-draw Monte Carlo estimate of its bound: every step
        ``t`` is evaluated once (``timesteps`` network calls per row, in float64) at
        one draw of ``x_t``. The estimate is unbiased for the bound, so its mean over
        many rows is tight, but a single row's figure has a spread of a few nats (most
        of it from the first steps, where the reverse variances are smallest) and can
        lie above that row's bound, or even above its true ``log p(x)``. The draws are
        a fixed function of the row's standardized values, so a fitted model gives a
        row the same figure whatever else X holds and in any order, and different
        models are scored with the same draws.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : label or array-like of shape (n_samples,), default=None
            For a model fitted with labels: score ``log p(x | y)`` for these classes.
            None scores ``log p(x)`` as the mixture ``log Σ_c π_c p(x | c)`` of the
            classes' bounds, with ``π = class_prior_`` (one pass per class).

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            The estimate of the bound on ``log p(x)`` (or ``log p(x | y)``) for each row.
        """
        frame, _ = self.validate_table(X)
        Z, mask = self.encoder_.encode(frame)
        model = FittedModel.of(self)
        labels = model.label_indices(y, Z.shape[0])
        network = copy.deepcopy(model.sampling_network()).double()
        diffusion = model.diffusion(torch.float64)
        clip = model.clip_range(torch.float64)

        def scores(label_rows):
            def denoiser(start, stop):
                if label_rows is None:
                    return network
                return classifier_free_guidance(
                    network, label_rows[start:stop], len(self.classes_), 1.0
                )

            return bound_scores(
                diffusion,
                denoiser,
                Z,
                clip=clip,
                device=self.device_,
                mask=mask,
                verbose=self.verbose,
            )

        if labels is None and hasattr(self, "classes_"):
            per_class = np.stack(
                [
                    scores(torch.full((len(Z),), c, dtype=torch.long, device=self.device_))
                    for c in range(len(self.classes_))
                ]
            )
            total = mixture_scores(per_class, self.class_prior_)
        else:
            total = scores(labels)
        return total + self.encoder_.log_jacobian(frame)

    def score(self, X, y=None):
        """The mean of :meth:`score_samples`: an estimate of a lower bound on the average
        log-likelihood.

        Higher is better, so ``GridSearchCV`` and ``cross_val_score`` need no
        ``scoring`` argument.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : label or array-like of shape (n_samples,), default=None
            Classes of the rows, for a model fitted with labels.

        Returns
        -------
        score : float
            Mean bound in nats per row, in X's units.
        """
        return float(np.mean(self.score_samples(X, y)))
