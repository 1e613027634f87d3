"""The reverse process: the loop over the steps, the samplers, guidance and given cells.

A sampler chooses the steps of the reverse chain and moves the numbers of ``x_t`` to
the next step given the estimate ``x̂₀`` (``timesteps`` and ``step``, as diffusers'
schedulers ``set_timesteps`` and ``step``); :func:`sample_loop` does the rest: the
network call, ``x̂₀`` and its clipping, the categories' closed-form step, the last step
and the trajectory. A new sampler is one class registered in :data:`SAMPLERS`, a new
way of conditioning on given cells one object passed as ``condition`` (as
:class:`Inpainting`); neither edits the loop.

This module sits above :mod:`skddpm.diffusion`, whose maths it calls; it knows nothing
of scikit-learn, the network class or the user's table.
"""

import itertools
import math

import numpy as np
import torch

from ._validation import check_number

__all__ = [
    "MIN_LOGSNR",
    "SAMPLERS",
    "AncestralSampler",
    "DDIMSampler",
    "DPMSolverSampler",
    "Inpainting",
    "check_guidance_scale",
    "classifier_free_guidance",
    "ddim_timesteps",
    "make_sampler",
    "repaint_path",
    "sample_loop",
    "spaced_timesteps",
]


def sample_loop(
    diffusion,
    model,
    noise,
    *,
    generator,
    method="ddpm",
    clip=None,
    trajectory=False,
    condition=None,
    **options,
):
    """Run the reverse chain of ``diffusion`` from ``x_T = noise``.

    Parameters
    ----------
    diffusion : GaussianDiffusion
        The process: its schedule, parameterization and categories.
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
    condition : object, optional
        Given cells: an object with ``path``, ``estimate`` and ``hold`` (see
        :class:`Inpainting`). None draws whole rows.
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
        sampler = make_sampler(method, diffusion.timesteps, **options)
    condition = _WHOLE_ROWS if condition is None else condition
    ts = sampler.timesteps(diffusion.schedule)
    levels = [*list(ts), 0]
    path = condition.path(len(ts))
    # The last visit of each level is the one the trajectory shows.
    last = {b: k for k, b in enumerate(path)}
    x_t = diffusion.prior_sample(noise)
    xs, x0_hats = [x_t], []
    for k, (a, b) in enumerate(itertools.pairwise(path), start=1):
        step, prev = levels[a], levels[b]
        if b < a:
            # A jump back up the chain: x_{t_b} ~ q(x_{t_b} | x_{t_a}), in one draw.
            x_t = diffusion.renoise(x_t, step, prev, generator)
            continue
        t = torch.full((1,), step, dtype=torch.long, device=noise.device)
        x0_hat = diffusion.clip_x0(diffusion.predict_x0(model(x_t, t), x_t, t), clip)
        x0_hat = condition.estimate(diffusion, x0_hat)
        x_t = reverse_step(diffusion, sampler, x0_hat, x_t, t, step, prev, generator)
        x_t = condition.hold(diffusion, model, x_t, prev, generator)
        if trajectory and last[b] == k:
            xs.append(x_t)
            x0_hats.append(x0_hat)
    if trajectory:
        return x_t, torch.stack(xs), torch.stack(x0_hats)
    return x_t


def reverse_step(diffusion, sampler, x0_hat, x_t, t, step, prev, generator):
    """``x_prev`` from ``x_t`` given the estimate ``x̂₀``: the sampler's step for the
    numbers, the closed-form posterior for the categories."""
    x0_num, x0_cat = diffusion.split(x0_hat)
    x_t_num, x_t_cat = diffusion.split(x_t)
    if prev == 0:
        # The last step returns x̂₀: the posterior mean at t = 1 is x̂₀ itself
        # (coef1 = 1, coef2 = 0), and DDIM's update reduces to it as ᾱ₀ = 1.
        x_num = x0_num
    else:
        x_num = sampler.step(diffusion, x0_num, x_t_num, t, step, prev, generator)
    x_cat = None
    if x0_cat is not None:
        x_cat = diffusion.step_categories(x0_cat, x_t_cat, step, prev, generator)
    return diffusion.join(x_num, x_cat)


# -- conditions ------------------------------------------------------------------------------
#
# A condition tells the loop which levels to visit (path), may change the estimate x̂₀
# before each step (estimate) and the state after it (hold). Whole rows change nothing.


class _WholeRows:
    """No given cells: every level once, from ``x_T`` down to ``x₀``."""

    def path(self, n_steps):
        return list(range(n_steps + 1))

    def estimate(self, diffusion, x0_hat):
        return x0_hat

    def hold(self, diffusion, model, x_t, prev, generator):
        return x_t


_WHOLE_ROWS = _WholeRows()


class Inpainting:
    """Given cells held in the chain (RePaint, Lugmayr et al. 2022), with a corrector.

    Where ``mask`` is 1 the chain holds ``x0`` itself, re-noised to each step's level
    by the forward process, so the other cells are drawn given it; the sample has
    ``x0`` there exactly. A categorical variable is given in all its columns or none.

    Parameters
    ----------
    x0 : Tensor of shape (n_samples, n_features)
        The rows in the model's block; only the cells under ``mask`` are read.
    mask : Tensor of shape (n_samples, n_features)
        1.0 on the given cells.
    allowed : Tensor of shape (n_samples, width of the categories' block), optional
        1 for the levels each row's variable may take, 0 for those it may not: the
        categories' ``x̂₀`` is renormalized over the allowed levels at every step.
    jumps : int, default=0
        RePaint's resampling: after every ``jump_length`` steps the chain jumps back
        ``jump_length`` steps (``x_t`` drawn again from the forward process) and comes
        down again, ``jumps`` times (:func:`repaint_path`), so the free cells are
        harmonized with the given ones. It costs about ``1 + jumps`` times the network
        calls.
    jump_length : int, default=10
        The steps of each jump (fewer when the chain has fewer steps).
    corrector_steps : int, default=0
        Langevin corrector steps (Song et al. 2021, predictor-corrector) on the free
        numbers after each step, the given cells held, so that they follow
        ``p_t(free | given)``. Each costs a network call.
    """

    # Song et al. (2021) Algorithm 5: the Langevin step is 2 (r ‖z‖ / ‖s‖)² with the norms
    # averaged over the rows, r the signal-to-noise ratio; 0.16 is theirs. A row's own
    # ratio makes the step depend on where the row is, which no longer targets p_t.
    corrector_snr = 0.16

    def __init__(self, x0, mask, *, allowed=None, jumps=0, jump_length=10, corrector_steps=0):
        self.x0, self.mask, self.allowed = x0, mask, allowed
        self.jumps, self.jump_length = jumps, jump_length
        self.corrector_steps = corrector_steps

    def path(self, n_steps):
        return repaint_path(n_steps, self.jumps, self.jump_length)

    def estimate(self, diffusion, x0_hat):
        """``x̂₀`` with the categories renormalized over the ``allowed`` levels."""
        if self.allowed is None:
            return x0_hat
        x0_num, x0_cat = diffusion.split(x0_hat)
        return diffusion.join(x0_num, diffusion.categorical.restrict(x0_cat, self.allowed))

    def hold(self, diffusion, model, x_t, prev, generator):
        """``x_prev`` with the given cells put back at level ``prev``, then corrected."""
        x0 = self.x0
        if prev > 0:
            t = torch.full((1,), prev, dtype=torch.long, device=x0.device)
            x0 = diffusion.q_sample(x0, t, diffusion.randn(x0, generator))
        x_t = torch.where(self.mask > 0, x0, x_t)
        if prev > 0:
            x_t = self._correct(diffusion, model, x_t, prev, generator)
        return x_t

    def _correct(self, diffusion, model, x_t, step, generator):
        """Langevin steps at level ``step`` on the free numbers of ``x_t``, the given
        cells held: ``x ← x + δ s + √(2δ) z`` with the score ``s = -ε̂ / σ_t``."""
        if self.corrector_steps == 0:
            return x_t
        t = torch.full((1,), step, dtype=torch.long, device=x_t.device)
        free = diffusion.split(1 - self.mask)[0]
        sigma = diffusion.sqrt_one_minus_alphas_cumprod[step - 1]
        for _ in range(self.corrector_steps):
            x_num, x_cat = diffusion.split(x_t)
            x0_hat = diffusion.split(diffusion.predict_x0(model(x_t, t), x_t, t))[0]
            score = -diffusion.predict_eps(x0_hat, x_num, t) / sigma * free
            z = diffusion.randn(x_num, generator) * free
            ratio = z.norm(dim=1).mean() / score.norm(dim=1).mean().clamp_min(1e-12)
            delta = 2 * (self.corrector_snr * ratio) ** 2
            x_t = diffusion.join(x_num + delta * score + torch.sqrt(2 * delta) * z, x_cat)
        return x_t


# -- samplers ------------------------------------------------------------------------------
#
# A sampler chooses the steps of the reverse chain and moves x_t to the next one given
# the estimate x̂₀; sample_loop does the rest. A new sampler is a class with
# ``options``, ``timesteps`` and ``step``, registered in SAMPLERS.


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

    # Network calls when no steps are given, and how they are spread.
    default_steps = 10
    spacing = "sigma"

    def __init__(self, timesteps, steps=None, eta=None):
        steps = min(self.default_steps, timesteps) if steps is None else steps
        steps = check_number(
            steps, "steps", integer=True, low=1, high=timesteps,
            fix=f"a DDIM step visits one of the timesteps={timesteps} levels.",
        )  # fmt: skip
        eta = check_number(
            0.0 if eta is None else eta, "eta", integer=False, low=0, high=1,
            fix="0 is deterministic, 1 adds the ancestral sampler's noise.",
        )  # fmt: skip
        self.steps, self.eta = int(steps), float(eta)

    def timesteps(self, schedule):
        return spaced_timesteps(schedule.alphas_cumprod, self.steps, self.spacing)

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


class DPMSolverSampler:
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): a second-order multistep solver
    in the data prediction ``x̂₀``, over ``steps`` network calls: the first at ``T``,
    the others even in the log signal-to-noise ratio (:func:`spaced_timesteps`).

    ``eta=1``, the default, is SDE-DPM-Solver++(2M): on the tuning half of the suite
    its 10 and 20 calls come closer to the ancestral sampler than the ODE's
    (``eta=0``), whose first step from pure noise loses spread that the few steps
    after it do not restore (``benchmarks/results/sampling.md``).

    With ``α_t = √ᾱ_t``, ``σ_t = √(1 - ᾱ_t)``, ``λ_t = log(α_t / σ_t)`` and
    ``h = λ_{t'} - λ_t``, the step from ``t`` to ``t'`` with ``eta = 0`` follows the
    probability-flow ODE: ``x_{t'} = (σ_{t'} / σ_t) x_t + α_{t'} (1 - e^{-h}) D``; with
    ``eta = 1`` it is SDE-DPM-Solver++(2M) (Lu et al. 2022, §5), which adds noise as
    the ancestral sampler does: ``x_{t'} = (σ_{t'} / σ_t) e^{-h} x_t + α_{t'}
    (1 - e^{-2h}) D + σ_{t'} √(1 - e^{-2h}) z``. Between them the noise is ``eta``
    times the SDE's, with the coefficients of DDIM's family. ``D = x̂₀(t)`` on the
    first step (DDIM's step, or the ancestral one with ``eta = 1``) and, once the
    previous step's ``x̂₀`` is known, ``D = x̂₀(t) + (x̂₀(t) - x̂₀(t_prev)) / (2r)`` with
    ``r = h_prev / h``: the two estimates extrapolated to second order. The last call,
    at ``t = 1``, returns its ``x̂₀``, as every sampler here does (the lower-order final
    step that keeps few-step solvers stable). Clipping ``x̂₀`` (``clip_sample``) is the
    thresholding the paper pairs with data prediction.

    The solver keeps the previous ``x̂₀`` between steps; a step that does not continue
    the previous one (the first, or after one of RePaint's jumps) is first order.
    """

    options = ("steps", "eta")

    # Network calls when no steps are given, how they are spread, and the default eta.
    default_steps = 10
    spacing = "logsnr"
    default_eta = 1.0

    def __init__(self, timesteps, steps=None, eta=None):
        steps = min(self.default_steps, timesteps) if steps is None else steps
        self.steps = check_number(
            steps, "steps", integer=True, low=1, high=timesteps,
            fix=f"a solver step visits one of the timesteps={timesteps} levels.",
        )  # fmt: skip
        self.eta = check_number(
            self.default_eta if eta is None else eta, "eta", integer=False, low=0, high=1,
            fix="0 follows the probability-flow ODE, 1 adds the ancestral sampler's noise.",
        )  # fmt: skip
        self._previous = None

    def timesteps(self, schedule):
        self._previous = None
        return spaced_timesteps(schedule.alphas_cumprod, self.steps, self.spacing)

    def step(self, diffusion, x0_hat, x_t, t, step, prev, generator):
        abar = diffusion.schedule.alphas_cumprod

        def lam(s):
            return 0.5 * (math.log(abar[s - 1]) - math.log1p(-abar[s - 1]))

        h = lam(prev) - lam(step)
        d = x0_hat
        if self._previous is not None and self._previous[1] == step:
            before, _, x0_before = self._previous
            r = (lam(step) - lam(before)) / h
            d = x0_hat + (0.5 / r) * (x0_hat - x0_before)
        self._previous = (step, prev, x0_hat)
        sigma_t, sigma_prev = math.sqrt(1 - abar[step - 1]), math.sqrt(1 - abar[prev - 1])
        alpha_t, alpha_prev = math.sqrt(abar[step - 1]), math.sqrt(abar[prev - 1])
        # The noise added, eta times the SDE's; the rest of the variance is carried by x_t.
        noise = self.eta * sigma_prev * math.sqrt(-math.expm1(-2 * h))
        keep = math.sqrt(max(sigma_prev**2 - noise**2, 0.0)) / sigma_t
        x_prev = keep * x_t + (alpha_prev - keep * alpha_t) * d
        if noise > 0:
            x_prev = x_prev + noise * diffusion.randn(x_t, generator)
        return x_prev


SAMPLERS = {"ddpm": AncestralSampler, "ddim": DDIMSampler, "dpm": DPMSolverSampler}


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
    return spaced_timesteps(alphas_cumprod, steps, "sigma")


def _spread(level, steps):
    """``steps`` steps down to ``t = 1``, even in ``level`` (non-decreasing in ``t``, one
    value a step) from its value at ``T``: each target takes its nearest step (the
    least noisy one where ``level`` is flat), and steps that collide are pushed apart,
    keeping ``1`` last. Without a flat top the first step is ``T``."""
    timesteps = len(level)
    if not 1 <= steps <= timesteps:
        raise ValueError(f"Expected 1 <= steps <= timesteps={timesteps}, got steps={steps}.")
    if steps == 1:
        return [timesteps]
    targets = np.linspace(level[-1], level[0], steps)
    ts = [1 + int(np.argmin(np.abs(level - target))) for target in targets]
    ts[-1] = 1
    for i in range(steps - 2, -1, -1):
        ts[i] = min(timesteps - i, max(ts[i], ts[i + 1] + 1))
    return ts


# The solver's steps below t = T are even in the log signal-to-noise ratio
# λ_t = log(α_t / σ_t) from λ = -2 (ᾱ_t ≈ 0.018, the signal 13 % of the standardized
# data's scale) down: the levels above it are pure noise to the network, and calls
# spent there are wasted. Measured on the tuning half of the suite (bench_sampling.py).
MIN_LOGSNR = -2.0


def spaced_timesteps(alphas_cumprod, steps, spacing="logsnr"):
    """``steps`` strictly decreasing steps from ``t = T`` down to ``t = 1``.

    ``"logsnr"`` (the solver's): the first step at ``T``, where the chain starts from
    its exact prior, then the others even in the log signal-to-noise ratio ``λ_t``
    from ``max(λ_{T-1}, MIN_LOGSNR)`` down to ``λ_1``, so no call but the first is
    spent on levels that are pure noise to the network. ``"sigma"``: even in the noise
    level ``σ_t = √(1 - ᾱ_t)`` (:func:`ddim_timesteps`, DDIM's). ``"time"``: even in
    ``t``.

    With the solver's 10 calls (``eta=1``) on the spiral, the ring of 8 Gaussians and
    the lognormal table of the suite, ``"logsnr"`` gives C2ST 0.531, 0.543 and 0.521;
    even in ``λ`` all the way from ``T`` (4 calls spent at ``t = 100..95``), 0.677,
    0.763 and 0.521; even in ``σ``, 0.640 on the spiral and 0.754 on the lognormal
    table. The ancestral sampler's 100 calls give 0.527, 0.522 and 0.521.
    """
    abar = np.asarray(alphas_cumprod, dtype=np.float64)
    if spacing == "sigma":
        return _spread(np.sqrt(1.0 - abar), steps)
    if spacing == "time":
        return _spread(np.arange(1.0, len(abar) + 1), steps)
    if spacing != "logsnr":
        raise ValueError(f"spacing={spacing!r}; expected 'logsnr', 'sigma' or 'time'.")
    level = np.minimum(-0.5 * (np.log(abar) - np.log1p(-abar)), -MIN_LOGSNR)
    if steps <= 2:
        return _spread(np.arange(1.0, len(abar) + 1), steps)  # [T] or [T, 1]
    if level[-1] < -MIN_LOGSNR:
        return _spread(level, steps)  # the floor is not reached: even in λ from T
    return [len(abar), *_spread(level[:-1], steps - 1)]


def check_guidance_scale(guidance_scale, conditional):
    """Refuse a guidance scale that is not a finite number >= 0, or != 1 without labels."""
    check_number(
        guidance_scale, "guidance_scale", integer=False, low=0,
        fix="0 is unconditional, 1 conditional, larger values follow y more closely.",
    )  # fmt: skip
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
