"""Benchmark: a class-conditional model asked for rows or scores without ``y``.

A model fitted with ``fit(X, y)`` learns each class and, through label dropout, a
"no label" input trained on ``cond_drop_prob`` (20 %) of the rows. Without ``y``,
``sample(n)`` could run the "no label" input, or draw each row's class in the
proportions seen at fit and run the conditional model; ``score_samples(X)`` could
score the "no label" bound, or the mixture ``log Σ_c π_c exp(bound_c(x))`` of the
classes' bounds, itself a lower bound on ``log p(x)``. This measures both ways.

Run from the repository root (about five minutes on a 2-core CPU)::

    python benchmarks/bench_unlabelled.py     # writes benchmarks/results/unlabelled.md

The "no label" figures use public pieces only: ``sample(y=..., guidance_scale=0)``
is the "no label" sampler, and its bound is ``GaussianDiffusion.bound_terms`` on the
``ema_network_`` called without labels.
"""

import argparse
import copy
import time

import numpy as np
import torch
from bench_sampling import three_shapes
from common import header, write_result
from sklearn.datasets import make_blobs, make_classification
from sklearn.neighbors import KNeighborsClassifier

from skddpm import DiffusionGenerator
from skddpm.diffusion import GaussianDiffusion
from skddpm.metrics import classifier_two_sample_test

DRAWS = 3


def imbalanced_blobs(n, random_state):
    """Three overlapping 2-D blobs in the proportions 75 / 20 / 5 %."""
    sizes = [int(0.75 * n), int(0.2 * n), n - int(0.75 * n) - int(0.2 * n)]
    X, y = make_blobs(sizes, centers=[[0, 0], [2.5, 0], [0, 2.5]], cluster_std=1.0,
                      random_state=random_state)  # fmt: skip
    return X, np.array(["large", "medium", "small"])[y]


def tables():
    shapes, labels, scalers = three_shapes(3000, random_state=0)
    shapes_ref, labels_ref, _ = three_shapes(1000, random_state=1, scalers=scalers)
    yield "three shapes (9,000 rows, 2-D)", (shapes, labels), (shapes_ref, labels_ref)
    X, y = imbalanced_blobs(6000, random_state=0)
    yield "imbalanced blobs 75/20/5 % (4,500 rows)", (X[:4500], y[:4500]), (X[4500:], y[4500:])
    X, y = make_classification(6000, n_features=8, n_informative=6, n_classes=4,
                               n_clusters_per_class=2, weights=[0.55, 0.25, 0.15, 0.05],
                               random_state=0)  # fmt: skip
    name = "make_classification (4,500 rows, 8-D, 4 classes)"
    yield name, (X[:4500], y[:4500]), (X[4500:], y[4500:])


def null_label_scores(gen, X, seed=0):
    """The "no label" bound per row, in X's units (one draw of noise per step)."""
    diffusion = GaussianDiffusion(gen.noise_schedule_, gen.prediction_type,
                                  dtype=torch.float64, variance_type=gen.variance_type)  # fmt: skip
    network = copy.deepcopy(gen.ema_network_).double().eval()
    Z = torch.as_tensor((X - gen.mean_) / gen.scale_)
    bounds = (gen.data_min_, gen.data_max_)
    clip = tuple(torch.as_tensor((v - gen.mean_) / gen.scale_) for v in bounds)
    generator = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        terms = diffusion.bound_terms(
            lambda x_t, t: network(x_t, t), Z,
            lambda step: torch.randn(Z.shape, generator=generator, dtype=torch.float64), clip=clip,
        )  # fmt: skip
    return -terms.sum(dim=0).numpy() - np.log(gen.scale_).sum()


def share_error(judge, samples, reference_shares):
    """Total variation between the classes a judge gives the samples and the real shares."""
    predicted = judge.predict(samples)
    shares = np.array([np.mean(predicted == c) for c in judge.classes_])
    return 0.5 * np.abs(shares - reference_shares).sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    lines = [
        "# A conditional model without y",
        "",
        *header("python benchmarks/bench_unlabelled.py"),
        "Defaults, `fit(X, y)`; C2ST of "
        f"unlabelled samples against as many held-out rows (mean ± sd of {DRAWS} draws); "
        "the share error is the total variation between the classes a 5-NN judge "
        "(trained on the real rows) gives the samples and the real shares; scores are "
        "the held-out mean in nats per row.",
        "",
        "| table | C2ST, no-label sampler | C2ST, drawn labels | share error, no label | "
        "share error, drawn | score, no-label bound | score, class mixture | score seconds "
        "(no label / mixture) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (X, y), (X_ref, y_ref) in tables():
        gen = DiffusionGenerator(random_state=0).fit(X, y)
        judge = KNeighborsClassifier(5).fit(X, y)
        shares = np.array([np.mean(y_ref == c) for c in judge.classes_])
        n = len(X_ref)
        null, drawn, null_err, drawn_err = [], [], [], []
        for draw in range(DRAWS):
            a = gen.sample(n, y=gen.classes_[0], guidance_scale=0.0, random_state=draw)
            b = gen.sample(n, random_state=draw)
            null.append(classifier_two_sample_test(a, X_ref, random_state=draw))
            drawn.append(classifier_two_sample_test(b, X_ref, random_state=draw))
            null_err.append(share_error(judge, a, shares))
            drawn_err.append(share_error(judge, b, shares))
        start = time.perf_counter()
        null_score = null_label_scores(gen, X_ref).mean()
        null_seconds = time.perf_counter() - start
        start = time.perf_counter()
        mixture_score = gen.score(X_ref)
        mixture_seconds = time.perf_counter() - start
        lines.append(
            f"| {name} | {np.mean(null):.3f} ± {np.std(null):.3f} | "
            f"{np.mean(drawn):.3f} ± {np.std(drawn):.3f} | {np.mean(null_err):.3f} | "
            f"{np.mean(drawn_err):.3f} | {null_score:.3f} | {mixture_score:.3f} | "
            f"{null_seconds:.1f} / {mixture_seconds:.1f} |"
        )
        print(lines[-1], flush=True)
    print(write_result("unlabelled", lines).read_text())


if __name__ == "__main__":
    main()
