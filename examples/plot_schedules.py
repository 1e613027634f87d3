"""
Noise schedules, and one that never reaches noise
=================================================

Sampling starts from ``N(0, I)``, so the forward process must turn the data into
noise by ``t = T``: ``ᾱ_T`` must be near 0. The DDPM tutorial this project grew from
used ``linear_beta_schedule(40, 8e-6, 9e-5)``, which keeps 95 % of the signal at the
end (``ᾱ_T ≈ 0.95``). skddpm warns about such a schedule, with the number and the fix.
"""

# %%
import warnings

import matplotlib.pyplot as plt

from skddpm.datasets import make_spiral
from skddpm.plotting import plot_forward_process, plot_schedules
from skddpm.schedules import NoiseSchedule, make_beta_schedule

tutorial = make_beta_schedule("linear", 40, beta_start=8e-6, beta_end=9e-5)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    tutorial_schedule = NoiseSchedule(tutorial)
print(caught[0].message)

# %%
# Four built-in schedules and the tutorial's
# ------------------------------------------
schedules = {
    name: make_beta_schedule(name, 100) for name in ("linear", "cosine", "quadratic", "sigmoid")
}
schedules["tutorial (never noise)"] = tutorial_schedule
axes = plot_schedules(schedules)
axes[0].figure.set_size_inches(15, 4)
plt.show()

# %%
# The forward process under each
# ------------------------------
# The linear schedule ends in noise; the tutorial's leaves the spiral visible at T.
X, _ = make_spiral(2000, random_state=0)
X = (X - X.mean(0)) / X.std(0)
for name, betas in (("linear", schedules["linear"]), ("tutorial", tutorial)):
    axes = plot_forward_process(X, NoiseSchedule(betas, warn=False), random_state=0)
    axes[0].figure.suptitle(f"{name} schedule")
    plt.show()
