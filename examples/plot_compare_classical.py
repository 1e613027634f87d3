"""
DiffusionGenerator, GaussianMixture and KernelDensity
=====================================================

Three ways to model a 2-D table and draw from it, compared with the metrics of
:mod:`skddpm.metrics` on held-out rows. Lower is better for all three; two real samples
give the floor.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

from skddpm import DiffusionGenerator
from skddpm.datasets import make_checkers
from skddpm.metrics import classifier_two_sample_test, energy_distance, maximum_mean_discrepancy

X, _ = make_checkers(8000, random_state=0)
held_out, _ = make_checkers(2000, random_state=1)
other, _ = make_checkers(2000, random_state=2)

gmm = min(
    (GaussianMixture(k, random_state=0).fit(X) for k in (5, 10, 20, 40)), key=lambda m: m.bic(X)
)
kde = GridSearchCV(KernelDensity(), {"bandwidth": [0.02, 0.05, 0.1, 0.2]}, cv=3).fit(X)
samples = {
    "real (floor)": other,
    "DiffusionGenerator": DiffusionGenerator(random_state=0).fit(X).sample(2000),
    f"GaussianMixture ({gmm.n_components})": gmm.sample(2000)[0],
    "KernelDensity": kde.best_estimator_.sample(2000, random_state=0),
}

fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
for ax, (name, rows) in zip(axes, samples.items()):
    ax.scatter(rows[:, 0], rows[:, 1], s=1)
    ax.set_title(name)
plt.show()

# %%
print(f"{'':22} {'C2ST':>6} {'energy':>8} {'MMD²':>8}")
for name, rows in samples.items():
    print(
        f"{name:22} {classifier_two_sample_test(rows, held_out, random_state=0):6.3f} "
        f"{energy_distance(rows, held_out):8.4f} {maximum_mean_discrepancy(rows, held_out):8.4f}"
    )
