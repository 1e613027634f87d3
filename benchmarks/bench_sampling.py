"""Benchmark of the samplers: the ancestral sampler, DDIM and DPM-Solver++ on every
table of the suite and the mixed tables, and class-conditional generation with
classifier-free guidance.

Run from the repository root, on an otherwise idle machine::

    python benchmarks/bench_sampling.py --half tuning        # about 20 minutes on 2 cores
    python benchmarks/bench_sampling.py --half confirmation  # about 25 minutes
    python benchmarks/bench_sampling.py --mixed              # the five mixed tables
    python benchmarks/bench_sampling.py --report             # results/sampling.md
    python benchmarks/bench_sampling.py --guidance           # three shapes, guidance

Each table is fitted once at the defaults (``random_state=0``); then every sampler draws
as many rows as the table has held-out rows, ``--draws`` times, and C2ST (the test of
``bench_core.py``: HistGradientBoostingClassifier, 5-fold shuffled stratified CV,
accuracy, 0.5 = indistinguishable) compares each draw with the held-out rows, with its
own classifier seed. The wall time is the first draw's. Records go to
``logs/sampling.jsonl`` as they come, so a run can stop and resume (``--tables``).
"""

import argparse
import math
import warnings

import numpy as np
from bench_tables import TABLES as MIXED
from bench_tables import load as load_mixed
from bench_tables import split
from common import append_record, header, read_records, timed, write_result
from sklearn.datasets import make_moons, make_s_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from suite import load_table, tables

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test
from skddpm.samplers import SAMPLERS as SAMPLER_CLASSES

# name -> (sample options, network calls or None for the model's T)
SAMPLERS = {
    "ancestral": ({}, None),
    "ddim-50": ({"method": "ddim", "steps": 50}, 50),
    "ddim-20": ({"method": "ddim", "steps": 20}, 20),
    "ddim-10": ({"method": "ddim", "steps": 10}, 10),
    "dpm-20": ({"method": "dpm", "steps": 20}, 20),
    "dpm-10": ({"method": "dpm", "steps": 10}, 10),
    "dpm-5": ({"method": "dpm", "steps": 5}, 5),
    "dpm-ode-10": ({"method": "dpm", "steps": 10, "eta": 0.0}, 10),
}
GUIDED_SAMPLERS = (
    ("ancestral", {}),
    ("DDIM 10", {"method": "ddim", "steps": 10}),
    ("DPM 10", {"method": "dpm", "steps": 10}),
)


def c2st(samples, reference, seed=0):
    return classifier_two_sample_test(samples, reference, random_state=seed)


def load(name):
    """``(train, held_out)`` of a suite table (arrays) or a mixed table (frames)."""
    if name in MIXED:
        return split(load_mixed(name))
    return load_table(name)


