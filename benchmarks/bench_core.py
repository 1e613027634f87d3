"""Benchmark of the core estimator: quality, speed against plain PyTorch, sampling scale.

Run from the repository root (about ten minutes on a 2-core CPU)::

    python benchmarks/bench_core.py            # writes benchmarks/results_core.md

Quality is a classifier two-sample test (HistGradientBoostingClassifier, 5-fold
shuffled stratified cross-validation, accuracy; 0.5 = indistinguishable) of 2,000
samples against 2,000 fresh spiral points, for a model fitted on
``make_spiral(10_000, random_state=0)``. The peer is the DDPM tutorial's recipe
(T=40, an MLP of width 32, batch 32, 100 epochs, Adam 1e-3) written in plain PyTorch
with a DataLoader, timed in the same run.
"""

import argparse
import math
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from sklearn.mixture import GaussianMixture
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test

HERE = Path(__file__).resolve().parent


def c2st(samples, reference):
    return classifier_two_sample_test(samples, reference, random_state=0)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-samples", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(HERE / "results_core.md"))
    parser.add_argument(
        "--sections", default="quality,ablation,scale", help="comma-separated, of those three"
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))

    X, _ = make_spiral(10_000, random_state=0)
    reference, _ = make_spiral(2000, random_state=1)
    other, _ = make_spiral(2000, random_state=2)
    lines = [
        "# Core benchmark",
        "",
        f"`python benchmarks/bench_core.py` on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}.",
        "",
    ]
    if "quality" in sections:
        lines += [
            "## Quality and fit time on `make_spiral(10_000, random_state=0)`",
            "",
            "| model | fit (s) | C2ST accuracy |",
            "| --- | ---: | ---: |",
        ]

    def row(name, seconds, score):
        lines.append(f"| {name} | {'' if seconds is None else f'{seconds:.1f}'} | {score:.3f} |")
        print(f"{name}: fit {seconds} s, C2ST {score:.3f}", flush=True)

    if "quality" in sections:
        row("real vs real (the floor)", None, c2st(other, reference))
        # Warm up torch's kernels and allocator first: the first fit in a process is
        # otherwise up to 50 % slower here, whichever model it is.
        DiffusionGenerator(random_state=0, max_iter=2).fit(X)
        tutorial_recipe(X, epochs=1)
        fits = {}
        for name, params in [
            ("DiffusionGenerator() defaults", {}),
            ("DiffusionGenerator(timesteps=40)", {"timesteps": 40}),
        ]:
            gen = DiffusionGenerator(random_state=0, **params)
            start = time.perf_counter()
            gen.fit(X)
            fits[name] = time.perf_counter() - start
            row(name, fits[name], c2st(gen.sample(2000), reference))
        start = time.perf_counter()
        gmm = GaussianMixture(30, random_state=0).fit(X)
        row(
            "GaussianMixture(30)", time.perf_counter() - start, c2st(gmm.sample(2000)[0], reference)
        )
        sample, peer_seconds, peer_steps = tutorial_recipe(X)
        row("tutorial recipe in plain PyTorch (T=40, width 32, batch 32, 100 epochs)",
            peer_seconds, c2st(sample(2000), reference))  # fmt: skip
        default_seconds = fits["DiffusionGenerator() defaults"]
        lines += [
            "",
            f"Default fit is **{peer_seconds / default_seconds:.1f}x** faster than the "
            f"plain-PyTorch recipe ({default_seconds:.1f} s against {peer_seconds:.1f} s for "
            f"its {peer_steps:,} steps), measured in the same run.",
        ]

    if "ablation" in sections:
        lines += [
            "",
            "## The default design, one part taken away at a time",
            "",
            "| change from the defaults | fit (s) | C2ST accuracy |",
            "| --- | ---: | ---: |",
        ]
        for name, params in [
            ("none (the defaults)", {}),
            ("no Fourier features (`fourier_features=0`)", {"fourier_features": 0}),
            ("no residual blocks (`residual=False`)", {"residual": False}),
            ("no EMA (`ema_decay=0`)", {"ema_decay": 0.0}),
            ("constant learning rate (`learning_rate='constant'`)", {"learning_rate": "constant"}),
            ("constant learning rate and no EMA",
             {"learning_rate": "constant", "ema_decay": 0.0}),
        ]:  # fmt: skip
            gen = DiffusionGenerator(random_state=0, **params)
            start = time.perf_counter()
            gen.fit(X)
            row(name, time.perf_counter() - start, c2st(gen.sample(2000), reference))

    if "scale" in sections:
        lines += [
            "",
            "## Sampling scale (default model, fresh process per size)",
            "",
            "| n_samples | seconds | µs per row | peak RSS (MiB) |",
            "| ---: | ---: | ---: | ---: |",
        ]
        gen = DiffusionGenerator(random_state=0, max_iter=1).fit(X)  # the cost is the network's
        sizes = [n for n in (10_000, 100_000, 1_000_000) if n <= args.max_samples]
        for n, seconds, _, after in sample_scale(gen, sizes):
            lines.append(f"| {n:,} | {seconds:.1f} | {seconds / n * 1e6:.1f} | {after:.0f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
