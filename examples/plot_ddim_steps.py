"""
Fewer network calls: DPM-Solver++ and DDIM
==========================================

The ancestral sampler makes one network call per step, ``timesteps`` in all.
DPM-Solver++ (``method="dpm"``) and DDIM (``method="ddim"``) make ``steps`` calls. On the
spiral, the solver's 10 calls give samples nearly as good as the ancestral sampler's 100;
DDIM needs more, and at 10 steps its samples are plainly told apart.
"""

# %%
import time

import matplotlib.pyplot as plt

from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral
from skddpm.metrics import classifier_two_sample_test

X, _ = make_spiral(10_000, random_state=0)
fresh, _ = make_spiral(2000, random_state=1)
gen = DiffusionGenerator(random_state=0).fit(X)


def measure(method, steps=None):
    start = time.perf_counter()
    X_new = gen.sample(2000, method=method, steps=steps, random_state=0)
    seconds = time.perf_counter() - start
    score = classifier_two_sample_test(X_new, fresh, random_state=0)
    print(f"{method:4} calls={steps or gen.timesteps:3}: {seconds:.2f} s, C2ST {score:.3f}")
    return seconds, score


ancestral = measure("ddpm")
curves = {method: [measure(method, k) for k in (5, 10, 20, 50)] for method in ("dpm", "ddim")}

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for method, label in (("dpm", "DPM-Solver++"), ("ddim", "DDIM")):
    seconds, scores = zip(*curves[method])
    ax.plot(seconds, scores, "o-", label=label)
    for steps, s, c in zip((5, 10, 20, 50), seconds, scores):
        ax.annotate(f"{steps}", (s, c), textcoords="offset points", xytext=(4, 4))
ax.plot(*ancestral, "s", color="C2", label=f"ancestral, {gen.timesteps} calls")
ax.set_xscale("log")
ax.set_xlabel("seconds for 2,000 samples (network calls annotated)")
ax.set_ylabel("C2ST (0.5 is perfect)")
ax.legend()
plt.show()
