"""Pictures of data, of a fitted generator and of the diffusion process.

The only module that imports matplotlib (on first use). Each function draws on the
Axes it is given, or on a new figure, and returns what it drew (Axes, an array of
Axes, or an Animation) so that it can be restyled.
"""

import numpy as np

__all__ = [
    "animate_reverse_process",
    "plot_columns",
    "plot_forward_process",
    "plot_loss_curves",
    "plot_samples",
    "plot_schedules",
    "plot_time_embedding",
]


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, **subplot_kw):
    if ax is None:
        _, ax = _pyplot().subplots(**subplot_kw)
    return ax


def _grid(axes, n, **subplot_kw):
    if axes is None:
        _, axes = _pyplot().subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False, **subplot_kw)
    axes = np.asarray(axes).ravel()
    if len(axes) != n:
        raise ValueError(f"Expected {n} Axes to draw on, got {len(axes)}.")
    return axes


def _check_columns(columns, n_features):
    columns = tuple(int(c) for c in columns)
    bad = [c for c in columns if not -n_features <= c < n_features]
    if bad:
        raise ValueError(
            f"columns={columns} names column {bad[0]}, but the data has {n_features} "
            f"feature(s); use indices below {n_features}."
        )
    return columns


def plot_loss_curves(loss_curve, validation_loss_curve=None, *, ax=None):
    """Training (and validation) loss per epoch.

    Parameters
    ----------
    loss_curve : DiffusionGenerator or array-like of shape (n_epochs,)
        A fitted generator (its ``loss_curve_`` and ``validation_loss_curve_`` are
        drawn) or a curve.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        With a curve as first argument: the validation curve.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    if hasattr(loss_curve, "loss_curve_"):
        loss_curve, validation_loss_curve = (
            loss_curve.loss_curve_,
            loss_curve.validation_loss_curve_,
        )
    ax = _axes(ax)
    epochs = np.arange(1, len(loss_curve) + 1)
    ax.plot(epochs, loss_curve, label="training")
    if validation_loss_curve is not None:
        ax.plot(epochs, validation_loss_curve, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    return ax


def plot_samples(X, X_new, *, columns=(0, 1), feature_names=None, axes=None, **scatter_kw):
    """Generated rows beside the data they imitate.

    With two columns: two scatter plots side by side, the data and the samples. With
    more: a pair plot, every pair of the chosen columns as a scatter of both (data in
    one colour, samples in another) and each column's histograms on the diagonal.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real rows.
    X_new : array-like of shape (n_new, n_features)
        Generated rows.
    columns : sequence of int, default=(0, 1)
        The columns to draw: two for side-by-side scatters, three or more for a pair
        plot.
    feature_names : sequence of str, default=None
        Axis labels, one per feature of X (for example a generator's
        ``feature_names_in_``); default "column i".
    axes : array of matplotlib Axes, default=None
        Two Axes, or a (k, k) grid for k columns.
    **scatter_kw
        Passed to ``Axes.scatter``.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        Of shape (2,), or (k, k) for a pair plot.
    """
    X, X_new = np.asarray(X, dtype=float), np.asarray(X_new, dtype=float)
    if X.ndim != 2 or X_new.ndim != 2 or X.shape[1] != X_new.shape[1]:
        raise ValueError(
            f"X and X_new must be 2-D with the same columns, got shapes {X.shape} and "
            f"{X_new.shape}."
        )
    columns = _check_columns(columns, X.shape[1])
    if len(columns) < 2:
        raise ValueError(f"columns must name at least two columns, got {columns}.")
    names = [f"column {i}" for i in range(X.shape[1])] if feature_names is None else feature_names
    style = {"s": 2, "alpha": 0.6, **scatter_kw}
    if len(columns) == 2:
        i, j = columns
        if axes is None:
            _, axes = _pyplot().subplots(1, 2, figsize=(10, 5), sharex=True, sharey=True)
        for ax, rows, title in zip(axes, (X, X_new), ("data", "samples")):
            ax.scatter(rows[:, i], rows[:, j], **style)
            ax.set_title(f"{title} ({len(rows):,} rows)")
            ax.set_xlabel(names[i])
            ax.set_ylabel(names[j])
            ax.set_aspect("equal", adjustable="box")
        return np.asarray(axes)
    k = len(columns)
    if axes is None:
        _, axes = _pyplot().subplots(k, k, figsize=(2.4 * k, 2.4 * k), squeeze=False)
    axes = np.asarray(axes)
    for r, i in enumerate(columns):
        for c, j in enumerate(columns):
            ax = axes[r, c]
            if r == c:
                bins = np.histogram_bin_edges(np.concatenate([X[:, i], X_new[:, i]]), 30)
                ax.hist(X[:, i], bins=bins, alpha=0.5, density=True, label="data")
                ax.hist(X_new[:, i], bins=bins, alpha=0.5, density=True, label="samples")
            else:
                ax.scatter(X[:, j], X[:, i], label="data", **style)
                ax.scatter(X_new[:, j], X_new[:, i], label="samples", **style)
            if r == k - 1:
                ax.set_xlabel(names[j])
            if c == 0:
                ax.set_ylabel(names[i])
    axes[0, 0].legend(fontsize="small")
    return axes


def plot_columns(X, X_new, *, columns=None, n_cols=4, axes=None):
    """Each column of a table beside the same column of generated rows.

    A numeric column gets the two histograms (densities over shared bins, of the
    observed cells); a categorical one (bool, category, object or string, or a numeric
    column of at most 10 distinct values) the two shares of each level, missing cells as
    a level of their own. Each title gives the two missing rates when there are any.

    Parameters
    ----------
    X, X_new : DataFrame or array-like of shape (n_samples, n_features)
        Real rows and generated rows, with the same columns.
    columns : sequence of str or int, default=None
        The columns to draw, by name (DataFrames) or position; default all.
    n_cols : int, default=4
        Axes per row of the grid.
    axes : array of matplotlib Axes, default=None
        At least one Axes per column drawn.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        The Axes drawn on, one per column.
    """
    import pandas as pd

    X, X_new = pd.DataFrame(X), pd.DataFrame(X_new)
    if list(X.columns) != list(X_new.columns):
        raise ValueError(
            f"X has the columns {list(X.columns)} but X_new has {list(X_new.columns)}; "
            "pass rows of the same table."
        )
    names = list(X.columns) if columns is None else list(columns)
    unknown = [c for c in names if c not in X.columns]
    if unknown:
        raise ValueError(f"columns names {unknown[0]!r}, which is not a column of X.")
    if axes is None:
        rows = -(-len(names) // n_cols)
        width = min(n_cols, len(names))
        _, axes = _pyplot().subplots(rows, width, figsize=(3.2 * width, 2.8 * rows), squeeze=False)
    axes = np.asarray(axes).ravel()
    if len(axes) < len(names):
        raise ValueError(f"Expected at least {len(names)} Axes to draw on, got {len(axes)}.")
    for ax, name in zip(axes, names):
        real, made = X[name], X_new[name]
        numeric = pd.api.types.is_numeric_dtype(real) and not pd.api.types.is_bool_dtype(real)
        if numeric and real.nunique() > 10:
            a, b = real.dropna().astype(float), made.dropna().astype(float)
            bins = np.histogram_bin_edges(np.concatenate([a, b]), 30)
            ax.hist(a, bins=bins, alpha=0.5, density=True, label="data")
            ax.hist(b, bins=bins, alpha=0.5, density=True, label="samples")
        else:
            shares = pd.DataFrame(
                {
                    "data": real.astype(object)
                    .where(real.notna(), "missing")
                    .astype(str)
                    .value_counts(normalize=True),
                    "samples": made.astype(object)
                    .where(made.notna(), "missing")
                    .astype(str)
                    .value_counts(normalize=True),
                }
            ).fillna(0.0)
            levels = sorted(level for level in shares.index if level != "missing")
            shares = shares.loc[levels + (["missing"] if "missing" in shares.index else [])]
            positions = np.arange(len(shares))
            ax.bar(positions - 0.2, shares["data"], 0.4, label="data")
            ax.bar(positions + 0.2, shares["samples"], 0.4, label="samples")
            ax.set_xticks(positions, shares.index, rotation=45, ha="right", fontsize="small")
        title = str(name)
        if real.isna().any() or made.isna().any():
            title += f" ({real.isna().mean():.0%} / {made.isna().mean():.0%} missing)"
        ax.set_title(title, fontsize="medium")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    return axes[: len(names)]


def _schedule_of(source):
    from .schedules import NoiseSchedule

    if isinstance(source, NoiseSchedule):
        return source
    schedule = getattr(source, "noise_schedule_", None)
    if schedule is not None:
        return schedule
    return NoiseSchedule(source, warn=False)


def _model_units(generator, X, columns):
    """The numeric columns of X as a fitted generator's network sees them (quantile maps
    and scaling applied), and the positions of ``columns`` among them."""
    frame, _ = generator.validate_table(X)
    i, j = _check_columns(columns, frame.shape[1])
    categorical = [c for c in (i, j) if generator.is_categorical_[c]]
    if categorical:
        numeric = np.flatnonzero(~generator.is_categorical_).tolist()
        raise ValueError(
            f"Column {categorical[0]} is categorical: its forward process moves it between "
            "levels, which a scatter plot cannot show. Pick two numeric columns, among "
            f"{numeric}, with columns=(i, j)."
        )
    numeric = np.flatnonzero(~generator.is_categorical_)
    Z = generator.encoder_.model_units(frame)
    return Z, (int(np.searchsorted(numeric, i)), int(np.searchsorted(numeric, j)))


def plot_forward_process(X, schedule, *, steps=None, columns=(0, 1), random_state=None,
                         axes=None, **scatter_kw):  # fmt: skip
    """The data noised by the forward process, ``x_t = √ᾱ_t x₀ + √(1 - ᾱ_t) ε``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data ``x₀``. With a fitted generator as ``schedule`` its numeric columns
        are first put in the model's units (quantile-mapped where the generator maps
        them, then standardized), since that is where the noise is added.
    schedule : DiffusionGenerator, NoiseSchedule or array-like of betas
        The process to run.
    steps : sequence of int, default=None
        The steps ``t`` to draw (0 is the data); default 0, T/10, T/4, T/2 and T.
    columns : tuple of two int, default=(0, 1)
    random_state : int or None, default=None
        Seeds the noise ``ε`` (one draw shared by every panel).
    axes : sequence of matplotlib Axes, default=None
        One per step.
    **scatter_kw
        Passed to ``Axes.scatter``.

    Returns
    -------
    axes : ndarray of matplotlib Axes
    """
    noise_schedule = _schedule_of(schedule)
    if hasattr(schedule, "encoder_"):
        X, (i, j) = _model_units(schedule, X, columns)
    else:
        X = np.asarray(X, dtype=float)
        i, j = _check_columns(columns, X.shape[1])
    T = noise_schedule.timesteps
    steps = sorted({0, T // 10, T // 4, T // 2, T}) if steps is None else list(steps)
    bad = [t for t in steps if not 0 <= t <= T]
    if bad:
        raise ValueError(f"steps must lie in [0, T={T}], got {bad[0]}.")
    axes = _grid(axes, len(steps), sharex=True, sharey=True)
    noise = np.random.default_rng(random_state).standard_normal(X.shape)
    style = {"s": 2, "alpha": 0.6, **scatter_kw}
    for ax, t in zip(axes, steps):
        abar = 1.0 if t == 0 else noise_schedule.alphas_cumprod[t - 1]
        x_t = np.sqrt(abar) * X + np.sqrt(1 - abar) * noise
        ax.scatter(x_t[:, i], x_t[:, j], **style)
        ax.set_title(f"t = {t}, ᾱ_t = {abar:.3g}")
        ax.set_aspect("equal", adjustable="box")
    return axes


def animate_reverse_process(generator, n_samples=1000, *, columns=(0, 1), path=None, fps=10,
                            **sample_params):  # fmt: skip
    """The reverse chain as an animation: ``x_t`` beside the estimate ``x̂₀`` at every step.

    Parameters
    ----------
    generator : DiffusionGenerator
        Fitted.
    n_samples : int, default=1000
    columns : tuple of two int, default=(0, 1)
    path : str or path-like, default=None
        Also save the animation there as a GIF, with Pillow.
    fps : int, default=10
        Frames per second of the GIF (and of the animation's interval).
    **sample_params
        Passed to :meth:`DiffusionGenerator.sample_trajectory`: ``y``, ``method``,
        ``steps``, ``random_state``...

    Returns
    -------
    animation : matplotlib.animation.FuncAnimation
        One frame per step and a last one of the samples; its figure is
        ``animation._fig``.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    xs, x0_hats = generator.sample_trajectory(n_samples, **sample_params)
    i, j = _check_columns(columns, xs.shape[-1])
    fig, (left, right) = _pyplot().subplots(1, 2, figsize=(9, 4.5), sharex=True, sharey=True)
    final = xs[-1]
    low, high = final.min(axis=0), final.max(axis=0)
    pad = 0.1 * (high - low)
    for ax in (left, right):
        ax.set_xlim(low[i] - pad[i], high[i] + pad[i])
        ax.set_ylim(low[j] - pad[j], high[j] + pad[j])
        ax.set_aspect("equal", adjustable="box")
    noisy = left.scatter(xs[0][:, i], xs[0][:, j], s=2, alpha=0.6)
    estimate = right.scatter(x0_hats[0][:, i], x0_hats[0][:, j], s=2, alpha=0.6, color="C1")
    n_steps = len(x0_hats)

    def draw(frame):
        if frame < n_steps:
            noisy.set_offsets(xs[frame][:, [i, j]])
            estimate.set_offsets(x0_hats[frame][:, [i, j]])
            left.set_title(f"x_t, step {frame + 1} of {n_steps}")
            right.set_title("estimate of x₀ from x_t")
        else:
            noisy.set_offsets(final[:, [i, j]])
            estimate.set_offsets(final[:, [i, j]])
            left.set_title("samples")
            right.set_title("samples")
        return noisy, estimate

    draw(0)
    animation = FuncAnimation(fig, draw, frames=n_steps + 1, interval=1000 / fps, blit=False)
    if path is not None:
        animation.save(path, writer=PillowWriter(fps=fps))
    return animation


def plot_schedules(schedules, *, axes=None):
    """The noise schedules: ``β_t``, ``ᾱ_t`` and the signal-to-noise ratio, against ``t / T``.

    Parameters
    ----------
    schedules : dict of name to schedule, or one schedule
        Each a :class:`~skddpm.schedules.NoiseSchedule`, an array of betas or a fitted
        generator. ``t / T`` on the x axis lets schedules of different lengths compare.
    axes : sequence of three matplotlib Axes, default=None

    Returns
    -------
    axes : ndarray of three matplotlib Axes
    """
    if not isinstance(schedules, dict):
        schedules = {"schedule": schedules}
    axes = _grid(axes, 3)
    for name, source in schedules.items():
        s = _schedule_of(source)
        u = np.arange(1, s.timesteps + 1) / s.timesteps
        axes[0].plot(u, s.betas, label=f"{name} (T={s.timesteps})")
        axes[1].plot(u, s.alphas_cumprod, label=name)
        axes[2].plot(u, s.signal_to_noise, label=name)
    for ax, label in zip(axes, ("β_t", "ᾱ_t", "signal-to-noise ᾱ_t / (1 - ᾱ_t)")):
        ax.set_xlabel("t / T")
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize="small")
    return axes


def plot_time_embedding(generator, *, ax=None):
    """The step embedding the network sees, as a heatmap: one row per step ``t``.

    Parameters
    ----------
    generator : DiffusionGenerator or DenoisingMLP
        A fitted generator, or the network itself.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
        Its image is ``ax.images[0]``.
    """
    import torch

    network = getattr(generator, "network_", generator)
    step = network.time_mlp[0]
    t = torch.arange(1, network.timesteps + 1, device=next(network.parameters()).device)
    with torch.inference_mode():
        table = step(t).float().cpu().numpy()
    ax = _axes(ax, figsize=(6, 4))
    image = ax.imshow(table, aspect="auto", cmap="RdBu_r", origin="lower",
                      extent=(0, table.shape[1], 0.5, len(table) + 0.5))  # fmt: skip
    ax.figure.colorbar(image, ax=ax)
    ax.set_xlabel("embedding dimension")
    ax.set_ylabel("step t")
    ax.set_title(f"{type(step).__name__} of the {len(table)} steps")
    return ax
