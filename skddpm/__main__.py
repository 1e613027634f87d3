"""The ``skddpm`` command line: ``skddpm demo [--out DIR]``."""

import argparse
import sys
import time
from pathlib import Path


def demo(out, *, n_samples=10_000, random_state=0):
    """Train on the spiral, write pictures of the samples and the loss, print the quality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import DiffusionGenerator
    from .datasets import make_spiral
    from .metrics import classifier_two_sample_test
    from .plotting import plot_loss_curves, plot_samples

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, _ = make_spiral(n_samples, random_state=random_state)
    fresh, _ = make_spiral(2000, random_state=random_state + 1)
    other, _ = make_spiral(2000, random_state=random_state + 2)

    gen = DiffusionGenerator(random_state=random_state, verbose=True)
    start = time.perf_counter()
    gen.fit(X)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    X_new = gen.sample(2000)
    sample_seconds = time.perf_counter() - start

    axes = plot_samples(fresh, X_new)
    axes[0].figure.suptitle("DiffusionGenerator on the spiral")
    axes[0].figure.savefig(out / "samples.png", dpi=100, bbox_inches="tight")
    ax = plot_loss_curves(gen.loss_curve_, gen.validation_loss_curve_)
    ax.set_title("loss per epoch")
    ax.figure.savefig(out / "loss.png", dpi=100, bbox_inches="tight")
    plt.close("all")

    score = classifier_two_sample_test(X_new, fresh, random_state=0)
    floor = classifier_two_sample_test(other, fresh, random_state=0)
    print(f"fit: {fit_seconds:.1f} s on {len(X):,} rows, {gen.n_iter_} epochs")
    print(f"sample: {sample_seconds:.2f} s for 2,000 rows ({gen.timesteps} steps)")
    print(
        f"classifier two-sample test accuracy: {score:.3f} "
        f"(0.5 = indistinguishable; two real samples give {floor:.3f})"
    )
    print(f"pictures: {out / 'samples.png'}, {out / 'loss.png'}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skddpm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="train on the spiral, write pictures, print how good the samples are"
    )
    demo_parser.add_argument("--out", default="demo-output", help="folder for the pictures")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
