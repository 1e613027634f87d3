"""The sampler against the closed-form optimal denoiser of Gaussian data.

For x₀ ~ N(μ, σ²) per feature, x_t = a x₀ + b ε has E[x₀ | x_t] = μ + aσ²/(a²σ² + b²)
(x_t - aμ), with a = √ᾱ_t and b = √(1 - ᾱ_t). Expressed in each parameterization and
plugged into the sampler, it must give back samples with mean μ and variance σ².
"""

import numpy as np
import pytest
import torch

from skddpm.diffusion import PREDICTION_TYPES, GaussianDiffusion
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
    return diffusion, diffusion.p_sample_loop(
        optimal_denoiser(diffusion), noise, generator=generator, **kwargs
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
    diffusion, _ = run_sampler("epsilon", n=10, timesteps=20)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn((10, 2), generator=g, dtype=torch.float64)
    x, xs, x0_hats = diffusion.p_sample_loop(
        optimal_denoiser(diffusion), noise, generator=g, trajectory=True
    )
    assert xs.shape == (21, 10, 2) and x0_hats.shape == (20, 10, 2)
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
    schedule = NoiseSchedule(make_beta_schedule("linear", 10))
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
    schedule = NoiseSchedule(make_beta_schedule("linear", 10))
    with pytest.raises(ValueError, match="Unknown prediction_type 'noise'"):
        GaussianDiffusion(schedule, "noise")


def test_sampler_keeps_the_dtype_of_its_noise():
    _, x = run_sampler("epsilon", n=10, timesteps=10)
    assert x.dtype == torch.float64
    assert np.isfinite(x.numpy()).all()
