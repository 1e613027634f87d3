"""Pictures of a fitted generator. The only module that imports matplotlib.

Each function draws on the Axes it is given (or a new figure) and returns what it drew,
so that it can be restyled.
"""

import numpy as np

__all__ = ["plot_loss_curves", "plot_samples"]


def _axes(ax, **subplot_kw):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def plot_loss_curves(loss_curve, validation_loss_curve=None, *, ax=None):
    """Training (and validation) loss per epoch.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        A fitted generator's ``loss_curve_``.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Its ``validation_loss_curve_``.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
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


def plot_samples(X, X_new, *, columns=(0, 1), axes=None, **scatter_kw):
    """Generated rows beside the data they imitate, as two scatter plots of two columns.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real rows.
    X_new : array-like of shape (n_new, n_features)
        Generated rows.
    columns : tuple of two int, default=(0, 1)
        The columns to plot.
    axes : sequence of two matplotlib Axes, default=None
    **scatter_kw
        Passed to ``Axes.scatter``.

    Returns
    -------
    axes : ndarray of two matplotlib Axes
    """
    X, X_new = np.asarray(X), np.asarray(X_new)
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 5), sharex=True, sharey=True)
    i, j = columns
    style = {"s": 2, "alpha": 0.6, **scatter_kw}
    for ax, rows, title in zip(axes, (X, X_new), ("data", "samples")):
        ax.scatter(rows[:, i], rows[:, j], **style)
        ax.set_title(f"{title} ({len(rows):,} rows)")
        ax.set_xlabel(f"column {i}")
        ax.set_ylabel(f"column {j}")
        ax.set_aspect("equal", adjustable="box")
    return np.asarray(axes)
