"""The diffusion process on tensors: forward noising, the training loss, the sampler.

This module takes the schedule's float64 arrays and a denoiser given as a callable
``model(x_t, t)``; it knows nothing of the network class or of scikit-learn.
Indexing follows the paper: ``t = 1..T``, the coefficient of step ``t`` is entry
``t - 1``.
"""

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "PREDICTION_TYPES", "GaussianDiffusion"]

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction", "mean")
LOSSES = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.smooth_l1_loss,
}


class GaussianDiffusion:
    """A DDPM's forward process, training objective and ancestral sampler.

    Parameters
    ----------
    schedule : NoiseSchedule
        The betas and their derived arrays.
    prediction_type : {"epsilon", "sample", "v_prediction", "mean"}, default="epsilon"
        What the network outputs: the noise ``ε``, the clean data ``x₀``, the velocity
        ``v = √ᾱ_t ε - √(1 - ᾱ_t) x₀`` (Salimans & Ho, 2022) or the posterior mean ``μ``.
    device : torch.device or str, default="cpu"
    dtype : torch.dtype, default=torch.float32
        The dtype of the coefficient tensors, the network's and the data's.
    """

    def __init__(self, schedule, prediction_type="epsilon", device="cpu", dtype=torch.float32):
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"Unknown prediction_type {prediction_type!r}; expected one of {PREDICTION_TYPES}."
            )
        self.schedule = schedule
        self.timesteps = schedule.timesteps
        self.prediction_type = prediction_type
        self.device = torch.device(device)
        self.dtype = dtype

        def tensor(values):
            return torch.as_tensor(values, dtype=dtype, device=self.device)

        self.sqrt_alphas_cumprod = tensor(schedule.sqrt_alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = tensor(schedule.sqrt_one_minus_alphas_cumprod)
        self.posterior_mean_coef1 = tensor(schedule.posterior_mean_coef1)
        self.posterior_mean_coef2 = tensor(schedule.posterior_mean_coef2)

    def _at(self, coef, t):
        """``coef[t - 1]`` shaped as a column, to broadcast over the features."""
        return coef[t - 1][:, None]

    # -- forward process ---------------------------------------------------------------

    def q_sample(self, x0, t, noise):
        """``x_t = √ᾱ_t x₀ + √(1 - ᾱ_t) ε`` (Ho et al. eq. 4)."""
        return (
            self._at(self.sqrt_alphas_cumprod, t) * x0
            + self._at(self.sqrt_one_minus_alphas_cumprod, t) * noise
        )

    def q_posterior_mean(self, x0, x_t, t):
        """The mean of ``q(x_{t-1} | x_t, x₀)`` (Ho et al. eq. 7)."""
        return (
            self._at(self.posterior_mean_coef1, t) * x0
            + self._at(self.posterior_mean_coef2, t) * x_t
        )

    # -- parameterizations ---------------------------------------------------------------

    def target(self, x0, x_t, t, noise):
        """What the network should output for ``x_t`` made from ``x₀`` and ``noise``."""
        if self.prediction_type == "epsilon":
            return noise
        if self.prediction_type == "sample":
            return x0
        if self.prediction_type == "v_prediction":
            return (
                self._at(self.sqrt_alphas_cumprod, t) * noise
                - self._at(self.sqrt_one_minus_alphas_cumprod, t) * x0
            )
        return self.q_posterior_mean(x0, x_t, t)

    def predict_x0(self, model_output, x_t, t):
        """The estimate ``x̂₀`` that every parameterization reduces to.

        This is the one place the formulas live: the sampler, the trajectory and the
        bound all call it.
        """
        a = self._at(self.sqrt_alphas_cumprod, t)
        b = self._at(self.sqrt_one_minus_alphas_cumprod, t)
        if self.prediction_type == "epsilon":
            return (x_t - b * model_output) / a
        if self.prediction_type == "sample":
            return model_output
        if self.prediction_type == "v_prediction":
            return a * x_t - b * model_output
        # mean: μ = coef1 x̂₀ + coef2 x_t, solved for x̂₀
        return (model_output - self._at(self.posterior_mean_coef2, t) * x_t) / self._at(
            self.posterior_mean_coef1, t
        )

    def predict_eps(self, x0_hat, x_t, t):
        """``ε̂ = (x_t - √ᾱ_t x̂₀) / √(1 - ᾱ_t)``, the noise that ``x̂₀`` implies."""
        return (x_t - self._at(self.sqrt_alphas_cumprod, t) * x0_hat) / self._at(
            self.sqrt_one_minus_alphas_cumprod, t
        )

    # -- training --------------------------------------------------------------------------

    def loss(self, model, x0, t, noise, loss="mse"):
        """The simplified objective (Ho et al. eq. 14) for the chosen parameterization."""
        x_t = self.q_sample(x0, t, noise)
        return LOSSES[loss](model(x_t, t), self.target(x0, x_t, t, noise))

    # -- sampling ----------------------------------------------------------------------------

    def p_sample_loop(self, model, noise, *, generator, clip=None, trajectory=False):
        """Ancestral sampling, Ho et al. Algorithm 2, from ``x_T = noise``.

        Parameters
        ----------
        model : callable
            ``model(x_t, t) -> output`` on tensors; ``t`` has shape (1,), one step
            shared by every row.
        noise : Tensor of shape (n_samples, n_features)
            ``x_T``, standard normal.
        generator : torch.Generator
            The source of the noise added at each step, on the device of ``noise``.
        clip : tuple of two Tensors of shape (n_features,), optional
            Clip ``x̂₀`` to ``[low, high]`` before each step.
        trajectory : bool, default=False
            Also return ``x_t`` and ``x̂₀`` at every step.

        Returns
        -------
        x0 : Tensor of shape (n_samples, n_features)
        xs, x0_hats : Tensor of shape (T + 1, n_samples, n_features) and (T, ...)
            Only when ``trajectory``: ``xs[i]`` is ``x_{T - i}``, ``x0_hats[i]`` is the
            estimate made at step ``T - i``.
        """
        x_t = noise
        xs, x0_hats = [x_t], []
        sigmas = np.sqrt(self.schedule.posterior_variance).tolist()
        for step in range(self.timesteps, 0, -1):
            # One step for the whole batch: the network embeds it once and broadcasts.
            t = torch.full((1,), step, dtype=torch.long, device=noise.device)
            x0_hat = self.predict_x0(model(x_t, t), x_t, t)
            if clip is not None:
                x0_hat = torch.clamp(x0_hat, clip[0], clip[1])
            if step > 1:
                mean = self.q_posterior_mean(x0_hat, x_t, t)
                z = torch.randn(
                    noise.shape, generator=generator, device=noise.device, dtype=noise.dtype
                )
                x_t = mean + sigmas[step - 1] * z
            else:
                # At t = 1 the posterior mean is x̂₀ itself (coef1 = 1, coef2 = 0) and
                # Algorithm 2 adds no noise; taking x̂₀ avoids their rounding error.
                x_t = x0_hat
            if trajectory:
                xs.append(x_t)
                x0_hats.append(x0_hat)
        if trajectory:
            return x_t, torch.stack(xs), torch.stack(x0_hats)
        return x_t
