"""Imputation: DiffusionImputer against scikit-learn's imputers on tables of the suite.

Each table (at most 1,500 rows of its training half) loses 20 % of its cells, either
completely at random (MCAR) or not at random (MNAR: a cell above its column's median
goes missing with probability 0.4, below it never). Every imputer fills the holes of the
table it was fitted on, and is scored on them:

- RMSE on the hidden cells, each column standardized by its true standard deviation;
- C2ST between the completed rows and held-out true rows of the same table (against
  the same rows, whose observed cells are shared, it falls below 0.5); mean imputation
  collapses the spread, a generative imputer should not;
- coverage of the 90 % intervals (5th to 95th percentile) of 20 multiple imputations,
  for the imputers that draw.

``ours`` is DiffusionImputer's draw (``sample_posterior=True``); ``ours mean`` is the
mean of its 20 multiple imputations, the conditional mean that ``sample_posterior=False``
estimates (with ``n_draws=20``). ``iterative draw`` is
``IterativeImputer(sample_posterior=True)``, drawn 20 times with 20 seeds. ``masked``
and ``masked mean`` are the same for the mask-conditioned denoiser of
``mask_conditioned.py``: an alternative to inpainting, measured here and not (yet) in
skddpm.

``--jumps``, ``--steps`` and ``--corrector`` measure variants of ours (RePaint's
resampling jumps; the training steps, ``max_iter`` set to give about that many instead
of the default's 2,000; the Langevin corrector's steps); ``--report`` lists each
variant measured beside the default.

Run ``python benchmarks/bench_impute.py`` (about 25 minutes on 2 cores), then
``python benchmarks/bench_impute.py --report`` to write ``results/impute.md``.
"""

import argparse
import json
import math
import time

import mask_conditioned
import numpy as np
from common import append_record, read_records, write_result
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from suite import load_table

from skddpm import DiffusionGenerator, DiffusionImputer
from skddpm.metrics import classifier_two_sample_test
from skddpm.training import resolve_batch_size

TABLES = [
    "iris",
    "wine",
    "breast cancer",
    "diabetes",
    "student-t 8-D",
    "lognormal 6-D",
    "gamma mixed",
    "s-curve",
]
# Tables of the suite kept aside: a variant chosen on TABLES is confirmed on these.
ASIDE = ["small mixture", "counts 6-D", "blobs 10-D", "swiss roll"]
PATTERNS = ["MCAR", "MNAR"]
METHODS = [
    "ours",
    "ours mean",
    "masked",
    "masked mean",
    "iterative",
    "iterative draw",
    "knn",
    "mean",
]
N_IMPUTATIONS = 20
MAX_ROWS = 1500
# Ours as it is by default: no jumps, the generator's own training length, 3 corrector
# steps.
DEFAULT = {"jumps": 0, "steps": 0, "corrector": 3}


def holes(X, pattern, rng):
    """A mask of the cells to hide, about 20 % of them."""
    if pattern == "MCAR":
        mask = rng.random(X.shape) < 0.2
    else:
        mask = (X > np.median(X, axis=0)) & (rng.random(X.shape) < 0.4)
    mask[mask.all(axis=1), 0] = False  # every row keeps a cell
    return mask


_OURS = {}


def our_imputer(n_rows, variant):
    """DiffusionImputer as ``variant`` (a dict like DEFAULT) sets it."""
    generator = None
    if variant["steps"]:
        # The rows the generator trains on (validation_fraction=0.1 is held out) and its
        # "auto" batch.
        n_train = n_rows - int(0.1 * n_rows)
        batch = resolve_batch_size("auto", n_train)
        epochs = max(1, round(variant["steps"] / math.ceil(n_train / batch)))
        generator = DiffusionGenerator(max_iter=epochs)
    return DiffusionImputer(
        generator, jumps=variant["jumps"], corrector_steps=variant["corrector"], random_state=0
    )


def imputations(method, X_missing, variant):
    """``(point, draws, seconds)``: the filled table and, for imputers that draw, 20."""
    start = time.perf_counter()
    family = method.removesuffix(" mean")
    if family in ("ours", "masked"):
        # A method and its " mean" share one fit and its 20 draws.
        key = (family, X_missing.tobytes(), tuple(variant.values()))
        if key not in _OURS:
            if family == "ours":
                imputer = our_imputer(len(X_missing), variant).fit(X_missing)
                draws = imputer.multiple_imputations(X_missing, N_IMPUTATIONS)
            else:
                draws = mask_conditioned.draws(X_missing, N_IMPUTATIONS)
            _OURS[key] = draws, time.perf_counter() - start
        draws, seconds = _OURS.pop(key) if method != family else _OURS[key]
        point = draws[0] if method == family else np.mean(draws, axis=0)
        return point, draws, seconds
    if method == "iterative draw":
        draws = [
            IterativeImputer(sample_posterior=True, random_state=k).fit_transform(X_missing)
            for k in range(N_IMPUTATIONS)
        ]
        return draws[0], draws, time.perf_counter() - start
    imputer = {
        "iterative": IterativeImputer(random_state=0),
        "knn": KNNImputer(),
        "mean": SimpleImputer(),
    }[method]
    return imputer.fit_transform(X_missing), None, time.perf_counter() - start


