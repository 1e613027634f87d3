"""
Quick start: a spiral in twelve seconds
=======================================

Fit :class:`~skddpm.DiffusionGenerator` on the spiral the DDPM tutorial trains on,
draw new points, and compare them with the data.
"""

# %%
# Fit and sample
# --------------
import time

import matplotlib.pyplot as plt

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test
from skddpm.plotting import plot_loss_curves, plot_samples

X, _ = make_spiral(10_000, random_state=0)
start = time.perf_counter()
gen = DiffusionGenerator(random_state=0).fit(X)
print(f"fit in {time.perf_counter() - start:.1f} s, {gen.n_iter_} epochs")
X_new = gen.sample(2000)

# %%
# Samples beside fresh points of the spiral
# -----------------------------------------
fresh, _ = make_spiral(2000, random_state=1)
axes = plot_samples(fresh, X_new)
axes[0].figure.suptitle("fresh data (left) and samples (right)")
plt.show()

# %%
# How close? A classifier two-sample test: 0.5 means the classifier cannot tell the
# samples from real points. Two real samples give the floor.
other, _ = make_spiral(2000, random_state=2)
print("C2ST samples vs data:", round(classifier_two_sample_test(X_new, fresh, random_state=0), 3))
print("C2ST data vs data:   ", round(classifier_two_sample_test(other, fresh, random_state=0), 3))

# %%
# The loss curves
# ---------------
# The validation loss uses the moving average of the weights that sampling uses, with
# noise fixed once, so it is smoother than the training loss.
plot_loss_curves(gen)
plt.show()
