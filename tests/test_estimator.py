import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skddpm._estimator as estimator_module
import skddpm._runtime
from skddpm import DiffusionGenerator
from skddpm.datasets import make_spiral


@pytest.fixture(scope="module")
def spiral():
    return make_spiral(300, random_state=0)[0]


@pytest.fixture(scope="module")
def fitted(tiny, spiral):
    return tiny().fit(spiral)


# -- the promise -------------------------------------------------------------------------


def test_fit_sample_returns_rows_in_data_units(spiral):
    gen = DiffusionGenerator(timesteps=40, max_iter=2, random_state=0).fit(spiral)
    X_new = gen.sample(1000)
    assert X_new.shape == (1000, 2)
    assert X_new.dtype == np.float64
    # clip_sample keeps every estimate, hence every sample, in the data's range
    assert np.all(X_new >= spiral.min(0)) and np.all(X_new <= spiral.max(0))
    assert X_new.std(0).min() > 1.0, "samples are not in the data's units"


def test_fitted_attributes(fitted, spiral):
    assert fitted.n_features_in_ == 2
    assert fitted.n_iter_ == 3
    assert len(fitted.loss_curve_) == 3
    assert len(fitted.validation_loss_curve_) == 3
    assert fitted.best_validation_loss_ == min(fitted.validation_loss_curve_)
    assert fitted.noise_schedule_.timesteps == 25
    assert fitted.device_ == torch.device("cpu")
    np.testing.assert_allclose(fitted.mean_, spiral.mean(0))
    np.testing.assert_allclose(fitted.scale_, spiral.std(0))
    assert not fitted.integer_columns_.any()
    assert isinstance(fitted.network_, torch.nn.Module)
    assert isinstance(fitted.ema_network_, torch.nn.Module)


@pytest.mark.slow
def test_training_lowers_the_loss(tiny):
    X = make_spiral(2000, random_state=0)[0]
    gen = tiny(max_iter=30, learning_rate="constant").fit(X)
    assert np.mean(gen.loss_curve_[-5:]) < 0.7 * np.mean(gen.loss_curve_[:2])


@pytest.mark.slow
def test_learns_a_gaussian(tiny):
    rng = np.random.default_rng(0)
    X = rng.normal([10.0, -3.0], [2.0, 0.5], size=(3000, 2))
    gen = tiny(timesteps=30, max_iter=40).fit(X)
    S = gen.sample(3000)
    np.testing.assert_allclose(S.mean(0), [10.0, -3.0], atol=0.3)
    np.testing.assert_allclose(S.std(0), [2.0, 0.5], rtol=0.2)
    assert abs(np.corrcoef(S.T)[0, 1]) < 0.15


@pytest.mark.parametrize("prediction_type", ["epsilon", "sample", "v_prediction", "mean"])
@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_every_prediction_type_and_loss_fits_and_samples(tiny, spiral, prediction_type, loss):
    gen = tiny(prediction_type=prediction_type, loss=loss, max_iter=2).fit(spiral)
    assert np.isfinite(gen.sample(50)).all()


@pytest.mark.parametrize("beta_schedule", ["linear", "cosine", "quadratic", "sigmoid"])
def test_every_schedule_fits(tiny, spiral, beta_schedule):
    gen = tiny(beta_schedule=beta_schedule, max_iter=1).fit(spiral)
    assert np.isfinite(gen.sample(20)).all()


def test_beta_array_schedule(tiny, spiral):
    betas = np.linspace(0.05, 0.9, 25)
    gen = tiny(beta_schedule=betas).fit(spiral)
    np.testing.assert_allclose(gen.noise_schedule_.betas, betas)


def test_the_cosine_schedule_says_it_ignores_beta_start_and_beta_end(tiny, spiral):
    with pytest.warns(UserWarning, match=r"beta_schedule='cosine' ignores beta_end=0\.05; pass "
                      r"beta_schedule='linear'"):  # fmt: skip
        tiny(beta_end=0.05, max_iter=1).fit(spiral)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny(max_iter=1).fit(spiral)


