"""
Outlier detection with ``score_samples``
========================================

``score_samples`` is a lower bound on each row's log-likelihood: rows far from the
training data score low. Here the spiral's held-out points are told from uniform
points that lie away from it.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral

X, _ = make_spiral(5000, noise=0.3, random_state=0)
inliers, _ = make_spiral(500, noise=0.3, random_state=1)
candidates = np.random.default_rng(0).uniform(X.min(0) - 5, X.max(0) + 5, size=(5000, 2))
distance = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(candidates)[0][:, 0]
outliers = candidates[distance > 1.0][:500]

gen = DiffusionGenerator(random_state=0).fit(X)
rows = np.vstack([inliers, outliers])
scores = gen.score_samples(rows)
truth = np.r_[np.ones(len(inliers)), np.zeros(len(outliers))]
print(f"ROC AUC: {roc_auc_score(truth, scores):.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 5.5))
points = ax.scatter(rows[:, 0], rows[:, 1], c=np.clip(scores, -30, None), s=6, cmap="viridis")
fig.colorbar(points, label="score_samples (nats, clipped at -30)")
ax.set_title("held-out spiral points and uniform outliers")
plt.show()
