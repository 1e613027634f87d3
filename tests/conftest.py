"""Shared test configuration: the tiny model every test file fits, and the GPU marker.

``from conftest import TINY, tiny`` in a test module gives the one tiny configuration:
a model small enough to fit in a fraction of a second, at a ``timesteps`` where the
linear schedule clips no beta (T >= 21).
"""

import pytest
import torch

from skddpm import DiffusionGenerator

TINY = dict(
    timesteps=25,
    hidden_layer_sizes=(32, 32),
    embedding_dim=16,
    fourier_features=2,
    max_iter=3,
    random_state=0,
)


def tiny(**params):
    """A DiffusionGenerator with the tiny configuration, ``params`` overriding it."""
    return DiffusionGenerator(**{**TINY, **params})


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; torch sees none")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
