"""Benchmark of the samplers: DDIM against ancestral sampling, and class-conditional
generation with classifier-free guidance.

Run from the repository root (about two minutes on a 2-core CPU)::

    python benchmarks/bench_sampling.py        # writes benchmarks/results/sampling.md

C2ST is the test of ``bench_core.py`` (HistGradientBoostingClassifier, 5-fold shuffled
stratified cross-validation, accuracy; 0.5 = indistinguishable).
"""

import argparse

import numpy as np
from common import header, timed, write_result
from sklearn.datasets import make_moons, make_s_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test


def c2st(samples, reference):
    return classifier_two_sample_test(samples, reference, random_state=0)


def three_shapes(n, random_state, scalers=None):
    """Spiral, S-curve and two moons, each standardized on its own, so they overlap.

    Fresh points must go through the scalers fitted on the training points
    (``scalers``): scaled by their own statistics they would shift a little, and a
    two-sample test sees a shift of thin curves at once.
    """
    shapes = {
        "spiral": make_spiral(n, random_state=random_state)[0],
        "s_curve": make_s_curve(n, random_state=random_state)[0][:, [0, 2]],
        "moons": make_moons(n, noise=0.0, random_state=random_state)[0],
    }
    if scalers is None:
        scalers = {k: StandardScaler().fit(v) for k, v in shapes.items()}
    X = np.vstack([scalers[k].transform(v) for k, v in shapes.items()])
    y = np.repeat(list(shapes), n)
    return X, y, scalers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    lines = ["# Sampler benchmark", "", *header("python benchmarks/bench_sampling.py")]

    # -- DDIM against the ancestral sampler on the spiral ---------------------------------
    X, _ = make_spiral(10_000, random_state=0)
    reference, _ = make_spiral(2000, random_state=1)
    gen = DiffusionGenerator(random_state=0).fit(X)
    gen.sample(100)  # warm up
    lines += [
        "## DDIM on the spiral (default model, `timesteps=100`, 2,000 samples)",
        "",
        "| sampler | network calls | seconds | speed-up | C2ST accuracy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    _, base = timed(lambda: gen.sample(2000))
    for name, options, calls in [
        ("ancestral (`method='ddpm'`)", {}, gen.timesteps),
        ("DDIM, 50 steps", {"method": "ddim", "steps": 50}, 50),
        ("DDIM, 20 steps", {"method": "ddim", "steps": 20}, 20),
        ("DDIM, 10 steps", {"method": "ddim", "steps": 10}, 10),
        ("DDIM, 10 steps, eta=1", {"method": "ddim", "steps": 10, "eta": 1.0}, 10),
        ("DDIM, 5 steps", {"method": "ddim", "steps": 5}, 5),
    ]:
        samples, seconds = timed(lambda options=options: gen.sample(2000, **options))
        score = c2st(samples, reference)
        lines.append(f"| {name} | {calls} | {seconds:.2f} | {base / seconds:.1f}x | {score:.3f} |")
        print(lines[-1], flush=True)

    # -- three shapes in one conditional model --------------------------------------------
    X, y, scalers = three_shapes(3000, random_state=0)
    X_ref, y_ref, _ = three_shapes(2000, random_state=1, scalers=scalers)
    # Thin curves that cross: a nearest-neighbour judge tells them apart best.
    judge = KNeighborsClassifier(5).fit(X, y)
    # Three shapes take longer to learn than one: the default 110 epochs give the
    # requested class to about 76 % of rows, 600 epochs to about 97 %.
    cond, seconds = timed(lambda: DiffusionGenerator(max_iter=600, random_state=0).fit(X, y))
    lines += [
        "",
        f"## Three shapes in one conditional model (`max_iter=600`, fit {seconds:.1f} s on "
        "9,000 rows)",
        "",
        "Spiral, S-curve and two moons, 3,000 points each, each standardized on its own so "
        "that they overlap. For every class, 2,000 generated rows are compared by C2ST "
        "with 2,000 fresh real points of the class and with 2,000 of its training points, "
        "and a 5-nearest-neighbour classifier trained on the real points says which class "
        "each generated row belongs to; on fresh real points it is right "
        f"{judge.score(X_ref, y_ref):.1%} of the time (the curves cross).",
        "",
        "| guidance_scale | sampler | C2ST against fresh points ("
        + ", ".join(cond.classes_)
        + ") | C2ST against training points | rows given the requested class |",
        "| ---: | --- | --- | --- | ---: |",
    ]
    for scale in (0.0, 1.0, 2.0, 3.0):
        for sampler, options in (("ancestral", {}), ("DDIM 10", {"method": "ddim", "steps": 10})):
            fresh, train, right = [], [], []
            for label in cond.classes_:
                samples = cond.sample(2000, y=label, guidance_scale=scale, **options)
                fresh.append(c2st(samples, X_ref[y_ref == label]))
                train.append(c2st(samples, X[y == label][:2000]))
                right.append(np.mean(judge.predict(samples) == label))
            lines.append(
                f"| {scale:g} | {sampler} | "
                + " / ".join(f"{v:.3f}" for v in fresh)
                + " | "
                + " / ".join(f"{v:.3f}" for v in train)
                + f" | {np.mean(right):.1%} |"
            )
            print(lines[-1], flush=True)
    print(write_result("sampling", lines).read_text())


if __name__ == "__main__":
    main()
