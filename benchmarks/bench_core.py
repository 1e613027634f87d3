"""Benchmark: quality against GaussianMixture and KernelDensity, speed against plain PyTorch,
and scale. One command writes every table to ``benchmarks/results/core.md``, which the
docs include::

    python benchmarks/bench_core.py                        # all sections, ~30 min on 2 cores
    python benchmarks/bench_core.py --sections quality     # or speed, ablation, scale, cuda

- **quality**: on the spiral, two moons, a ring of 8 Gaussians, a checkerboard (10,000
  training rows each, 2,000 held-out rows to compare with) and ``load_digits`` (64-D;
  997 training rows, 400 held out), DiffusionGenerator at its defaults and the best of
  a small grid (chosen by the likelihood bound on a validation split), against
  GaussianMixture (components by BIC) and KernelDensity (bandwidth by 3-fold CV), and
  two real samples (the floor), by C2ST, energy distance and MMD.
- **speed**: training steps per second against the same network trained by a plain
  PyTorch loop with a ``DataLoader`` (batch 32, the tutorial's, and 256), samples per
  second against a plain sampling loop, ``sample`` against the bare network forward
  passes it needs, and the default fit against the DDPM tutorial's whole recipe.
- **ablation**: the default design with one part taken away at a time (spiral).
- **scale**: fit time against n_samples (1k to 100k); sample time and peak memory
  against n_samples (10k to 1M), each in a fresh process.
- **cuda**: the speed section on ``device="cuda"``, timed with synchronization; skipped
  where torch sees no GPU.

Run it on an otherwise idle machine: on two cores a second busy process changes
timings by tens of percent.
"""

import argparse
import math
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import c2st_draws, gmm_by_bic, header, kde_by_cv, like_the_data, write_result
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import GridSearchCV, ShuffleSplit
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from skddpm import DiffusionGenerator
from skddpm.datasets import make_checkers, make_gaussian_ring, make_spiral
from skddpm.metrics import energy_distance, maximum_mean_discrepancy
from skddpm.network import build_network

# -- the plain-PyTorch peer: the tutorial's recipe, as a user would write it ---------------


class TutorialNet(nn.Module):
    def __init__(self, timesteps, width=32, emb=32):
        super().__init__()
        self.timesteps, self.emb = timesteps, emb
        self.net = nn.Sequential(
            nn.Linear(2 + emb, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, 2),
        )  # fmt: skip

    def forward(self, x, t):
        half = self.emb // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / half)
        phase = t[:, None].float() * 1000.0 / self.timesteps * freqs[None]
        return self.net(torch.cat([x, phase.sin(), phase.cos()], dim=1))


