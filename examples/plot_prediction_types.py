"""
What the network predicts: noise, sample, velocity or mean
==========================================================

Every parameterization reduces to an estimate of the clean data ``x̂₀``; they differ in
what the loss weighs. Predicting the noise (``"epsilon"``, the default) is the one that
works best here.
"""

# %%
import matplotlib.pyplot as plt

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test

X, _ = make_spiral(5000, random_state=0)
fresh, _ = make_spiral(1000, random_state=1)
types = ["epsilon", "sample", "v_prediction", "mean"]
fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
for ax, prediction_type in zip(axes, types):
    gen = DiffusionGenerator(prediction_type=prediction_type, max_iter=100, random_state=0)
    X_new = gen.fit(X).sample(1000)
    c2st = classifier_two_sample_test(X_new, fresh, random_state=0)
    ax.scatter(X_new[:, 0], X_new[:, 1], s=1)
    ax.set_title(f"{prediction_type}: C2ST {c2st:.2f}")
plt.show()
