"""
Class-conditional handwritten digits
====================================

scikit-learn's ``load_digits`` holds 1,797 images of 8 x 8 pixels with values 0 to 16,
a 64-column table. One model conditioned on the digit draws images of each class;
whole-number columns come back as whole numbers in the range seen at fit.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skddpm import DiffusionGenerator

digits = load_digits()
gen = DiffusionGenerator(hidden_layer_sizes=(256, 256), max_iter=300, random_state=0)
gen.fit(digits.data, digits.target)

# %%
# Ten samples of every digit (rows), real images in the first column
# -------------------------------------------------------------------
fig, axes = plt.subplots(10, 11, figsize=(8, 7.5))
for digit in range(10):
    real = digits.data[digits.target == digit][0]
    rows = gen.sample(10, y=digit, random_state=digit)
    for k, image in enumerate([real, *rows]):
        ax = axes[digit, k]
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set_axis_off()
axes[0, 0].set_title("real", fontsize=8)
print("pixel values:", np.unique(rows))
plt.show()
