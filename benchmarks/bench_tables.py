"""Benchmark: mixed-type tables against SDV's GaussianCopula, CTGAN and TVAE.

    pip install -e ".[benchmarks]"
    python benchmarks/bench_tables.py                       # every table, every model
    python benchmarks/bench_tables.py --tables penguins mpg --models ours copula
    python benchmarks/bench_tables.py --report              # write results/tables.md

Five real tables with text, category, boolean and whole-number columns and missing
cells, all installed offline with plotnine and palmerpenguins (no download):
diamonds (10,000 of its 53,940 rows), penguins, mpg, txhousing and midwest (without its
two identifier columns). Each is split in halves: one to fit, one held out. For every
model at its defaults, on ``--draws`` draws of as many rows as are held out:

- C2ST: the held-out accuracy of ``HistGradientBoostingClassifier`` (native categories
  and missing cells) telling the real held-out rows from the generated ones
  (``skddpm.metrics.classifier_two_sample_test`` on DataFrames); 0.5 is the ideal, and
  the floor is the training half against the held-out half;
- per-column distances: total variation for categorical columns (missing cells a level
  of their own) and the Kolmogorov–Smirnov statistic for numeric ones (observed cells),
  averaged over the columns of each kind;
- the pairwise correlation error: the mean absolute difference between the Pearson
  correlations of every pair of numeric columns, real against generated;
- the missing-cell error: the largest difference of a column's missing rate;
- the fit time on this machine.

"onehot" is the alternative the multinomial model must beat: the same generator on the
categorical columns' one-hot codes as numbers, each sample's level the largest code.

SDV's metadata is detected from the training half, except that the columns it takes
for personal data or identifiers (which it would replace by fakes) are declared
categorical or numerical, so that every model models every column.

Rows go to ``benchmarks/logs/tables.jsonl`` as they come; ``--report`` writes
``benchmarks/results/tables.md`` from it.
"""

import argparse
import itertools
import time
import warnings

import numpy as np
import pandas as pd
from common import append_record, read_records, write_result
from scipy.stats import ks_2samp

from skddpm import DiffusionGenerator
from skddpm.metrics import classifier_two_sample_test

MODELS = ("floor", "ours", "onehot", "copula", "ctgan", "tvae")
LABELS = {
    "floor": "floor (real vs real)",
    "ours": "DiffusionGenerator()",
    "onehot": "DiffusionGenerator() on one-hot codes",
    "copula": "SDV GaussianCopula",
    "ctgan": "SDV CTGAN",
    "tvae": "SDV TVAE",
}


def load(name):
    """A table as a DataFrame, with its dtypes as the package gives them."""
    if name == "penguins":
        from palmerpenguins import load_penguins

        return load_penguins()
    import plotnine.data as data

    frame = getattr(data, name).copy()
    if name == "diamonds":
        frame = frame.sample(10_000, random_state=0).reset_index(drop=True)
    if name == "midwest":
        frame = frame.drop(columns=["PID", "county"])  # identifiers, one value per row
    if name == "txhousing":
        frame = frame.drop(columns=["date"])  # year + (month - 1) / 12, a copy of two others
    return frame


TABLES = ("diamonds", "penguins", "mpg", "txhousing", "midwest")


def split(frame):
    order = np.random.default_rng(0).permutation(len(frame))
    half = len(frame) // 2
    train = frame.iloc[order[half:]].reset_index(drop=True)
    held_out = frame.iloc[order[:half]].reset_index(drop=True)
    return train, held_out


# -- models ------------------------------------------------------------------------------------


def fit_ours(train):
    gen = DiffusionGenerator(random_state=0).fit(train)
    return lambda n, seed: gen.sample(n, random_state=seed)


