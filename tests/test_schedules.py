import numpy as np
import pytest
import torch

from skddpm.diffusion import GaussianDiffusion
from skddpm.schedules import BETA_SCHEDULES, NoiseSchedule, make_beta_schedule


# T = 2, 3 and 10 are too short for the scaled schedules (they warn): here on purpose.
@pytest.mark.filterwarnings("ignore:beta_schedule=.* betas above 0.999:UserWarning")
@pytest.mark.parametrize("name", BETA_SCHEDULES)
@pytest.mark.parametrize("timesteps", [2, 3, 10, 40, 100, 1000])
def test_builtin_schedules_reach_noise(name, timesteps):
    betas = make_beta_schedule(name, timesteps)
    assert betas.shape == (timesteps,)
    assert betas.dtype == np.float64
    assert np.all((betas > 0) & (betas < 1))
    assert np.all(np.diff(betas) >= 0), "the noise must grow with t"
    schedule = NoiseSchedule(betas)
    assert np.all(np.diff(schedule.alphas_cumprod) < 0)
    assert schedule.alphas_cumprod[-1] < 0.01


def test_linear_schedule_is_scaled_from_thousand_steps():
    betas = make_beta_schedule("linear", 100, 1e-4, 0.02)
    assert betas[0] == pytest.approx(1e-3)
    assert betas[-1] == pytest.approx(0.2)
    with pytest.warns(UserWarning, match=r"timesteps=2 gives 1 of 2 betas above 0\.999"):
        assert np.all(make_beta_schedule("linear", 2, 1e-4, 0.02) <= 0.999)


def test_tutorial_schedule_that_never_reaches_noise_warns_with_value_and_fix():
    betas = make_beta_schedule("linear", 40, 8e-6, 9e-5)
    with pytest.warns(UserWarning, match=r"alphas_cumprod\[T\]=0\.95.*Use a built-in schedule"):
        schedule = NoiseSchedule(betas)
    assert schedule.alphas_cumprod[-1] == pytest.approx(0.95, abs=0.005)


def test_derived_arrays_match_their_definitions():
    s = NoiseSchedule(make_beta_schedule("cosine", 50))
    assert s.alphas_cumprod_prev[0] == 1.0
    np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1 - s.betas))
    np.testing.assert_allclose(s.alphas_cumprod_prev[1:], s.alphas_cumprod[:-1])
    # β̃_1 = 0: at t = 1 the posterior is x0 itself
    assert s.posterior_variance[0] == pytest.approx(0.0, abs=1e-12)
    assert s.posterior_mean_coef1[0] == pytest.approx(1.0)


def test_posterior_is_bayes_rule_for_a_point_mass():
    # x_{t-1} | x0 ~ N(√ᾱ_{t-1} x0, 1 - ᾱ_{t-1}) and x_t | x_{t-1} ~ N(√α_t x_{t-1}, β_t):
    # the posterior precision and mean follow from conjugacy.
    s = NoiseSchedule(make_beta_schedule("linear", 25))
    t, x0, x_t = 7, 0.3, -1.2
    i = t - 1
    prior_var = 1 - s.alphas_cumprod_prev[i]
    precision = 1 / prior_var + s.alphas[i] / s.betas[i]
    mean = (
        np.sqrt(s.alphas_cumprod_prev[i]) * x0 / prior_var + np.sqrt(s.alphas[i]) * x_t / s.betas[i]
    ) / precision
    got_mean, got_var = s.q_posterior_mean_variance(np.array([[x0]]), np.array([[x_t]]), t)
    assert got_mean.item() == pytest.approx(mean)
    assert got_var.item() == pytest.approx(1 / precision)


def test_q_sample_has_the_forward_marginal_and_matches_the_tensor_version():
    s = NoiseSchedule(make_beta_schedule("linear", 100))
    rng = np.random.default_rng(0)
    x0 = np.full((50_000, 1), 2.0)
    t = np.full(50_000, 30)
    x_t = s.q_sample(x0, t, rng.standard_normal(x0.shape))
    assert x_t.mean() == pytest.approx(2.0 * s.sqrt_alphas_cumprod[29], abs=0.01)
    assert x_t.std() == pytest.approx(s.sqrt_one_minus_alphas_cumprod[29], abs=0.01)

    noise = rng.standard_normal(x0.shape)
    diffusion = GaussianDiffusion(s, dtype=torch.float64)
    torch_x_t = diffusion.q_sample(torch.as_tensor(x0), torch.as_tensor(t), torch.as_tensor(noise))
    np.testing.assert_allclose(torch_x_t.numpy(), s.q_sample(x0, t, noise))


def test_bad_schedules_get_clear_errors():
    with pytest.raises(ValueError, match=r"open interval \(0, 1\), got 1\.0.*np\.clip"):
        NoiseSchedule([0.1, 1.0])
    with pytest.raises(ValueError, match="1-D array of betas"):
        NoiseSchedule([[0.1, 0.2]])
    with pytest.raises(ValueError, match="Unknown beta schedule 'cubic'"):
        make_beta_schedule("cubic", 10)
    with pytest.raises(ValueError, match=r"steps t in 1\.\.25, got values from 0"):
        NoiseSchedule(make_beta_schedule("linear", 25)).q_sample(
            np.zeros((1, 1)), 0, np.zeros((1, 1))
        )
