"""GridSearchCV, cross_val_score (loky and Dask), Pipelines and sample_pipeline."""

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skddpm import sample_pipeline
from skddpm.datasets import make_spiral


@pytest.fixture(scope="module")
def tiny(tiny):
    """The shared tiny model with one hidden layer: many fits per search."""
    return lambda **params: tiny(**{"hidden_layer_sizes": (32,), **params})


GRID = {"timesteps": [25, 30], "hidden_layer_sizes": [(16,), (32, 32)]}


@pytest.fixture(scope="module")
def X():
    return make_spiral(400, noise=0.3, random_state=0)[0]


def test_grid_search_with_default_scoring_in_two_processes(tiny, X):
    search = GridSearchCV(tiny(), GRID, cv=3, n_jobs=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all()
    assert search.best_score_ == scores.max()
    assert search.best_estimator_.score(X) == pytest.approx(search.score(X))
    # the processes score as this one does: the bound is deterministic
    serial = GridSearchCV(tiny(), GRID, cv=3, n_jobs=1).fit(X)
    np.testing.assert_allclose(serial.cv_results_["mean_test_score"], scores, rtol=1e-6)


def test_cross_val_score_in_two_processes(tiny, X):
    scores = cross_val_score(tiny(), X, cv=3, n_jobs=2)
    assert scores.shape == (3,) and np.isfinite(scores).all()


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster(tiny, X):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        with parallel_backend("dask"):
            search = GridSearchCV(tiny(), GRID, cv=2, n_jobs=-1).fit(X)
        workers = client.run(lambda: True)
    assert len(workers) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    local = GridSearchCV(tiny(), GRID, cv=2).fit(X)
    np.testing.assert_allclose(
        local.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"], rtol=1e-6
    )


def test_latent_diffusion_in_a_pca_pipeline(tiny):
    digits = load_digits().data
    pipe = make_pipeline(StandardScaler(), PCA(10), tiny()).fit(digits)
    assert pipe[-1].n_features_in_ == 10
    rows = sample_pipeline(pipe, 16, random_state=0)
    assert rows.shape == (16, 64)
    # back in pixel units: near the digits' range, not in standardized units
    assert 4 < rows.mean() < 6 and rows.max() > 10
    np.testing.assert_array_equal(rows, sample_pipeline(pipe, 16, random_state=0))
    assert np.isfinite(pipe.score(digits[:50]))


def test_sample_pipeline_passes_sampling_options(tiny, X):
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), "passthrough", tiny()).fit(X, y)
    rows = sample_pipeline(pipe, 8, y=1, method="ddim", steps=3, random_state=0)
    expected = pipe[0].inverse_transform(
        pipe[-1].sample(8, y=1, method="ddim", steps=3, random_state=0)
    )
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize("model", [KernelDensity(), GaussianMixture(3, random_state=0)])
def test_sample_pipeline_works_with_other_samplers(X, model):
    pipe = make_pipeline(StandardScaler(), model).fit(X)
    rows = sample_pipeline(pipe, 5)
    assert rows.shape == (5, 2) and np.abs(rows).max() > 3  # unscaled


def test_sample_pipeline_names_a_step_without_inverse_transform(tiny, X):
    pipe = make_pipeline(StandardScaler(), PolynomialFeatures(2), tiny())
    pipe.fit(X)
    with pytest.raises(
        TypeError,
        match="Step 'polynomialfeatures' \\(PolynomialFeatures\\) has no inverse_transform",
    ):
        sample_pipeline(pipe, 3)


def test_sample_pipeline_needs_a_pipeline_ending_in_a_sampler(tiny, X):
    with pytest.raises(TypeError, match="sample_pipeline needs a Pipeline, got DiffusionGenerator"):
        sample_pipeline(tiny().fit(X), 3)
    pipe = make_pipeline(StandardScaler(), PCA(1)).fit(X)
    with pytest.raises(
        TypeError, match="The last step of the pipeline, 'pca' \\(PCA\\), has no sample"
    ):
        sample_pipeline(pipe, 3)
