"""Benchmark: the defaults against GaussianMixture, KernelDensity and SDV on the suite.

    python benchmarks/bench_defaults.py                     # both halves, all models
    python benchmarks/bench_defaults.py --half confirmation --models ours gmm

For every table of ``suite.py`` (the tuning half and the confirmation half): C2ST
against held-out real rows (mean ± sd over 5 draws, each with its own classifier seed)
and the fit time, for ``DiffusionGenerator()`` at its defaults, GaussianMixture with
its components chosen by BIC, KernelDensity with a bandwidth chosen by 3-fold CV, SDV's
GaussianCopula and TVAE at their defaults (``pip install -e ".[benchmarks]"``; skipped
when SDV is not installed), and the floor (as many training rows against the held-out
rows). Rows are appended to ``benchmarks/logs/defaults.jsonl`` as they come, and
``--report`` writes ``benchmarks/results/defaults.md`` from that log.
"""

import argparse
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skddpm import DiffusionGenerator
from skddpm.metrics import classifier_two_sample_test

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import append_record, like_the_data, read_records, write_result  # noqa: E402
from suite import CONFIRMATION, TUNING, load_table, tables  # noqa: E402

N_DRAWS = 5
MODELS = ("floor", "ours", "gmm", "kde", "copula", "tvae")
LABELS = {
    "floor": "floor",
    "ours": "DiffusionGenerator()",
    "gmm": "GMM by BIC",
    "kde": "KDE by CV",
    "copula": "GaussianCopula",
    "tvae": "TVAE",
}


def fit_ours(train):
    gen = DiffusionGenerator(random_state=0).fit(train)
    return lambda n, seed: gen.sample(n, random_state=seed)


def fit_gmm(train):
    # On standardized columns, so one covariance floor (reg_covar) suits every table.
    scaler = StandardScaler().fit(train)
    Z = scaler.transform(train)
    grid = (1, 2, 5, 10, 20, 30, 50, 75, 100) if train.shape[1] <= 3 else (1, 2, 5, 10, 20)
    fits = [GaussianMixture(k, random_state=0).fit(Z) for k in grid if 5 * k <= len(Z)]
    gmm = min(fits, key=lambda g: g.bic(Z))

    def draw(n, seed):
        rows = scaler.inverse_transform(gmm.set_params(random_state=seed).sample(n)[0])
        return like_the_data(rows, train)

    return draw


def fit_kde(train):
    scaler = StandardScaler().fit(train)
    Z = scaler.transform(train)
    grid = {"bandwidth": np.geomspace(0.005, 1.0, 14)}
    kde = GridSearchCV(KernelDensity(), grid, cv=3).fit(Z).best_estimator_
    return lambda n, seed: like_the_data(
        scaler.inverse_transform(kde.sample(n, random_state=seed)), train
    )


def _fit_sdv(train, synthesizer):
    import pandas as pd
    from sdv.metadata import Metadata

    columns = [f"c{j}" for j in range(train.shape[1])]
    frame = pd.DataFrame(train, columns=columns)
    metadata = Metadata.load_from_dict(
        {
            "METADATA_SPEC_VERSION": "V1",
            "tables": {"table": {"columns": {c: {"sdtype": "numerical"} for c in columns}}},
        }
    )
    model = synthesizer(metadata)
    model.fit({"table": frame})  # SDV 2 takes and gives single tables as {name: frame}

    def draw(n, seed):  # SDV draws from its own random state: each call differs
        rows = model.sample(n)
        rows = rows["table"] if isinstance(rows, dict) else rows
        rows = rows[columns].to_numpy(dtype=np.float64)
        return like_the_data(rows, train)

    return draw


def fit_copula(train):
    from sdv.single_table import GaussianCopulaSynthesizer

    return _fit_sdv(train, GaussianCopulaSynthesizer)


def fit_tvae(train):
    from sdv.single_table import TVAESynthesizer

    return _fit_sdv(train, TVAESynthesizer)


FITS = {"ours": fit_ours, "gmm": fit_gmm, "kde": fit_kde, "copula": fit_copula,
        "tvae": fit_tvae}  # fmt: skip


def measure(model, name):
    train, reference = load_table(name)
    n = len(reference)
    if model == "floor":
        rows = train[np.random.default_rng(0).choice(len(train), n, replace=len(train) < n)]
        scores = [classifier_two_sample_test(rows, reference, random_state=s)
                  for s in range(N_DRAWS)]  # fmt: skip
        return scores, None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draw = FITS[model](train)
    seconds = time.perf_counter() - start
    scores = [classifier_two_sample_test(draw(n, s), reference, random_state=s)
              for s in range(N_DRAWS)]  # fmt: skip
    return scores, seconds


