"""The fast samplers against exact answers: DPM-Solver++ on a Gaussian whose optimal
denoiser is known in closed form, and the fast paths of a trained model on the spiral."""

import itertools

import numpy as np
import pytest
import torch

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.diffusion import PREDICTION_TYPES, GaussianDiffusion
from skddpm.metrics import classifier_two_sample_test
from skddpm.samplers import (
    MIN_LOGSNR,
    DPMSolverSampler,
    Inpainting,
    sample_loop,
    spaced_timesteps,
)
from skddpm.schedules import NoiseSchedule, make_beta_schedule

MU = torch.tensor([1.5, -0.5], dtype=torch.float64)
COV = torch.tensor([[0.25, 0.3], [0.3, 1.44]], dtype=torch.float64)


def optimal_denoiser(diffusion, prediction_type):
    """The exact ``E[x₀ | x_t]`` of data ``N(MU, COV)``, in ``prediction_type``'s units."""
    schedule = diffusion.schedule
    a_all = torch.as_tensor(schedule.sqrt_alphas_cumprod)
    b_all = torch.as_tensor(schedule.sqrt_one_minus_alphas_cumprod)
    c1_all = torch.as_tensor(schedule.posterior_mean_coef1)
    c2_all = torch.as_tensor(schedule.posterior_mean_coef2)
    eye = torch.eye(2, dtype=torch.float64)

    def model(x_t, t):
        a, b = a_all[t - 1].item(), b_all[t - 1].item()
        gain = a * COV @ torch.linalg.inv(a * a * COV + b * b * eye)
        x0 = MU + (x_t - a * MU) @ gain.T
        eps = (x_t - a * x0) / b
        if prediction_type == "mean":  # the posterior mean of x_{t-1}
            return c1_all[t - 1].item() * x0 + c2_all[t - 1].item() * x_t
        return {"epsilon": eps, "sample": x0, "v_prediction": a * eps - b * x0}[prediction_type]

    return model


def draw(method, steps, prediction_type="epsilon", schedule="cosine", timesteps=100, n=20_000,
         **options):  # fmt: skip
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule(schedule, timesteps)),
                                  prediction_type, dtype=torch.float64)  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn((n, 2), generator=generator, dtype=torch.float64)
    model = optimal_denoiser(diffusion, prediction_type)
    return sample_loop(diffusion, model, noise, generator=generator, method=method, steps=steps,
                       **options)  # fmt: skip


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("schedule", ["cosine", "linear"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_the_solver_at_ten_calls_matches_a_gaussians_mean_and_covariance(
    prediction_type, schedule, eta
):
    x = draw("dpm", 10, prediction_type, schedule, eta=eta)
    torch.testing.assert_close(x.mean(0), MU, atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), COV, atol=0.12, rtol=0)


def test_the_solver_beats_ddim_at_the_same_calls_and_converges():
    def error(x):
        return (torch.cov(x.T) - COV).abs().max().item()

    assert error(draw("dpm", 10)) < 0.5 * error(draw("ddim", 10))
    assert error(draw("dpm", 100, timesteps=1000)) < 0.03


def test_the_solver_with_eta_one_follows_the_sde_and_matches_the_gaussian():
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", 100)),
                                  dtype=torch.float64)  # fmt: skip
    model = optimal_denoiser(diffusion, "epsilon")
    noise = torch.randn(
        (20_000, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    runs = [
        sample_loop(diffusion, model, noise, generator=torch.Generator().manual_seed(seed),
                    method="dpm", steps=20, eta=1.0)
        for seed in (1, 2)
    ]  # fmt: skip
    assert not torch.allclose(*runs)  # the noise added along the way differs
    torch.testing.assert_close(runs[0].mean(0), MU, atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(runs[0].T), COV, atol=0.12, rtol=0)


def test_a_sampler_reused_for_another_chain_starts_afresh():
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", 100)),
                                  dtype=torch.float64)  # fmt: skip
    model = optimal_denoiser(diffusion, "epsilon")
    sampler = DPMSolverSampler(100, steps=8)
    noise = torch.randn((500, 2), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    first, second = (
        sample_loop(diffusion, model, noise, generator=torch.Generator(), method=sampler)
        for _ in range(2)
    )
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_the_solver_holds_given_cells_through_jumps():
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", 100)),
                                  dtype=torch.float64)  # fmt: skip
    model = optimal_denoiser(diffusion, "epsilon")
    x0 = torch.zeros((4000, 2), dtype=torch.float64)
    x0[:, 1] = 0.7
    mask = torch.zeros_like(x0)
    mask[:, 1] = 1.0
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn((4000, 2), generator=generator, dtype=torch.float64)
    condition = Inpainting(x0, mask, jumps=1, jump_length=3, corrector_steps=2)
    x = sample_loop(diffusion, model, noise, generator=generator, method="dpm", steps=10,
                    condition=condition)  # fmt: skip
    assert torch.all(x[:, 1] == 0.7)
    # x₀ given x₁ = 0.7: mean 1.5 + 0.3 / 1.44 (0.7 + 0.5) = 1.75
    assert abs(x[:, 0].mean().item() - 1.75) < 0.1


@pytest.mark.parametrize("spacing", ["sigma", "logsnr", "time"])
@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_spaced_steps_run_down_to_one_strictly_decreasing(spacing, schedule):
    abar = NoiseSchedule(make_beta_schedule(schedule, 100)).alphas_cumprod
    log_snr = 0.5 * np.log(abar / (1 - abar))
    for steps in (2, 5, 10, 20, 100):
        ts = spaced_timesteps(abar, steps, spacing)
        assert len(ts) == steps and ts[0] == 100 and ts[-1] == 1
        assert all(a > b for a, b in itertools.pairwise(ts))
        if spacing == "logsnr" and 2 < steps < 100:
            # the second call is the least noisy step at or below the floor
            assert log_snr[ts[1] - 1] <= MIN_LOGSNR < log_snr[ts[1] - 2]
    assert spaced_timesteps(abar, 1, spacing) == [100]
    with pytest.raises(ValueError, match="spacing='even'; expected"):
        spaced_timesteps(abar, 10, "even")


@pytest.mark.slow
def test_the_fast_paths_stay_close_to_the_ancestral_sampler_on_the_spiral():
    # Issue 24: a change of defaults made DDIM at 10 steps worse and nothing caught it.
    X = make_spiral(10_000, random_state=0)[0]
    reference = make_spiral(2_000, random_state=1)[0]
    gen = DiffusionGenerator(random_state=0).fit(X)

    def c2st(**options):
        scores = [
            classifier_two_sample_test(gen.sample(2_000, random_state=s, **options), reference,
                                       random_state=s)
            for s in range(2)
        ]  # fmt: skip
        return np.mean(scores)

    ancestral = c2st()
    assert c2st(method="dpm", steps=10) - ancestral <= 0.05, ancestral
    # DDIM's 10 steps were 0.08 above the ancestral sampler at these defaults when this
    # test was written (issue 24 asks 0.05, which the solver meets and DDIM does not):
    # the bound guards the fast path DDIM still is against getting worse again.
    assert c2st(method="ddim", steps=10) - ancestral <= 0.12, ancestral
