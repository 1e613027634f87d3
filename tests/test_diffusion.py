"""The sampler against the closed-form optimal denoiser of Gaussian data.

For x₀ ~ N(μ, σ²) per feature, x_t = a x₀ + b ε has E[x₀ | x_t] = μ + aσ²/(a²σ² + b²)
(x_t - aμ), with a = √ᾱ_t and b = √(1 - ᾱ_t). Expressed in each parameterization and
plugged into the sampler, it must give back samples with mean μ and variance σ².
"""

import itertools

import numpy as np
import pytest
import torch

from skddpm.diffusion import PREDICTION_TYPES, GaussianDiffusion
from skddpm.samplers import (
    SAMPLERS,
    DDIMSampler,
    classifier_free_guidance,
    ddim_timesteps,
    make_sampler,
    sample_loop,
)
from skddpm.schedules import NoiseSchedule, make_beta_schedule

MU = torch.tensor([1.5, -0.5], dtype=torch.float64)
SIGMA = torch.tensor([0.5, 1.2], dtype=torch.float64)


def optimal_denoiser(diffusion, mu=MU, sigma=SIGMA):
    s = diffusion.schedule
    a_all = torch.as_tensor(s.sqrt_alphas_cumprod)
    b_all = torch.as_tensor(s.sqrt_one_minus_alphas_cumprod)
    c1 = torch.as_tensor(s.posterior_mean_coef1)
    c2 = torch.as_tensor(s.posterior_mean_coef2)

    def model(x_t, t):
        a, b = a_all[t - 1][:, None], b_all[t - 1][:, None]
        x0 = mu + a * sigma**2 / (a**2 * sigma**2 + b**2) * (x_t - a * mu)
        eps = (x_t - a * x0) / b
        return {
            "epsilon": eps,
            "sample": x0,
            "v_prediction": a * eps - b * x0,
            "mean": c1[t - 1][:, None] * x0 + c2[t - 1][:, None] * x_t,
        }[diffusion.prediction_type]

    return model


