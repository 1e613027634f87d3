"""Noise schedules of the forward process and the arrays derived from them.

Everything here is float64 numpy and knows nothing of torch, networks or training.
Indexing follows the paper (Ho et al., 2020): steps are ``t = 1..T`` and the array
entry ``[t - 1]`` belongs to step ``t``; ``alphas_cumprod_prev[0]`` is ``ᾱ₀ = 1``.
"""

import math
import numbers
import warnings

import numpy as np

__all__ = [
    "BETA_SCHEDULES",
    "NoiseSchedule",
    "betas_for",
    "make_beta_schedule",
    "mix_forward",
    "mix_posterior_mean",
]

BETA_SCHEDULES = ("linear", "cosine", "quadratic", "sigmoid")

# The largest β any built-in schedule uses: β = 1 would make ᾱ_t = 0 and x̂₀ undefined.
_MAX_BETA = 0.999

# ᾱ_T above this leaves enough of the data in x_T that sampling from N(0, I) is biased.
SIGNAL_WARNING_THRESHOLD = 1e-2


def make_beta_schedule(name, timesteps, beta_start=1e-4, beta_end=0.02):
    """Return the betas of a built-in schedule as a float64 array of length ``timesteps``.

    Parameters
    ----------
    name : {"linear", "cosine", "quadratic", "sigmoid"}
        The shape of the schedule. ``"cosine"`` is Nichol & Dhariwal (2021) with
        ``s = 0.008`` and ignores ``beta_start`` and ``beta_end``.
    timesteps : int
        The number of diffusion steps ``T``.
    beta_start, beta_end : float, default=1e-4, 0.02
        The first and last β given as if ``T`` were 1000 (Ho et al.'s values); they
        are scaled by ``1000 / T`` so that every ``T`` destroys the signal equally.

    Returns
    -------
    betas : ndarray of shape (timesteps,)
        Values in (0, 1), clipped to at most 0.999.

    Examples
    --------
    >>> from skddpm.schedules import make_beta_schedule
    >>> make_beta_schedule("linear", 40).shape
    (40,)
    """
    if name not in BETA_SCHEDULES:
        raise ValueError(
            f"Unknown beta schedule {name!r}; expected one of {BETA_SCHEDULES} "
            "or an array of betas."
        )
    if not isinstance(timesteps, numbers.Integral) or timesteps < 1:
        raise ValueError(f"Expected timesteps >= 1, got timesteps={timesteps!r}.")
    betas = _unclipped_betas(name, timesteps, beta_start, beta_end)
    if name != "cosine":
        _warn_if_clipped(name, timesteps, betas, beta_start, beta_end)
    return np.clip(betas, 0.0, _MAX_BETA)


def _unclipped_betas(name, timesteps, beta_start, beta_end):
    """The built-in schedule's betas before the clip to 0.999."""
    scale = 1000.0 / timesteps
    start, end = beta_start * scale, beta_end * scale
    if name == "linear":
        betas = np.linspace(start, end, timesteps)
    elif name == "quadratic":
        betas = np.linspace(math.sqrt(start), math.sqrt(end), timesteps) ** 2
    elif name == "sigmoid":
        ramp = 1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, timesteps)))
        betas = start + (end - start) * ramp
    else:  # cosine, Nichol & Dhariwal (2021) eq. 17
        s = 0.008
        steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
        f = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = 1.0 - f[1:] / f[:-1]
    return betas


def _warn_if_clipped(name, timesteps, betas, beta_start, beta_end):
    """Warn when the ``1000 / T`` scaling pushes betas past the clip, naming the fix.

    A clipped step multiplies ``ᾱ`` by 0.001: it adds noise to what is already noise,
    and costs a network call for nothing. (Cosine's last β is clipped by design: its
    ``ᾱ_T`` is 0.)
    """
    clipped = int(np.sum(betas > _MAX_BETA))
    if not clipped:
        return
    smallest = timesteps + 1
    while np.any(_unclipped_betas(name, smallest, beta_start, beta_end) > _MAX_BETA):
        smallest += 1
    warnings.warn(
        f"beta_schedule={name!r} with timesteps={timesteps} gives {clipped} of {timesteps} "
        f"betas above {_MAX_BETA} (beta_end * 1000 / timesteps = "
        f"{beta_end * 1000 / timesteps:.3g}); they are clipped, and those steps only add "
        f"noise to noise while costing network calls. Use timesteps >= {smallest}, "
        "beta_schedule='cosine', or a smaller beta_end.",
        UserWarning,
        stacklevel=3,
    )


