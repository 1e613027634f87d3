"""Pickle, joblib and the safe model format; loading on a machine without the fit's GPU."""

import json
import os
import pickle
import stat
import struct

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

import skddpm._persistence as persistence
from skddpm import DiffusionGenerator
from skddpm._persistence import decode, encode


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[:, 2] = np.round(X[:, 2] * 3)  # a whole-number column
    return X, np.repeat(["cat", "dog", "eel"], 100)


@pytest.fixture(scope="module")
def fitted(tiny, data):
    return tiny().fit(data[0])


@pytest.fixture(scope="module")
def conditional(tiny, data):
    return tiny().fit(*data)


@pytest.fixture
def model_file(tmp_path, conditional):
    path = tmp_path / "model.skddpm"
    conditional.save(path)
    return path


def same_model(a, b, X, **sample_params):
    np.testing.assert_array_equal(
        a.sample(25, random_state=3, **sample_params), b.sample(25, random_state=3, **sample_params)
    )
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.get_params() == b.get_params() or repr(a.get_params()) == repr(b.get_params())


def round_trips(tmp_path):
    def by_pickle(gen):
        return pickle.loads(pickle.dumps(gen))

    def by_joblib(gen):
        joblib.dump(gen, tmp_path / "model.joblib")
        return joblib.load(tmp_path / "model.joblib")

    def by_save(gen):
        gen.save(tmp_path / "model.skddpm")
        return DiffusionGenerator.load(tmp_path / "model.skddpm")

    return {"pickle": by_pickle, "joblib": by_joblib, "save": by_save}


@pytest.mark.parametrize("how", ["pickle", "joblib", "save"])
def test_round_trip_gives_identical_samples_and_scores(how, tmp_path, fitted, conditional, data):
    restore = round_trips(tmp_path)[how]
    same_model(fitted, restore(fitted), data[0][:20])
    same_model(conditional, restore(conditional), data[0][:20], y="dog", guidance_scale=2.0)


@pytest.mark.parametrize("how", ["pickle", "joblib", "save"])
def test_round_trip_keeps_every_fitted_attribute(how, tmp_path, conditional):
    restored = round_trips(tmp_path)[how](conditional)
    for name in ("mean_", "scale_", "data_min_", "data_max_", "integer_columns_", "classes_"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(conditional, name))
        assert getattr(restored, name).dtype == getattr(conditional, name).dtype
    assert restored.loss_curve_ == conditional.loss_curve_
    assert restored.validation_loss_curve_ == conditional.validation_loss_curve_
    assert restored.n_iter_ == conditional.n_iter_ and restored.n_features_in_ == 3
    np.testing.assert_array_equal(restored.noise_schedule_.betas, conditional.noise_schedule_.betas)
    assert restored.device_ == torch.device("cpu")
    for a, b in zip(restored.ema_network_.parameters(), conditional.ema_network_.parameters()):
        assert torch.equal(a, b) and not a.requires_grad


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_warm_start_continues_a_restored_model_exactly(tiny, how, tmp_path, data):
    original = tiny(warm_start=True).fit(*data)
    restored = round_trips(tmp_path)[how](original)
    original.fit(*data)
    restored.fit(*data)
    assert restored.loss_curve_ == original.loss_curve_
    same_model(original, restored, data[0][:10])


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_unusual_parameters_and_inputs_survive(tiny, how, tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(200, 2)).astype(np.float32), columns=["width", "depth"])
    betas = np.linspace(1e-2, 0.8, 25)
    gen = tiny(beta_schedule=betas, random_state=np.random.RandomState(7), ema_decay=0)
    gen.fit(X, np.arange(200) % 2)
    restored = round_trips(tmp_path)[how](gen)
    np.testing.assert_array_equal(restored.feature_names_in_, ["width", "depth"])
    np.testing.assert_array_equal(restored.get_params()["beta_schedule"], betas)
    assert restored.ema_network_ is None
    assert (restored.sample(4, random_state=0).dtypes == np.float32).all()  # a frame back
    np.testing.assert_array_equal(restored.classes_, [0, 1])
    # the RandomState keeps its position: both draw the same next seeds
    np.testing.assert_array_equal(
        restored.random_state.randint(1000, size=5), gen.random_state.randint(1000, size=5)
    )