def fit_onehot(train):
    """The alternative to multinomial diffusion: Gaussian diffusion of one-hot codes.

    Each categorical column (missing cells a level of their own) becomes 0/1 numeric
    columns; a sample's level is the largest of its codes.
    """
    categorical = [c for c in train.columns if _is_categorical(train[c])]
    codes = {
        c: pd.get_dummies(train[c].astype(object).where(train[c].notna(), None), dummy_na=True)
        for c in categorical
    }
    blocks = [train.drop(columns=categorical).astype(float)]
    blocks += [frame.astype(float).add_prefix(f"{c}=") for c, frame in codes.items()]
    gen = DiffusionGenerator(random_state=0).fit(pd.concat(blocks, axis=1))

    def draw(n, seed):
        rows = gen.sample(n, random_state=seed)
        out = rows[[c for c in train.columns if c not in codes]].copy()
        for c, frame in codes.items():
            levels = np.array(frame.columns.tolist(), dtype=object)
            picked = levels[np.argmax(rows[[f"{c}={v}" for v in frame.columns]].to_numpy(), 1)]
            out[c] = pd.Series(picked).where(pd.notna(picked), None).to_numpy()
        return out[train.columns]

    return draw


def _fit_sdv(train, synthesizer):
    from sdv.metadata import Metadata

    # SDV refuses the category dtype: it gets those columns as objects, and gives
    # them back in the table's dtypes.
    frame = train.astype(
        {c: object for c in train.columns if isinstance(train[c].dtype, pd.CategoricalDtype)}
    )
    metadata = Metadata.detect_from_dataframes({"table": frame})
    # SDV's detection takes some columns for personal data, which it replaces by fakes
    # (txhousing's city, midwest's state), or for identifiers (midwest's popwhite):
    # every column is modelled here, as a category or a number.
    detected = metadata.to_dict()["tables"]["table"]
    if "primary_key" in detected:
        metadata.remove_primary_key(table_name="table")
    for name, spec in detected["columns"].items():
        if spec.get("pii") or spec["sdtype"] == "id":
            numeric = pd.api.types.is_numeric_dtype(frame[name])
            sdtype = "numerical" if numeric else "categorical"
            metadata.update_column(name, sdtype=sdtype, table_name="table")
    model = synthesizer(metadata)
    model.fit({"table": frame})  # SDV 2 takes and gives single tables as {name: frame}

    def draw(n, seed):  # SDV draws from its own random state: each call differs
        rows = model.sample(n)
        rows = rows["table"] if isinstance(rows, dict) else rows
        return rows[train.columns].astype(train.dtypes.to_dict(), errors="ignore")

    return draw


def fit_copula(train):
    from sdv.single_table import GaussianCopulaSynthesizer

    return _fit_sdv(train, GaussianCopulaSynthesizer)


def fit_ctgan(train):
    from sdv.single_table import CTGANSynthesizer

    return _fit_sdv(train, CTGANSynthesizer)


def fit_tvae(train):
    from sdv.single_table import TVAESynthesizer

    return _fit_sdv(train, TVAESynthesizer)


FITS = {"ours": fit_ours, "onehot": fit_onehot, "copula": fit_copula, "ctgan": fit_ctgan,
        "tvae": fit_tvae}  # fmt: skip


# -- measures ----------------------------------------------------------------------------------


def _is_categorical(column):
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def distances(real, fake):
    """Mean TV over categorical columns, mean KS over numeric ones, correlation and NaN error."""
    tv, ks = [], []
    for name in real.columns:
        r, f = real[name], fake[name]
        if _is_categorical(r):
            p = r.astype(object).where(r.notna(), "<missing>").value_counts(normalize=True)
            q = f.astype(object).where(f.notna(), "<missing>").value_counts(normalize=True)
            p, q = p.align(q, fill_value=0.0)
            tv.append(0.5 * float(np.abs(p - q).sum()))
        else:
            r, f = r.dropna().astype(float), pd.to_numeric(f, errors="coerce").dropna()
            ks.append(float(ks_2samp(r, f).statistic) if len(r) and len(f) else 1.0)
    numeric = [c for c in real.columns if not _is_categorical(real[c])]
    errors = []
    if len(numeric) > 1:
        cr = real[numeric].astype(float).corr().to_numpy()
        cf = fake[numeric].apply(pd.to_numeric, errors="coerce").astype(float).corr().to_numpy()
        for i, j in itertools.combinations(range(len(numeric)), 2):
            errors.append(abs(np.nan_to_num(cr[i, j]) - np.nan_to_num(cf[i, j])))
    missing = float((real.isna().mean() - fake.isna().mean()).abs().max())
    return {
        "tv": float(np.mean(tv)) if tv else None,
        "ks": float(np.mean(ks)) if ks else None,
        "corr": float(np.mean(errors)) if errors else None,
        "missing": missing,
    }