def test_tutorial_schedule_warns_at_fit(tiny, spiral):
    with pytest.warns(UserWarning, match=r"alphas_cumprod\[T\]=0\.95"):
        tiny(timesteps=40, beta_schedule="linear", beta_start=8e-6, beta_end=9e-5,
             max_iter=1).fit(spiral)  # fmt: skip


def test_network_options(tiny, spiral):
    for kwargs in [
        dict(time_embedding="learned"),
        dict(residual=False),
        dict(fourier_features=0),
        dict(activation="relu"),
        dict(hidden_layer_sizes=8),
        dict(ema_decay=0.0),
        dict(shuffle=False),
        dict(batch_size=7),
    ]:
        gen = tiny(max_iter=1, **kwargs).fit(spiral)
        assert np.isfinite(gen.sample(5)).all(), kwargs
    assert tiny(ema_decay=0.0, max_iter=1).fit(spiral).ema_network_ is None


def test_sample_trajectory(fitted):
    xs, x0_hats = fitted.sample_trajectory(7, random_state=3)
    assert xs.shape == (26, 7, 2) and x0_hats.shape == (25, 7, 2)
    np.testing.assert_allclose(xs[-1], fitted.sample(7, random_state=3), rtol=1e-6)
    np.testing.assert_allclose(x0_hats[-1], xs[-1], rtol=1e-6)
    # x_T is noise in the standardized space, hence wider than the data is
    assert xs[0].std() > 0.5 * fitted.scale_.min()


def test_large_counts_are_drawn_in_chunks(fitted, monkeypatch):
    monkeypatch.setattr(skddpm._runtime, "CHUNK_SIZE", 64)
    S = fitted.sample(1000, random_state=0)
    assert S.shape == (1000, 2)
    assert not np.allclose(S[:64], S[64:128]), "chunks repeated their noise"
    # each chunk follows the same distribution
    assert abs(S[:500, 0].mean() - S[500:, 0].mean()) < 0.5 * S[:, 0].std()


# -- what users give ---------------------------------------------------------------------


def test_lists_ints_and_float32_just_work(tiny, spiral):
    assert tiny(max_iter=1).fit(spiral.tolist()).sample(3).dtype == np.float64
    X32 = spiral.astype(np.float32)
    assert tiny(max_iter=1).fit(X32).sample(3).dtype == np.float32
    X_int = np.round(spiral).astype(np.int64)
    S = tiny(max_iter=1).fit(X_int).sample(50)
    assert S.dtype == np.float64
    np.testing.assert_array_equal(S, np.round(S))


def test_one_feature_and_a_constant_column(tiny):
    rng = np.random.default_rng(0)
    X1 = rng.normal(size=(200, 1))
    assert tiny(max_iter=1).fit(X1).sample(5).shape == (5, 1)
    X = np.column_stack([rng.normal(size=200), np.full(200, 0.3)])
    S = tiny(max_iter=1).fit(X).sample(100)
    np.testing.assert_allclose(S[:, 1], 0.3)


def test_whole_number_columns_come_back_whole_and_in_range(tiny):
    rng = np.random.default_rng(0)
    counts = rng.poisson(4.0, size=500).astype(float)
    X = np.column_stack([rng.normal(size=500), counts])
    gen = tiny(max_iter=2).fit(X)
    np.testing.assert_array_equal(gen.integer_columns_, [False, True])
    S = gen.sample(500)
    np.testing.assert_array_equal(S[:, 1], np.round(S[:, 1]))
    assert S[:, 1].min() >= counts.min() and S[:, 1].max() <= counts.max()
    assert np.any(S[:, 0] != np.round(S[:, 0]))

    plain = tiny(max_iter=2, preserve_integers=False).fit(X)
    assert not plain.integer_columns_.any()
    assert np.any(plain.sample(100)[:, 1] != np.round(plain.sample(100)[:, 1]))


