"""The ``skddpm`` command line (also ``python -m skddpm``).

    skddpm demo [--out DIR]
    skddpm fit data.csv -o model.skddpm [--labels COLUMN] [--param name=value ...]
    skddpm sample model.skddpm -n 1000 -o samples.csv [--y LABEL] [--random-state N]
    skddpm score model.skddpm data.csv [--labels COLUMN] [-o scores.csv]

CSV files have a header row and are read and written by pandas: text columns are
categories, empty fields missing cells; the model keeps the column names, levels and
dtypes and writes them back.
Models are written in the safe format (``DiffusionGenerator.save``), never pickled.
A bad input ends with a one-line message and exit status 1.
"""

import argparse
import ast
import difflib
import sys
import time
from pathlib import Path

import numpy as np


class CommandError(Exception):
    """A problem with the user's input: printed as one line, exit status 1."""


# -- CSV -----------------------------------------------------------------------------------


def read_csv(path, labels=None):
    """``(frame, y)`` from a CSV with a header row, read by pandas with its dtype inference.

    ``labels`` names the label column, which is taken out of the frame as ``y``. Empty
    fields are missing cells; text columns are categories.
    """
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise CommandError(f"no file at {str(path)!r}: check the path") from None
    except pd.errors.EmptyDataError:
        raise CommandError(
            f"{str(path)!r} needs a header row and at least one data row; it is empty"
        ) from None
    except (pd.errors.ParserError, OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {str(path)!r}: {exc}") from None
    if frame.empty:
        raise CommandError(f"{str(path)!r} needs a header row and at least one data row")
    y = None
    if labels is not None:
        if labels not in frame.columns:
            raise CommandError(
                f"{str(path)!r} has no column {labels!r}; its columns: {frame.columns.tolist()}"
            )
        y = frame.pop(labels).to_numpy()
    return frame, y


def write_csv(path, frame):
    """Write a DataFrame with its header row."""
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise CommandError(f"cannot write {str(path)!r}: {exc}") from None


# -- commands ------------------------------------------------------------------------------


def parse_params(pairs):
    """``{"name": value}`` from ``name=value`` strings, values read as Python literals."""
    from . import DiffusionGenerator

    known = DiffusionGenerator().get_params()
    params = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--param expects name=value, got {pair!r}")
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CommandError(f"DiffusionGenerator has no parameter {name!r}{hint}")
        try:
            params[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[name] = text  # a bare word such as cosine or cuda
    return params


def load_model(path):
    from . import DiffusionGenerator

    try:
        return DiffusionGenerator.load(path)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise CommandError(str(exc)) from None


def model_columns(gen):
    names = getattr(gen, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(gen.n_features_in_)]
    return [str(name) for name in names]


def as_frame(gen, X_new):
    """Samples as the CSV shows them: whole-number float columns as (nullable) integers.

    pandas reads a whole-number column with empty fields as floats; its samples are
    whole numbers and are written without ".0".
    """
    import pandas as pd

    frame = X_new if isinstance(X_new, pd.DataFrame) else pd.DataFrame(X_new)
    frame.columns = model_columns(gen)
    for j in np.flatnonzero(gen.integer_columns_):
        column = frame.iloc[:, j]
        if column.dtype.kind == "f":
            frame[frame.columns[j]] = column.astype("Int64")
    return frame


def fit(args):
    from . import DiffusionGenerator

    params = parse_params(args.param)
    X, y = read_csv(args.data, args.labels)
    verbose = params.pop("verbose", False)
    gen = DiffusionGenerator(**params, verbose=True)
    start = time.perf_counter()
    gen.fit(X, y)
    gen.set_params(verbose=verbose)
    gen.save(args.output)
    classes = f", classes {gen.classes_.tolist()}" if y is not None else ""
    print(
        f"fitted on {len(X):,} rows of {X.shape[1]} columns{classes} in "
        f"{time.perf_counter() - start:.1f} s; wrote {args.output}"
    )


def sample(args):
    gen = load_model(args.model)
    kwargs = {"random_state": args.random_state}
    if args.y is not None:
        classes = getattr(gen, "classes_", None)
        if classes is None:
            raise CommandError(f"--y {args.y!r} needs a model fitted with labels (fit --labels)")
        match = [c for c in classes.tolist() if str(c) == args.y]
        if not match:
            raise CommandError(f"--y {args.y!r} is not one of the classes {classes.tolist()}")
        kwargs["y"] = match[0]
    if args.method in ("ddim", "dpm"):
        kwargs.update(method=args.method, steps=args.steps)
    elif args.steps is not None:
        raise CommandError("--steps applies to --method ddim or dpm only")
    gen.set_params(verbose=True)
    X_new = gen.sample(args.n_samples, **kwargs)
    write_csv(args.output, as_frame(gen, X_new))
    print(f"wrote {len(X_new):,} rows to {args.output}")


def score(args):
    gen = load_model(args.model)
    X, y = read_csv(args.data, args.labels)
    wanted = model_columns(gen)
    missing = [name for name in wanted if name not in X.columns]
    if missing:
        raise CommandError(
            f"{args.data!r} has no column {missing[0]!r}, which the model was fitted with; "
            f"it needs {wanted}"
        )
    X = X[wanted]
    gen.set_params(verbose=True)
    scores = gen.score_samples(X, y)
    if args.output:
        import pandas as pd

        write_csv(args.output, pd.DataFrame({"log_likelihood_bound": scores}))
    print(
        f"mean log-likelihood bound: {scores.mean():.4f} nats per row over {len(X):,} rows "
        f"(variance_type={gen.variance_type!r})"
    )


def demo(out, *, n_samples=10_000, random_state=0, **params):
    """Train on the spiral, write pictures of the samples, the loss and the reverse process.

    ``params`` are DiffusionGenerator parameters that replace its defaults.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import DiffusionGenerator
    from .datasets import make_spiral
    from .metrics import classifier_two_sample_test
    from .plotting import animate_reverse_process, plot_loss_curves, plot_samples

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, _ = make_spiral(n_samples, random_state=random_state)
    fresh, _ = make_spiral(2000, random_state=random_state + 1)
    other, _ = make_spiral(2000, random_state=random_state + 2)

    gen = DiffusionGenerator(random_state=random_state, verbose=True, **params)
    start = time.perf_counter()
    gen.fit(X)
    fit_seconds = time.perf_counter() - start
    gen.set_params(verbose=False)
    start = time.perf_counter()
    X_new = gen.sample(2000)
    sample_seconds = time.perf_counter() - start

    axes = plot_samples(fresh, X_new)
    axes[0].figure.suptitle("DiffusionGenerator on the spiral")
    axes[0].figure.savefig(out / "samples.png", dpi=100, bbox_inches="tight")
    ax = plot_loss_curves(gen)
    ax.set_title("loss per epoch")
    ax.figure.savefig(out / "loss.png", dpi=100, bbox_inches="tight")
    animate_reverse_process(gen, 1000, path=out / "reverse.gif", random_state=random_state)
    plt.close("all")

    quality = classifier_two_sample_test(X_new, fresh, random_state=0)
    floor = classifier_two_sample_test(other, fresh, random_state=0)
    print(f"fit: {fit_seconds:.1f} s on {len(X):,} rows, {gen.n_iter_} epochs")
    print(f"sample: {sample_seconds:.2f} s for 2,000 rows ({gen.timesteps} steps)")
    print(
        f"classifier two-sample test accuracy: {quality:.3f} "
        f"(0.5 = indistinguishable; two real samples give {floor:.3f})"
    )
    print(f"pictures: {out / 'samples.png'}, {out / 'loss.png'}, {out / 'reverse.gif'}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="skddpm",
        description="Denoising diffusion models from the command line.",
        epilog="Run 'skddpm COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser(
        "demo", help="train on the spiral, write pictures, print how good the samples are"
    )
    p.add_argument("--out", default="demo-output", help="folder for the pictures")

    p = commands.add_parser("fit", help="fit a model to the columns of a CSV file")
    p.add_argument("data", help="CSV file with a header row")
    p.add_argument("-o", "--output", required=True, help="model file to write")
    p.add_argument("--labels", help="a column of class labels: fit a class-conditional model")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a DiffusionGenerator parameter, e.g. --param timesteps=40")  # fmt: skip

    p = commands.add_parser("sample", help="draw rows from a model into a CSV file")
    p.add_argument("model", help="model file written by 'skddpm fit' or save()")
    p.add_argument("-n", "--n-samples", type=int, default=1000, help="rows to draw")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    p.add_argument("--y", help="draw rows of this class (models fitted with --labels)")
    p.add_argument("--method", choices=["ddpm", "ddim", "dpm"], default="ddpm",
                   help="ddpm: ancestral, timesteps calls; ddim or dpm (the fast "
                   "solver): --steps calls")  # fmt: skip
    p.add_argument("--steps", type=int, help="network calls, for --method ddim or dpm")
    p.add_argument("--random-state", type=int, default=None)

    p = commands.add_parser("score", help="the log-likelihood bound of the rows of a CSV file")
    p.add_argument("model", help="model file written by 'skddpm fit' or save()")
    p.add_argument("data", help="CSV file with the model's columns")
    p.add_argument("--labels", help="the column of class labels, for a conditional model")
    p.add_argument("-o", "--output", help="also write each row's bound to this CSV file")

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args.out)
        else:
            {"fit": fit, "sample": sample, "score": score}[args.command](args)
    except (CommandError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"skddpm {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
