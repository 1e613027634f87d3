import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.plotting import (
    animate_reverse_process,
    plot_columns,
    plot_forward_process,
    plot_loss_curves,
    plot_samples,
    plot_schedules,
    plot_time_embedding,
)
from skddpm.schedules import NoiseSchedule, make_beta_schedule


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    X = make_spiral(300, random_state=0)[0]
    return DiffusionGenerator(timesteps=25, hidden_layer_sizes=(16,), max_iter=2,
                              random_state=0).fit(X)  # fmt: skip


def test_plot_loss_curves_draws_both_curves():
    ax = plot_loss_curves([1.0, 0.5, 0.4], [0.9, 0.6, 0.5])
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert len(plot_loss_curves([1.0, 0.5]).get_lines()) == 1


def test_plot_loss_curves_of_a_fitted_generator(fitted):
    lines = plot_loss_curves(fitted).get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), fitted.loss_curve_)
    np.testing.assert_array_equal(lines[1].get_ydata(), fitted.validation_loss_curve_)


def test_plot_samples_scatters_every_row():
    rng = np.random.default_rng(0)
    X, X_new = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    axes = plot_samples(X, X_new, columns=(0, 2))
    assert [len(ax.collections[0].get_offsets()) for ax in axes] == [30, 20]
    np.testing.assert_allclose(axes[1].collections[0].get_offsets(), X_new[:, [0, 2]])
    assert axes[0].get_xlabel() == "column 0" and axes[0].get_ylabel() == "column 2"


def test_plot_samples_pair_plot_of_chosen_columns():
    rng = np.random.default_rng(0)
    X, X_new = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    axes = plot_samples(X, X_new, columns=(0, 1, 3), feature_names=["a", "b", "c", "d"])
    assert axes.shape == (3, 3)
    off = axes[0, 2]  # row: column 0, x axis: column 3
    data, samples = off.collections
    np.testing.assert_allclose(data.get_offsets(), X[:, [3, 0]])
    assert len(samples.get_offsets()) == 20
    assert len(axes[1, 1].patches) == 60  # two histograms of 30 bins on the diagonal
    assert axes[2, 0].get_xlabel() == "a" and axes[2, 0].get_ylabel() == "d"


def test_plot_samples_errors():
    with pytest.raises(ValueError, match="columns=\\(0, 5\\) names column 5, but the data has 2"):
        plot_samples(np.zeros((3, 2)), np.zeros((3, 2)), columns=(0, 5))
    with pytest.raises(ValueError, match="same columns, got shapes \\(3, 2\\) and \\(3, 3\\)"):
        plot_samples(np.zeros((3, 2)), np.zeros((3, 3)))


def test_plot_forward_process_noises_towards_a_standard_normal():
    X = make_spiral(2000, random_state=0)[0]
    X = (X - X.mean(0)) / X.std(0)
    schedule = NoiseSchedule(make_beta_schedule("linear", 50))
    axes = plot_forward_process(X, schedule, steps=[0, 25, 50], random_state=0)
    assert len(axes) == 3 and axes[0].get_title().startswith("t = 0")
    np.testing.assert_allclose(axes[0].collections[0].get_offsets(), X)
    end = np.asarray(axes[2].collections[0].get_offsets())
    assert np.abs(end.std(0) - 1).max() < 0.05  # pure noise at t = T
    with pytest.raises(ValueError, match="steps must lie in \\[0, T=50\\], got 60"):
        plot_forward_process(X, schedule, steps=[60])


def test_plot_forward_process_of_a_fitted_generator_works_in_its_scaled_units(fitted):
    X = make_spiral(300, random_state=0)[0]
    axes = plot_forward_process(X, fitted, random_state=0)
    assert len(axes) == 5  # 0, T/10, T/4, T/2, T
    np.testing.assert_allclose(
        axes[0].collections[0].get_offsets(), (X - fitted.mean_) / fitted.scale_
    )


def test_animate_reverse_process_has_a_frame_per_step_and_saves_a_gif(fitted, tmp_path):
    from PIL import Image

    path = tmp_path / "reverse.gif"
    animation = animate_reverse_process(fitted, 50, path=path, random_state=0)
    xs, x0_hats = fitted.sample_trajectory(50, random_state=0)
    frames = list(animation.new_frame_seq())
    assert len(frames) == 26  # 25 steps and the samples
    left, right = animation._fig.axes[:2]
    animation._func(4)
    np.testing.assert_allclose(left.collections[0].get_offsets(), xs[4])
    np.testing.assert_allclose(right.collections[0].get_offsets(), x0_hats[4])
    with Image.open(path) as gif:
        assert gif.n_frames == 26


def test_plot_schedules_draws_three_panels_per_schedule():
    linear = NoiseSchedule(make_beta_schedule("linear", 100))
    axes = plot_schedules({"linear": linear, "cosine": make_beta_schedule("cosine", 40)})
    assert len(axes) == 3
    assert [len(ax.get_lines()) for ax in axes] == [2, 2, 2]
    np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), linear.alphas_cumprod)
    np.testing.assert_allclose(axes[0].get_lines()[1].get_xdata()[-1], 1.0)
    assert axes[2].get_yscale() == "log"


def test_plot_time_embedding_is_a_heatmap_of_every_step(fitted):
    ax = plot_time_embedding(fitted)
    image = ax.images[0].get_array()
    assert image.shape == (25, fitted.embedding_dim)
    assert ax.get_ylabel() == "step t"


def test_importing_skddpm_does_not_import_matplotlib():
    import subprocess

    code = "import sys, skddpm, skddpm.datasets; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plotting_argument_errors(fitted):
    with pytest.raises(ValueError, match=r"columns must name at least two columns, got \(0,\)"):
        plot_samples(np.zeros((3, 2)), np.zeros((3, 2)), columns=(0,))
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="Expected 3 Axes to draw on, got 2"):
        plot_schedules(NoiseSchedule(make_beta_schedule("linear", 25)), axes=axes)
    with pytest.raises(ValueError, match=r"columns=\(0, 3\) names column 3, but the data has 2"):
        animate_reverse_process(fitted, 5, columns=(0, 3))


def test_plot_columns_draws_histograms_and_level_shares():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b", None], 200)})
    made = pd.DataFrame({"x": rng.normal(size=150), "c": rng.choice(["a", "b"], 150)})
    axes = plot_columns(real, made, n_cols=2)
    assert len(axes) == 2
    assert len(axes[0].patches) == 60  # 30 bins for each of the two histograms
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["a", "b", "missing"]
    assert "missing" in axes[1].get_title()
    with pytest.raises(ValueError, match="X has the columns .* but X_new has"):
        plot_columns(real, made[["x"]])
    with pytest.raises(ValueError, match="columns names 'z', which is not a column of X"):
        plot_columns(real, made, columns=["z"])
