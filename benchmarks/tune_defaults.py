"""Ablations of the defaults on the tuning half of the suite (issue 12).

    python benchmarks/tune_defaults.py defaults wide      # configurations by name
    python benchmarks/tune_defaults.py --half confirmation defaults

Each configuration is ``DiffusionGenerator(**CONFIGS[name], random_state=0)``; its C2ST
against the held-out rows (mean of ``--draws`` draws) and its fit time are printed per
table and appended to ``benchmarks/logs/tuning.jsonl``, which ``bench_defaults.py`` reads
for its ablation table.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.preprocessing import QuantileTransformer

from skddpm import DiffusionGenerator
from skddpm.metrics import classifier_two_sample_test

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_record
from suite import load_table, tables


def steps_budget(steps, batch=256):
    """Epochs and batch size for about ``steps`` optimizer steps on any table."""

    def params(n_rows, n_features):
        size = min(batch, max(16, n_rows // 8))
        per_epoch = -(-int(0.9 * n_rows) // size)
        return {"batch_size": size, "max_iter": max(1, round(steps / per_epoch))}

    return params


def _probe(**changes):
    base = {
        "hidden_layer_sizes": (256, 256, 256),
        "learning_rate": "constant",
        "learning_rate_init": 1e-3,
        "beta_schedule": "cosine",
        "fourier_features": 4,
        "fourier_base": -2,
        "budget": steps_budget(4000),
    }
    return {**base, **changes}


def _v2(**changes):
    """The probe with two blocks of 256 and Adam 2e-3 on a cosine: the second round."""
    base = {"hidden_layer_sizes": (256, 256), "learning_rate": "cosine",
            "learning_rate_init": 2e-3}  # fmt: skip
    return _probe(**{**base, **changes})


# "defaults" is the defaults of the commit that runs it; "ablate-" entries change one
# choice of issue 12's defaults back; the others are the candidates tried on the way
# (their full settings, whatever the defaults).
CONFIGS = {
    "defaults": {},
    "issue-6-defaults": {
        "hidden_layer_sizes": (128, 128),
        "fourier_features": 8,
        "fourier_base": 0,
        "beta_schedule": "linear",
        "learning_rate_init": 5e-3,
        "max_iter": 180,
        "budget": lambda n, d: {"batch_size": min(1024, max(1, n // 10))},
    },
    "ablate-fourier-8-from-period-2": {"fourier_features": 8, "fourier_base": 0},
    "ablate-fourier-0": {"fourier_features": 0},
    "ablate-linear-schedule": {"beta_schedule": "linear"},
    "ablate-width-128": {"hidden_layer_sizes": (128, 128)},
    "ablate-epoch-budget": {
        "max_iter": 180,
        "budget": lambda n, d: {"batch_size": min(1024, max(1, n // 10))},
    },
    "probe": _probe(),
    "probe-f8": _probe(fourier_features=8, fourier_base=0),
    "probe-f0": _probe(fourier_features=0),
    "probe-quantile": _probe(quantile=True),
    "probe-lr-cosine": _probe(learning_rate="cosine", learning_rate_init=2e-3),
    "probe-8k": _probe(budget=steps_budget(8000)),
    "probe-linear": _probe(beta_schedule="linear"),
    "probe-w128": _probe(hidden_layer_sizes=(128, 128)),
    "v2-a": _v2(budget=steps_budget(3000)),
    "v2-b": _v2(learning_rate_init=5e-3, beta_schedule="linear", budget=steps_budget(3000)),
    "v2-c": _v2(budget=steps_budget(2000)),
    "v2-d": _v2(budget=steps_budget(3000, batch=128)),
    "v2-a-quantile": _v2(budget=steps_budget(3000), quantile=True),
}


def _set_fourier_base(base):
    """Frequencies ``2^(k + base) π`` instead of ``2^k π`` (exploration only)."""
    import math

    import torch

    from skddpm import network

    def init(self, n_features, n_frequencies):
        torch.nn.Module.__init__(self)
        self.out_features = n_features * (1 + 2 * n_frequencies)
        scales = math.pi * 2.0 ** (torch.arange(n_frequencies, dtype=torch.float32) + base)
        self.register_buffer("scales", torch.cat([scales, scales]), persistent=False)
        offsets = torch.cat([torch.zeros(n_frequencies), torch.full((n_frequencies,), math.pi / 2)])
        self.register_buffer("offsets", offsets, persistent=False)

    network.FourierFeatures.__init__ = init


def evaluate(config, name, draws, seed=0):
    train, reference = load_table(name, seed)
    params = {k: v for k, v in config.items() if k not in ("budget", "quantile", "fourier_base")}
    _set_fourier_base(config.get("fourier_base", -2))
    if "budget" in config:
        params.update(config["budget"](*train.shape))
    transform = None
    if config.get("quantile"):
        transform = QuantileTransformer(
            output_distribution="normal", n_quantiles=min(1000, len(train)), random_state=0
        )
        fitted = transform.fit_transform(train)
    else:
        fitted = train
    gen = DiffusionGenerator(**params, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit(fitted)
    seconds = time.perf_counter() - start

    def draw(i):
        rows = gen.sample(len(reference), random_state=i)
        if transform is not None:
            rows = transform.inverse_transform(rows)
            whole = np.all(train == np.round(train), axis=0)
            rows[:, whole] = np.round(rows[:, whole])
        return rows

    scores = [classifier_two_sample_test(draw(i), reference, random_state=i)
              for i in range(draws)]  # fmt: skip
    return float(np.mean(scores)), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("configs", nargs="+", choices=CONFIGS)
    parser.add_argument("--half", default="tuning", choices=["tuning", "confirmation", "all"])
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--tables", nargs="*")
    args = parser.parse_args()
    for config in args.configs:
        scores, times = [], []
        for name in args.tables or tables(args.half):
            c2st, seconds = evaluate(CONFIGS[config], name, args.draws)
            scores.append(c2st)
            times.append(seconds)
            print(f"{config:24s} {name:22s} C2ST {c2st:.4f}  fit {seconds:6.1f} s", flush=True)
            record = {"config": config, "table": name, "c2st": c2st, "fit_s": seconds,
                      "draws": args.draws}  # fmt: skip
            append_record("tuning", record)
        print(
            f"{config:24s} MEAN C2ST {np.mean(scores):.4f}  total fit {sum(times):.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
