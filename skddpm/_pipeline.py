"""Sampling through a fitted Pipeline: the last step draws, the others map rows back.

A public helper: it uses only the steps' public ``sample`` and ``inverse_transform``.
"""

__all__ = ["sample_pipeline"]


def sample_pipeline(pipeline, n_samples=1, **sample_params):
    """Draw rows from a fitted pipeline that ends in a generator, in the input's units.

    The last step draws the rows (``sample``); each earlier step, from the last to the
    first, maps them back through its ``inverse_transform``. With
    ``make_pipeline(StandardScaler(), PCA(10), DiffusionGenerator())`` this is latent
    diffusion: the model learns the principal components, and the samples come back
    as full rows.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted; its last step has a ``sample`` method (a :class:`DiffusionGenerator`,
        ``KernelDensity`` or ``GaussianMixture``, whose labels are dropped) and every
        other step an ``inverse_transform`` (or is ``"passthrough"``).
    n_samples : int, default=1
    **sample_params
        Passed to the last step's ``sample``: ``y``, ``random_state``, ``method``...

    Returns
    -------
    X_new : ndarray of shape (n_samples, n_features) of the pipeline's input

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skddpm import DiffusionGenerator, sample_pipeline
    >>> from skddpm.datasets import make_spiral
    >>> X, _ = make_spiral(500, random_state=0)
    >>> gen = DiffusionGenerator(timesteps=20, max_iter=5, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), gen).fit(X)
    >>> sample_pipeline(pipe, 10, random_state=0).shape
    (10, 2)
    """
    steps = getattr(pipeline, "steps", None)
    if steps is None:
        raise TypeError(
            f"sample_pipeline needs a Pipeline, got {type(pipeline).__name__}; call "
            "sample() on a generator directly."
        )
    name, last = steps[-1]
    if not hasattr(last, "sample"):
        raise TypeError(
            f"The last step of the pipeline, {name!r} ({type(last).__name__}), has no "
            "sample method; end the pipeline with a DiffusionGenerator."
        )
    earlier = [(n, step) for n, step in steps[:-1] if step not in (None, "passthrough")]
    for step_name, step in earlier:
        if not hasattr(step, "inverse_transform"):
            raise TypeError(
                f"Step {step_name!r} ({type(step).__name__}) has no inverse_transform, so "
                "samples cannot be mapped back through it; use an invertible transformer "
                "there (StandardScaler, PCA, QuantileTransformer, ...)."
            )
    X_new = last.sample(n_samples, **sample_params)
    if isinstance(X_new, tuple):  # GaussianMixture.sample returns (X, labels)
        X_new = X_new[0]
    for _, step in reversed(earlier):
        X_new = step.inverse_transform(X_new)
    return X_new