def _at(values, t, x):
    """``values[t - 1]`` per row, shaped to broadcast against ``x``.

    Only indexing and ``reshape``: numpy arrays and torch tensors alike, so the
    formulas below are written once for this module's numpy and the sampler's tensors.
    """
    picked = values[t - 1]
    return picked.reshape(tuple(picked.shape) + (1,) * (x.ndim - picked.ndim))


def mix_forward(sqrt_alphas_cumprod, sqrt_one_minus_alphas_cumprod, x0, t, noise):
    """``x_t = √ᾱ_t x₀ + √(1 - ᾱ_t) ε`` (Ho et al. eq. 4), from the two coefficient arrays.

    The one implementation of the forward process: :meth:`NoiseSchedule.q_sample`
    calls it on numpy arrays, the diffusion module on tensors of the same arrays.
    """
    return _at(sqrt_alphas_cumprod, t, x0) * x0 + _at(sqrt_one_minus_alphas_cumprod, t, x0) * noise


def mix_posterior_mean(posterior_mean_coef1, posterior_mean_coef2, x0, x_t, t):
    """The mean ``coef1 x₀ + coef2 x_t`` of ``q(x_{t-1} | x_t, x₀)`` (Ho et al. eq. 7)."""
    return _at(posterior_mean_coef1, t, x_t) * x0 + _at(posterior_mean_coef2, t, x_t) * x_t


