"""Shared test fixtures: the tiny model every test file fits, and the GPU marker.

A test asks for ``tiny`` and calls it, ``tiny(max_iter=5)``, to get a DiffusionGenerator
small enough to fit in a fraction of a second, at a ``timesteps`` where the linear schedule
clips no beta (T >= 21); keyword arguments override the tiny configuration. A test module
that needs another base overrides the fixture (``def tiny(tiny)``), as pytest allows.
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


@pytest.fixture(scope="session")
def tiny():
    """A factory of DiffusionGenerators with the tiny configuration, overridable by keyword."""

    def make(**params):
        return DiffusionGenerator(**{**TINY, **params})

    return make


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; torch sees none")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