def run_sampler(prediction_type, n=10_000, schedule="linear", timesteps=100, seed=0, **kwargs):
    schedule = NoiseSchedule(make_beta_schedule(schedule, timesteps))
    diffusion = GaussianDiffusion(schedule, prediction_type, dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((n, 2), generator=generator, dtype=torch.float64)
    return diffusion, sample_loop(
        diffusion, optimal_denoiser(diffusion), noise, generator=generator, **kwargs
    )


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_sampler_with_optimal_denoiser_recovers_the_gaussian(prediction_type, schedule):
    # The reverse variance β̃_t is exact only as T grows (at T=100 the std comes out
    # about 5 % low for these σ); at T=1000 that bias is below 1 %.
    _, x = run_sampler(prediction_type, schedule=schedule, timesteps=1000)
    # 10,000 draws: the standard error of the mean is σ/100, of the std σ/141; the
    # tolerances are about four of them.
    torch.testing.assert_close(x.mean(0), MU, atol=0.05, rtol=0)
    torch.testing.assert_close(x.std(0), SIGMA, atol=0.0, rtol=0.035)


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_every_parameterization_reduces_to_the_same_x0(prediction_type):
    schedule = NoiseSchedule(make_beta_schedule("linear", 30))
    diffusion = GaussianDiffusion(schedule, prediction_type, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn((64, 2), generator=g, dtype=torch.float64)
    noise = torch.randn((64, 2), generator=g, dtype=torch.float64)
    t = torch.randint(1, 31, (64,), generator=g)
    x_t = diffusion.q_sample(x0, t, noise)
    target = diffusion.target(x0, x_t, t, noise)
    torch.testing.assert_close(diffusion.predict_x0(target, x_t, t), x0)
    torch.testing.assert_close(diffusion.predict_eps(x0, x_t, t), noise)


def test_clipping_keeps_samples_in_range():
    low = torch.tensor([1.4, -0.6], dtype=torch.float64)
    high = torch.tensor([1.6, -0.4], dtype=torch.float64)
    _, x = run_sampler("epsilon", n=2000, clip=(low, high))
    assert torch.all(x >= low) and torch.all(x <= high)


def test_trajectory_shapes_and_endpoints():
    diffusion, _ = run_sampler("epsilon", n=10, timesteps=25)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn((10, 2), generator=g, dtype=torch.float64)
    x, xs, x0_hats = sample_loop(
        diffusion, optimal_denoiser(diffusion), noise, generator=g, trajectory=True
    )
    assert xs.shape == (26, 10, 2) and x0_hats.shape == (25, 10, 2)
    torch.testing.assert_close(xs[0], noise)
    torch.testing.assert_close(xs[-1], x)
    # Algorithm 2 returns the last estimate: x₀ = μ̃(x̂₀, x₁) = x̂₀ at t = 1.
    torch.testing.assert_close(x0_hats[-1], x)


def test_sampler_is_reproducible_from_its_generator():
    _, a = run_sampler("epsilon", n=100, seed=3)
    _, b = run_sampler("epsilon", n=100, seed=3)
    _, c = run_sampler("epsilon", n=100, seed=4)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_loss_is_zero_for_the_exact_target():
    schedule = NoiseSchedule(make_beta_schedule("linear", 25))
    for prediction_type in PREDICTION_TYPES:
        diffusion = GaussianDiffusion(schedule, prediction_type, dtype=torch.float64)
        x0 = torch.randn(8, 2, dtype=torch.float64)
        noise = torch.randn(8, 2, dtype=torch.float64)
        t = torch.arange(1, 9)

        def exact(x_t, t, x0=x0, noise=noise, diffusion=diffusion):
            return diffusion.target(x0, x_t, t, noise)

        for loss in ("mse", "l1", "huber"):
            assert diffusion.loss(exact, x0, t, noise, loss).item() == pytest.approx(0.0)


def test_unknown_prediction_type():
    schedule = NoiseSchedule(make_beta_schedule("linear", 25))
    with pytest.raises(ValueError, match="Unknown prediction_type 'noise'"):
        GaussianDiffusion(schedule, "noise")


def test_sampler_keeps_the_dtype_of_its_noise():
    _, x = run_sampler("epsilon", n=10, timesteps=25)
    assert x.dtype == torch.float64
    assert np.isfinite(x.numpy()).all()


# -- DDIM and classifier-free guidance ---------------------------------------------------


# T = 2 and 10 are too short for the scaled schedules (they warn): here on purpose.
@pytest.mark.filterwarnings("ignore:beta_schedule=.* betas above 0.999:UserWarning")
@pytest.mark.parametrize("schedule", ["linear", "cosine", "quadratic", "sigmoid"])
@pytest.mark.parametrize("timesteps", [2, 10, 100, 1000])
@pytest.mark.parametrize("steps", [1, 2, 3, 10, None])
def test_ddim_timesteps_run_from_T_to_one(schedule, timesteps, steps):
    abar = NoiseSchedule(make_beta_schedule(schedule, timesteps)).alphas_cumprod
    steps = timesteps if steps is None else min(steps, timesteps)
    ts = ddim_timesteps(abar, steps)
    assert len(ts) == steps
    assert ts[0] == timesteps
    if steps > 1:
        assert ts[-1] == 1
    assert all(a > b for a, b in itertools.pairwise(ts))
    if steps == timesteps:
        assert ts == list(range(timesteps, 0, -1))


def test_ddim_timesteps_spread_the_noise_level_evenly():
    abar = NoiseSchedule(make_beta_schedule("linear", 1000)).alphas_cumprod
    sigma = np.sqrt(1 - abar)
    levels = sigma[np.array(ddim_timesteps(abar, 20)) - 1]
    gaps = -np.diff(levels)
    assert gaps.max() < 1.5 * gaps.mean(), "steps are not even in the noise level"


def test_ddim_timesteps_errors():
    abar = NoiseSchedule(make_beta_schedule("linear", 25)).alphas_cumprod
    with pytest.raises(ValueError, match=r"Expected 1 <= steps <= timesteps=25, got steps=26"):
        ddim_timesteps(abar, 26)
    with pytest.raises(ValueError, match=r"got steps=0"):
        ddim_timesteps(abar, 0)


def test_ddim_with_eta_one_and_every_step_is_the_ancestral_sampler():
    # The same update written two ways, drawing the same noise: equal up to rounding.
    _, ddpm = run_sampler("epsilon", n=500, timesteps=50, seed=7)
    _, ddim = run_sampler("epsilon", n=500, timesteps=50, seed=7, method="ddim", steps=50, eta=1.0)
    torch.testing.assert_close(ddim, ddpm)


def test_ddim_with_eta_one_is_the_ancestral_sampler_only_with_fixed_small():
    # DDIM's σ² with η = 1 and every step is β̃_t, the "fixed_small" reverse variance;
    # "fixed_large" (σ_t² = β_t) adds more noise at every step.
    schedule = NoiseSchedule(make_beta_schedule("linear", 50))
    for variance_type, same in (("fixed_small", True), ("fixed_large", False)):
        diffusion = GaussianDiffusion(schedule, dtype=torch.float64, variance_type=variance_type)
        rows = []
        for options in ({}, {"method": "ddim", "steps": 50, "eta": 1.0}):
            generator = torch.Generator().manual_seed(7)
            noise = torch.randn((500, 2), generator=generator, dtype=torch.float64)
            rows.append(sample_loop(diffusion, optimal_denoiser(diffusion), noise, generator=generator, **options
            ))  # fmt: skip
        assert torch.allclose(*rows) == same, variance_type


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_optimal_denoiser_recovers_the_gaussian(prediction_type, eta):
    # eta=0 follows the probability-flow ODE, exact as the steps shrink; eta=1 needs
    # every step to be exact (it is then the ancestral sampler).
    steps = 200 if eta == 0 else 1000
    _, x = run_sampler(prediction_type, timesteps=1000, method="ddim", steps=steps, eta=eta)
    torch.testing.assert_close(x.mean(0), MU, atol=0.05, rtol=0)
    torch.testing.assert_close(x.std(0), SIGMA, atol=0.0, rtol=0.035)


def test_ddim_with_eta_zero_is_deterministic_given_the_noise():
    schedule = NoiseSchedule(make_beta_schedule("linear", 100))
    diffusion = GaussianDiffusion(schedule, dtype=torch.float64)
    noise = torch.randn((100, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    runs = [
        sample_loop(diffusion, optimal_denoiser(diffusion), noise, generator=torch.Generator().manual_seed(seed),
            method="ddim", steps=10, eta=0.0,
        )
        for seed in (1, 2)
    ]  # fmt: skip
    torch.testing.assert_close(runs[0], runs[1])


def test_ddim_with_few_steps_keeps_the_mean_and_clips():
    low = torch.tensor([1.0, -1.0], dtype=torch.float64)
    high = torch.tensor([2.0, 0.0], dtype=torch.float64)
    _, x = run_sampler("v_prediction", method="ddim", steps=5, clip=(low, high))
    assert torch.all(x >= low) and torch.all(x <= high)
    torch.testing.assert_close(x.mean(0), MU, atol=0.1, rtol=0)


def test_ddim_trajectory_has_one_entry_per_step():
    schedule = NoiseSchedule(make_beta_schedule("linear", 100))
    diffusion = GaussianDiffusion(schedule, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn((4, 2), generator=g, dtype=torch.float64)
    x, xs, x0_hats = sample_loop(
        diffusion,
        optimal_denoiser(diffusion),
        noise,
        generator=g,
        method="ddim",
        steps=7,
        trajectory=True,
    )
    assert xs.shape == (8, 4, 2) and x0_hats.shape == (7, 4, 2)
    torch.testing.assert_close(xs[-1], x)


def test_guidance_mixes_conditional_and_unconditional_outputs():
    calls = []

    def model(x_t, t, y):
        calls.append(len(y))
        return x_t * 0 + y[:, None].to(x_t.dtype)  # output = the label index

    x = torch.zeros(3, 2)
    t = torch.ones(1, dtype=torch.long)
    labels = torch.tensor([0, 1, 2])
    null = 5
    torch.testing.assert_close(classifier_free_guidance(model, labels, null, 1.0)(x, t)[:, 0],
                               torch.tensor([0.0, 1.0, 2.0]))  # fmt: skip
    torch.testing.assert_close(classifier_free_guidance(model, labels, null, 0.0)(x, t),
                               torch.full((3, 2), 5.0))  # fmt: skip
    assert calls == [3, 1], "s = 1 and s = 0 take one call each (s = 0 with one shared label)"
    guided = classifier_free_guidance(model, labels, null, 3.0)(x, t)
    torch.testing.assert_close(guided[:, 0], 5.0 + 3.0 * (torch.tensor([0.0, 1.0, 2.0]) - 5.0))
    assert calls[-1] == 6, "both terms come from one batched call"


def test_conditional_sampling_with_per_class_optimal_denoisers():
    # Two classes with their own Gaussians; conditional sampling (s = 1) must give each
    # row its class's mean and std, with either sampler.
    mus = torch.tensor([[2.0, 0.0], [-2.0, 1.0]], dtype=torch.float64)
    sigmas = torch.tensor([[0.3, 0.6], [0.8, 0.2]], dtype=torch.float64)
    schedule = NoiseSchedule(make_beta_schedule("linear", 1000))
    diffusion = GaussianDiffusion(schedule, dtype=torch.float64)
    per_class = [optimal_denoiser(diffusion, mus[k], sigmas[k]) for k in range(2)]

    def model(x_t, t, y):
        out = torch.empty_like(x_t)
        for k in range(2):
            rows = y == k
            out[rows] = per_class[k](x_t[rows], t)
        return out

    labels = torch.arange(8000) % 2
    for options in ({"method": "ddpm"}, {"method": "ddim", "steps": 200, "eta": 0.0}):
        g = torch.Generator().manual_seed(0)
        noise = torch.randn((8000, 2), generator=g, dtype=torch.float64)
        guided = classifier_free_guidance(model, labels, 2, 1.0)
        x = sample_loop(diffusion, guided, noise, generator=g, **options)
        for k in range(2):
            rows = x[labels == k]
            torch.testing.assert_close(rows.mean(0), mus[k], atol=0.05, rtol=0)
            torch.testing.assert_close(rows.std(0), sigmas[k], atol=0.0, rtol=0.05)


def test_a_new_sampler_is_one_class_registered_in_samplers(monkeypatch):
    # Every step even in t (Lin et al.'s "trailing" spacing), DDIM's update otherwise.
    class TrailingDDIM(DDIMSampler):
        def timesteps(self, schedule):
            return [int(t) for t in np.linspace(schedule.timesteps, 1, self.steps).round()]

    monkeypatch.setitem(SAMPLERS, "trailing", TrailingDDIM)
    _, x = run_sampler("epsilon", n=4000, timesteps=100, method="trailing", steps=50)
    torch.testing.assert_close(x.mean(0), MU, atol=0.1, rtol=0)
    torch.testing.assert_close(x.std(0), SIGMA, atol=0.1, rtol=0)
    with pytest.raises(
        ValueError,
        match=r"eta=0\.5 applies to method='ddim' or method='dpm' or method='trailing' only",
    ):
        make_sampler("ddpm", 100, eta=0.5)


def test_moved_names_still_import_from_diffusion_with_a_warning():
    import skddpm.diffusion as diffusion_module
    from skddpm import samplers

    with pytest.warns(FutureWarning, match=r"import it from skddpm\.samplers instead"):
        assert diffusion_module.ddim_timesteps is samplers.ddim_timesteps
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        diffusion_module.no_such_name  # noqa: B018


def test_deprecated_sample_loop_method_gives_the_loop_s_rows():
    schedule = NoiseSchedule(make_beta_schedule("cosine", 20))
    diffusion = GaussianDiffusion(schedule, dtype=torch.float64)
    noise = torch.randn((50, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    new = sample_loop(
        diffusion, optimal_denoiser(diffusion), noise, generator=torch.Generator().manual_seed(1)
    )
    with pytest.warns(FutureWarning, match=r"GaussianDiffusion\.sample_loop is deprecated"):
        old = diffusion.sample_loop(
            optimal_denoiser(diffusion), noise, generator=torch.Generator().manual_seed(1)
        )
    torch.testing.assert_close(old, new, rtol=0, atol=0)
