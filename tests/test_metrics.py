import numpy as np
import pytest
from scipy import stats

from skddpm.metrics import classifier_two_sample_test, energy_distance, maximum_mean_discrepancy


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


# -- energy distance and MMD -------------------------------------------------------------


def brute_force(X, Y, transform):
    """The V- and U-statistics from the full distance matrices."""
    dxy = np.linalg.norm(X[:, None] - Y[None], axis=-1)
    dxx = np.linalg.norm(X[:, None] - X[None], axis=-1)
    dyy = np.linalg.norm(Y[:, None] - Y[None], axis=-1)

    def off_diagonal_mean(d):
        n = len(d)
        return (transform(d).sum() - n * transform(np.zeros(1))[0]) / (n * (n - 1))

    return transform(dxy).mean(), off_diagonal_mean(dxx), off_diagonal_mean(dyy)


def test_energy_distance_matches_the_full_matrix_formula():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(0.5, 1.0, size=(45, 3))
    xy, xx, yy = brute_force(X, Y, lambda d: d)
    assert energy_distance(X, Y) == pytest.approx(2 * xy - xx - yy, rel=1e-12)


def test_energy_distance_in_one_dimension_matches_scipy():
    # scipy's V-statistic keeps each row's zero distance to itself: correct for it.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=300), rng.normal(0.3, 2.0, size=200)
    n, m = len(x), len(y)
    ours = energy_distance(x[:, None], y[:, None])
    _, xx, yy = brute_force(x[:, None], y[:, None], lambda d: d)
    v_statistic = ours + xx / n + yy / m  # the V-statistics are (n - 1)/n of the U ones
    assert v_statistic == pytest.approx(stats.energy_distance(x, y) ** 2, rel=1e-9)


def test_mmd_matches_the_full_matrix_formula_with_a_given_bandwidth():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(50, 2)), rng.normal(0.2, 1.0, size=(70, 2))
    xy, xx, yy = brute_force(X, Y, lambda d: np.exp(-(d**2) / (2 * 1.5**2)))
    assert maximum_mean_discrepancy(X, Y, bandwidth=1.5) == pytest.approx(
        xx + yy - 2 * xy, rel=1e-12
    )


def test_mmd_median_heuristic_makes_it_scale_free():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(300, 2)), rng.normal(0.5, 1.0, size=(300, 2))
    assert maximum_mean_discrepancy(1000 * X, 1000 * Y) == pytest.approx(
        maximum_mean_discrepancy(X, Y), rel=1e-9
    )


@pytest.mark.parametrize("metric", [energy_distance, maximum_mean_discrepancy])
def test_two_real_samples_give_about_zero_and_a_shift_does_not(metric):
    rng = np.random.default_rng(4)
    same = [metric(rng.normal(size=(400, 2)), rng.normal(size=(400, 2))) for _ in range(20)]
    shifted = metric(rng.normal(size=(400, 2)), rng.normal(0.5, 1.0, size=(400, 2)))
    # unbiased: the mean over repetitions is 0 within its standard error
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(20)
    assert shifted > max(same) * 3


def test_large_samples_are_computed_in_chunks():
    # 6,000 x 6,000 distances would be 288 MB at once; the chunked sum gives the same
    # figure as a small-sample run of the same distribution within its noise.
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(6000, 2)), rng.normal(1.0, 1.0, size=(6000, 2))
    assert energy_distance(X, Y) == pytest.approx(energy_distance(X[:1500], Y[:1500]), rel=0.1)


@pytest.mark.parametrize("metric", [energy_distance, maximum_mean_discrepancy])
def test_distance_errors(metric):
    with pytest.raises(ValueError, match="X has 2 features but Y has 3"):
        metric(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="at least 2 rows, got 1 and 10"):
        metric(np.zeros((1, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        metric(np.full((3, 2), np.nan), np.zeros((3, 2)))


def test_mmd_bandwidth_must_be_positive():
    with pytest.raises(
        ValueError, match="'bandwidth' parameter of maximum_mean_discrepancy must be"
    ):
        maximum_mean_discrepancy(np.zeros((3, 2)), np.ones((3, 2)), bandwidth=0)
