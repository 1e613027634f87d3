"""Class labels ``y``: checked, sorted into classes, and as class indices.

This module works on numpy arrays; it knows nothing of tables, torch or training.
"""

import numpy as np
from sklearn.utils.multiclass import type_of_target

__all__ = ["encode_labels", "label_indices"]


def _is_missing(label):
    """None, NaN, NaT or pd.NA (whose comparisons give NA, which has no truth value)."""
    if label is None:
        return True
    try:
        return bool(label != label)
    except TypeError:
        return True


def encode_labels(y, n_rows):
    """``(classes, indices)`` for labels ``y``, or ``(None, None)`` when y is None.

    Missing labels and continuous targets are refused with a message that says what
    to do; ``classes`` are sorted as ``np.unique`` sorts them.
    """
    if y is None:
        return None, None
    values = np.asarray(y, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1 or len(values) != n_rows:
        raise ValueError(
            f"y must hold one label per row of X: expected shape ({n_rows},), got {values.shape}."
        )
    missing = [i for i, label in enumerate(values.tolist()) if _is_missing(label)]
    if missing:
        raise ValueError(
            f"y holds a missing label (None, NaN or pd.NA) at row {missing[0]}; drop those "
            "rows or give them a class of their own."
        )
    values = np.asarray(y).reshape(n_rows)
    try:
        classes, indices = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            f"The labels in y cannot be sorted ({exc}); use labels of one kind, for "
            "example all strings."
        ) from None
    kind = type_of_target(values, input_name="y")
    if kind not in ("binary", "multiclass"):
        example = values.ravel()[:1].tolist()[0]
        raise ValueError(
            f"Unknown label type: y is {kind} (for example {example!r}), but "
            "DiffusionGenerator takes class labels and would make one class per distinct "
            "value. To condition on a number, bin it (for example with "
            "sklearn.preprocessing.KBinsDiscretizer) or make it a column of X."
        )
    return classes, indices.ravel()


def label_indices(classes, y, n_samples):
    """Indices into ``classes`` of the labels ``y`` (one per row, or one for all rows)."""
    values = np.asarray(y, dtype=object)
    if values.ndim == 0:
        values = np.full(n_samples, values.item(), dtype=object)
    elif values.ndim != 1 or len(values) != n_samples:
        raise ValueError(
            f"y has shape {values.shape} but n_samples={n_samples}; pass one label for "
            "every row, or a single label for all of them."
        )
    index = {label: i for i, label in enumerate(classes.tolist())}
    unknown = [label for label in values.tolist() if label not in index]
    if unknown:
        raise ValueError(
            f"y holds {unknown[0]!r}, which is not one of the classes seen at fit: "
            f"{classes.tolist()}."
        )
    return np.array([index[label] for label in values.tolist()], dtype=np.int64)
