"""
The reverse process, step by step
=================================

Sampling starts from pure noise and applies the learned denoiser ``timesteps`` times.
:meth:`~skddpm.DiffusionGenerator.sample_trajectory` returns every intermediate
``x_t`` and the estimate ``x̂₀`` the network makes from it: early estimates are the
mean of the data, later ones the spiral itself.
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.plotting import animate_reverse_process

X, _ = make_spiral(10_000, random_state=0)
gen = DiffusionGenerator(timesteps=40, random_state=0).fit(X)
xs, x0_hats = gen.sample_trajectory(1000, random_state=0)
print(xs.shape, x0_hats.shape)  # (steps + 1, rows, features), (steps, rows, features)

# %%
# A few steps of the chain (top) and the estimates made there (bottom)
# --------------------------------------------------------------------
steps = [0, 10, 20, 30, 39]
fig, axes = plt.subplots(2, len(steps), figsize=(15, 6), sharex=True, sharey=True)
for k, i in enumerate(steps):
    axes[0, k].scatter(xs[i][:, 0], xs[i][:, 1], s=1)
    axes[0, k].set_title(f"x_t after {i} steps")
    axes[1, k].scatter(x0_hats[i][:, 0], x0_hats[i][:, 1], s=1, color="C1")
    axes[1, k].set_title("its estimate of x₀")
for ax in axes.ravel():
    ax.set_xlim(-16, 16)
    ax.set_ylim(-16, 16)
plt.show()

# %%
# The animation
# -------------
# The same chain as an animation, with the GIF written by Pillow (the picture people
# know from the tutorial).
path = Path(tempfile.mkdtemp()) / "reverse.gif"
animation = animate_reverse_process(gen, 1000, path=path, fps=8, random_state=0)
print(f"wrote {path.name}: {path.stat().st_size / 1e6:.1f} MB")
