import numpy as np
import pytest

from skddpm.datasets import make_spiral


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