def test_dataframe_feature_names(tiny):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"age": [20, 30, 40, 50] * 25, "income": np.linspace(1, 2, 100)})
    gen = tiny(max_iter=1).fit(df)
    np.testing.assert_array_equal(gen.feature_names_in_, ["age", "income"])
    assert gen.sample(4).shape == (4, 2)


def test_pipeline_and_clone(tiny, spiral):
    pipe = make_pipeline(StandardScaler(), tiny(max_iter=1)).fit(spiral)
    assert pipe[-1].n_features_in_ == 2
    cloned = clone(tiny(timesteps=17))
    assert cloned.get_params()["timesteps"] == 17
    assert not hasattr(cloned, "network_")


# -- randomness --------------------------------------------------------------------------


def test_random_state_makes_fit_and_sample_reproducible(tiny, spiral):
    a = tiny().fit(spiral).sample(30)
    b = tiny().fit(spiral).sample(30)
    c = tiny(random_state=1).fit(spiral).sample(30)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_sample_random_state(fitted):
    np.testing.assert_array_equal(fitted.sample(10), fitted.sample(10))
    np.testing.assert_array_equal(
        fitted.sample(10, random_state=4), fitted.sample(10, random_state=4)
    )
    assert not np.allclose(fitted.sample(10, random_state=4), fitted.sample(10, random_state=5))
    unseeded = clone(fitted).set_params(random_state=None).fit(np.asarray(fitted.sample(50)))
    assert not np.allclose(unseeded.sample(10), unseeded.sample(10))


@pytest.mark.parametrize("random_state", [0, None, np.random.RandomState(0)])
def test_fit_and_sample_leave_global_random_states_untouched(tiny, spiral, random_state):
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    gen = tiny(random_state=random_state).fit(spiral)
    gen.sample(10)
    gen.sample_trajectory(3)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert torch.equal(torch.get_rng_state(), torch_state)


# -- training options --------------------------------------------------------------------


def test_warm_start_continues(tiny, spiral):
    gen = tiny(warm_start=True).fit(spiral)
    first = list(gen.loss_curve_)
    gen.fit(spiral)
    assert gen.loss_curve_[:3] == first and len(gen.loss_curve_) == 6
    assert gen.n_iter_ == 3
    cold = tiny().fit(spiral)
    cold.fit(spiral)
    assert len(cold.loss_curve_) == 3


def test_warm_start_refuses_a_changed_network(tiny, spiral):
    gen = tiny(warm_start=True).fit(spiral)
    gen.set_params(timesteps=30)
    with pytest.raises(ValueError, match="timesteps changed.*warm_start=False"):
        gen.fit(spiral)


def test_early_stopping_stops_and_keeps_the_best(tiny, spiral):
    gen = tiny(early_stopping=True, n_iter_no_change=2, tol=10.0, max_iter=50).fit(spiral)
    assert gen.n_iter_ == 3, "with a huge tol no epoch improves after the first"
    assert len(gen.validation_loss_curve_) == 3


def test_batch_larger_than_the_data_warns(tiny, spiral):
    with pytest.warns(UserWarning, match=r"batch_size=5000 is larger than the 270 training rows"):
        gen = tiny(batch_size=5000, max_iter=1).fit(spiral)
    assert gen.n_iter_ == 1


def test_no_validation_split(tiny, spiral):
    gen = tiny(validation_fraction=0.0).fit(spiral)
    assert gen.validation_loss_curve_ is None and gen.best_validation_loss_ is None


