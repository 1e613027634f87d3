"""Tables as users have them: categories, booleans, counts and missing cells.

The multinomial maths is checked against brute-force Bayes; the estimator on small
mixed DataFrames, for what comes back (columns, dtypes, levels, missing cells at the
data's rates) and for the errors a user meets on the way.
"""

import itertools
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from skddpm import DiffusionGenerator
from skddpm.diffusion import GaussianDiffusion
from skddpm.multinomial import CategoricalBlock
from skddpm.schedules import NoiseSchedule, make_beta_schedule

# -- the multinomial maths ---------------------------------------------------------------------


def _categorical(probs, k):
    """Cat(probs) over k levels as a dict, for brute force."""
    return {level: float(probs[level]) for level in range(k)}


def test_the_posterior_is_bayes_rule_for_any_pair_of_steps():
    # q(x_t' | x_t, x0) ∝ q(x_t | x_t') q(x_t' | x0), each a mix with the uniform.
    sizes = [3, 2]
    block = CategoricalBlock(sizes)
    abar_t, abar_prev = 0.3, 0.8
    for levels in itertools.product(range(3), range(2)):
        x0 = torch.zeros(1, 5)
        x0[0, levels[0]] = x0[0, 3 + levels[1]] = 1
        x_t = torch.zeros(1, 5)
        x_t[0, 2] = x_t[0, 3] = 1
        got = block.posterior(block.pad(x_t, 0.0), block.log_onehot(x0), abar_t, abar_prev)
        for g, (k, start) in enumerate(zip(sizes, (0, 3))):
            r = abar_t / abar_prev
            level_t = int(torch.argmax(x_t[0, start : start + k]))
            level_0 = levels[g]
            joint = np.array(
                [
                    (r * (j == level_t) + (1 - r) / k)
                    * (abar_prev * (j == level_0) + (1 - abar_prev) / k)
                    for j in range(k)
                ]
            )
            np.testing.assert_allclose(got[0, g, :k].exp().numpy(), joint / joint.sum(), rtol=1e-5)
            assert torch.isneginf(got[0, g, k:]).all()


def test_the_forward_process_composes():
    # Mixing with ᾱ_s then with ᾱ_t/ᾱ_s is mixing with ᾱ_t.
    block = CategoricalBlock([4])
    x0 = block.log_onehot(torch.tensor([[0.0, 1.0, 0.0, 0.0]]))
    once = block.log_mix(x0, 0.2).exp()
    twice = block.log_mix(torch.log(block.log_mix(x0, 0.5).exp()), 0.2 / 0.5).exp()
    torch.testing.assert_close(once, twice)


def test_gumbel_draws_follow_the_probabilities():
    block = CategoricalBlock([3, 1])
    probs = torch.tensor([0.6, 0.3, 0.1])
    log_p = torch.log(torch.stack([probs, torch.tensor([1.0, 0, 0])])).expand(40_000, 2, 3)
    noise = torch.randn(40_000, 4, generator=torch.Generator().manual_seed(0))
    draws = block.draw(log_p, noise)
    np.testing.assert_allclose(draws[:, 0].mean(0).numpy(), probs.numpy(), atol=0.01)
    assert (draws[:, 1, 0] == 1).all()  # a one-level variable has one outcome


@pytest.mark.parametrize("abar_t, abar_prev", [(0.05, 0.9), (0.3, 0.5), (0.2, 1.0)])
def test_a_skipped_step_from_the_true_x0_posterior_keeps_the_marginals(abar_t, abar_prev):
    # If x̂₀ is the true p(x₀ | x_t), the reverse step from t to any t' < t must carry
    # q(x_t) to q(x_t'): the mixture of posteriors does, for any gap.
    prior = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    block = CategoricalBlock([3])
    k = 3

    def marginal(abar):
        return abar * prior + (1 - abar) / k

    reached = torch.zeros(3, dtype=torch.float64)
    for level in range(3):
        x_t = torch.zeros(1, 1, 3, dtype=torch.float64)
        x_t[0, 0, level] = 1
        likelihood = abar_t * (torch.arange(3) == level) + (1 - abar_t) / k
        posterior_x0 = likelihood * prior / (likelihood * prior).sum()
        step = block.posterior(x_t, torch.log(posterior_x0)[None, None], abar_t, abar_prev)
        reached += marginal(abar_t)[level] * step[0, 0].exp()
    torch.testing.assert_close(reached, marginal(abar_prev))


