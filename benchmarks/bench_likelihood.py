"""Benchmark of the likelihood bound: held-out score, outlier detection, variance_type.

Run from the repository root (about five minutes on a 2-core CPU)::

    python benchmarks/bench_likelihood.py      # writes benchmarks/results/likelihood.md

- **Held-out log-likelihood** (nats per row, in the data's units) on three 2-D
  datasets of 5,000 training and 2,000 held-out rows: the bound of
  ``DiffusionGenerator`` at its defaults (with each ``variance_type``), of the same
  model trained for one epoch, and the exact held-out log-likelihood of
  ``GaussianMixture`` (components chosen by BIC) and ``KernelDensity`` (bandwidth by
  5-fold cross-validation) on the same split.
- **Outliers**: ROC AUC of ``score_samples`` separating 500 held-out spiral points
  from 500 uniform points of the padded bounding box that lie further than a distance
  from every training point (the spiral's noise has a scale of 0.3).
- **variance_type**: C2ST (as in ``bench_core.py``) of samples drawn with each
  variance, at the defaults and at ``timesteps=40``, which is how the default was chosen.
"""

import argparse
import time

import numpy as np
from common import gmm_by_bic, header, kde_by_cv, write_result
from sklearn.datasets import make_moons
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test


def gaussian_mixture_2d(n, random_state):
    """Five anisotropic Gaussians at fixed places (the same mixture for every seed)."""
    layout = np.random.default_rng(0)
    centers = layout.uniform(-6, 6, size=(5, 2))
    factors = layout.normal(scale=0.8, size=(5, 2, 2))
    rng = np.random.default_rng(random_state)
    which = rng.integers(5, size=n)
    return centers[which] + np.einsum("nij,nj->ni", factors[which], rng.normal(size=(n, 2)))


DATASETS = {
    "spiral (noise 0.3)": lambda n, seed: make_spiral(n, noise=0.3, random_state=seed)[0],
    "two moons (noise 0.1) x 5": lambda n, seed: 5 * make_moons(n, noise=0.1, random_state=seed)[0],
    "2-D Gaussian mixture": gaussian_mixture_2d,
}


def gmm_by_bic_2d(X):
    return gmm_by_bic(X, components=(1, 2, 5, 10, 20, 30, 40))


def kde_by_cv_2d(X):
    return kde_by_cv(X, bandwidths=np.geomspace(0.05, 2.0, 12), cv=5)


def held_out_table(lines):
    lines += [
        "## Held-out log-likelihood (nats per row; higher is better)",
        "",
        "| dataset | DiffusionGenerator() (fixed_small) | same, fixed_large | "
        "after 1 epoch | GaussianMixture (BIC) | KernelDensity (CV) | score time (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, make in DATASETS.items():
        X, held_out = make(5000, 0), make(2000, 1)
        gen = DiffusionGenerator(random_state=0).fit(X)
        start = time.perf_counter()
        small = gen.score(held_out)
        seconds = time.perf_counter() - start
        large = gen.set_params(variance_type="fixed_large").score(held_out)
        barely = DiffusionGenerator(random_state=0, max_iter=1).fit(X).score(held_out)
        gmm = gmm_by_bic_2d(X)
        kde = kde_by_cv_2d(X)
        figures = (small, large, barely, gmm.score(held_out), kde.score(held_out) / len(held_out))
        cells = " | ".join(f"{v:.3f}" for v in figures)
        lines.append(f"| {name} | {cells} | {seconds:.1f} |")
        print(lines[-1], f"(GMM: {gmm.n_components} components, KDE: {kde.bandwidth:.3g})",
              flush=True)  # fmt: skip
    lines += [
        "",
        "The diffusion figures are lower bounds on the model's log-likelihood; the "
        "others are exact. Score time: `score` of the 2,000 held-out rows at "
        "`timesteps=100`.",
        "",
    ]


def outlier_table(lines):
    X = make_spiral(5000, noise=0.3, random_state=0)[0]
    inliers = make_spiral(500, noise=0.3, random_state=1)[0]
    candidates = np.random.default_rng(0).uniform(X.min(0) - 5, X.max(0) + 5, size=(5000, 2))
    distance = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(candidates)[0][:, 0]
    models = {
        "DiffusionGenerator()": DiffusionGenerator(random_state=0).fit(X),
        "GaussianMixture (BIC)": gmm_by_bic_2d(X),
        "KernelDensity (CV)": kde_by_cv_2d(X),
    }
    lines += [
        "## Outlier detection on the spiral (ROC AUC of `score_samples`)",
        "",
        "| outliers further than | " + " | ".join(models) + " |",
        "| ---: | " + " | ".join("---:" for _ in models) + " |",
    ]
    for threshold in (1.0, 2.0):
        outliers = candidates[distance > threshold][:500]
        truth = np.r_[np.ones(len(inliers)), np.zeros(len(outliers))]
        rows = np.vstack([inliers, outliers])
        aucs = [roc_auc_score(truth, model.score_samples(rows)) for model in models.values()]
        lines.append(f"| {threshold} | " + " | ".join(f"{auc:.3f}" for auc in aucs) + " |")
        print(lines[-1], flush=True)
    lines.append("")


def variance_table(lines):
    X = make_spiral(10_000, random_state=0)[0]
    reference = make_spiral(2000, random_state=1)[0]
    lines += [
        "## variance_type: sample quality (C2ST, lower is better) and the bound",
        "",
        "| timesteps | variance_type | C2ST (mean of 3 draws) | held-out score |",
        "| ---: | --- | ---: | ---: |",
    ]
    for timesteps in (100, 40):
        gen = DiffusionGenerator(timesteps, random_state=0).fit(X)
        for variance_type in ("fixed_small", "fixed_large"):
            gen.set_params(variance_type=variance_type)
            c2st = np.mean([
                classifier_two_sample_test(gen.sample(2000, random_state=s), reference,
                                           random_state=0)
                for s in range(3)
            ])  # fmt: skip
            lines.append(
                f"| {timesteps} | {variance_type} | {c2st:.3f} | {gen.score(reference):.3f} |"
            )
            print(lines[-1], flush=True)
    lines.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    lines = ["# Likelihood benchmark", "", *header("python benchmarks/bench_likelihood.py")]
    held_out_table(lines)
    outlier_table(lines)
    variance_table(lines)
    print(f"wrote {write_result('likelihood', lines)}")


if __name__ == "__main__":
    main()