def test_too_few_rows_for_validation_warns(tiny):
    with pytest.warns(
        UserWarning, match=r"validation_fraction=0\.1 of 3 rows leaves no validation"
    ):
        gen = tiny().fit([[0.0, 1.0], [1.0, 2.0], [2.0, 4.0]])
    assert gen.validation_loss_curve_ is None
    with pytest.raises(ValueError, match="early_stopping=True needs; give more rows"):
        tiny(early_stopping=True).fit([[0.0, 1.0], [1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(
        ValueError, match="early_stopping=True needs validation rows, but validation_fraction=0"
    ):
        tiny(early_stopping=True, validation_fraction=0.0).fit([[0.0], [1.0]])


def test_divergence_names_the_learning_rate_and_epoch(tiny, spiral):
    with pytest.raises(
        ValueError, match=r"loss became (nan|inf) in epoch \d+\. Lower learning_rate_init"
    ):
        tiny(learning_rate_init=1e12, learning_rate="constant", max_iter=20).fit(spiral * 1e6)


def test_verbose_shows_a_progress_bar(tiny, spiral, capsys):
    tiny(verbose=True, max_iter=2).fit(spiral)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err


# -- device ------------------------------------------------------------------------------


def test_device_errors(tiny, spiral, monkeypatch):
    with pytest.raises(
        ValueError, match="'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'tpu'"
    ):
        tiny(device="tpu").fit(spiral)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        ValueError, match="device='cuda' was requested but CUDA is not available.*device='cpu'"
    ):
        tiny(device="cuda").fit(spiral)
    assert tiny(device="auto", max_iter=1).fit(spiral).device_ == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="device='cuda:3' was requested but only 1 CUDA"):
        tiny(device="cuda:3").fit(spiral)


@pytest.mark.gpu
def test_fit_and_sample_on_cuda(tiny, spiral):
    gen = tiny(device="cuda", max_iter=2).fit(spiral)
    assert gen.device_.type == "cuda"
    assert next(gen.network_.parameters()).is_cuda
    S = gen.sample(100)
    assert isinstance(S, np.ndarray) and np.isfinite(S).all()
    np.testing.assert_array_equal(S, gen.sample(100))
    assert gen.sample_trajectory(5)[0].shape == (26, 5, 2)


@pytest.mark.gpu
def test_conditional_ddim_and_warm_start_on_cuda(tiny, spiral):
    y = np.where(spiral[:, 0] > 0, "right", "left")
    gen = tiny(device="cuda", max_iter=2, warm_start=True).fit(spiral, y)
    gen.fit(spiral, y)  # continues on the device, fused Adam state included
    assert len(gen.loss_curve_) == 4
    for options in ({"method": "ddim", "steps": 4}, {"y": "left", "guidance_scale": 2.0},
                    {"method": "dpm", "y": "right"}):  # fmt: skip
        S = gen.sample(50, **options)
        assert np.isfinite(S).all()
        np.testing.assert_array_equal(S, gen.sample(50, **options))
    assert tiny(device="auto", max_iter=1).fit(spiral).device_.type == "cuda"


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([[1.0, np.inf]] * 5, ValueError, "(?s)contains infinity.*Replace or drop the infinite"),
        (np.ones((5, 2)) + 1j, ValueError, "Complex data not supported"),
        (sp.csr_matrix(np.ones((5, 2))), TypeError, "(?s)Sparse data was passed for X.*toarray"),
        (np.ones(5), ValueError, "(?s)Expected 2D array, got 1D array.*Reshape your data"),
        (np.ones((5, 2, 2)), ValueError, "(?s)Found array with dim 3.*reshape it"),
        (np.ones((0, 2)), ValueError, "Found array with 0 sample"),
        (np.ones((5, 0)), ValueError, "Found array with 0 feature"),
    ],
)
def test_bad_X(tiny, X, error, match):
    with pytest.raises(error, match=match):
        tiny().fit(X)


