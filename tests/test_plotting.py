import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from skddpm.plotting import plot_loss_curves, plot_samples


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_loss_curves_draws_both_curves():
    ax = plot_loss_curves([1.0, 0.5, 0.4], [0.9, 0.6, 0.5])
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert len(plot_loss_curves([1.0, 0.5]).get_lines()) == 1


def test_plot_samples_scatters_every_row():
    rng = np.random.default_rng(0)
    X, X_new = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    axes = plot_samples(X, X_new, columns=(0, 2))
    assert [len(ax.collections[0].get_offsets()) for ax in axes] == [30, 20]
    np.testing.assert_allclose(axes[1].collections[0].get_offsets(), X_new[:, [0, 2]])
    assert axes[0].get_xlabel() == "column 0" and axes[0].get_ylabel() == "column 2"


def test_importing_skddpm_does_not_import_matplotlib():
    import subprocess

    code = "import sys, skddpm, skddpm.datasets; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