def test_unfitted_estimator_pickles(tiny, tmp_path):
    restored = pickle.loads(pickle.dumps(tiny(timesteps=17)))
    assert restored.get_params()["timesteps"] == 17
    assert not hasattr(restored, "network_")


def test_a_cuda_fitted_model_loads_on_the_cpu_with_a_warning(fitted, data):
    # What a model pickled on a GPU machine holds: CPU tensors and the device's name.
    state = fitted.__getstate__()
    assert all(t.device.type == "cpu" for t in state["_torch_tensors"].values())
    state["_torch"]["device"] = "cuda:0"
    restored = DiffusionGenerator.__new__(DiffusionGenerator)
    with pytest.warns(
        UserWarning,
        match="fitted on cuda:0, which this machine does not have; it is loaded on the CPU",
    ):
        restored.__setstate__(state)
    assert restored.device_ == torch.device("cpu")
    same_model(fitted, restored, data[0][:10])


def test_load_onto_a_chosen_device(model_file, conditional):
    restored = DiffusionGenerator.load(model_file, device="cpu")
    assert restored.device == "cpu" and restored.device_ == torch.device("cpu")
    with pytest.raises(ValueError, match="The 'device' parameter must be 'cpu', 'cuda'"):
        DiffusionGenerator.load(model_file, device="tpu")


def test_the_file_is_safetensors_with_a_json_header(model_file):
    from safetensors import safe_open

    with safe_open(model_file, framework="pt") as file:
        content = json.loads(file.metadata()["skddpm"])
        names = list(file.keys())
    assert content["format"] == "skddpm.DiffusionGenerator"
    assert content["format_version"] == persistence.FORMAT_VERSION
    assert any(name.startswith("network_.") for name in names)
    assert any(name.startswith("optimizer_.") for name in names)
    assert b"pickle" not in model_file.read_bytes()


def test_values_round_trip_through_the_json_encoding():
    values = {
        "tuple": (1, 2.5, "x", None, True),
        "nested": [{"a": (1,)}, np.arange(6, dtype=np.int16).reshape(2, 3)],
        "strings": np.array(["a", "bc"]),
        "objects": np.array(["a", 3], dtype=object),
        "dtype": np.dtype("float32"),
        1: float("inf"),
    }
    decoded = decode(json.loads(json.dumps(encode(values))))
    assert decoded["tuple"] == values["tuple"] and decoded[1] == float("inf")
    assert decoded["nested"][0] == {"a": (1,)}
    np.testing.assert_array_equal(decoded["nested"][1], values["nested"][1])
    assert decoded["nested"][1].dtype == np.int16
    assert decoded["strings"].dtype == values["strings"].dtype
    assert decoded["objects"].tolist() == ["a", 3] and decoded["dtype"] == np.float32


def test_values_it_cannot_store_are_named():
    with pytest.raises(
        TypeError,
        match=r"params\['f'\]=<function .* is of type function; the safe model format stores",
    ):
        encode({"f": lambda: 0}, "params")


def test_unknown_tags_are_refused():
    with pytest.raises(ValueError, match="unknown tags"):
        decode({"__reduce__": ["os.system", ["echo"]]})


# -- bad files -------------------------------------------------------------------------------


def test_save_before_fit(tiny, tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        tiny().save(tmp_path / "model.skddpm")


def test_load_a_missing_path(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="No model file at '.*nowhere.skddpm': check the path"
    ):
        DiffusionGenerator.load(tmp_path / "nowhere.skddpm")


def test_load_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, not a model file"):
        DiffusionGenerator.load(tmp_path)


@pytest.mark.parametrize("content", [b"", b"x,y\n1,2\n", b"\x00" * 64, pickle.dumps({"a": 1})])
def test_load_a_file_that_is_not_a_model(tmp_path, content):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a skddpm model file"):
        DiffusionGenerator.load(path)


def test_load_a_safetensors_file_of_someone_else(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(3)}, path)
    with pytest.raises(
        ValueError, match="is not a skddpm model file: it is a safetensors file without skddpm"
    ):
        DiffusionGenerator.load(path)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_load_a_truncated_file(model_file, keep):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="truncated"):
        DiffusionGenerator.load(model_file)