def tutorial_recipe(X, timesteps=40, epochs=100, batch_size=32, lr=1e-3, seed=0):
    """Fit and return a sampler; the schedule is the scaled linear one that reaches noise."""
    torch.manual_seed(seed)
    mean, std = X.mean(0), X.std(0)
    data = torch.tensor((X - mean) / std, dtype=torch.float32)
    betas = torch.linspace(1e-4 * 1000 / timesteps, 0.02 * 1000 / timesteps, timesteps)
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    model = TutorialNet(timesteps)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    steps = 0
    for _ in range(epochs):
        for (x0,) in loader:
            t = torch.randint(0, timesteps, (len(x0),))
            eps = torch.randn_like(x0)
            a = abar[t][:, None]
            x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
            loss = ((model(x_t, t) - eps) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    fit_seconds = time.perf_counter() - start

    @torch.no_grad()
    def sample(n):
        x = torch.randn(n, 2)
        for i in reversed(range(timesteps)):
            t = torch.full((n,), i)
            eps = model(x, t)
            abar_prev = abar[i - 1] if i > 0 else torch.tensor(1.0)
            x0 = (x - (1 - abar[i]).sqrt() * eps) / abar[i].sqrt()
            mean_ = (betas[i] * abar_prev.sqrt() * x0 + (1 - abar_prev) * alphas[i].sqrt() * x) / (
                1 - abar[i]
            )
            var = betas[i] * (1 - abar_prev) / (1 - abar[i])
            x = mean_ + (var.sqrt() * torch.randn_like(x) if i > 0 else 0)
        return x.numpy() * std + mean

    return sample, fit_seconds, steps


# -- sampling scale, one subprocess per size so that peak memory is its own ---------------

_SAMPLE_CHILD = """
import pickle, resource, sys, time
gen = pickle.load(open(sys.argv[1], "rb"))
gen.sample(1000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
X = gen.sample(int(sys.argv[2]), random_state=0)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, before, after, X.shape[0])
"""


def sample_scale(gen, sizes):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.pkl"
        path.write_bytes(pickle.dumps(gen))
        for n in sizes:
            out = subprocess.run(
                [sys.executable, "-c", _SAMPLE_CHILD, str(path), str(n)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds, before, after, got = out.stdout.split()
            assert int(got) == n
            rows.append((n, float(seconds), int(before) / 1024, int(after) / 1024))
            print(f"  sample({n:,}): {float(seconds):.1f} s, peak RSS {int(after) / 1024:.0f} MiB")
    return rows


# -- quality -------------------------------------------------------------------------------


def iid_moons(n, seed):
    """Two moons with independent positions along the arcs.

    ``make_moons`` places its points at evenly spaced positions, the same for two
    samples of the same size: two such "real" samples are pairs of twins, and a
    classifier's cross-validation then scores far below 0.5 on them (0.24 for one seed).
    Here n rows are drawn from 50 n evenly spaced ones.
    """
    X = make_moons(50 * n, noise=0.05, random_state=seed)[0]
    return X[np.random.default_rng(seed).choice(len(X), n, replace=False)]


def quality_datasets():
    """``name -> (train, reference, other)``; reference and other are held-out real rows."""

    def two_d(make):
        return make(10_000, 0), make(2000, 1), make(2000, 2)

    digits = load_digits().data[np.random.default_rng(0).permutation(1797)]
    return {
        "spiral": two_d(lambda n, seed: make_spiral(n, random_state=seed)[0]),
        "two moons (noise 0.05)": two_d(iid_moons),
        "ring of 8 Gaussians": two_d(lambda n, seed: make_gaussian_ring(n, random_state=seed)[0]),
        "checkerboard": two_d(lambda n, seed: make_checkers(n, random_state=seed)[0]),
        "digits (64-D)": (digits[:997], digits[997:1397], digits[1397:]),
    }


def best_of_grid(X):
    grid = {"max_iter": [180, 500]}
    split = ShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    search = GridSearchCV(DiffusionGenerator(random_state=0), grid, cv=split).fit(X)
    return search.best_estimator_, search.best_params_


N_DRAWS = 5


def draws_of(gen, n):
    """``seed -> gen.sample(n, random_state=seed)``."""
    return lambda seed: gen.sample(n, random_state=seed)


def quality_of(name, train, reference, other):
    """One dataset's table rows, and ``label -> (C2ST mean, sd)``."""
    n = len(reference)
    table = [
        f"### {name}",
        "",
        "| model | fit (s) | C2ST | energy distance | MMD² |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    figures = {}

    def row(label, seconds, draw):
        mean, sd, first = c2st_draws(draw, reference, N_DRAWS)
        figures[label] = mean, sd
        fit = "" if seconds is None else f"{seconds:.1f}"
        table.append(
            f"| {label} | {fit} | {mean:.4f} ± {sd:.4f} "
            f"| {energy_distance(first, reference):.4f} "
            f"| {maximum_mean_discrepancy(first, reference):.4f} |"
        )
        print(name, table[-1], flush=True)

    row("real vs real (the floor)", None, lambda seed: other)
    start = time.perf_counter()
    gen = DiffusionGenerator(random_state=0).fit(train)
    row("DiffusionGenerator() defaults", time.perf_counter() - start, draws_of(gen, n))
    start = time.perf_counter()
    best, params = best_of_grid(train)
    row(f"DiffusionGenerator, best of grid ({params})", time.perf_counter() - start,
        draws_of(best, n))  # fmt: skip
    start = time.perf_counter()
    gmm = gmm_by_bic(train)

    def gmm_draw(seed):
        return like_the_data(gmm.set_params(random_state=seed).sample(n)[0], train)

    row(f"GaussianMixture by BIC ({gmm.n_components} components)", time.perf_counter() - start,
        gmm_draw)  # fmt: skip
    start = time.perf_counter()
    kde = kde_by_cv(train)
    row(f"KernelDensity by CV (bandwidth {kde.bandwidth:.3g})", time.perf_counter() - start,
        lambda seed: like_the_data(kde.sample(n, random_state=seed), train))  # fmt: skip
    return table, figures


def quality(lines):
    lines += [
        "## Quality against GaussianMixture and KernelDensity",
        "",
        "C2ST: accuracy of a classifier telling samples from held-out real rows (0.5 means "
        f"it cannot), the mean ± standard deviation over {N_DRAWS} sample draws, each "
        f"with its own classifier seed (for the floor, {N_DRAWS} classifier seeds on the "
        "same two real samples). Energy distance and MMD (RBF kernel, median heuristic) "
        "of the first draw: 0 for equal distributions. Lower is better for all three.",
        "",
    ]
    wins, clear, summary = 0, 0, []
    for name, (train, reference, other) in quality_datasets().items():
        table, figures = quality_of(name, train, reference, other)
        default, default_sd = figures["DiffusionGenerator() defaults"]
        gmm, gmm_sd = next(v for k, v in figures.items() if k.startswith("GaussianMixture"))
        floor = figures["real vs real (the floor)"][0]
        wins += default < gmm
        # Two standard errors of the difference between two means of N_DRAWS draws.
        margin = 2 * math.sqrt((default_sd**2 + gmm_sd**2) / N_DRAWS)
        if abs(default - gmm) <= margin:
            verdict = "within noise"
        else:
            verdict = "better" if default < gmm else "worse"
            clear += verdict == "better"
        summary.append(
            f"{name}: defaults {default:.3f}, GMM {gmm:.3f}, {verdict} (2 s.e. = "
            f"{margin:.3f}), floor {floor:.3f}"
        )
        lines += [*table, ""]
    lines += [
        f"The defaults' mean C2ST is below GaussianMixture by BIC's on **{wins} of 5** "
        f"datasets, and below it by more than two standard errors on **{clear} of 5** "
        f"({'; '.join(summary)}). Samples of the classical models are rounded and clipped "
        "like DiffusionGenerator's (whole-number columns, the digits' pixels, come back "
        "whole) so that the classifier compares shapes, not rounding.",
        "",
    ]


# -- speed ---------------------------------------------------------------------------------


def default_network(n_features, timesteps=100):
    """The network DiffusionGenerator() builds, for the plain-PyTorch peer."""
    return build_network(DiffusionGenerator(timesteps).get_params(), n_features, seed=0)


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def peer_training(X, batch_size, steps, device="cpu", timesteps=100):
    """The same network trained the way a user would write it: a DataLoader, torch's
    default Adam, fresh steps and noise per batch. Returns steps per second."""
    torch.manual_seed(0)
    data = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    betas = torch.linspace(1e-4 * 1000 / timesteps, 0.02 * 1000 / timesteps, timesteps)
    abar = torch.cumprod(1 - betas, 0).to(device)
    model = default_network(X.shape[1], timesteps).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=True)
    done = 0
    synchronize(device)
    start = time.perf_counter()
    while done < steps:
        for (x0,) in loader:
            x0 = x0.to(device)
            t = torch.randint(1, timesteps + 1, (len(x0),), device=device)
            eps = torch.randn_like(x0)
            a = abar[t - 1][:, None]
            loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    synchronize(device)
    return steps / (time.perf_counter() - start)


def our_training(X, batch_size, steps, device="cpu"):
    """DiffusionGenerator's fit for the same steps (EMA included). Steps per second."""
    epochs = math.ceil(steps / math.ceil(len(X) / batch_size))
    gen = DiffusionGenerator(batch_size=batch_size, max_iter=epochs, validation_fraction=0,
                             device=device, random_state=0)  # fmt: skip
    synchronize(device)
    start = time.perf_counter()
    gen.fit(X)
    synchronize(device)
    done = epochs * math.ceil(len(X) / batch_size)
    return done / (time.perf_counter() - start), gen


def peer_sampling(model, n, n_features, device, timesteps=100):
    """The tutorial's sampling loop, with the same network, in one batch of n rows."""
    betas = torch.linspace(1e-4 * 1000 / timesteps, 0.02 * 1000 / timesteps, timesteps,
                           dtype=torch.float64)  # fmt: skip
    alphas, abar = 1 - betas, torch.cumprod(1 - betas, 0)
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(n, n_features, device=device)
        for i in reversed(range(timesteps)):
            eps = model(x, torch.full((n,), i + 1, device=device))
            abar_prev = abar[i - 1] if i > 0 else torch.tensor(1.0, dtype=torch.float64)
            x0 = (x - (1 - abar[i]).sqrt() * eps) / abar[i].sqrt()
            mean = (betas[i] * abar_prev.sqrt() * x0
                    + (1 - abar_prev) * alphas[i].sqrt() * x) / (1 - abar[i])  # fmt: skip
            var = betas[i] * (1 - abar_prev) / (1 - abar[i])
            x = (mean + var.sqrt() * torch.randn_like(x) if i > 0 else x0).float()
    synchronize(device)
    return n / (time.perf_counter() - start)


def bare_forward_seconds(gen, n):
    """Time of the network calls sample(n) makes (timesteps per chunk), and nothing else."""
    network = gen.ema_network_.eval()
    chunk = 8192  # the rows per pass of sample(), as its docstring says
    chunks = [torch.randn(min(chunk, n - s), gen.n_features_in_, device=gen.device_)
              for s in range(0, n, chunk)]  # fmt: skip
    synchronize(gen.device_)
    start = time.perf_counter()
    with torch.inference_mode():
        for x in chunks:
            for step in range(gen.timesteps, 0, -1):
                network(x, torch.full((1,), step, device=gen.device_))
    synchronize(gen.device_)
    return time.perf_counter() - start


def speed(lines, device="cpu"):
    X = make_spiral(10_000, random_state=0)[0]
    title = "Speed" if device == "cpu" else f"Speed on {torch.cuda.get_device_name(device)}"
    lines += [
        f"## {title}: against the same network in plain PyTorch",
        "",
        "Training steps per second, best of three interleaved runs each (EMA included in "
        "ours; the peer uses torch's default Adam, as a user would).",
        "",
        "| batch | steps | DiffusionGenerator (steps/s) | plain PyTorch + DataLoader (steps/s) "
        "| ratio |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    our_training(X, 1024, 20, device)  # warm up kernels and allocator
    peer_training(X, 1024, 20, device)
    gen = None
    for batch, steps in ((32, 3130), (256, 2000)):
        # Interleaved, best of three each: a shared machine's noise only ever slows a run.
        ours = peer = 0.0
        for _ in range(3):
            rate, fitted = our_training(X, batch, steps, device)
            ours, gen = max(ours, rate), gen or fitted
            peer = max(peer, peer_training(X, batch, steps, device))
        lines.append(f"| {batch} | {steps:,} | {ours:.0f} | {peer:.0f} | **{ours / peer:.2f}x** |")
        print(lines[-1], flush=True)
    n = 20_000
    gen.sample(1000)
    synchronize(device)
    start = time.perf_counter()
    gen.sample(n, random_state=0)
    synchronize(device)
    sample_seconds = time.perf_counter() - start
    bare = bare_forward_seconds(gen, n)
    peer_rate = peer_sampling(gen.ema_network_.eval(), n, 2, gen.device_)
    lines += [
        "",
        f"- `sample({n:,})`: {n / sample_seconds:,.0f} samples/s against "
        f"{peer_rate:,.0f} for the tutorial's sampling loop with the same network "
        f"(**{n / sample_seconds / peer_rate:.2f}x**).",
        f"- The bare network calls it needs ({gen.timesteps} steps of {n:,} rows, in chunks "
        f"of 8,192) take {bare:.2f} s; `sample` takes {sample_seconds:.2f} s: "
        f"**{sample_seconds / bare:.2f}x** the bare forward passes.",
    ]
    if device == "cpu":
        DiffusionGenerator(random_state=0, max_iter=2).fit(X)
        tutorial_recipe(X, epochs=1)
        start = time.perf_counter()
        DiffusionGenerator(random_state=0).fit(X)
        default_seconds = time.perf_counter() - start
        _, peer_seconds, peer_steps = tutorial_recipe(X)
        lines.append(
            f"- The default fit takes {default_seconds:.1f} s; the DDPM tutorial's whole "
            f"recipe (T=40, width 32, batch 32, 100 epochs, {peer_steps:,} steps) in plain "
            f"PyTorch takes {peer_seconds:.1f} s: **{peer_seconds / default_seconds:.1f}x**."
        )
    lines.append("")
    print("\n".join(lines[-4:]), flush=True)


# -- ablation ------------------------------------------------------------------------------


def ablation(lines):
    X = make_spiral(10_000, random_state=0)[0]
    reference = make_spiral(2000, random_state=1)[0]
    lines += [
        f"## The default design, one part taken away at a time (spiral, C2ST over {N_DRAWS} draws)",
        "",
        "| change from the defaults | fit (s) | C2ST |",
        "| --- | ---: | ---: |",
    ]
    for name, params in [
        ("none (the defaults)", {}),
        ("no Fourier features (`fourier_features=0`)", {"fourier_features": 0}),
        ("no residual blocks (`residual=False`)", {"residual": False}),
        ("no EMA (`ema_decay=0`)", {"ema_decay": 0.0}),
        ("constant learning rate (`learning_rate='constant'`)", {"learning_rate": "constant"}),
        ("constant learning rate and no EMA", {"learning_rate": "constant", "ema_decay": 0.0}),
        ("the former defaults: 3 blocks, 110 epochs",
         {"hidden_layer_sizes": (128, 128, 128), "max_iter": 110}),
    ]:  # fmt: skip
        gen = DiffusionGenerator(random_state=0, **params)
        start = time.perf_counter()
        gen.fit(X)
        seconds = time.perf_counter() - start
        mean, sd, _ = c2st_draws(draws_of(gen, 2000), reference, N_DRAWS)
        lines.append(f"| {name} | {seconds:.1f} | {mean:.3f} ± {sd:.3f} |")
        print(lines[-1], flush=True)
    lines.append("")


# -- scale ---------------------------------------------------------------------------------


def scale(lines, max_samples):
    lines += [
        "## Scale",
        "",
        "Fit time of the defaults against the number of rows (spiral):",
        "",
        "| n_samples | fit (s) | µs per row and epoch |",
        "| ---: | ---: | ---: |",
    ]
    for n in (1000, 3000, 10_000, 30_000, 100_000):
        X = make_spiral(n, random_state=0)[0]
        gen = DiffusionGenerator(random_state=0)
        start = time.perf_counter()
        gen.fit(X)
        seconds = time.perf_counter() - start
        per = seconds / (n * gen.n_iter_) * 1e6
        lines.append(f"| {n:,} | {seconds:.1f} | {per:.2f} |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Sampling time and peak memory against the number of rows (fresh process per size):",
        "",
        "| n_samples | seconds | µs per row | peak RSS (MiB) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    X = make_spiral(10_000, random_state=0)[0]
    gen = DiffusionGenerator(random_state=0, max_iter=1).fit(X)  # the cost is the network's
    sizes = [n for n in (10_000, 100_000, 1_000_000) if n <= max_samples]
    for n, seconds, _, after in sample_scale(gen, sizes):
        lines.append(f"| {n:,} | {seconds:.1f} | {seconds / n * 1e6:.1f} | {after:.0f} |")
    lines.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-samples", type=int, default=1_000_000)
    parser.add_argument(
        "--sections", default="quality,speed,ablation,scale,cuda",
        help="comma-separated, of quality, speed, ablation, scale, cuda",
    )  # fmt: skip
    args = parser.parse_args()
    sections = args.sections.split(",")
    command = f"python benchmarks/bench_core.py --sections {args.sections}"
    lines = ["# Core benchmark", "", *header(command)]
    for section in sections:
        if section == "quality":
            quality(lines)
        elif section == "speed":
            speed(lines)
        elif section == "ablation":
            ablation(lines)
        elif section == "scale":
            scale(lines, args.max_samples)
        elif section == "cuda":
            if torch.cuda.is_available():
                speed(lines, "cuda")
            else:
                lines += ["## CUDA", "", "Skipped: torch sees no GPU on this machine.", ""]
        else:
            parser.error(f"unknown section {section!r}")
        path = write_result("core", lines)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