def test_the_objective_is_zero_for_a_perfect_categorical_denoiser():
    schedule = NoiseSchedule(make_beta_schedule("cosine", 20, 1e-4, 0.02))
    diffusion = GaussianDiffusion(schedule, categories=(3,))
    x0 = torch.eye(3)[[0, 1, 2, 1]]
    t = torch.tensor([1, 5, 12, 20])
    x_t, target = diffusion.training_pair(x0, t, torch.randn(4, 3))
    # Logits that put (almost) all mass on the true level make p_θ = q.
    perfect = torch.log(x0.clamp_min(1e-12))
    assert diffusion.objective(perfect, target, x_t, t).item() < 1e-6
    assert diffusion.objective(torch.zeros(4, 3), target, x_t, t).item() > 1e-3


def test_the_bound_of_a_categorical_column_sums_to_at_most_one(tiny):
    # exp(bound) lower-bounds p(x); summed over every level it is at most 1, and for a
    # model that learned the column it is close to 1. Each figure is a one-draw
    # estimate of its bound (one x_t per step), hence the slack above 1 (1.06 here);
    # leaving out the discrete terms would give 3.
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"c": rng.choice(["a", "b", "c"], size=600, p=[0.6, 0.3, 0.1])})
    gen = tiny(max_iter=60).fit(df)
    levels = pd.DataFrame({"c": ["a", "b", "c"]})
    total = np.exp(gen.score_samples(levels)).sum()
    assert 0.8 < total <= 1.25


# -- column kinds ------------------------------------------------------------------------------


