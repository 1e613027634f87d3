"""The diffusion process on tensors: forward noising, the training loss, the sampler.

This module takes the schedule's float64 arrays and a denoiser given as a callable
``model(x_t, t)``; it knows nothing of the network class or of scikit-learn.
Indexing follows the paper: ``t = 1..T``, the coefficient of step ``t`` is entry
``t - 1``.
"""

import itertools
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .schedules import mix_forward, mix_posterior_mean

__all__ = [
    "LOSSES",
    "PREDICTION_TYPES",
    "SAMPLERS",
    "VARIANCE_TYPES",
    "AncestralSampler",
    "CategoricalBlock",
    "DDIMSampler",
    "GaussianDiffusion",
    "check_guidance_scale",
    "classifier_free_guidance",
    "ddim_timesteps",
    "make_sampler",
]

VARIANCE_TYPES = ("fixed_small", "fixed_large")

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction", "mean")
LOSSES = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.smooth_l1_loss,
}


class GaussianDiffusion:
    """A DDPM's forward process, training objective and samplers (ancestral and DDIM).

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
        self.categorical = (
            CategoricalBlock(categories, self.device) if len(categories) else None
        )

        # ᾱ_t for t = 0..T, ᾱ₀ = 1, shaped to broadcast over the padded categories.
        self._abar = torch.as_tensor(
            np.concatenate([[1.0], schedule.alphas_cumprod]), dtype=dtype, device=self.device
        )

    def _split(self, x):
        """The numeric columns of ``x`` and its one-hot block (None without categories)."""
        if self.categorical is None:
            return x, None
        d = x.shape[1] - self.categorical.width
        return x[:, :d], x[:, d:]

    def _join(self, numeric, categorical):
        return numeric if categorical is None else torch.cat([numeric, categorical], dim=1)

    def _abar_at(self, t):
        """``ᾱ_t`` of integer steps ``t`` (0 allowed) as (n, 1, 1), for the categories."""
        if isinstance(t, numbers.Integral):
            t = torch.full((1,), t, dtype=torch.long, device=self.device)
        return self._abar[t][:, None, None]

    def _categorical_step(self, x_t, log_x0, t, prev):
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
        x0_num, x0_cat = self._split(x0)
        noise_num, noise_cat = self._split(noise)
        x_t = mix_forward(
            self.sqrt_alphas_cumprod, self.sqrt_one_minus_alphas_cumprod, x0_num, t, noise_num
        )
        if x0_cat is None:
            return x_t
        block = self.categorical
        log_q = block.log_mix(block.log_onehot(x0_cat), self._abar_at(t))
        return self._join(x_t, block.unpad(block.draw(log_q, noise_cat)))

    def prior_sample(self, noise):
        """``x_T`` from standard normal ``noise``: the numbers as they are, uniform categories."""
        noise_num, noise_cat = self._split(noise)
        if noise_cat is None:
            return noise
        block = self.categorical
        return self._join(noise_num, block.unpad(block.draw(block.uniform(noise), noise_cat)))

    def q_posterior_mean(self, x0, x_t, t):
        """The mean of ``q(x_{t-1} | x_t, x₀)`` (Ho et al. eq. 7)."""
        return mix_posterior_mean(self.posterior_mean_coef1, self.posterior_mean_coef2, x0, x_t, t)

    # -- parameterizations ---------------------------------------------------------------

    def target(self, x0, x_t, t, noise):
        """What the network should output for ``x_t`` made from ``x₀`` and ``noise``.

        For the categories' block it is what the objective compares the network's
        step with: ``log q(x_{t-1} | x_t, x₀)``, padded columns left out.
        """
        x0_num, x0_cat = self._split(x0)
        x_t_num, x_t_cat = self._split(x_t)
        numeric = self._numeric_target(x0_num, x_t_num, t, self._split(noise)[0])
        if x0_cat is None:
            return numeric
        block = self.categorical
        log_q = self._categorical_step(x_t_cat, block.log_onehot(x0_cat), t, t - 1)
        return self._join(numeric, block.unpad(log_q))

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
        output_num, output_cat = self._split(model_output)
        x0_hat = self._numeric_x0(output_num, self._split(x_t)[0], t)
        if output_cat is None:
            return x0_hat
        block = self.categorical
        return self._join(x0_hat, block.unpad(torch.exp(block.log_softmax(output_cat))))

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
        output_num, output_cat = self._split(output)
        target_num, target_cat = self._split(target)
        total = output.new_zeros(())
        if output_num.shape[1]:
            total = LOSSES[loss](output_num, target_num)
        if output_cat is not None:
            block = self.categorical
            log_p = self._categorical_step(
                self._split(x_t)[1], block.log_softmax(output_cat), t, t - 1
            )
            total = total + block.kl(block.pad(target_cat, -math.inf), log_p).mean()
        return total

    def loss(self, model, x0, t, noise, loss="mse"):
        """The training objective of rows ``x0`` at steps ``t`` with ``noise``."""
        x_t, target = self.training_pair(x0, t, noise)
        return self.objective(model(x_t, t), target, x_t, t, loss)

    # -- sampling ----------------------------------------------------------------------------

    def sample_loop(
        self,
        model,
        noise,
        *,
        generator,
        method="ddpm",
        clip=None,
        trajectory=False,
        known=None,
        allowed=None,
        jumps=0,
        jump_length=10,
        corrector_steps=0,
        **options,
    ):
        """Run the reverse chain from ``x_T = noise``.

        Parameters
        ----------
        model : callable
            ``model(x_t, t) -> output`` on tensors; ``t`` has shape (1,), one step
            shared by every row.
        noise : Tensor of shape (n_samples, n_features)
            Standard normal: ``x_T`` itself for the numbers, the Gumbel noise of the
            uniform draw of ``x_T`` for the categories' block.
        generator : torch.Generator
            The source of the noise added along the way, on the device of ``noise``.
        method : str or sampler, default="ddpm"
            A name in :data:`SAMPLERS` (``"ddpm"``: ancestral sampling, Ho et al.
            Algorithm 2; ``"ddim"``: Song et al. 2021), built with ``options`` by
            :func:`make_sampler`, or a sampler object.
        clip : tuple of two Tensors of shape (n_numeric,), optional
            Clip the numbers' ``x̂₀`` to ``[low, high]`` before each step.
        trajectory : bool, default=False
            Also return ``x_t`` and ``x̂₀`` at every step.
        known : tuple of two Tensors of shape (n_samples, n_features), optional
            ``(x0, mask)``: inpainting (RePaint, Lugmayr et al. 2022). Where ``mask`` is
            1 the chain holds ``x0`` itself, re-noised to each step's level by the
            forward process, so the other cells are drawn given it; the sample has
            ``x0`` there exactly. A categorical variable is known in all its columns or
            none.
        allowed : Tensor of shape (n_samples, width of the categories' block), optional
            1 for the levels each row's variable may take, 0 for those it may not: the
            categories' ``x̂₀`` is renormalized over the allowed levels at every step.
        jumps : int, default=0
            RePaint's resampling: after every ``jump_length`` steps the chain jumps
            back ``jump_length`` steps (``x_t`` drawn again from the forward process)
            and comes down again, ``jumps`` times, so the free cells are harmonized
            with the known ones. It costs about ``1 + jumps`` times the network calls.
        jump_length : int, default=10
            The steps of each jump (fewer when the chain has fewer steps).
        corrector_steps : int, default=0
            With ``known``: Langevin corrector steps (Song et al. 2021, predictor-
            corrector) on the free numbers after each step, with the known cells held,
            so that they follow ``p_t(free | known)``. Each costs a network call.
        **options
            The sampler's own options, such as DDIM's ``steps`` and ``eta``.

        Returns
        -------
        x0 : Tensor of shape (n_samples, n_features)
        xs, x0_hats : Tensor of shape (n_steps + 1, n_samples, n_features) and (n_steps, ...)
            Only when ``trajectory``: ``xs[0]`` is ``x_T``, ``xs[-1]`` the sample,
            ``x0_hats[i]`` the estimate made from ``xs[i]``.
        """
        sampler = method
        if isinstance(method, str):
            sampler = make_sampler(method, self.timesteps, **options)
        ts = sampler.timesteps(self.schedule)
        x_t = self.prior_sample(noise)
        xs, x0_hats = [x_t], []
        levels = [*list(ts), 0]
        path = repaint_path(len(ts), jumps, jump_length)
        last = {b: k for k, b in enumerate(path)}
        for k, (a, b) in enumerate(itertools.pairwise(path), start=1):
            step, prev = levels[a], levels[b]
            if b < a:
                # RePaint's jump back: x_{t_b} ~ q(x_{t_b} | x_{t_a}), in one draw.
                x_t = self.renoise(x_t, step, prev, generator)
                continue
            t = torch.full((1,), step, dtype=torch.long, device=noise.device)
            x0_hat = self._clip(self.predict_x0(model(x_t, t), x_t, t), clip)
            if allowed is not None:
                x0_num, x0_cat = self._split(x0_hat)
                x0_hat = self._join(x0_num, self.categorical.restrict(x0_cat, allowed))
            x_t = self._reverse_step(sampler, x0_hat, x_t, t, step, prev, generator)
            if known is not None:
                x_t = self._paste(known, x_t, prev, generator)
                if prev > 0:
                    x_t = self._correct(model, x_t, prev, known[1], corrector_steps, generator)
            if trajectory and last[b] == k:
                xs.append(x_t)
                x0_hats.append(x0_hat)
        if trajectory:
            return x_t, torch.stack(xs), torch.stack(x0_hats)
        return x_t

    def _reverse_step(self, sampler, x0_hat, x_t, t, step, prev, generator):
        """``x_prev`` from ``x_t`` given the estimate ``x̂₀``: the sampler's step for the
        numbers, the closed-form posterior for the categories."""
        x0_num, x0_cat = self._split(x0_hat)
        x_t_num, x_t_cat = self._split(x_t)
        if prev == 0:
            # The last step returns x̂₀: the posterior mean at t = 1 is x̂₀ itself
            # (coef1 = 1, coef2 = 0), and DDIM's update reduces to it as ᾱ₀ = 1.
            x_num = x0_num
        else:
            x_num = sampler.step(self, x0_num, x_t_num, t, step, prev, generator)
        x_cat = None
        if x0_cat is not None:
            # Every sampler steps the categories by the same closed-form posterior,
            # from step to prev (to x₀ itself at the end); DDIM's eta does not apply.
            block = self.categorical
            log_x0 = torch.log(block.pad(x0_cat, 0.0))
            log_p = self._categorical_step(x_t_cat, log_x0, step, prev)
            x_cat = block.unpad(block.draw(log_p, self.randn(x_t_cat, generator)))
        return self._join(x_num, x_cat)

    def _paste(self, known, x_prev, prev, generator):
        """``x_prev`` with the known cells of ``known = (x0, mask)`` put back at level ``prev``."""
        x0, mask = known
        if prev > 0:
            t = torch.full((1,), prev, dtype=torch.long, device=x0.device)
            x0 = self.q_sample(x0, t, self.randn(x0, generator))
        return torch.where(mask > 0, x0, x_prev)

    # Song et al. (2021) Algorithm 5: the Langevin step is 2 (r ‖z‖ / ‖s‖)² with the norms
    # averaged over the rows, r the signal-to-noise ratio; 0.16 is theirs. A row's own
    # ratio makes the step depend on where the row is, which no longer targets p_t.
    corrector_snr = 0.16

    def _correct(self, model, x_t, step, known, n_steps, generator):
        """``n_steps`` Langevin steps at level ``step`` on the free numbers of ``x_t``,
        the known cells held: ``x ← x + δ s + √(2δ) z`` with the score ``s = -ε̂ / σ_t``."""
        if n_steps == 0:
            return x_t
        t = torch.full((1,), step, dtype=torch.long, device=x_t.device)
        free = self._split(1 - known)[0]
        sigma = self._at(self.sqrt_one_minus_alphas_cumprod, t)
        for _ in range(n_steps):
            x_num, x_cat = self._split(x_t)
            x0_hat = self._split(self.predict_x0(model(x_t, t), x_t, t))[0]
            score = -self.predict_eps(x0_hat, x_num, t) / sigma * free
            z = self.randn(x_num, generator) * free
            ratio = z.norm(dim=1).mean() / score.norm(dim=1).mean().clamp_min(1e-12)
            delta = 2 * (self.corrector_snr * ratio) ** 2
            x_t = self._join(x_num + delta * score + torch.sqrt(2 * delta) * z, x_cat)
        return x_t

    def renoise(self, x, step, later, generator):
        """A draw of ``x_later`` from ``q(x_later | x_step = x)``, ``later > step``.

        The forward process over the gap: ``√r x + √(1 - r) ε`` with ``r = ᾱ_later /
        ᾱ_step`` for the numbers, ``Cat(r x + (1 - r) / K)`` for the categories.
        """
        ratio = float(self._abar[later] / self._abar[step])
        x_num, x_cat = self._split(x)
        out = math.sqrt(ratio) * x_num + math.sqrt(1 - ratio) * self.randn(x_num, generator)
        if x_cat is None:
            return out
        block = self.categorical
        log_q = block.log_mix(block.log_onehot(x_cat), ratio)
        return self._join(out, block.unpad(block.draw(log_q, self.randn(x_cat, generator))))

    def _clip(self, x0_hat, clip):
        """``x̂₀`` with its numbers clipped to ``clip = (low, high)``, if given."""
        if clip is None:
            return x0_hat
        x0_num, x0_cat = self._split(x0_hat)
        return self._join(torch.clamp(x0_num, clip[0], clip[1]), x0_cat)

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
        x0_num, x0_cat = self._split(x0)
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
            x_t_num, x_t_cat = self._split(x_t)
            output_num, output_cat = self._split(output)
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
                log_q = self._categorical_step(x_t_cat, log_x0, step, step - 1)
                log_p = self._categorical_step(
                    x_t_cat, block.log_softmax(output_cat), step, step - 1
                )
                term = term + block.kl(log_q, log_p).sum(dim=1)
            terms[step - 1] = term
        return torch.stack(terms)

    @staticmethod
    def randn(like, generator):
        """Standard normal noise of the shape, device and dtype of ``like``."""
        return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


# -- categorical columns -----------------------------------------------------------------
#
# Multinomial diffusion (Hoogeboom et al. 2021), as TabDDPM (Kotelnikov et al. 2023) uses
# it beside the Gaussian one. A column of K levels is a one-hot block of x; the forward
# process moves it towards the uniform distribution with the same ᾱ_t as the numbers:
# q(x_t | x₀) = Cat(ᾱ_t x₀ + (1 - ᾱ_t) / K). It composes, so for any pair of steps
# t' < t, q(x_t | x_{t'}) = Cat(r x_{t'} + (1 - r) / K) with r = ᾱ_t / ᾱ_{t'}, and
# q(x_{t'} | x_t, x₀) ∝ (r x_t + (1 - r) / K) ⊙ (ᾱ_{t'} x₀ + (1 - ᾱ_{t'}) / K). The
# network's x̂₀ is a distribution over x₀, and p_θ(x_{t'} | x_t) the mixture of these
# posteriors over it: the ancestral step (t' = t - 1), DDIM's skipped steps and the
# bound's terms are all this one formula (CategoricalBlock.posterior).


class CategoricalBlock:
    """The one-hot columns of a table's categorical variables, and their maths.

    The block's columns are the variables' one-hot codes side by side, ``sizes[g]``
    columns for variable ``g``. The maths works on a padded view of shape
    (n, n_variables, max(sizes)), with ``-inf`` log-probabilities in the padding, so each
    operation is one tensor operation whatever the number of variables.

    All the randomness comes from standard normal noise, turned into Gumbel noise by
    ``-log(-log Φ(z))``: the forward process, the sampler and the bound draw categories
    from the same normal noise as the numbers.

    Parameters
    ----------
    sizes : sequence of int
        The number of levels of each variable, each at least 1.
    device : torch.device or str, default="cpu"
    """

    def __init__(self, sizes, device="cpu"):
        sizes = [int(k) for k in sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"Expected one or more variables of at least 1 level, got {sizes}.")
        self.sizes = sizes
        self.width = sum(sizes)
        width, longest = self.width, max(sizes)
        index = torch.full((len(sizes), longest), width, dtype=torch.long)
        start = 0
        for g, k in enumerate(sizes):
            index[g, :k] = torch.arange(start, start + k)
            start += k
        self.device = torch.device(device)
        self._index = index.flatten().to(self.device)
        self._valid = (index < width).to(self.device)
        self._keep = self._valid.flatten().nonzero().flatten()
        self._k = torch.as_tensor(sizes, dtype=torch.float32, device=self.device)[:, None]

    def pad(self, z, fill):
        """``z`` of shape (n, width) as (n, n_variables, max(sizes)), padded with ``fill``."""
        z = torch.cat([z, z.new_full((z.shape[0], 1), fill)], dim=1)
        return z[:, self._index].view(z.shape[0], *self._valid.shape)

    def unpad(self, z):
        """The inverse of :meth:`pad`."""
        return z.flatten(1)[:, self._keep]

    def log_softmax(self, logits):
        """Log-probabilities of each variable's levels from the network's logits, padded."""
        return torch.log_softmax(self.pad(logits, -math.inf), dim=-1)

    def log_mix(self, log_x0, abar):
        """``log(ᾱ x₀ + (1 - ᾱ) / K)`` for padded log-probabilities ``log_x0``.

        ``abar`` has shape (n, 1, 1) or is a number; ``ᾱ = 1`` gives ``log_x0``.
        """
        abar = torch.as_tensor(abar, dtype=log_x0.dtype, device=log_x0.device)
        uniform = torch.log((1 - abar) / self._k.to(log_x0.dtype))
        # The padding is made finite first: logaddexp(-inf, -inf) has a NaN gradient.
        log_x0 = log_x0.masked_fill(~self._valid, 0.0)
        mixed = torch.logaddexp(torch.log(abar) + log_x0, uniform)
        return mixed.masked_fill(~self._valid, -math.inf)

    def posterior(self, x_t, log_x0, abar_t, abar_prev):
        """``log p(x_{t'} | x_t)`` for one-hot ``x_t`` (padded) and a distribution of ``x₀``.

        ``log_x0`` holds the log-probabilities of ``x₀``'s levels (padded); ``abar_t`` and
        ``abar_prev`` (``ᾱ_t`` and ``ᾱ_{t'}``, ``t' < t``, ``ᾱ₀ = 1``) have shape
        (n, 1, 1) or are numbers. The result is the mixture ``Σ_k w_k q(x_{t'} | x_t,
        x₀ = k)`` of the forward posteriors over ``x₀ ~ w`` (Austin et al. 2021): for a
        one-hot ``x₀`` it is the forward posterior itself; for the network's ``x̂₀`` it
        is the reverse step, exact for any pair of steps when ``x̂₀`` is ``p(x₀ | x_t)``,
        which the objective teaches. (Putting ``x̂₀`` into the posterior in place of
        ``x₀``, as Hoogeboom et al. do, is right only for small steps: with 10 DDIM
        steps it made a three-level column's shares 0.17/0.41/0.41 for 0.38/0.32/0.30.)

        With ``f = r x_t + (1 - r) / K`` (``r = ᾱ_t / ᾱ_{t'}``), ``c = (1 - ᾱ_{t'}) / K``
        and ``Z_k = ᾱ_{t'} f_k + c``, the mixture is ``f_j (ᾱ_{t'} w_j / Z_j + c Σ_k
        w_k / Z_k)``: one pass over the levels, computed in logarithms.
        """
        dtype = log_x0.dtype
        like = {"dtype": dtype, "device": log_x0.device}
        abar_prev = torch.as_tensor(abar_prev, **like)
        ratio = torch.as_tensor(abar_t, **like) / abar_prev
        k = self._k.to(dtype)
        log_f = torch.where(
            x_t > 0.5, torch.log(ratio + (1 - ratio) / k), torch.log((1 - ratio) / k)
        )
        log_abar, log_c = torch.log(abar_prev), torch.log((1 - abar_prev) / k)
        log_v = log_x0.masked_fill(~self._valid, -math.inf) - torch.logaddexp(
            log_abar + log_f, log_c
        )
        log_sum = torch.logsumexp(log_v, dim=-1, keepdim=True)
        # The padding is made finite first: logaddexp(-inf, -inf) has a NaN gradient.
        inner = torch.logaddexp(log_abar + log_v.masked_fill(~self._valid, 0.0), log_c + log_sum)
        return (log_f + inner).masked_fill(~self._valid, -math.inf)

    def restrict(self, p, allowed):
        """Probabilities ``p`` of shape (n, width) renormalized over the ``allowed`` levels.

        A variable with no allowed level keeps ``p`` as it is.
        """
        kept = self.pad(p * allowed, 0.0)
        total = kept.sum(dim=-1, keepdim=True)
        kept = torch.where(total > 0, kept / total.clamp_min(1e-30), self.pad(p, 0.0))
        return self.unpad(kept)

    @staticmethod
    def kl(log_q, log_p):
        """``KL(q ‖ p)`` of each variable, shape (n, n_variables); ``0 log 0 = 0``.

        Where ``q`` is 0 both logarithms are replaced by 0 before the product, so no
        ``0 · ∞`` appears, in the value or in its gradient.
        """
        zero = torch.isneginf(log_q)
        difference = log_q.masked_fill(zero, 0.0) - log_p.masked_fill(zero, 0.0)
        return (torch.exp(log_q) * difference).sum(dim=-1)

    def draw(self, log_p, noise):
        """One-hot draws (padded) from ``log_p``, by Gumbel-max on standard normal ``noise``.

        ``noise`` has shape (n, width); the padding never wins.
        """
        gumbel = -torch.log(-torch.special.log_ndtr(self.pad(noise, 0.0)))
        choice = torch.argmax(log_p + gumbel, dim=-1, keepdim=True)
        return torch.zeros_like(log_p).scatter_(-1, choice, 1.0)

    def uniform(self, like):
        """Padded log-probabilities of the uniform distribution, the prior of ``x_T``."""
        k = self._k.to(like.dtype)
        return (-torch.log(k)).expand(like.shape[0], *self._valid.shape).masked_fill(
            ~self._valid, -math.inf
        )

    def log_onehot(self, x):
        """Padded log-probabilities of one-hot rows ``x`` of shape (n, width)."""
        return torch.log(self.pad(x, 0.0))

    def levels(self, x):
        """The level index of each variable of one-hot (or probability) rows, (n, n_variables)."""
        return torch.argmax(self.pad(x, -1.0), dim=-1)


# -- samplers ------------------------------------------------------------------------------
#
# A sampler chooses the steps of the reverse chain and moves x_t to the next one given
# the estimate x̂₀; GaussianDiffusion.sample_loop does the rest (the network call, x̂₀,
# clipping, the last step, the trajectory). A new sampler is a class with ``options``,
# ``timesteps`` and ``step``, registered in SAMPLERS.


class AncestralSampler:
    """Ho et al. (2020) Algorithm 2: every step ``t = T..1``, ``x_{t-1} ~ N(μ̃, σ_t²)``.

    ``σ_t²`` is the diffusion's ``reverse_variance`` (its ``variance_type``).
    """

    options = ()

    def __init__(self, timesteps):
        self.n_timesteps = timesteps

    def timesteps(self, schedule):
        return list(range(self.n_timesteps, 0, -1))

    def step(self, diffusion, x0_hat, x_t, t, step, prev, generator):
        """``x_prev`` from ``x_t`` at step ``step`` (``t`` as a tensor) and its ``x̂₀``."""
        # Ho et al. eqs. 6-7 and §3.2: x_{t-1} ~ N(μ̃(x̂₀, x_t), σ_t²).
        sigma = math.sqrt(diffusion.reverse_variance[step - 1])
        return diffusion.q_posterior_mean(x0_hat, x_t, t) + sigma * diffusion.randn(x_t, generator)


class DDIMSampler:
    """Song et al. (2021) eq. 12 over ``steps`` steps spread by :func:`ddim_timesteps`.

    ``σ = η √((1 - ᾱ_{t'}) / (1 - ᾱ_t)) √(1 - ᾱ_t / ᾱ_{t'})``. With ``η = 1`` and every
    step, ``σ² = β̃_t``: the ancestral sampler with ``variance_type="fixed_small"``
    (with "fixed_large" the ancestral sampler adds more noise, ``σ_t² = β_t``).
    """

    options = ("steps", "eta")

    # Network calls when no steps are given.
    default_steps = 10

    def __init__(self, timesteps, steps=None, eta=None):
        steps = min(self.default_steps, timesteps) if steps is None else steps
        if (
            isinstance(steps, bool)
            or not isinstance(steps, numbers.Integral)
            or not 1 <= steps <= timesteps
        ):
            raise ValueError(
                f"steps must be an integer from 1 to timesteps={timesteps}, got steps={steps!r}."
            )
        eta = 0.0 if eta is None else eta
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not 0 <= eta <= 1:
            raise ValueError(
                f"eta must be a number in [0, 1], got eta={eta!r}: 0 is deterministic, "
                "1 adds the ancestral sampler's noise."
            )
        self.steps, self.eta = int(steps), float(eta)

    def timesteps(self, schedule):
        return ddim_timesteps(schedule.alphas_cumprod, self.steps)

    def step(self, diffusion, x0_hat, x_t, t, step, prev, generator):
        # Song et al. eq. 12, from t to t' = prev, with the ε̂ that x̂₀ implies.
        abar = diffusion.schedule.alphas_cumprod
        a_t, a_prev = abar[step - 1], abar[prev - 1]
        sigma = self.eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
        eps = diffusion.predict_eps(x0_hat, x_t, t)
        x_prev = math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev - sigma**2) * eps
        if sigma > 0:
            x_prev = x_prev + sigma * diffusion.randn(x_t, generator)
        return x_prev


SAMPLERS = {"ddpm": AncestralSampler, "ddim": DDIMSampler}


def make_sampler(method, timesteps, **options):
    """The sampler ``method`` names, with its options; an option left None is its default.

    Parameters
    ----------
    method : str
        A key of :data:`SAMPLERS`.
    timesteps : int
        ``T`` of the schedule the sampler will run on.
    **options
        The sampler's options (``steps`` and ``eta`` for DDIM). An option another
        sampler takes, given to one that does not, is an error that says which takes it.
    """
    if method not in SAMPLERS:
        raise ValueError(f"method={method!r} is not a sampler; expected one of {tuple(SAMPLERS)}.")
    cls = SAMPLERS[method]
    for name, value in options.items():
        if value is not None and name not in cls.options:
            takers = [m for m, c in SAMPLERS.items() if name in c.options]
            where = " or ".join(f"method={m!r}" for m in takers) or "no sampler"
            raise ValueError(
                f"{name}={value!r} applies to {where} only; method={method!r} does not take "
                f"it. Pass {where.split(' or ')[0]} to use it, or leave {name} out."
            )
    return cls(timesteps, **{k: v for k, v in options.items() if k in cls.options})


def repaint_path(n_steps, jumps, jump_length):
    """The positions a RePaint chain visits among ``n_steps + 1`` levels (0 is ``x_T``).

    The chain comes down one level at a time; after each ``jump_length`` levels (before
    the last one) it goes back up ``jump_length`` levels and comes down again, ``jumps``
    times (Lugmayr et al. 2022, §4.2). With ``jumps=0`` it is ``0, 1, ..., n_steps``.
    """
    jump_length = max(1, min(jump_length, n_steps - 1))
    path = [0]
    for p in range(1, n_steps + 1):
        path.append(p)
        if p < n_steps and p % jump_length == 0:
            for _ in range(jumps):
                path.extend(range(p - jump_length, p + 1))
    return path


def ddim_timesteps(alphas_cumprod, steps):
    """The DDIM step sequence: ``steps`` steps from ``t = T`` down to ``t = 1``.

    The steps are spread evenly in the noise level ``√(1 - ᾱ_t)``, not in ``t``, then
    made strictly decreasing. The chain always starts from pure noise at ``t = T`` and,
    for ``steps >= 2``, ends at ``t = 1``; one step is just ``[T]``. On data that lie
    on thin curves this matters: with 10 steps on the spiral, steps even in ``t``
    ("trailing", Lin et al. 2024) give C2ST 0.79, even in ``t²`` 0.65, even in the
    noise level 0.58, as good as 100 ancestral steps (``benchmarks/bench_sampling.py``).

    Parameters
    ----------
    alphas_cumprod : ndarray of shape (T,)
        ``ᾱ_t`` of the schedule.
    steps : int
        From 1 to ``T``.

    Returns
    -------
    ts : list of int
        Strictly decreasing, ``ts[0] = T``.
    """
    timesteps = len(alphas_cumprod)
    if not 1 <= steps <= timesteps:
        raise ValueError(f"Expected 1 <= steps <= timesteps={timesteps}, got steps={steps}.")
    if steps == 1:
        return [timesteps]
    sigma = np.sqrt(1.0 - np.asarray(alphas_cumprod))
    targets = np.linspace(sigma[-1], sigma[0], steps)
    ts = [1 + int(np.argmin(np.abs(sigma - target))) for target in targets]
    # Nearest levels can repeat where σ is flat: push them apart, keeping T first and 1 last.
    ts[-1] = 1
    for i in range(steps - 2, -1, -1):
        ts[i] = min(timesteps - i, max(ts[i], ts[i + 1] + 1))
    return ts


def check_guidance_scale(guidance_scale, conditional):
    """Refuse a guidance scale that is not a finite number >= 0, or != 1 without labels."""
    if (
        isinstance(guidance_scale, bool)
        or not isinstance(guidance_scale, numbers.Real)
        or not 0 <= guidance_scale < np.inf
    ):
        raise ValueError(
            f"guidance_scale must be a finite number >= 0, got {guidance_scale!r}: 0 is "
            "unconditional, 1 conditional, larger values follow y more closely."
        )
    if guidance_scale != 1 and not conditional:
        raise ValueError(
            f"guidance_scale={guidance_scale} guides samples towards the classes in y, "
            "but y is None; pass y, or leave guidance_scale at 1."
        )


def classifier_free_guidance(model, labels, null_label, scale):
    """A denoiser ``(x_t, t) -> output`` guided towards ``labels`` (Ho & Salimans, 2022).

    ``ε̂ = ε̂_∅ + s (ε̂_y - ε̂_∅)``. Every parameterization maps the network's output to
    ``ε̂`` by the same affine map for both terms, so mixing the outputs is mixing ``ε̂``.
    Both terms come from one batched call; ``s = 1`` (conditional) and ``s = 0``
    (unconditional) need only one.

    Parameters
    ----------
    model : callable
        ``model(x_t, t, y)`` with label indices ``y``.
    labels : Tensor of shape (n_samples,)
    null_label : int
        The index meaning "no label".
    scale : float
        The guidance scale ``s >= 0``.
    """
    if scale == 1:
        return lambda x_t, t: model(x_t, t, labels)
    if scale == 0:
        # One "no label" for all rows, broadcast like a shared step t.
        null = torch.full((1,), null_label, dtype=labels.dtype, device=labels.device)
        return lambda x_t, t: model(x_t, t, null)
    both = torch.cat([labels, torch.full_like(labels, null_label)])

    def guided(x_t, t):
        conditional, unconditional = model(torch.cat([x_t, x_t]), t, both).chunk(2)
        return unconditional + scale * (conditional - unconditional)

    return guided