def test_a_column_of_dates_is_named_with_the_fix(tiny):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "when": pd.date_range("2026-01-01", periods=3)})
    with pytest.raises(
        ValueError, match=r"Column 'when' of X has dtype datetime64.*cannot model.*astype"
    ):
        tiny().fit(df)


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(timesteps=1),
            "'timesteps' parameter of DiffusionGenerator must be an int in the range \\[2",
        ),
        (dict(beta_schedule="cubic"), "'beta_schedule' parameter"),
        (dict(prediction_type="noise"), "'prediction_type' parameter"),
        (dict(learning_rate_init=0), "'learning_rate_init' parameter"),
        (dict(ema_decay=1.0), "'ema_decay' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(loss="l2"), "'loss' parameter"),
        (dict(activation="swish"), "'activation' parameter"),
        (dict(batch_size=0), "'batch_size' parameter"),
        (
            dict(hidden_layer_sizes=(32, 0)),
            "'hidden_layer_sizes' parameter must be a positive int or a non-empty tuple",
        ),
        (dict(hidden_layer_sizes=()), "'hidden_layer_sizes' parameter"),
        (dict(embedding_dim=15), "'embedding_dim' parameter must be even, got 15; use 16"),
        (
            dict(beta_schedule="linear", beta_start=0.03, beta_end=0.02),
            "beta_start=0.03 is larger than beta_end=0.02.*swap",
        ),
        (
            dict(beta_schedule=np.full(5, 0.1)),
            "'beta_schedule' array has shape \\(5,\\) but timesteps=25.*timesteps=5",
        ),
        (dict(beta_schedule=np.r_[np.full(24, 0.1), 1.5]), "open interval \\(0, 1\\), got 1.5"),
        (dict(device=0), "'device' parameter"),
    ],
)
def test_bad_parameters(tiny, spiral, params, match):
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(spiral)


@pytest.mark.parametrize(
    "n_samples, error, match",
    [
        (0, ValueError, "n_samples must be a whole number >= 1, got n_samples=0; pass"),
        (-3, ValueError, "n_samples must be a whole number >= 1, got n_samples=-3"),
        (2.5, TypeError, r"n_samples must be a whole number >= 1, got n_samples=2\.5 \(float\)"),
        (True, TypeError, r"got n_samples=True \(bool\); pass a whole number of rows"),
        ("10", TypeError, r"got n_samples='10' \(str\); pass .* such as int\(n_samples\)"),
    ],
)
def test_bad_sample_counts(fitted, n_samples, error, match):
    with pytest.raises(error, match=match):
        fitted.sample(n_samples)
    with pytest.raises(error, match=match):
        fitted.sample_trajectory(n_samples)


def test_numpy_integer_counts_work(fitted):
    assert fitted.sample(np.int64(3)).shape == (3, 2)


@pytest.mark.parametrize("method", ["sample", "sample_trajectory"])
def test_methods_before_fit(method):
    with pytest.raises(NotFittedError, match="not fitted yet.*Call 'fit'"):
        getattr(DiffusionGenerator(), method)(5)


def test_fit_failure_leaves_estimator_unfitted(tiny, spiral):
    gen = tiny(learning_rate_init=1e12, learning_rate="constant", max_iter=20)
    with pytest.raises(ValueError):
        gen.fit(spiral * 1e6)
    assert not hasattr(gen, "network_")


def test_params_are_not_changed_by_fit(tiny, spiral):
    gen = tiny(hidden_layer_sizes=[32, 32])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.fit(spiral)
    assert gen.hidden_layer_sizes == [32, 32]
    assert gen.batch_size == "auto"


# -- warm starts ---------------------------------------------------------------------------


def test_warm_start_trains_at_the_current_learning_rate(tiny, spiral):
    gen = tiny(warm_start=True, learning_rate="constant", max_iter=2).fit(spiral)
    before = torch.cat([p.detach().flatten().clone() for p in gen.network_.parameters()])
    gen.set_params(learning_rate_init=1e-5, max_iter=1).fit(spiral)
    after = torch.cat([p.detach().flatten() for p in gen.network_.parameters()])
    assert gen.optimizer_.param_groups[0]["lr"] == 1e-5
    # Adam moves a weight by about lr a step: 27 steps of 1e-5, not of the old 5e-3
    steps = len(spiral) * 0.9 // 27 + 1
    assert (after - before).abs().max() < 3 * 1e-5 * steps


