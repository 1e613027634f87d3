"""A mask-conditioned denoiser for imputation: the alternative bench_impute.py measures.

Not part of skddpm. DiffusionImputer inpaints with the unconditional generator (RePaint
replacement and a Langevin corrector). This denoiser is trained for the conditional
itself, as CSDI (Tashiro et al. 2021) does. On each training row a random share of the
observed cells is the condition: those cells go into the network clean, beside the
mask that marks them. The other cells go in noised. The loss is the noise's MSE on the
observed cells that are not in the condition. When imputing, a row's observed cells
are the condition and its holes are drawn by the ancestral sampler.

Numbers only, standardized by the observed cells. It has no quantile map, integer
rounding or categories. It uses the package's cosine schedule, 100 steps, and about
the generator's training: 2,000 Adam steps, a cosine learning rate from 2e-3, EMA
0.995, and the "auto" batch.
"""

import numpy as np
import torch
from torch import nn

from skddpm.diffusion import GaussianDiffusion
from skddpm.network import SinusoidalPositionEmbedding
from skddpm.schedules import NoiseSchedule, make_beta_schedule
from skddpm.training import AUTO_STEPS, resolve_batch_size

TIMESTEPS = 100


class Denoiser(nn.Module):
    """ε from (values, condition mask, t in 1..T): a residual MLP of two hidden layers."""

    def __init__(self, n_features, hidden=256, embedding=64):
        super().__init__()
        self.embedding = SinusoidalPositionEmbedding(embedding, TIMESTEPS)
        self.first = nn.Linear(2 * n_features + embedding, hidden)
        self.hidden = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(2)])
        self.last = nn.Linear(hidden, n_features)

    def forward(self, x, condition, t):
        h = nn.functional.silu(self.first(torch.cat([x, condition, self.embedding(t)], dim=1)))
        for layer in self.hidden:
            h = h + nn.functional.silu(layer(h))
        return self.last(h)


def draws(X_missing, n_draws, seed=0):
    """``n_draws`` completions of ``X_missing`` (NaN in the holes), observed cells kept."""
    torch.manual_seed(seed)
    holes = np.isnan(X_missing)
    mean, scale = np.nanmean(X_missing, axis=0), np.nanstd(X_missing, axis=0)
    scale[scale == 0] = 1.0
    Z = torch.tensor(np.nan_to_num((X_missing - mean) / scale), dtype=torch.float32)
    observed = torch.tensor(~holes)
    n, d = Z.shape
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", TIMESTEPS)))
    network, ema = Denoiser(d), Denoiser(d)
    ema.load_state_dict(network.state_dict())
    optimizer = torch.optim.Adam(network.parameters(), 2e-3)
    lr = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, AUTO_STEPS)
    batch = resolve_batch_size("auto", n)
    for _ in range(AUTO_STEPS):
        rows = torch.randint(n, (batch,))
        x0, seen = Z[rows], observed[rows]
        condition = seen & (torch.rand(batch, d) < torch.rand(batch, 1))
        target = seen & ~condition
        t = torch.randint(1, TIMESTEPS + 1, (batch,))
        noise = torch.randn(batch, d)
        x_t = diffusion.q_sample(x0, t, noise)
        predicted = network(torch.where(condition, x0, x_t), condition.float(), t)
        loss = ((predicted - noise) ** 2 * target).sum() / target.sum().clamp(min=1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr.step()
        with torch.no_grad():
            for kept, p in zip(ema.parameters(), network.parameters()):
                kept.lerp_(p, 0.005)
    known, condition = Z.repeat(n_draws, 1), observed.repeat(n_draws, 1)
    x = torch.randn_like(known)
    with torch.no_grad():
        for step in range(TIMESTEPS, 0, -1):
            t = torch.full((len(x),), step)
            eps = ema(torch.where(condition, known, x), condition.float(), t)
            x0_hat = diffusion.predict_x0(eps, x, t).clamp(-5, 5)
            if step == 1:
                x = x0_hat
                break
            x = diffusion.q_posterior_mean(x0_hat, x, t)
            x = x + float(np.sqrt(diffusion.reverse_variance[step - 1])) * torch.randn_like(x)
    filled = torch.where(condition, known, x).numpy() * scale + mean
    return [np.where(holes, part, X_missing) for part in np.split(filled, n_draws)]
