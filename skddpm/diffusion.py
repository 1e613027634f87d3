"""The diffusion process on tensors: forward noising, the training loss, the maths of
one reverse step, the variational bound.

This module takes the schedule's float64 arrays and a denoiser given as a callable
``model(x_t, t)``; it knows nothing of the network class, of the loop over the steps
(:mod:`skddpm.samplers`) or of scikit-learn.
Indexing follows the paper: ``t = 1..T``, the coefficient of step ``t`` is entry
``t - 1``.
"""

import math
import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .multinomial import CategoricalBlock
from .schedules import mix_forward, mix_posterior_mean

__all__ = [
    "LOSSES",
    "PREDICTION_TYPES",
    "VARIANCE_TYPES",
    "GaussianDiffusion",
]

VARIANCE_TYPES = ("fixed_small", "fixed_large")

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction", "mean")
LOSSES = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.smooth_l1_loss,
}


class GaussianDiffusion:
    """A DDPM's forward process, training objective, reverse-step maths and bound.

    With ``categories``, the last columns of ``x`` are the one-hot codes of categorical
    variables, diffused by multinomial diffusion (Hoogeboom et al. 2021) in the same
    chain, as TabDDPM does (Kotelnikov et al. 2023): the network outputs their ``x̂₀``
    logits there, the objective adds their KL terms to the numbers' loss, and the
    samplers and the bound step them with the closed-form posterior of
    :class:`CategoricalBlock`.

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
    variance_type : {"fixed_small", "fixed_large"}, default="fixed_small"
        The variance ``σ_t²`` of the reverse step ``p(x_{t-1} | x_t)`` (Ho et al. §3.2),
        shared by the ancestral sampler and the bound: the posterior variance ``β̃_t``
        or the forward variance ``β_t``. The decoder ``p(x₀ | x₁)`` of the bound uses
        ``β₁`` for both, as ``β̃₁ = 0``.
    categories : sequence of int, default=()
        The number of levels of each categorical variable, whose one-hot codes are the
        last ``sum(categories)`` columns of ``x``, in this order. Empty: every column
        is a number.

    Attributes
    ----------
    reverse_variance : ndarray of shape (T,)
        ``σ_t²`` in float64; entry 0 is the decoder's variance.
    """

    def __init__(
        self,
        schedule,
        prediction_type="epsilon",
        device="cpu",
        dtype=torch.float32,
        variance_type="fixed_small",
        categories=(),
    ):
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"Unknown prediction_type {prediction_type!r}; expected one of {PREDICTION_TYPES}."
            )
        if variance_type not in VARIANCE_TYPES:
            raise ValueError(
                f"Unknown variance_type {variance_type!r}; expected one of {VARIANCE_TYPES}."
            )
        self.schedule = schedule
        self.variance_type = variance_type
        if variance_type == "fixed_small":
            self.reverse_variance = np.concatenate(
                [schedule.betas[:1], schedule.posterior_variance[1:]]
            )
        else:
            self.reverse_variance = schedule.betas.copy()
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
        self.categorical = CategoricalBlock(categories, self.device) if len(categories) else None

        # ᾱ_t for t = 0..T, ᾱ₀ = 1, shaped to broadcast over the padded categories.
        self._abar = torch.as_tensor(
            np.concatenate([[1.0], schedule.alphas_cumprod]), dtype=dtype, device=self.device
        )

    def split(self, x):
        """The numeric columns of ``x`` and its one-hot block (None without categories)."""
        if self.categorical is None:
            return x, None
        d = x.shape[1] - self.categorical.width
        return x[:, :d], x[:, d:]

    def join(self, numeric, categorical):
        return numeric if categorical is None else torch.cat([numeric, categorical], dim=1)

    def _abar_at(self, t):
        """``ᾱ_t`` of integer steps ``t`` (0 allowed) as (n, 1, 1), for the categories."""
        if isinstance(t, numbers.Integral):
            t = torch.full((1,), t, dtype=torch.long, device=self.device)
        return self._abar[t][:, None, None]

    def categorical_step(self, x_t, log_x0, t, prev):
        """``log q(x_prev | x_t, x₀)`` of the one-hot block ``x_t`` (padded)."""
        block = self.categorical
        return block.posterior(block.pad(x_t, 0.0), log_x0, self._abar_at(t), self._abar_at(prev))

    def _at(self, coef, t):
        """``coef[t - 1]`` shaped as a column, to broadcast over the features."""
        return coef[t - 1][:, None]

    # -- forward process ---------------------------------------------------------------

    def q_sample(self, x0, t, noise):
        """``x_t = √ᾱ_t x₀ + √(1 - ᾱ_t) ε`` (Ho et al. eq. 4).

        The categories' block of ``x_t`` is drawn from ``Cat(ᾱ_t x₀ + (1 - ᾱ_t) / K)``
        with Gumbel noise made from the same columns of ``noise``.
        """
        x0_num, x0_cat = self.split(x0)
        noise_num, noise_cat = self.split(noise)
        x_t = mix_forward(
            self.sqrt_alphas_cumprod, self.sqrt_one_minus_alphas_cumprod, x0_num, t, noise_num
        )
        if x0_cat is None:
            return x_t
        block = self.categorical
        log_q = block.log_mix(block.log_onehot(x0_cat), self._abar_at(t))
        return self.join(x_t, block.unpad(block.draw(log_q, noise_cat)))

    def prior_sample(self, noise):
        """``x_T`` from standard normal ``noise``: the numbers as they are, uniform categories."""
        noise_num, noise_cat = self.split(noise)
        if noise_cat is None:
            return noise
        block = self.categorical
        return self.join(noise_num, block.unpad(block.draw(block.uniform(noise), noise_cat)))

    def q_posterior_mean(self, x0, x_t, t):
        """The mean of ``q(x_{t-1} | x_t, x₀)`` (Ho et al. eq. 7)."""
        return mix_posterior_mean(self.posterior_mean_coef1, self.posterior_mean_coef2, x0, x_t, t)

    # -- parameterizations ---------------------------------------------------------------

    def target(self, x0, x_t, t, noise):
        """What the network should output for ``x_t`` made from ``x₀`` and ``noise``.

        For the categories' block it is what the objective compares the network's
        step with: ``log q(x_{t-1} | x_t, x₀)``, padded columns left out.
        """
        x0_num, x0_cat = self.split(x0)
        x_t_num, x_t_cat = self.split(x_t)
        numeric = self._numeric_target(x0_num, x_t_num, t, self.split(noise)[0])
        if x0_cat is None:
            return numeric
        block = self.categorical
        log_q = self.categorical_step(x_t_cat, block.log_onehot(x0_cat), t, t - 1)
        return self.join(numeric, block.unpad(log_q))

    def _numeric_target(self, x0, x_t, t, noise):
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
        bound all call it. For the categories' block, ``x̂₀`` is the probabilities of
        each variable's levels (the softmax of the network's logits).
        """
        output_num, output_cat = self.split(model_output)
        x0_hat = self._numeric_x0(output_num, self.split(x_t)[0], t)
        if output_cat is None:
            return x0_hat
        block = self.categorical
        return self.join(x0_hat, block.unpad(torch.exp(block.log_softmax(output_cat))))

    def _numeric_x0(self, model_output, x_t, t):
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

    def training_pair(self, x0, t, noise):
        """``x_t`` made from ``x₀`` and ``noise``, and what the network should output for it.

        The training loop makes the pairs of a whole epoch in one call, so that a step
        only slices them.
        """
        x_t = self.q_sample(x0, t, noise)
        return x_t, self.target(x0, x_t, t, noise)

    def objective(self, output, target, x_t, t, loss="mse"):
        """The training loss of a batch from the network's ``output`` and its ``target``.

        The numbers: the simplified objective (Ho et al. eq. 14), ``loss`` between
        output and target. The categories: the mean over variables of
        ``KL(q(x_{t-1} | x_t, x₀) ‖ p_θ(x_{t-1} | x_t))`` (``-log p_θ(x₀ | x₁)`` at
        ``t = 1``), as TabDDPM, added to it.
        """
        if self.categorical is None:
            return LOSSES[loss](output, target)
        output_num, output_cat = self.split(output)
        target_num, target_cat = self.split(target)
        total = output.new_zeros(())
        if output_num.shape[1]:
            total = LOSSES[loss](output_num, target_num)
        if output_cat is not None:
            block = self.categorical
            log_p = self.categorical_step(
                self.split(x_t)[1], block.log_softmax(output_cat), t, t - 1
            )
            total = total + block.kl(block.pad(target_cat, -math.inf), log_p).mean()
        return total

    def loss(self, model, x0, t, noise, loss="mse"):
        """The training objective of rows ``x0`` at steps ``t`` with ``noise``."""
        x_t, target = self.training_pair(x0, t, noise)
        return self.objective(model(x_t, t), target, x_t, t, loss)

    # -- one reverse step --------------------------------------------------------------------

    def step_categories(self, x0_cat, x_t_cat, step, prev, generator):
        """A draw of the categories' block at level ``prev`` from ``x_t`` at ``step``.

        Every sampler steps the categories by the same closed-form posterior (the
        mixture over ``x̂₀``, :meth:`CategoricalBlock.posterior`), from ``step`` to any
        ``prev < step`` (to ``x₀`` itself when ``prev = 0``); DDIM's eta does not apply.
        """
        block = self.categorical
        log_x0 = torch.log(block.pad(x0_cat, 0.0))
        log_p = self.categorical_step(x_t_cat, log_x0, step, prev)
        return block.unpad(block.draw(log_p, self.randn(x_t_cat, generator)))

    def renoise(self, x, step, later, generator):
        """A draw of ``x_later`` from ``q(x_later | x_step = x)``, ``later > step``.

        The forward process over the gap: ``√r x + √(1 - r) ε`` with ``r = ᾱ_later /
        ᾱ_step`` for the numbers, ``Cat(r x + (1 - r) / K)`` for the categories.
        """
        ratio = float(self._abar[later] / self._abar[step])
        x_num, x_cat = self.split(x)
        out = math.sqrt(ratio) * x_num + math.sqrt(1 - ratio) * self.randn(x_num, generator)
        if x_cat is None:
            return out
        block = self.categorical
        log_q = block.log_mix(block.log_onehot(x_cat), ratio)
        return self.join(out, block.unpad(block.draw(log_q, self.randn(x_cat, generator))))

    def clip_x0(self, x0_hat, clip):
        """``x̂₀`` with its numbers clipped to ``clip = (low, high)``, if given."""
        if clip is None:
            return x0_hat
        x0_num, x0_cat = self.split(x0_hat)
        return self.join(torch.clamp(x0_num, clip[0], clip[1]), x0_cat)

    # -- the bound -------------------------------------------------------------------------

    def bound_terms(self, model, x0, noise, *, clip=None, mask=None):
        """The terms of the variational bound on ``-log p(x₀)`` (Ho et al. eq. 5), in nats.

        ``L_T = KL(q(x_T | x₀) ‖ N(0, I))``, ``L_{t-1} = KL(q(x_{t-1} | x_t, x₀) ‖
        p(x_{t-1} | x_t))`` for ``t >= 2`` and the Gaussian decoder
        ``L₀ = -log N(x₀; μ(x₁, 1), σ₁²)``, each summed over the features, with the
        reverse means the sampler computes (``x̂₀`` clipped like it) and its variances
        ``σ_t²``. Each ``x_t`` is drawn once from ``q(x_t | x₀)``, so the sum is an
        unbiased estimate of the bound. Work in float64 to keep the small variances
        of the last steps exact.

        The categories add their discrete terms (Hoogeboom et al. 2021):
        ``KL(q(x_T | x₀) ‖ Uniform)``, the same posterior KL at each step and
        ``-log p(x₀ | x₁)``, exact sums over each variable's levels.

        Parameters
        ----------
        model : callable
            ``model(x_t, t) -> output``; ``t`` has shape (1,).
        x0 : Tensor of shape (n_samples, n_features)
        noise : callable
            ``noise(t)`` returns the standard normal Tensor, broadcastable to ``x0``,
            that makes ``x_t``: called once per step, so only one step's noise is in
            memory at a time.
        clip : tuple of two Tensors of shape (n_numeric,), optional
            Clip ``x̂₀`` to ``[low, high]``, as the sampler does.
        mask : Tensor of shape (n_samples, n_numeric), optional
            1 where a number is observed, 0 where it is missing: a missing cell adds
            no term, so the bound is on the observed cells (and, through the
            categories that code it, on where cells are missing).

        Returns
        -------
        terms : Tensor of shape (T + 1, n_samples)
            ``terms[0]`` is ``L₀``, ``terms[t - 1]`` is ``L_{t-1}`` for ``2 <= t <= T``
            and ``terms[T]`` is ``L_T``; their sum bounds ``-log p(x₀)`` from above.
        """
        s = self.schedule
        var = self.reverse_variance
        abar_T = s.alphas_cumprod[-1]
        block = self.categorical
        x0_num, x0_cat = self.split(x0)
        log_x0 = None if x0_cat is None else block.log_onehot(x0_cat)

        def total(cells):
            return (cells if mask is None else cells * mask).sum(dim=1)

        terms = [None] * (self.timesteps + 1)
        terms[-1] = total(0.5 * (abar_T * x0_num**2 + (1 - abar_T) - 1 - math.log(1 - abar_T)))
        if log_x0 is not None:
            log_q = block.log_mix(log_x0, abar_T)
            terms[-1] = terms[-1] + block.kl(log_q, block.uniform(x0)).sum(dim=1)
        for step in range(1, self.timesteps + 1):
            t = torch.full((1,), step, dtype=torch.long, device=x0.device)
            x_t = self.q_sample(x0, t, noise(step))
            output = model(x_t, t)
            x_t_num, x_t_cat = self.split(x_t)
            output_num, output_cat = self.split(output)
            x0_hat = self._numeric_x0(output_num, x_t_num, t)
            if clip is not None:
                x0_hat = torch.clamp(x0_hat, clip[0], clip[1])
            if step == 1:
                # The posterior mean at t = 1 is x̂₀ itself.
                sq = (x0_num - x0_hat) ** 2
                term = total(0.5 * (math.log(2 * math.pi * var[0]) + sq / var[0]))
            else:
                sq = (
                    self.q_posterior_mean(x0_num, x_t_num, t)
                    - self.q_posterior_mean(x0_hat, x_t_num, t)
                ) ** 2
                post = s.posterior_variance[step - 1]
                term = total(
                    0.5 * (math.log(var[step - 1] / post) + (post + sq) / var[step - 1] - 1)
                )
            if log_x0 is not None:
                log_q = self.categorical_step(x_t_cat, log_x0, step, step - 1)
                log_p = self.categorical_step(
                    x_t_cat, block.log_softmax(output_cat), step, step - 1
                )
                term = term + block.kl(log_q, log_p).sum(dim=1)
            terms[step - 1] = term
        return torch.stack(terms)

    @staticmethod
    def randn(like, generator):
        """Standard normal noise of the shape, device and dtype of ``like``."""
        return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)

    def sample_loop(
        self, model, noise, *, generator, method="ddpm", known=None, allowed=None, jumps=0,
        jump_length=10, corrector_steps=0, **options,
    ):  # fmt: skip
        """Deprecated: use :func:`skddpm.samplers.sample_loop`.

        .. deprecated:: 0.2
            The reverse loop moved to :func:`skddpm.samplers.sample_loop`, and
            inpainting (``known``, ``allowed``, ``jumps``, ``jump_length``,
            ``corrector_steps``) to :class:`skddpm.samplers.Inpainting`; this method
            goes in 0.3.
        """
        from . import samplers

        warnings.warn(
            "GaussianDiffusion.sample_loop is deprecated and will be removed in 0.3; call "
            "skddpm.samplers.sample_loop(diffusion, model, noise, ...) instead, with "
            "condition=skddpm.samplers.Inpainting(...) for known cells.",
            FutureWarning,
            stacklevel=2,
        )
        condition = None
        if known is not None:
            condition = samplers.Inpainting(
                *known, allowed=allowed, jumps=jumps, jump_length=jump_length,
                corrector_steps=corrector_steps,
            )  # fmt: skip
        return samplers.sample_loop(
            self, model, noise, generator=generator, method=method, condition=condition,
            **options,
        )  # fmt: skip


# Names that moved to skddpm.samplers and skddpm.multinomial in 0.2, importable from here
# for one more release.
_MOVED = {
    "AncestralSampler": "samplers",
    "DDIMSampler": "samplers",
    "SAMPLERS": "samplers",
    "check_guidance_scale": "samplers",
    "classifier_free_guidance": "samplers",
    "ddim_timesteps": "samplers",
    "make_sampler": "samplers",
    "repaint_path": "samplers",
}


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"{__package__}.{_MOVED[name]}")
    warnings.warn(
        f"skddpm.diffusion.{name} is deprecated and will be removed in 0.3; import it "
        f"from skddpm.{_MOVED[name]} instead.",
        FutureWarning,
        stacklevel=2,
    )
    return getattr(module, name)
