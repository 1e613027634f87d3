import numpy as np
import pytest

from skddpm.datasets import make_checkers, make_gaussian_ring, make_spiral


def test_make_spiral_lies_on_the_spiral():
    X, t = make_spiral(500, random_state=0)
    assert X.shape == (500, 2) and t.shape == (500,)
    assert t.min() >= 1.5 * np.pi and t.max() <= 4.5 * np.pi
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), t)
    np.testing.assert_allclose(np.arctan2(X[:, 1], X[:, 0]), np.angle(np.exp(1j * t)), atol=1e-9)


def test_make_spiral_noise_and_reproducibility():
    X0, t0 = make_spiral(20_000, random_state=1)
    X1, t1 = make_spiral(20_000, noise=0.5, random_state=1)
    np.testing.assert_array_equal(t0, t1)
    assert (X1 - X0).std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(
        make_spiral(5, random_state=3)[0], make_spiral(5, random_state=3)[0]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "'n_samples' parameter of make_spiral must be an int in the range"),
        ({"n_samples": 2.5}, "'n_samples' parameter of make_spiral must be an int"),
        ({"noise": -1.0}, "'noise' parameter of make_spiral must be a float in the range"),
        ({"random_state": "a"}, "'random_state' parameter of make_spiral"),
    ],
)
def test_make_spiral_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_spiral(**kwargs)


def test_gaussian_ring_components_sit_on_the_circle():
    X, y = make_gaussian_ring(4000, n_components=6, radius=5.0, noise=0.1, random_state=0)
    assert X.shape == (4000, 2) and set(np.unique(y)) == set(range(6))
    for k in range(6):
        center = X[y == k].mean(axis=0)
        angle = 2 * np.pi * k / 6
        np.testing.assert_allclose(center, [5 * np.cos(angle), 5 * np.sin(angle)], atol=0.05)
        assert X[y == k].std(axis=0) == pytest.approx([0.1, 0.1], rel=0.15)


def test_checkers_fill_only_the_dark_squares():
    X, y = make_checkers(5000, n_squares=4, random_state=0)
    assert np.abs(X).max() <= 2
    column, row = np.floor(X + 2).astype(int).T
    assert np.all((row + column) % 2 == 0)
    np.testing.assert_array_equal(y, row * 4 + column)
    assert len(np.unique(y)) == 8  # every dark square is used
    counts = np.bincount(y)[np.unique(y)]
    assert counts.min() > 0.8 * counts.mean()


@pytest.mark.parametrize("make", [make_gaussian_ring, make_checkers])
def test_new_shapes_are_reproducible_and_validated(make):
    np.testing.assert_array_equal(make(50, random_state=3)[0], make(50, random_state=3)[0])
    with pytest.raises(ValueError, match="'n_samples' parameter of"):
        make(0)


@pytest.mark.parametrize("make", [make_spiral, make_gaussian_ring, make_checkers])
def test_random_state_none_leaves_the_global_state_alone(make):
    before = np.random.get_state()[1].copy()
    first, second = make(50)[0], make(50)[0]
    assert np.array_equal(np.random.get_state()[1], before)
    assert not np.array_equal(first, second)
