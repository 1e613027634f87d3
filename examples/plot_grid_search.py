"""
Choosing parameters with GridSearchCV, by the likelihood bound
==============================================================

``score`` is a lower bound on the mean log-likelihood of held-out rows, so
``GridSearchCV`` works with no ``scoring`` argument, as for ``GaussianMixture``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV

from skddpm import DiffusionGenerator

X, _ = make_moons(2000, noise=0.1, random_state=0)
grid = {"timesteps": [25, 100], "hidden_layer_sizes": [(64,), (128, 128)]}
search = GridSearchCV(DiffusionGenerator(max_iter=60, random_state=0), grid, cv=3, n_jobs=2)
search.fit(X)
print("best:", search.best_params_, f"score {search.best_score_:.3f} nats per row")

# %%
results = search.cv_results_
labels = [f"T={p['timesteps']}, {p['hidden_layer_sizes']}" for p in results["params"]]
order = np.argsort(results["mean_test_score"])
fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(
    np.array(labels)[order],
    results["mean_test_score"][order],
    xerr=results["std_test_score"][order],
)
ax.set_xlabel("held-out score (nats per row, higher is better)")
plt.show()