def test_load_a_file_with_a_changed_weight(model_file):
    data = bytearray(model_file.read_bytes())
    data[-10] ^= 0xFF  # a byte of the last tensor
    model_file.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is damaged: its checksum does not match"):
        DiffusionGenerator.load(model_file)


def test_load_a_file_with_a_changed_header(model_file):
    data = model_file.read_bytes()
    changed = data.replace(b'\\"timesteps\\", 25', b'\\"timesteps\\", 90', 1)
    assert changed != data
    model_file.write_bytes(changed)
    with pytest.raises(ValueError, match="is damaged: its checksum does not match"):
        DiffusionGenerator.load(model_file)


def test_load_a_file_from_a_newer_version(tmp_path, monkeypatch, conditional):
    path = tmp_path / "future.skddpm"
    newer = persistence.FORMAT_VERSION + 1
    monkeypatch.setattr(persistence, "FORMAT_VERSION", newer)
    conditional.save(path)
    monkeypatch.undo()
    with pytest.raises(
        ValueError,
        match=rf"in model format {newer}, newer than the format {newer - 1} that this skddpm .* reads. Upgrade skddpm",
    ):
        DiffusionGenerator.load(path)


def test_header_length_beyond_the_file_is_reported_as_truncated(tmp_path):
    path = tmp_path / "cut.skddpm"
    path.write_bytes(struct.pack("<Q", 5000) + b'{"__metadata__": {')
    with pytest.raises(ValueError, match="is truncated: it ends inside its header"):
        DiffusionGenerator.load(path)


def test_a_failed_save_leaves_the_old_file(model_file, monkeypatch, conditional):
    before = model_file.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save", broken)
    with pytest.raises(OSError, match="disk full"):
        conditional.save(model_file)
    assert model_file.read_bytes() == before
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]


# -- on a GPU -----------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_model_round_trips_and_loads_where_there_is_no_gpu(tiny, tmp_path, data, monkeypatch):
    gen = tiny(device="cuda").fit(*data)
    for restore in round_trips(tmp_path).values():
        restored = restore(gen)
        assert restored.device_.type == "cuda"
        np.testing.assert_array_equal(
            restored.sample(10, random_state=1), gen.sample(10, random_state=1)
        )
    blob = pickle.dumps(gen)
    gen.save(tmp_path / "cuda.skddpm")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for load in (
        lambda: pickle.loads(blob),
        lambda: DiffusionGenerator.load(tmp_path / "cuda.skddpm"),
    ):
        with pytest.warns(UserWarning, match="fitted on cuda:0, which this machine does not have"):
            restored = load()
        assert restored.device_ == torch.device("cpu")
        assert np.isfinite(restored.sample(10)).all()


# -- what a model costs to ship, and who may read its file ----------------------------------


def test_a_pickle_is_about_the_size_of_its_weights(tiny, data):
    # Each weight is a view into one flat tensor; pickling the views wrote the whole
    # flat storage once per view (18.5 MB for a default model, whose file is 1.4 MB).
    gen = tiny(hidden_layer_sizes=(128, 128), max_iter=1).fit(data[0])
    tensors = gen.__getstate__()["_torch_tensors"]
    weights = sum(t.numel() * t.element_size() for t in tensors.values())
    assert weights > 500_000
    assert len(pickle.dumps(gen)) < 1.05 * weights + 50_000


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_save_gives_the_file_the_mode_open_would(tmp_path, conditional, umask, mode):
    old = os.umask(umask)
    try:
        conditional.save(tmp_path / "model.skddpm")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.skddpm").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