class Interrupt(BaseException):
    pass


@pytest.mark.parametrize("failure", ["interrupt", "divergence"])
def test_a_failed_warm_fit_leaves_the_model_as_it_was(tiny, spiral, monkeypatch, failure):
    gen = tiny(warm_start=True, max_iter=2).fit(spiral)
    weights = {
        name: [p.detach().clone() for p in getattr(gen, name).parameters()]
        for name in ("network_", "ema_network_")
    }
    moments = {k: v.clone() for k, v in gen.optimizer_.state_dict()["state"][0].items()}
    curve, mean = list(gen.loss_curve_), gen.mean_.copy()
    expected = gen.sample(20, random_state=0)
    real_train = estimator_module.train

    def train_then_fail(state, *args, **kwargs):
        real_train(state, *args, **{**kwargs, "max_iter": 1})  # the copy moves...
        if failure == "interrupt":
            raise Interrupt
        raise estimator_module.NonFiniteLossError("the training loss became nan in epoch 4")

    monkeypatch.setattr(estimator_module, "train", train_then_fail)
    with pytest.raises(Interrupt if failure == "interrupt" else ValueError):
        gen.fit(spiral * 2 + 5)
    for name, before in weights.items():  # ...and the model does not
        for p, old in zip(getattr(gen, name).parameters(), before):
            assert torch.equal(p, old)
    for key, value in gen.optimizer_.state_dict()["state"][0].items():
        assert torch.equal(value, moments[key])
    assert gen.loss_curve_ == curve and gen.n_iter_ == 2
    np.testing.assert_array_equal(gen.mean_, mean)
    np.testing.assert_array_equal(gen.sample(20, random_state=0), expected)


# -- short schedules and bad random states -------------------------------------------------


def test_a_schedule_too_short_for_its_betas_warns_with_the_fix(tiny, spiral):
    with pytest.warns(
        UserWarning,
        match=r"beta_schedule='linear' with timesteps=10 gives 5 of 10 betas above 0\.999 "
        r"\(beta_end \* 1000 / timesteps = 2\).*Use timesteps >= 21, beta_schedule='cosine'",
    ):
        tiny(timesteps=10, beta_schedule="linear", max_iter=1).fit(spiral)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny(timesteps=10, beta_schedule="cosine", max_iter=1).fit(spiral)
        tiny(timesteps=21, beta_schedule="sigmoid", max_iter=1).fit(spiral)


@pytest.mark.parametrize("random_state", ["abc", 1.5, -1, 2**32, True])
def test_sample_names_a_bad_random_state(fitted, random_state):
    match = (
        r"The 'random_state' parameter must be an int in the range \[0, 4294967295\], a "
        rf"numpy.random.RandomState instance or None, got {re.escape(repr(random_state))}"
    )
    for method in (fitted.sample, fitted.sample_trajectory):
        with pytest.raises(ValueError, match=match):
            method(3, random_state=random_state)


def test_a_continuous_y_is_refused_as_classifiers_refuse_it(tiny, spiral):
    y = np.linspace(0.0, 1.0, len(spiral))
    with pytest.raises(
        ValueError,
        match=r"Unknown label type: y is continuous \(for example 0\.0\), but "
        r"DiffusionGenerator takes class labels.*KBinsDiscretizer",
    ):
        tiny().fit(spiral, y)
    # whole numbers stored as floats are classes
    assert tiny(max_iter=1).fit(spiral, np.arange(len(spiral)) % 2 * 1.0).classes_.tolist() == [
        0.0,
        1.0,
    ]