def conditional():
    """Issue 12's class-conditional check at the defaults, logged as model "conditional"."""
    from bench_sampling import three_shapes
    from sklearn.neighbors import KNeighborsClassifier

    X, y, scalers = three_shapes(3000, random_state=0)
    X_ref, y_ref, _ = three_shapes(2000, random_state=1, scalers=scalers)
    judge = KNeighborsClassifier(5).fit(X, y)
    start = time.perf_counter()
    gen = DiffusionGenerator(random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    classes = {}
    for label in gen.classes_:
        samples = gen.sample(2000, y=label, random_state=0)
        real = X_ref[y_ref == label]
        classes[str(label)] = {
            "recognised": float(np.mean(judge.predict(samples) == label)),
            "real_recognised": float(np.mean(judge.predict(real) == label)),
            "c2st": classifier_two_sample_test(samples, real, random_state=0),
        }
        print(label, classes[str(label)], flush=True)
    append_record("defaults", {"model": "conditional", "table": "three shapes",
                               "classes": classes, "fit_s": seconds})  # fmt: skip


def machines_of(records):
    """The machines and commits the records name (records before stamps name none)."""
    stamped = {(r["machine"], r["commit"]) for r in records.values() if "machine" in r}
    if not stamped:
        return f"{platform.processor() or 'a'} CPU with {os.cpu_count()} cores"
    return "; ".join(f"{m} (commit {c})" for m, c in sorted(stamped))


def read_log():
    """``(model, table) -> record``, the latest of each."""
    return {(record["model"], record["table"]): record for record in read_records("defaults")}


def verdict(ours, other):
    """ "better", "worse" or "tie": a difference of more than two standard errors."""
    n = min(len(ours), len(other))
    if n < 2:
        return "one draw"
    margin = 2 * math.sqrt((np.var(ours, ddof=1) + np.var(other, ddof=1)) / n)
    diff = np.mean(ours) - np.mean(other)
    if abs(diff) <= margin:
        return "tie"
    return "better" if diff < 0 else "worse"


# What the configurations of tune_defaults.py's log are, for the ablation table.
CANDIDATES = {
    "issue-6-defaults": "the former defaults: 2 blocks of 128, 8 Fourier frequencies from a "
    "period of 2 sd, linear schedule, Adam 5e-3 cosine, 180 epochs at batches of n/10 ≤ 1,024",
    "probe": "3 blocks of 256, 4 frequencies from a period of 8 sd, cosine schedule, Adam "
    "1e-3 constant, 4,000 steps at batches ≤ 256",
    "v2-a": "2 blocks of 256, 4 frequencies from 8 sd, cosine schedule, Adam 2e-3 cosine, "
    "3,000 steps at batches ≤ 256",
    "v2-c": "the same with 2,000 steps: **the new defaults**",
    "v2-d": "v2-a at batches ≤ 128",
    "ablate-fourier-8-from-period-2": "the new defaults with the former Fourier features "
    "(8 frequencies from a period of 2 sd)",
}


def tuning_table():
    """The candidates and ablations logged by tune_defaults.py, one draw each."""
    records = read_records("tuning")
    if not records:
        return []
    results = {}
    for record in records:
        if record["config"] in CANDIDATES:
            results.setdefault(record["config"], {})[record["table"]] = record
    names = list(TUNING)
    lines = [
        "## Candidates and ablations on the tuning half",
        "",
        "`python benchmarks/tune_defaults.py CONFIG` (one draw of C2ST each; fit seconds "
        "summed over the tables it ran on). Chosen on these tables only.",
        "",
        "| configuration | " + " | ".join(names) + " | mean | fit (s) |",
        "| --- | " + " | ".join("---:" for _ in names) + " | ---: | ---: |",
    ]
    for config, description in CANDIDATES.items():
        rows = results.get(config)
        if not rows:
            continue
        cells = [f"{rows[n]['c2st']:.3f}" if n in rows else "" for n in names]
        complete = all(n in rows for n in names)
        mean = f"{np.mean([rows[n]['c2st'] for n in names]):.3f}" if complete else ""
        total = sum(r["fit_s"] for r in rows.values())
        lines.append(f"| {config}: {description} | " + " | ".join(cells)
                     + f" | {mean} | {total:.0f} |")  # fmt: skip
    return [*lines, ""]


def report():
    records = read_log()
    counts = sorted({len(r["scores"]) for r in records.values() if "scores" in r}) or [N_DRAWS]
    draws = " or ".join(map(str, counts))
    lines = [
        "# The defaults on the suite of issue 12",
        "",
        "Written by `python benchmarks/bench_defaults.py --report` from the rows that "
        "`python benchmarks/bench_defaults.py` logs. C2ST of a gradient-boosted classifier "
        f"between held-out real rows and as many generated ones: mean ± sd of {draws} "
        "draws (each with its own classifier seed; for the floor, as many training rows, "
        f"{draws} classifier seeds). Fit times in seconds on {machines_of(records)}. "
        "GMM and KDE are fitted on standardized columns; their samples, and SDV's, are "
        "rounded and clipped like ours where a column holds whole numbers.",
        "",
    ]
    present = [m for m in MODELS if any(k[0] == m for k in records)]
    missing = [LABELS[m] for m in MODELS if m not in present]
    if missing:
        lines += [
            f"Not run for this file: {', '.join(missing)} (`--models` runs them; an empty "
            "cell is a table a model was not run on).",
            "",
        ]
    for half, names in (("Tuning half", TUNING), ("Confirmation half", CONFIRMATION)):
        lines += [
            f"## {half}",
            "",
            "| table | rows × cols | "
            + " | ".join(LABELS[m] for m in present)
            + " | ours vs GMM |",
            "| --- | --- | " + " | ".join("---:" for _ in present) + " | --- |",
        ]
        counts = {"better": 0, "tie": 0, "worse": 0, "one draw": 0}
        for name in names:
            shape = load_table(name)[0].shape
            cells = []
            for model in present:
                record = records.get((model, name))
                if record is None:
                    cells.append("")
                    continue
                scores = record["scores"]
                fit = "" if record["fit_s"] is None else f" ({record['fit_s']:.0f} s)"
                spread = f" ± {np.std(scores, ddof=1):.3f}" if len(scores) > 1 else ""
                cells.append(f"{np.mean(scores):.3f}{spread}{fit}")
            compare = ""
            if ("ours", name) in records and ("gmm", name) in records:
                compare = verdict(records["ours", name]["scores"],
                                  records["gmm", name]["scores"])  # fmt: skip
                counts[compare] += 1
            lines.append(f"| {name} | {shape[0]:,} × {shape[1]} | " + " | ".join(cells)
                         + f" | {compare} |")  # fmt: skip
        lines += [
            "",
            f"Against GMM by BIC: better on {counts['better']}, within two standard "
            f"errors on {counts['tie']}, worse on {counts['worse']}.",
            "",
        ]
    lines += tuning_table()
    record = records.get(("conditional", "three shapes"))
    if record is not None:
        lines += [
            "## Class-conditional sampling at the defaults (`guidance_scale=1`)",
            "",
            f"One model fitted on spiral, S-curve and moons (3,000 standardized rows each; "
            f"fit {record['fit_s']:.0f} s). A 5-NN classifier trained on the real rows "
            "names the class of 2,000 samples of each class and of the fresh real rows; "
            "C2ST against 2,000 fresh real rows of the class "
            "(`python benchmarks/bench_defaults.py --conditional`).",
            "",
            "| class | samples recognised | real rows recognised | ratio | C2ST |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for label, c in record["classes"].items():
            lines.append(
                f"| {label} | {c['recognised']:.1%} | {c['real_recognised']:.1%} "
                f"| {c['recognised'] / c['real_recognised']:.3f} | {c['c2st']:.3f} |"
            )
        lines.append("")
    write_result("defaults", lines)


def main():
    global N_DRAWS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--half", default="all", choices=["tuning", "confirmation", "all"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--tables", nargs="*")
    parser.add_argument("--report", action="store_true", help="only write the results file")
    parser.add_argument("--draws", type=int, default=N_DRAWS, help="C2ST draws per model")
    parser.add_argument("--conditional", action="store_true",
                        help="only the three-shapes class-conditional check")  # fmt: skip
    args = parser.parse_args()
    N_DRAWS = args.draws
    if args.conditional:
        conditional()
    elif not args.report:
        for name in args.tables or tables(args.half):
            for model in args.models:
                if model in ("copula", "tvae"):
                    try:
                        import sdv  # noqa: F401
                    except ImportError:
                        print("SDV is not installed: skipping", model)
                        continue
                scores, seconds = measure(model, name)
                print(f"{name:22s} {LABELS[model]:22s} {np.mean(scores):.4f} "
                      f"± {np.std(scores, ddof=1):.4f}  fit {seconds}", flush=True)  # fmt: skip
                append_record("defaults", {"model": model, "table": name, "scores": scores,
                                           "fit_s": seconds})  # fmt: skip
    report()


if __name__ == "__main__":
    main()