def measure_table(name, samplers, draws):
    train, held_out = load(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen = DiffusionGenerator(random_state=0).fit(train)
        gen.sample(100, method="dpm")  # warm up
        n = len(held_out)
        for sampler in samplers:
            options, calls = SAMPLERS[sampler]
            first, seconds = timed(lambda options=options: gen.sample(n, random_state=0, **options))
            samples = [first] + [gen.sample(n, random_state=d, **options) for d in range(1, draws)]
            scores = [c2st(x, held_out, seed) for seed, x in enumerate(samples)]
            record = {"table": name, "sampler": sampler, "calls": calls or gen.timesteps,
                      "rows": n, "c2st": scores, "seconds": seconds}  # fmt: skip
            if "method" in options:
                record["spacing"] = SAMPLER_CLASSES[options["method"]].spacing
            append_record("sampling", record)
            print(f"{name:22s} {sampler:10s} C2ST {np.mean(scores):.4f} "
                  f"± {np.std(scores, ddof=1):.4f}  {seconds:6.2f} s", flush=True)  # fmt: skip


def report():
    records, spacings = {}, {}
    for record in read_records("sampling"):
        method = SAMPLERS[record["sampler"]][0].get("method")
        default = SAMPLER_CLASSES[method].spacing if method else None
        spacing = record.get("spacing", default)
        spacings.setdefault((record["table"], record["sampler"]), {})[spacing] = record
        if spacing == default:
            records[record["table"], record["sampler"]] = record
    names = list(dict.fromkeys(table for table, _ in records))
    lines = [
        "# Sampler benchmark",
        "",
        "Written by `python benchmarks/bench_sampling.py --report` from `logs/sampling.jsonl` "
        "(each record names its commit and machine). The defaults (`timesteps=100`), "
        "fitted once per table; C2ST of each sampler's draws against the held-out rows, "
        "mean ± sd over the draws; seconds for one draw of as many rows as are held out; "
        "speed-up against the ancestral sampler. A solver or DDIM cell is **bold** where its "
        "mean is more than max(0.02, two standard errors of the difference) above the "
        "ancestral sampler's.",
        "",
        "| table | " + " | ".join(SAMPLERS) + " |",
        "| --- | " + " | ".join("---:" for _ in SAMPLERS) + " |",
    ]
    within10, within20, speed10 = [], [], []
    for table in names:
        base = records.get((table, "ancestral"))
        cells = []
        for sampler in SAMPLERS:
            record = records.get((table, sampler))
            if record is None:
                cells.append("")
                continue
            scores = np.array(record["c2st"])
            cell = f"{scores.mean():.3f} ± {scores.std(ddof=1):.3f}"
            if base is not None and sampler != "ancestral":
                b = np.array(base["c2st"])
                se = math.sqrt(scores.var(ddof=1) / len(scores) + b.var(ddof=1) / len(b))
                worse = scores.mean() - b.mean() > max(0.02, 2 * se)
                cell = f"**{cell}**" if worse else cell
                speed = base["seconds"] / record["seconds"]
                cell += f" · {record['seconds']:.2f} s, {speed:.0f}x"
                if sampler == "dpm-10":
                    within10.append(not worse)
                    speed10.append(speed)
                if sampler == "dpm-20":
                    within20.append(not worse)
            else:
                cell += f" · {record['seconds']:.2f} s"
            cells.append(cell)
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    if within10:
        lines += [
            "",
            f"The solver at 10 calls is within the margin of the ancestral sampler on "
            f"{sum(within10)} of {len(within10)} tables, {min(speed10):.0f}x to "
            f"{max(speed10):.0f}x faster; at 20 calls on {sum(within20)} of "
            f"{len(within20)}.",
        ]
    lines += spacing_table(spacings)
    print(write_result("sampling", lines).read_text())


def spacing_table(spacings):
    """The solver's C2ST at each spacing of its steps that was measured, per table."""
    kinds = ("sigma", "logsnr", "time")
    rows = []
    for (table, sampler), by_spacing in spacings.items():
        if len(by_spacing) > 1:
            cells = [f"{np.mean(by_spacing[k]['c2st']):.3f}" if k in by_spacing else ""
                     for k in kinds]  # fmt: skip
            rows.append(f"| {table} | {sampler} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "",
        "## How the fast samplers' steps are spread",
        "",
        "C2ST of DDIM and the solver with their steps even in the noise level σ_t, in the "
        "log signal-to-noise ratio λ_t or in t (`--spacing`); the defaults are "
        f"`{SAMPLER_CLASSES['ddim'].spacing}` for DDIM and `{SAMPLER_CLASSES['dpm'].spacing}` "
        "for the solver.",
        "",
        "| table | sampler | " + " | ".join(kinds) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in kinds) + " |",
        *rows,
    ]


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


def guidance():
    lines = [
        "# Classifier-free guidance",
        "",
        *header("python benchmarks/bench_sampling.py --guidance"),
    ]
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
        for sampler, options in (
            ("ancestral", {}),
            ("DDIM 10", {"method": "ddim", "steps": 10}),
            ("DPM 10", {"method": "dpm", "steps": 10}),
        ):
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
    print(write_result("guidance", lines).read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["tuning", "confirmation", "all"])
    parser.add_argument("--mixed", action="store_true", help="the five mixed tables")
    parser.add_argument("--tables", nargs="+", help="these tables only")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--spacing", choices=["sigma", "logsnr", "time"],
                        help="how DDIM and the solver spread their steps")  # fmt: skip
    parser.add_argument("--report", action="store_true", help="only write results/sampling.md")
    parser.add_argument("--guidance", action="store_true", help="the three-shapes check")
    args = parser.parse_args()
    if args.guidance:
        guidance()
        return
    if args.spacing:
        for method in ("ddim", "dpm"):
            SAMPLER_CLASSES[method].spacing = args.spacing
    names = list(args.tables or [])
    if args.half:
        names += tables(args.half)
    if args.mixed:
        names += list(MIXED)
    for name in names:
        measure_table(name, args.samplers, args.draws)
    report()


if __name__ == "__main__":
    main()
