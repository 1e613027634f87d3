import numpy as np
import pytest

from skddpm.metrics import classifier_two_sample_test


def test_c2st_is_near_half_for_one_distribution_and_near_one_for_two():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
    assert abs(classifier_two_sample_test(a, b, random_state=0) - 0.5) < 0.05
    far = rng.normal(4.0, 1.0, size=(1000, 2))
    assert classifier_two_sample_test(a, far, random_state=0) > 0.95


def test_c2st_is_reproducible():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 3)), rng.normal(0.3, 1.0, size=(200, 3))
    assert classifier_two_sample_test(a, b, random_state=0) == classifier_two_sample_test(
        a, b, random_state=0
    )


def test_c2st_errors():
    with pytest.raises(ValueError, match="X has 2 features but Y has 3"):
        classifier_two_sample_test(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="at least cv=5 rows, got 3 and 10"):
        classifier_two_sample_test(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="'cv' parameter"):
        classifier_two_sample_test(np.zeros((10, 2)), np.zeros((10, 2)), cv=1)
