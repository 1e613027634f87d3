"""
Latent diffusion: a generator behind a PCA
==========================================

In a ``Pipeline`` the generator models what the earlier steps make of the data.
Behind ``PCA(16)`` it learns 16 components of the digits instead of 64 pixels, and
:func:`~skddpm.sample_pipeline` maps its samples back through each step's
``inverse_transform``.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skddpm import DiffusionGenerator, sample_pipeline

digits = load_digits().data
pipe = make_pipeline(
    StandardScaler(), PCA(16, random_state=0), DiffusionGenerator(max_iter=300, random_state=0)
)
pipe.fit(digits)
images = sample_pipeline(pipe, 40, random_state=0)
print(images.shape)

# %%
fig, axes = plt.subplots(4, 10, figsize=(8, 3.4))
for ax, image in zip(axes.ravel(), images):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
    ax.set_axis_off()
fig.suptitle("samples of a diffusion model of 16 principal components")
plt.show()