def _table(n=400, seed=0, missing=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = np.where(x > 0.5, "red", np.where(x < -0.5, "blue", "green"))
    df = pd.DataFrame(
        {
            "x": x,
            "colour": pd.Series(colour, dtype="str"),
            "flag": rng.random(n) < 0.3,
            "count": rng.poisson(3, size=n),
            "size": pd.Categorical(
                rng.choice(["S", "M", "L"], size=n), categories=["S", "M", "L", "XL"], ordered=True
            ),
            "y": 2 * x + rng.normal(scale=0.3, size=n),
        }
    )
    if missing:
        for name in ("x", "y", "colour"):
            df.loc[rng.random(n) < missing, name] = None
    return df


def test_column_kinds_come_from_the_dtypes(tiny):
    gen = tiny(max_iter=1).fit(_table())
    np.testing.assert_array_equal(gen.is_categorical_, [False, True, True, False, True, False])
    assert gen.categories_[1].tolist() == ["blue", "green", "red"]
    assert gen.categories_[2].tolist() == [False, True]
    assert gen.categories_[4].tolist() == ["S", "M", "L"]  # the dtype's order, those seen
    assert gen.categories_[0] is None


@pytest.mark.parametrize(
    "features", [["count", "colour", "flag", "size"], [1, 2, 3, 4], [0, 1, 1, 1, 1, 0]]
)
def test_categorical_features_overrides_the_dtypes(tiny, features):
    if len(features) == 6:
        features = np.array(features, dtype=bool)
    gen = tiny(max_iter=1, categorical_features=features).fit(_table())
    assert gen.is_categorical_[3]
    out = gen.sample(50)
    assert out["count"].dtype == np.int64
    assert set(out["count"]) <= set(gen.categories_[3].tolist())


@pytest.mark.parametrize(
    "features, match",
    [
        (None, r"Column 'colour' of X has dtype str but categorical_features=None makes it"),
        ([7], "categorical_features holds the index 7, but X has 6 columns"),
        (["colour", "nope"], "categorical_features names 'nope', which is not a column of X"),
        ([True, False], "boolean mask of length 2 but X has 6 columns"),
    ],
)
def test_bad_categorical_features_are_named(tiny, features, match):
    with pytest.raises(ValueError, match=match):
        tiny(max_iter=1, categorical_features=features).fit(_table())


def test_names_without_a_dataframe_are_refused(tiny):
    with pytest.raises(ValueError, match="names columns, but X has no column names"):
        tiny(max_iter=1, categorical_features=["a"]).fit(np.ones((10, 2)))


# -- what comes back ---------------------------------------------------------------------------


def test_a_dataframe_comes_back_with_its_columns_dtypes_and_levels(tiny):
    df = _table(missing=0.1)
    df["n"] = pd.array(np.where(np.arange(len(df)) % 7 == 0, None, np.arange(len(df))), "Int64")
    gen = tiny(max_iter=2).fit(df)
    out = gen.sample(300)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert set(out["colour"].dropna()) <= {"blue", "green", "red"}
    assert set(out["size"].dropna()) <= {"S", "M", "L"}  # XL was never seen
    assert out["count"].dtype == np.int64 and out["count"].between(0, df["count"].max()).all()
    assert out["flag"].dtype == bool


def test_an_array_comes_back_as_an_array(tiny):
    X = np.column_stack([np.arange(40.0), np.arange(40) % 3])
    gen = tiny(max_iter=1, categorical_features=[1]).fit(X)
    out = gen.sample(20)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert set(out[:, 1]) <= {0.0, 1.0, 2.0}
    text = np.array([[1.5, "a"], [2.5, "b"]] * 10, dtype=object)
    out = tiny(max_iter=1).fit(text).sample(5)
    assert out.dtype == object and set(out[:, 1]) <= {"a", "b"}


@pytest.mark.slow
def test_categories_and_their_link_to_the_numbers_are_learned():
    df = _table(n=2000)
    gen = DiffusionGenerator(
        timesteps=50, hidden_layer_sizes=(64, 64), max_iter=60, random_state=0
    ).fit(df)
    out = gen.sample(3000, random_state=1)
    real = df["colour"].value_counts(normalize=True)
    made = out["colour"].value_counts(normalize=True)
    np.testing.assert_allclose(made[real.index], real, atol=0.05)
    # colour is a function of x: each colour's x stays on its side
    assert out.loc[out["colour"] == "red", "x"].mean() > 0.5
    assert out.loc[out["colour"] == "blue", "x"].mean() < -0.5
    assert abs(out["flag"].mean() - df["flag"].mean()) < 0.04


@pytest.mark.slow
def test_missing_cells_come_back_at_each_columns_rate():
    # The table: 10 % of cells missing in two numeric columns and a text one.
    # Two fits, so that the rates measure the model rather than one run's luck (one
    # run here is 0.8 to 2.2 points low).
    df = _table(n=2000, seed=1, missing=0.1)
    out = pd.concat(
        [
            DiffusionGenerator(timesteps=50, hidden_layer_sizes=(64, 64), random_state=seed)
            .fit(df)
            .sample(3000)
            for seed in (0, 1)
        ]
    )
    for name in ("x", "y", "colour"):
        assert abs(out[name].isna().mean() - df[name].isna().mean()) < 0.03, name
    for name in ("flag", "count", "size"):
        assert not out[name].isna().any()
    # the observed values keep their place and spread
    assert abs(np.nanmean(out["y"]) - np.nanmean(df["y"])) < 0.15 * np.nanstd(df["y"])
    assert abs(np.nanstd(out["y"]) / np.nanstd(df["y"]) - 1) < 0.2


@pytest.mark.slow
def test_the_pattern_of_missing_cells_is_learned():
    # y is missing exactly where x is large: the pattern, not just the rate.
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    y = x + rng.normal(scale=0.5, size=2000)
    y[x > 1] = np.nan
    gen = DiffusionGenerator(
        timesteps=50, hidden_layer_sizes=(64, 64), max_iter=40, random_state=0
    ).fit(pd.DataFrame({"x": x, "y": y}))
    out = gen.sample(4000)
    assert out.loc[out["x"] > 1.3, "y"].isna().mean() > 0.85
    assert out.loc[out["x"] < 0.7, "y"].isna().mean() < 0.05


def test_an_all_missing_column_and_a_constant_one_round_trip_under_early_stopping(tiny):
    df = pd.DataFrame(
        {
            "x": np.arange(60.0),
            "empty": np.full(60, np.nan),
            "same": ["k"] * 60,
            "one": np.ones(60),
        }
    )
    gen = tiny(max_iter=3, early_stopping=True).fit(df)
    out = gen.sample(30)
    assert out["empty"].isna().all()
    assert (out["same"] == "k").all() and (out["one"] == 1).all()
    assert np.isfinite(gen.score_samples(df)).all()


# -- everything else keeps working ---------------------------------------------------------------


def test_labels_guidance_scores_and_the_trajectory_on_a_mixed_table(tiny):
    df = _table(missing=0.1)
    labels = np.where(df["flag"], "on", "off")
    gen = tiny(max_iter=2).fit(df, labels)
    out = gen.sample(20, y="on", guidance_scale=2.0)
    assert out.shape == (20, 6)
    scores = gen.score_samples(df.iloc[:10])
    assert scores.shape == (10,) and np.isfinite(scores).all()
    for method in ("ddim", "dpm"):
        xs, x0_hats = gen.sample_trajectory(4, method=method, steps=3)
        assert xs.shape == (4, 4, 6) and x0_hats.shape == (3, 4, 6)
        assert set(np.unique(xs[:, :, 1])) <= {0.0, 1.0, 2.0, 3.0}  # level indices of colour
        assert gen.sample(20, method=method, y="off").shape == (20, 6)


def test_save_load_and_pickle_keep_levels_and_dtypes(tiny, tmp_path):
    df = _table(missing=0.1)
    gen = tiny(max_iter=2).fit(df)
    expected = gen.sample(50, random_state=3)
    gen.save(tmp_path / "model.skddpm")
    for other in (
        DiffusionGenerator.load(tmp_path / "model.skddpm"),
        pickle.loads(pickle.dumps(gen)),
    ):
        got = other.sample(50, random_state=3)
        pd.testing.assert_frame_equal(got, expected)
        assert other.categories_[1].tolist() == ["blue", "green", "red"]


def test_warm_start_names_new_categories_and_new_missing_cells(tiny):
    df = _table()
    gen = tiny(max_iter=1, warm_start=True).fit(df)
    more = df.copy()
    more.loc[:2, "colour"] = "purple"
    with pytest.raises(ValueError, match=r"Column 'colour' of X holds \['purple'\], not among"):
        gen.fit(more)
    more = df.copy()
    more.loc[:2, "x"] = np.nan
    with pytest.raises(ValueError, match="Column 'x' of X holds missing values .* had none"):
        gen.fit(more)
    gen.fit(df)  # the first table still continues
    assert len(gen.loss_curve_) == 2


def test_grid_search_on_a_mixed_table(tiny):
    search = GridSearchCV(tiny(max_iter=1), {"timesteps": [20, 30]}, cv=2).fit(_table())
    assert np.isfinite(search.best_score_)


def test_unseen_categories_when_scoring_and_in_y_are_named(tiny):
    df = _table()
    gen = tiny(max_iter=1).fit(df, np.where(df["flag"], "on", "off"))
    other = df.iloc[:5].copy()
    other["colour"] = "gold"
    with pytest.raises(ValueError, match=r"holds \['gold'\], not among the categories seen"):
        gen.score_samples(other)
    with pytest.raises(ValueError, match="y holds 'maybe', which is not one of the classes"):
        gen.sample(3, y="maybe")


@pytest.mark.parametrize(
    "cells, match",
    [
        (
            [[1], [2], [1], [3]],
            r"Column 'c' of X holds a cell that cannot be a category .*unhashable",
        ),
        (["a", 1, "b", 2.5], r"Column 'c' of X mixes values of types \['float', 'int', 'str'\]"),
    ],
)
def test_cells_that_cannot_be_categories_are_named(tiny, cells, match):
    df = pd.DataFrame({"x": np.arange(4.0), "c": pd.Series(cells, dtype=object)})
    with pytest.raises(TypeError, match=match):
        tiny(max_iter=1).fit(df)


def test_a_column_of_infinity_is_named(tiny):
    df = pd.DataFrame({"x": [1.0, np.inf, 2.0], "c": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="Column 'x' of X holds infinity"):
        tiny(max_iter=1).fit(df)


def test_an_empty_dataframe_is_refused(tiny):
    with pytest.raises(ValueError, match="0 sample"):
        tiny(max_iter=1).fit(pd.DataFrame({"x": []}))


# -- the quantile transform --------------------------------------------------------------------


def _quantile_columns(values):
    from skddpm._columns import TableEncoder

    frame = pd.DataFrame({"v": values})
    return TableEncoder.fit(frame, np.array([False]), False, "quantile"), frame


def test_the_quantile_map_inverts_and_its_log_jacobian_is_its_slope():
    x = np.random.default_rng(0).lognormal(size=800)
    columns, _ = _quantile_columns(x)
    z = columns.to_model_units(x[:, None])
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05  # normal scores
    np.testing.assert_allclose(columns.from_model_units(z)[:, 0], x, rtol=1e-9)
    points = np.array([0.3, 1.1, 4.0, 60.0])  # the last beyond the range seen at fit
    h = 1e-6
    slope = (
        columns.to_model_units((points + h)[:, None])
        - columns.to_model_units((points - h)[:, None])
    )[:, 0] / (2 * h)
    np.testing.assert_allclose(
        columns.log_jacobian(pd.DataFrame({"v": points})), np.log(slope), rtol=1e-5
    )


def test_values_the_data_piles_on_come_back_piled():
    # A column on a grid of 0.5 with heaps at whole numbers, as prices and sizes are.
    rng = np.random.default_rng(0)
    grid = np.round(rng.gamma(3.0, 2.0, size=3000) * 2) / 2
    columns, _ = _quantile_columns(grid)
    z = rng.normal(size=(4000, 1))
    back = columns.from_model_units(z)[:, 0]
    on_grid = np.isclose(back * 2, np.round(back * 2))
    assert on_grid.mean() > 0.9


def test_numeric_transform_quantile_fits_scores_and_round_trips(tiny, tmp_path):
    df = _table(missing=0.1)
    gen = tiny(max_iter=2, numeric_transform="quantile").fit(df)
    out = gen.sample(100)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert out["x"].dropna().between(df["x"].min(), df["x"].max()).all()
    assert np.isfinite(gen.score_samples(df)).all()
    gen.save(tmp_path / "q.skddpm")
    again = DiffusionGenerator.load(tmp_path / "q.skddpm").sample(100)
    pd.testing.assert_frame_equal(again, out)