def measure(table, pattern, method, variant=DEFAULT):
    X, reference = load_table(table, seed=0)
    X = X[:MAX_ROWS]
    rng = np.random.default_rng(1)
    mask = holes(X, pattern, rng)
    X_missing = np.where(mask, np.nan, X)
    point, draws, seconds = imputations(method, X_missing, variant)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    error = ((point - X) / scale)[mask]
    record = {
        "table": table,
        "pattern": pattern,
        "method": method,
        **variant,
        "missing": float(mask.mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "c2st": classifier_two_sample_test(point, reference, random_state=0),
        "seconds": seconds,
    }
    if draws is not None:
        stack = np.stack(draws)
        low, high = np.percentile(stack, [5, 95], axis=0)
        inside = (X >= low) & (X <= high)
        record["coverage"] = float(inside[mask].mean())
    return record


def read_log():
    return read_records("impute")


def variant_of(record):
    return tuple(record.get(k, v) for k, v in DEFAULT.items())


def report():
    records = read_log()
    latest = {}
    for r in records:
        latest[(r["table"], r["pattern"], r["method"], variant_of(r))] = r
    default = tuple(DEFAULT.values())
    tables = TABLES + ASIDE
    lines = [
        "# Imputation benchmark",
        "",
        "Written by `python benchmarks/bench_impute.py --report` from `logs/impute.jsonl`;",
        "how the tables lose their cells and how each figure is measured is in the",
        "script's docstring. 20 % of the cells hidden; lower RMSE (standardized per",
        "column) and C2ST are better; coverage of the 90 % intervals of 20 multiple",
        "imputations should be near 0.90. Bold: the lowest C2ST of the row.",
        "`masked` is the mask-conditioned denoiser of `mask_conditioned.py`, a",
        "prototype measured as the alternative to inpainting, not part of skddpm.",
        "",
    ]
    for metric, title in (("c2st", "C2ST, completed rows against true rows"), ("rmse", "RMSE"),
                          ("coverage", "Coverage of the 90 % intervals")):  # fmt: skip
        methods = METHODS if metric != "coverage" else ["ours", "masked", "iterative draw"]
        lines += [f"## {title}", "", "| table | pattern | " + " | ".join(methods) + " |",
                  "| --- | --- |" + " ---: |" * len(methods)]  # fmt: skip
        for table in tables:
            for pattern in PATTERNS:
                values = [latest.get((table, pattern, m, default), {}).get(metric)
                          for m in methods]  # fmt: skip
                if all(v is None for v in values):
                    continue
                best = min((v for v in values if v is not None), default=None)
                cells = []
                for v in values:
                    text = "" if v is None else f"{v:.3f}"
                    bold = metric == "c2st" and v is not None and v == best
                    cells.append(f"**{text}**" if bold else text)
                lines.append(f"| {table} | {pattern} | " + " | ".join(cells) + " |")
        lines.append("")
    variants = sorted({k[3] for k in latest if k[3] != default})
    if variants:
        lines += ["## Variants of ours", "",
                  "Steps 0: the generator's default training length (about 2,000 steps).", "",
                  "| table | pattern | jumps | steps | corrector | RMSE of the mean | C2ST | "
                  "coverage | seconds |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for table in tables:
            for pattern in PATTERNS:
                if not any((table, pattern, "ours", w) in latest for w in variants):
                    continue
                for v in [default, *variants]:
                    mean = latest.get((table, pattern, "ours mean", v))
                    draw = latest.get((table, pattern, "ours", v))
                    if mean is None or draw is None:
                        continue
                    lines.append(
                        f"| {table} | {pattern} | {v[0]} | {v[1]} | {v[2]} | {mean['rmse']:.3f} | "
                        f"{draw['c2st']:.3f} | {draw['coverage']:.3f} | {draw['seconds']:.0f} |"
                    )
        lines.append("")
    print(write_result("impute", lines).read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=TABLES, choices=TABLES + ASIDE)
    parser.add_argument("--patterns", nargs="+", default=PATTERNS, choices=PATTERNS)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--jumps", type=int, default=0, help="RePaint's jumps for ours")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps for ours (0: the generator's default)")  # fmt: skip
    parser.add_argument("--corrector", type=int, default=3, help="corrector steps for ours")
    parser.add_argument("--report", action="store_true", help="write results/impute.md")
    args = parser.parse_args()
    if args.report:
        report()
        return
    ours = {"jumps": args.jumps, "steps": args.steps, "corrector": args.corrector}
    for table in args.tables:
        for pattern in args.patterns:
            for method in args.methods:
                variant = ours if method.startswith("ours") else DEFAULT
                record = measure(table, pattern, method, variant)
                print(json.dumps(append_record("impute", record)), flush=True)


if __name__ == "__main__":
    main()
