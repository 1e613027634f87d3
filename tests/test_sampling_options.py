"""Class-conditional fit(X, y), classifier-free guidance and DDIM through the estimator."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def tiny(tiny):
    """The shared tiny model, trained long enough here to learn two blobs and their labels."""
    return lambda **params: tiny(**{"max_iter": 40, **params})


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = {"left": (-4.0, 0.0), "right": (4.0, 0.0)}
    labels = np.array(["left", "right"] * 600)
    X = np.array([centers[k] for k in labels]) + rng.normal(scale=0.5, size=(1200, 2))
    return X, labels


@pytest.fixture(scope="module")
def conditional(tiny, blobs):
    X, y = blobs
    return tiny().fit(X, y)


@pytest.fixture(scope="module")
def unconditional(tiny, blobs):
    return tiny(max_iter=2).fit(blobs[0])


def test_classes_like_a_classifier(conditional):
    np.testing.assert_array_equal(conditional.classes_, ["left", "right"])


@pytest.mark.slow
def test_sample_one_class_and_one_class_per_row(conditional):
    left = conditional.sample(300, y="left")
    right = conditional.sample(300, y="right")
    assert left[:, 0].mean() < -2.5 and right[:, 0].mean() > 2.5
    rows = conditional.sample(4, y=["right", "left", "left", "right"])
    np.testing.assert_array_equal(np.sign(rows[:, 0]), [1, -1, -1, 1])


@pytest.mark.slow
def test_unconditional_sampling_from_the_same_model(conditional):
    X_new = conditional.sample(600)
    share_left = np.mean(X_new[:, 0] < 0)
    assert 0.3 < share_left < 0.7, "both classes appear when no label is asked for"


@pytest.mark.slow
def test_guidance_scales(conditional):
    same = dict(y="left", random_state=3)
    np.testing.assert_array_equal(
        conditional.sample(50, guidance_scale=1.0, **same), conditional.sample(50, **same)
    )
    # s = 0 is the "no label" sampler, whatever the class asked for
    np.testing.assert_array_equal(
        conditional.sample(50, guidance_scale=0.0, **same),
        conditional.sample(50, guidance_scale=0.0, y="right", random_state=3),
    )
    strong = conditional.sample(300, guidance_scale=3.0, y="left")
    assert np.mean(strong[:, 0] < 0) > 0.95


def test_ddim_samples_and_is_deterministic_with_eta_zero(conditional, unconditional):
    for gen in (conditional, unconditional):
        a = gen.sample(200, method="ddim", steps=5, random_state=1)
        b = gen.sample(200, method="ddim", steps=5, eta=0.0, random_state=1)
        assert a.shape == (200, 2)
        np.testing.assert_array_equal(a, b)
    noisy = conditional.sample(200, method="ddim", steps=5, eta=1.0, random_state=1)
    assert not np.allclose(noisy, conditional.sample(200, method="ddim", steps=5, random_state=1))
    left = conditional.sample(200, y="left", method="ddim", steps=10, guidance_scale=2.0)
    assert np.mean(left[:, 0] < 0) > 0.95


@pytest.mark.parametrize(
    "options",
    [{}, {"method": "ddim", "steps": 4}, {"method": "ddim", "eta": 0.5}, {"y": "right"},
     {"y": "left", "guidance_scale": 2.5, "method": "ddim", "steps": 3},
     {"method": "dpm", "steps": 4}, {"y": "left", "guidance_scale": 2.5, "method": "dpm"}],
)  # fmt: skip
def test_same_random_state_same_rows_whatever_the_sampler(conditional, options):
    a = conditional.sample(30, random_state=9, **options)
    b = conditional.sample(30, random_state=9, **options)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", ["ddim", "dpm"])
def test_trajectories_of_every_sampler(conditional, method):
    xs, x0_hats = conditional.sample_trajectory(6, method=method, steps=4, y="left", random_state=2)
    assert xs.shape == (5, 6, 2) and x0_hats.shape == (4, 6, 2)
    np.testing.assert_allclose(
        xs[-1], conditional.sample(6, method=method, steps=4, y="left", random_state=2), rtol=1e-6
    )


def test_trajectory_of_the_ancestral_sampler(conditional):
    xs, x0_hats = conditional.sample_trajectory(6)
    assert xs.shape == (26, 6, 2) and x0_hats.shape == (25, 6, 2)


@pytest.mark.parametrize("method", ["ddim", "dpm"])
def test_fast_samplers_take_ten_calls_by_default(unconditional, method):
    assert unconditional.sample_trajectory(3, method=method)[0].shape == (11, 3, 2)


def test_the_solver_is_deterministic_and_follows_guidance(conditional):
    a = conditional.sample(200, method="dpm", steps=5, random_state=1)
    np.testing.assert_array_equal(a, conditional.sample(200, method="dpm", steps=5, random_state=1))
    assert not np.array_equal(a, conditional.sample(200, method="dpm", steps=5, random_state=2))
    left = conditional.sample(200, y="left", method="dpm", guidance_scale=2.0, random_state=0)
    assert np.mean(left[:, 0] < 0) > 0.95


def test_labels_of_other_kinds(tiny, blobs):
    X, y = blobs
    gen = tiny(max_iter=1).fit(X, (y == "right").astype(int))
    np.testing.assert_array_equal(gen.classes_, [0, 1])
    assert gen.sample(3, y=np.int64(1)).shape == (3, 2)
    assert gen.sample(3, y=[0, 1, 1]).shape == (3, 2)


def test_refit_without_labels_forgets_the_classes(tiny, blobs):
    X, y = blobs
    gen = tiny(max_iter=1).fit(X, y)
    gen.fit(X)
    assert not hasattr(gen, "classes_")


def test_warm_start_refuses_other_classes(tiny, blobs):
    X, y = blobs
    gen = tiny(max_iter=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="classes in y differ.*warm_start=False"):
        gen.fit(X, np.where(y == "left", "a", "b"))


# -- bad input ---------------------------------------------------------------------------


def test_unknown_label_lists_the_classes(conditional):
    with pytest.raises(
        ValueError,
        match=r"y holds 'up', which is not one of the classes seen at fit: \['left', 'right'\]",
    ):
        conditional.sample(5, y="up")


def test_y_for_an_unconditional_model(unconditional):
    with pytest.raises(
        ValueError,
        match=r"y was given, but this DiffusionGenerator was fitted without labels; fit it with fit\(X, y\)",
    ):
        unconditional.sample(5, y="left")


def test_y_of_the_wrong_length(tiny, conditional, blobs):
    with pytest.raises(
        ValueError, match=r"y has shape \(2,\) but n_samples=3; pass one label for every row"
    ):
        conditional.sample(3, y=["left", "right"])
    X, y = blobs
    with pytest.raises(
        ValueError,
        match=r"y must hold one label per row of X: expected shape \(1200,\), got \(10,\)",
    ):
        tiny().fit(X, y[:10])


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_missing_labels(tiny, blobs, missing):
    X, y = blobs
    y = y.astype(object)
    y[7] = missing
    with pytest.raises(
        ValueError, match=r"y holds a missing label \(None, NaN or pd\.NA\) at row 7"
    ):
        tiny().fit(X, y)


def test_labels_that_cannot_be_sorted(tiny, blobs):
    X, _ = blobs
    mixed = np.array(["a", 1] * 600, dtype=object)
    with pytest.raises(TypeError, match="labels in y cannot be sorted.*labels of one kind"):
        tiny().fit(X, mixed)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"method": "ddim", "steps": 0}, r"steps must be a whole number in \[1, 25\], got steps=0; a DDIM step visits one of the timesteps=25"),
        ({"method": "ddim", "steps": 26}, r"steps must be a whole number in \[1, 25\], got steps=26"),
        ({"method": "ddim", "eta": 1.5}, r"eta must be a finite number in \[0, 1\], got eta=1\.5; 0 is deterministic"),
        ({"method": "ddim", "eta": -0.1}, r"eta must be a finite number in \[0, 1\]"),
        ({"method": "ddpm", "steps": 10}, r"steps=10 applies to method='ddim' or method='dpm' only"),
        ({"eta": 0.5}, r"eta=0\.5 applies to method='ddim' or method='dpm' only; method='ddpm' does not take it"),
        ({"method": "dpm", "eta": 1.5}, r"eta must be a finite number in \[0, 1\], got eta=1\.5; 0 follows the probability-flow ODE"),
        ({"method": "dpm", "steps": 26}, r"steps must be a whole number in \[1, 25\], got steps=26; a solver step"),
        ({"method": "euler"}, r"method='euler' is not a sampler; expected one of \('ddpm', 'ddim', 'dpm'\)"),
        ({"y": "left", "guidance_scale": -1.0}, r"guidance_scale must be a finite number >= 0, got guidance_scale=-1\.0; 0 is unconditional"),
        ({"y": "left", "guidance_scale": np.inf}, r"guidance_scale must be a finite number >= 0"),
        ({"guidance_scale": 3.0}, r"guidance_scale=3\.0 guides samples towards the classes in y, but y is None"),
    ],
)  # fmt: skip
def test_bad_sampler_options(conditional, options, match):
    with pytest.raises(ValueError, match=match):
        conditional.sample(5, **options)
    with pytest.raises(ValueError, match=match):
        conditional.sample_trajectory(5, **options)


@pytest.mark.parametrize("options", [{"steps": 2.5}, {"eta": "0"}, {"steps": True}])
def test_sampler_options_of_the_wrong_type(conditional, options):
    ((name, value),) = options.items()
    with pytest.raises(TypeError, match=rf"{name} must be a .*, got {name}={value!r} \("):
        conditional.sample(5, method="ddim", **options)


def test_bad_cond_drop_prob(tiny, blobs):
    X, y = blobs
    with pytest.raises(
        ValueError,
        match="'cond_drop_prob' parameter of DiffusionGenerator must be a float in the range \\[0.0, 1.0\\)",
    ):
        tiny(cond_drop_prob=1.0).fit(X, y)


@pytest.mark.slow
def test_rows_without_y_follow_the_class_shares_seen_at_fit(tiny):
    rng = np.random.default_rng(1)
    y = np.where(rng.random(1500) < 0.8, "left", "right")
    X = rng.normal(size=(1500, 2)) + np.where(y == "left", -4.0, 4.0)[:, None]
    gen = tiny().fit(X, y)
    np.testing.assert_allclose(gen.class_prior_, [np.mean(y == "left"), np.mean(y == "right")])
    share_left = np.mean(gen.sample(2000, random_state=0)[:, 0] < 0)
    # binomial sd of the share is 0.009
    assert abs(share_left - gen.class_prior_[0]) < 0.04


def test_score_without_y_is_the_mixture_of_the_class_bounds(tiny, conditional, blobs):
    X = blobs[0][:40]
    per_class = np.stack([conditional.score_samples(X, y=c) for c in conditional.classes_])
    mixture = conditional.score_samples(X)
    expected = np.log(conditional.class_prior_ @ np.exp(per_class))
    np.testing.assert_allclose(mixture, expected, rtol=1e-10)
    # above each class's own term, below their plain sum
    assert np.all(mixture >= (per_class + np.log(conditional.class_prior_)[:, None]).max(0))
    assert not hasattr(tiny().fit(X), "class_prior_")
