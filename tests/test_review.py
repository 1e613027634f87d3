"""The defects a review of 2254abf found, each as a user meets it (issue 21)."""

import ast
import pathlib
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skddpm import DiffusionImputer
from skddpm.plotting import plot_forward_process

matplotlib.use("Agg")


def _table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "size": rng.lognormal(0.0, 1.0, n),
            "shade": rng.choice(["dark", "light"], n),
            "weight": rng.normal(5.0, 2.0, n),
        }
    )


def test_plot_forward_process_of_a_generator_draws_the_model_s_units(tiny):
    import matplotlib.pyplot as plt

    df = _table(2000)
    gen = tiny(max_iter=1).fit(df)
    axes = plot_forward_process(df, gen, steps=[0], columns=(0, 2))
    points = axes[0].collections[0].get_offsets()
    # The lognormal column is quantile-mapped: normal scores, mean 0 and sd 1.
    assert np.all(np.isfinite(points))
    np.testing.assert_allclose(points.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(points.std(axis=0), 1.0, atol=0.05)
    with pytest.raises(ValueError, match=r"Column 1 is categorical.*among \[0, 2\]"):
        plot_forward_process(df, gen, columns=(0, 1))
    plt.close("all")


def test_the_imputer_leaves_the_global_random_states_alone(tiny):
    X = np.random.default_rng(0).normal(size=(200, 2))
    X[::5, 1] = np.nan
    np.random.seed(1)
    torch.manual_seed(1)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    imputer = DiffusionImputer(tiny(max_iter=1, random_state=None)).fit(X)
    imputer.transform(X)
    imputer.multiple_imputations(X, 2)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state, after))
    assert torch.equal(torch_state, torch.get_rng_state())


def test_a_failed_fit_leaves_the_fitted_model_as_it_was(tiny):
    first = _table()
    gen = tiny(max_iter=1).fit(first)
    before = gen.score_samples(first.iloc[:10])
    dated = first.assign(when=pd.Timestamp("2026-01-01"))
    with pytest.raises(ValueError, match="dtype datetime64"):
        gen.fit(dated)
    assert list(gen.feature_names_in_) == list(first.columns) and gen.n_features_in_ == 3
    np.testing.assert_array_equal(gen.score_samples(first.iloc[:10]), before)


def test_an_interrupted_fit_leaves_the_fitted_model_as_it_was(tiny, monkeypatch):
    import skddpm._estimator as estimator_module

    first = _table()
    gen = tiny(max_iter=1).fit(first)
    network = gen.network_

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(estimator_module, "train", interrupt)
    with pytest.raises(KeyboardInterrupt):
        gen.fit(_table(seed=1).rename(columns={"size": "length"}))
    assert gen.network_ is network and "length" not in gen.feature_names_in_


def test_a_failed_cold_fit_leaves_the_generator_unfitted(tiny):
    gen = tiny(max_iter=1)
    with pytest.raises(ValueError, match="dtype datetime64"):
        gen.fit(_table().assign(when=pd.Timestamp("2026-01-01")))
    assert not hasattr(gen, "n_features_in_")
    with pytest.raises(NotFittedError):
        gen.sample(2)


def test_object_text_columns_come_back_as_object(tiny):
    df = _table().astype({"shade": object})
    out = tiny(max_iter=1).fit(df).sample(20)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()


def test_a_table_with_no_columns_is_refused_in_words(tiny):
    with pytest.raises(ValueError, match=r"X is a DataFrame with no columns"):
        tiny(max_iter=1).fit(pd.DataFrame(index=range(5)))


def test_save_to_a_missing_folder_names_the_user_s_path(tiny, tmp_path):
    gen = tiny(max_iter=1).fit(np.random.default_rng(0).normal(size=(50, 2)))
    target = tmp_path / "no" / "such" / "m.skddpm"
    with pytest.raises(FileNotFoundError, match=r"Cannot save to .*m\.skddpm.*does not exist"):
        gen.save(target)
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        gen.save(tmp_path)


def test_an_interrupt_early_in_the_first_fit_does_not_break_later_fits():
    # In a fresh process: Ctrl-C 0.3 s into the first fit used to land inside torch's
    # lazy import of torch._dynamo, after which every fit failed.
    script = """
import signal
import numpy as np
from skddpm import DiffusionGenerator

X = np.random.default_rng(0).normal(size=(200, 2))

def interrupt(signum, frame):
    raise KeyboardInterrupt

signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    DiffusionGenerator(timesteps=10, max_iter=200, hidden_layer_sizes=(8,)).fit(X)
except KeyboardInterrupt:
    pass
signal.setitimer(signal.ITIMER_REAL, 0)
DiffusionGenerator(timesteps=10, max_iter=2, hidden_layer_sizes=(8,)).fit(X)
print("refit ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and "refit ok" in done.stdout, done.stderr[-2000:]


def _private_methods_by_module():
    """``{module: names}`` of the private methods each module of skddpm defines."""
    defined = {}
    for path in pathlib.Path(__file__).parents[1].joinpath("skddpm").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("_"):
                        if not item.name.startswith("__"):
                            names.add(item.name)
        defined[path.stem] = (tree, names)
    return defined


def test_no_module_calls_a_private_method_defined_in_another():
    defined = _private_methods_by_module()
    offences = []
    for module, (tree, own) in defined.items():
        others = set().union(*(names for m, (_, names) in defined.items() if m != module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name in others and name not in own:
                    offences.append(f"{module}.py:{node.lineno} calls {name}")
    assert not offences, offences


@pytest.mark.parametrize("name", ["format1.skddpm", "format1.pkl"])
def test_a_model_saved_by_skddpm_0_1_still_loads(name):
    # Written by 2254abf (model format 1: the columns as eleven attributes) from a table
    # of a lognormal column with holes, a two-level text column and whole numbers.
    import pickle

    from skddpm import DiffusionGenerator

    path = pathlib.Path(__file__).parent / "data" / name
    if name.endswith(".pkl"):
        with open(path, "rb") as file:
            gen = pickle.load(file)
    else:
        gen = DiffusionGenerator.load(path)
    assert list(gen.feature_names_in_) == ["size", "shade", "count"]
    assert gen.is_categorical_.tolist() == [False, True, False]
    assert gen.categories_[1].tolist() == ["dark", "light"]
    assert gen.integer_columns_.tolist() == [False, False, True]
    out = gen.sample(200, random_state=0)
    assert list(out.columns) == ["size", "shade", "count"]
    assert set(out["shade"]) <= {"dark", "light"} and out["count"].between(0, 8).all()
    assert np.isfinite(gen.score_samples(out.dropna())).all()
