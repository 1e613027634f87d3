"""
Filling holes by drawing from the conditional
=============================================

Two moons with the second coordinate hidden in 30 % of the rows.
:class:`~skddpm.DiffusionImputer` fits a diffusion model on the incomplete table and
fills each hole with a draw from the model's conditional given the row's observed
cell; scikit-learn's ``IterativeImputer`` regresses the hidden column on the other and
fills in its prediction. Where the conditional has two branches (an ``x`` under both
moons) a prediction falls between them; a draw lands on one, and 20 draws
(:meth:`~skddpm.DiffusionImputer.multiple_imputations`) show both.
"""

# %%
# Hide a column in 30 % of the rows
# ---------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from skddpm import DiffusionImputer

X, _ = make_moons(2000, noise=0.06, random_state=0)
rng = np.random.default_rng(0)
hidden = rng.random(len(X)) < 0.3
X_missing = X.copy()
X_missing[hidden, 1] = np.nan

start = time.perf_counter()
imputer = DiffusionImputer(random_state=0).fit(X_missing)
X_filled = imputer.transform(X_missing)
print(f"fit and fill in {time.perf_counter() - start:.1f} s")
X_iterative = IterativeImputer(random_state=0).fit_transform(X_missing)

# %%
# The filled column against the truth
# -----------------------------------
# The observed cells come back unchanged; only the holes are drawn.
assert np.array_equal(X_filled[~hidden], X[~hidden])

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharex=True, sharey=True)
for ax, table, title in zip(
    axes,
    (X, X_filled, X_iterative),
    ("the truth", "DiffusionImputer (one draw)", "IterativeImputer"),
):
    ax.scatter(*table[~hidden].T, s=3, c="0.75", label="observed rows")
    ax.scatter(*table[hidden].T, s=4, c="C3", label="rows with a hole")
    ax.set_title(title)
axes[0].legend(loc="lower left", markerscale=3, fontsize=8)
fig.tight_layout()

# %%
# The spread of multiple imputations
# ----------------------------------
# 20 completions of the same table: each hole gets 20 draws from its conditional. For
# an ``x`` under both moons they fall on both; the conditional mean (what
# ``sample_posterior=False`` returns) lies between the moons, where no real row is.
draws = np.stack(imputer.multiple_imputations(X_missing, n_imputations=20))
rows = np.flatnonzero(hidden)[:40]
rows = rows[np.argsort(X[rows, 0])]

fig, ax = plt.subplots(figsize=(8, 3.6))
for k, row in enumerate(rows):
    ax.scatter(np.full(20, k), draws[:, row, 1], s=6, c="C0", alpha=0.5)
ax.scatter(np.arange(len(rows)), draws[:, rows, 1].mean(axis=0), marker="_", s=120,
           c="k", label="mean of the draws")  # fmt: skip
ax.scatter(np.arange(len(rows)), X[rows, 1], marker="x", c="C3", label="true value")
ax.set_xlabel("hidden cells, by their row's x")
ax.set_ylabel("y")
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()

low, high = np.percentile(draws[:, hidden, 1], [5, 95], axis=0)
inside = (X[hidden, 1] >= low) & (X[hidden, 1] <= high)
print(f"true values inside the draws' 90 % intervals: {inside.mean():.2f}")
plt.show()