def measure(model, name, draws):
    train, held_out = split(load(name))
    n = len(held_out)
    if model == "floor":
        samples = [train.iloc[:n] for _ in range(draws)]
        seconds = None
    else:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draw = FITS[model](train)
        seconds = time.perf_counter() - start
        samples = [draw(n, seed) for seed in range(draws)]
    records = []
    for seed, fake in enumerate(samples):
        fake = fake.reset_index(drop=True)
        c2st = classifier_two_sample_test(held_out, fake, random_state=seed)
        records.append({"c2st": c2st, **distances(held_out, fake)})
    return records, seconds


# -- report ------------------------------------------------------------------------------------


def read_log():
    return {(record["model"], record["table"]): record for record in read_records("tables")}


def _cell(values, digits=3):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def report():
    records = read_log()
    lines = [
        "# Mixed-type tables: DiffusionGenerator against SDV",
        "",
        "Written by `python benchmarks/bench_tables.py --report` from `logs/tables.jsonl`.",
        "Each table is split in halves (fit, held out); every model runs at its defaults.",
        "Figures are the mean ± sd over the draws (each draw as many rows as are held out).",
        "C2ST: accuracy of a gradient-boosted classifier with native categories telling",
        "held-out rows from generated ones (0.5 is the ideal; the floor is the training",
        "half). TV: mean total variation of the categorical columns. KS: mean",
        "Kolmogorov–Smirnov statistic of the numeric columns. Corr: mean absolute error of",
        "the numeric columns' pairwise correlations. NaN: the largest error of a column's",
        "missing rate. Lower is better everywhere.",
        "",
    ]
    machine = next(iter(records.values()), {}).get("machine")
    if machine:
        lines += [f"Machine: {machine}.", ""]
    for name in TABLES:
        rows = [(m, records.get((m, name))) for m in MODELS]
        rows = [(m, r) for m, r in rows if r is not None]
        if not rows:
            continue
        shape = rows[0][1]["shape"]
        lines += [
            f"## {name} ({shape[0]:,} rows × {shape[1]} columns, {rows[0][1]['kinds']})",
            "",
            "| model | C2ST | TV | KS | Corr | NaN | fit |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for model, record in rows:
            draws = record["draws"]
            fit = "–" if record["fit_s"] is None else f"{record['fit_s']:.0f} s"
            cells = [_cell([d[key] for d in draws]) for key in ("c2st", "tv", "ks", "corr")]
            cells.append(_cell([d["missing"] for d in draws]))
            lines.append(f"| {LABELS[model]} | {' | '.join(cells)} | {fit} |")
        lines.append("")
    print(f"wrote {write_result('tables', lines)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=TABLES)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="write results/tables.md")
    args = parser.parse_args()
    if args.report:
        report()
        return
    for name in args.tables:
        frame = load(name)
        kinds = (
            f"{sum(_is_categorical(frame[c]) for c in frame)} categorical, "
            f"{int(frame.isna().sum().sum()):,} missing cells"
        )
        for model in args.models:
            draws, seconds = measure(model, name, args.draws)
            record = {"model": model, "table": name, "shape": list(frame.shape),
                      "kinds": kinds, "draws": draws, "fit_s": seconds}  # fmt: skip
            append_record("tables", record)
            c2st = np.mean([d["c2st"] for d in draws])
            fit = "" if seconds is None else f", fit {seconds:.0f} s"
            print(f"{name:10s} {model:7s} C2ST {c2st:.3f}{fit}", flush=True)


if __name__ == "__main__":
    main()