class NoiseSchedule:
    """The forward process ``q(x_t | x₀)`` of a DDPM and the arrays derived from its betas.

    Parameters
    ----------
    betas : array-like of shape (T,)
        Variances of the forward steps, each in the open interval (0, 1).
    warn : bool, default=True
        Warn when ``ᾱ_T`` stays above 0.01, that is when ``x_T`` still holds a visible
        part of the data and sampling from ``N(0, I)`` would be biased.

    Attributes
    ----------
    timesteps : int
        ``T``, the number of steps.
    betas, alphas, alphas_cumprod, alphas_cumprod_prev : ndarray of shape (T,)
        ``β_t``, ``α_t = 1 - β_t``, ``ᾱ_t = ∏ α_s`` and ``ᾱ_{t-1}`` (with ``ᾱ₀ = 1``).
    sqrt_alphas_cumprod, sqrt_one_minus_alphas_cumprod : ndarray of shape (T,)
        The coefficients of ``x₀`` and of the noise in ``x_t``.
    posterior_variance : ndarray of shape (T,)
        ``β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t)``, the variance of ``q(x_{t-1} | x_t, x₀)``.
    posterior_mean_coef1, posterior_mean_coef2 : ndarray of shape (T,)
        The coefficients of ``x₀`` and ``x_t`` in the posterior mean (Ho et al. eq. 7).
    signal_to_noise : ndarray of shape (T,)
        ``ᾱ_t / (1 - ᾱ_t)``.

    Examples
    --------
    >>> from skddpm.schedules import NoiseSchedule, make_beta_schedule
    >>> schedule = NoiseSchedule(make_beta_schedule("cosine", 100))
    >>> schedule.alphas_cumprod.shape
    (100,)
    """

    def __init__(self, betas, *, warn=True):
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size == 0:
            raise ValueError(
                f"Expected a 1-D array of betas with at least one value, got shape {betas.shape}."
            )
        if not np.all(np.isfinite(betas)) or np.any(betas <= 0) or np.any(betas >= 1):
            bad = float(betas[~((betas > 0) & (betas < 1))][0])
            raise ValueError(
                f"Every beta must lie in the open interval (0, 1), got {bad!r}; "
                "clip the schedule, for example with np.clip(betas, 1e-8, 0.999)."
            )
        self.betas = betas
        self.timesteps = betas.size
        self.alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.signal_to_noise = self.alphas_cumprod / (1.0 - self.alphas_cumprod)
        # Ho et al. eqs. 6-7: q(x_{t-1} | x_t, x0) = N(coef1 x0 + coef2 x_t, β̃_t I).
        one_minus = 1.0 - self.alphas_cumprod
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / one_minus
        self.posterior_mean_coef1 = betas * np.sqrt(self.alphas_cumprod_prev) / one_minus
        self.posterior_mean_coef2 = (
            (1.0 - self.alphas_cumprod_prev) * np.sqrt(self.alphas) / one_minus
        )
        if warn:
            self.check_reaches_noise()

    def check_reaches_noise(self):
        """Warn when ``ᾱ_T`` is large enough that ``x_T`` is not pure noise."""
        final = self.alphas_cumprod[-1]
        if final > SIGNAL_WARNING_THRESHOLD:
            warnings.warn(
                f"The noise schedule leaves alphas_cumprod[T]={final:.3g} at T={self.timesteps}, "
                f"so x_T keeps {math.sqrt(final):.0%} of the data's scale; sampling starts from "
                "pure noise and will be biased. Use a built-in schedule "
                "(beta_schedule='linear' or 'cosine' with the default beta_start and "
                "beta_end), or larger betas, so that alphas_cumprod[T] falls below "
                f"{SIGNAL_WARNING_THRESHOLD}.",
                UserWarning,
                stacklevel=3,
            )

    def q_sample(self, x0, t, noise):
        """Draw ``x_t = √ᾱ_t x₀ + √(1 - ᾱ_t) ε`` (Ho et al. eq. 4).

        Parameters
        ----------
        x0 : ndarray of shape (n_samples, n_features)
            Clean data.
        t : int or ndarray of shape (n_samples,)
            Steps in ``1..T``.
        noise : ndarray of shape (n_samples, n_features)
            Standard normal noise ``ε``.

        Returns
        -------
        x_t : ndarray of shape (n_samples, n_features)
        """
        t = self._check_t(t)
        return mix_forward(
            self.sqrt_alphas_cumprod, self.sqrt_one_minus_alphas_cumprod, np.asarray(x0), t, noise
        )

    def q_posterior_mean_variance(self, x0, x_t, t):
        """Mean and variance of ``q(x_{t-1} | x_t, x₀)`` (Ho et al. eqs. 6-7).

        Returns
        -------
        mean : ndarray of the shape of ``x_t``
        variance : ndarray broadcastable against ``x_t``
        """
        t = self._check_t(t)
        x_t = np.asarray(x_t)
        mean = mix_posterior_mean(self.posterior_mean_coef1, self.posterior_mean_coef2, x0, x_t, t)
        return mean, _at(self.posterior_variance, t, x_t)

    def _check_t(self, t):
        t = np.asarray(t)
        if t.size and (t.min() < 1 or t.max() > self.timesteps):
            raise ValueError(
                f"Expected steps t in 1..{self.timesteps}, got values from {t.min()} to {t.max()}."
            )
        return t

    def __repr__(self):
        return (
            f"NoiseSchedule(timesteps={self.timesteps}, "
            f"alphas_cumprod[T]={self.alphas_cumprod[-1]:.3g})"
        )


def betas_for(beta_schedule, timesteps, beta_start=1e-4, beta_end=0.02):
    """The betas that a ``DiffusionGenerator``'s process parameters describe.

    A built-in schedule's name with its ends (the cosine schedule has none, and warns
    when they are given), or an array of betas of length ``timesteps``.
    """
    if isinstance(beta_schedule, str):
        defaults = {"beta_start": 1e-4, "beta_end": 0.02}
        given = [
            f"{name}={value!r}"
            for name, value in (("beta_start", beta_start), ("beta_end", beta_end))
            if value != defaults[name]
        ]
        if beta_schedule == "cosine" and given:
            warnings.warn(
                f"beta_schedule='cosine' ignores {' and '.join(given)}; pass "
                "beta_schedule='linear' (or 'quadratic', 'sigmoid') to use them.",
                UserWarning,
                stacklevel=5,
            )
        if beta_schedule != "cosine" and beta_start > beta_end:
            raise ValueError(
                f"beta_start={beta_start} is larger than beta_end={beta_end}; "
                "the noise must grow with t, so swap them."
            )
        return make_beta_schedule(beta_schedule, timesteps, beta_start, beta_end)
    betas = np.asarray(beta_schedule, dtype=np.float64)
    if betas.ndim != 1 or betas.size != timesteps:
        raise ValueError(
            f"The 'beta_schedule' array has shape {betas.shape} but timesteps="
            f"{timesteps}; pass a 1-D array of length timesteps, or "
            f"timesteps={betas.size}."
        )
    return betas
