"""What a fitted model is on disk: its state as plain values and CPU tensors, and the
safe model file, tensors in safetensors, everything else as tagged JSON.

:func:`export_state` and :func:`restore_state` are the one mechanism behind pickle,
joblib, ``save``/``load`` and a warm start's copy of the fitted state: a restored
network is laid out as the fitted one was (flattened weights), so it computes the
same numbers bit for bit. This module knows nothing of the maths.

Loading builds only plain values (numbers, strings, lists, tuples, dicts, numpy
arrays, dtypes, ``RandomState`` states) and tensors: nothing in the file is code,
and nothing is unpickled. A SHA-256 digest over the JSON and every tensor catches a
file changed or cut short after it was written.
"""

import contextlib
import hashlib
import json
import os
import secrets
import struct
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._columns import TableEncoder
from ._runtime import loadable_device, resolve_device
from .network import build_network
from .schedules import NoiseSchedule
from .training import EMA, TrainingState, flatten_parameters, make_optimizer

__all__ = [
    "FORMAT_VERSION",
    "PersistenceMixin",
    "build_torch_state",
    "continued_state",
    "decode",
    "encode",
    "export_state",
    "read_model_file",
    "rebuilding",
    "restore_state",
    "write_model_file",
]

# Attributes holding torch objects: stored as CPU tensors and the device's name.
TORCH_ATTRIBUTES = ("network_", "ema_network_", "optimizer_", "device_")

# Bump when a file written by this version cannot be read by an older one. Format 2
# (skddpm 0.2) keeps the columns as one table encoder; format 1 files still load.
FORMAT_VERSION = 2
# Each class that saves itself writes its own format tag, and loading refuses another's.
_FORMATS = ("DiffusionGenerator", "DiffusionImputer")

# A safetensors file starts with the length of its JSON header; ours are kilobytes.
_MAX_HEADER_BYTES = 100 * 2**20


def export_state(model):
    """``(state, tensors)``: a model's attributes without torch objects, and CPU tensors.

    The network, its average and Adam's moments become CPU tensors of their own (each
    weight is a view into one flat tensor, and pickle would write the whole of it once
    per view), the device a string: nothing in the state is tied to a device.
    """
    state = {k: v for k, v in model.__dict__.items() if k not in TORCH_ATTRIBUTES}
    if not hasattr(model, "network_"):
        return state, {}
    tensors = {}
    for prefix, module in (("network_", model.network_), ("ema_network_", model.ema_network_)):
        if module is not None:
            for name, tensor in module.state_dict().items():
                tensors[f"{prefix}.{name}"] = tensor.detach().to("cpu", copy=True)
    optimizer = model.optimizer_.state_dict()
    for index, moments in optimizer["state"].items():
        for name, tensor in moments.items():
            tensors[f"optimizer_.{index}.{name}"] = tensor.detach().to("cpu", copy=True)
    state["_torch"] = {
        "device": str(model.device_),
        "has_ema": model.ema_network_ is not None,
        "param_groups": optimizer["param_groups"],
    }
    return state, tensors


def build_torch_state(model, tensors, torch_state, device):
    """``(network, ema_network, optimizer)`` on ``device`` from :func:`export_state`'s output.

    ``model`` gives the structure (``_structure``, ``encoder_``, ``classes_``).
    The weights are flattened as training leaves them.
    """
    n_classes = len(model.classes_) if hasattr(model, "classes_") else 0

    def module(prefix):
        weights = {
            name[len(prefix) + 1 :]: tensor
            for name, tensor in tensors.items()
            if name.startswith(prefix + ".")
        }
        n_inputs, one_hot = model.encoder_.network_inputs()
        network = build_network(
            model._structure, n_inputs, n_classes=n_classes, one_hot_features=one_hot
        )
        network.load_state_dict(weights)
        return network.to(device)

    network = module("network_")
    moments = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer_."):
            _, index, key = name.split(".", 2)
            moments.setdefault(int(index), {})[key] = tensor
    optimizer = make_optimizer(network, model.learning_rate_init)
    optimizer.load_state_dict({"state": moments, "param_groups": torch_state["param_groups"]})
    ema_network = None
    if torch_state["has_ema"]:
        ema_network = module("ema_network_").requires_grad_(False)
        flatten_parameters(ema_network, grads=False)
    return network, ema_network, optimizer


def restore_state(model, state, tensors, device=None):
    """Set a model's attributes from :func:`export_state`'s output, on ``device`` if given.

    None puts the network on the device it was fitted on, or on the CPU, with a
    warning, where that device does not exist.
    """
    state = _upgraded(dict(state))
    torch_state = state.pop("_torch", None)
    model.__dict__.update(state)
    if torch_state is None:
        return
    if device is None:
        device = loadable_device(torch_state["device"])
    else:
        model.device = device
        device = resolve_device(device)
    model.network_, model.ema_network_, model.optimizer_ = build_torch_state(
        model, tensors, torch_state, device
    )
    model.device_ = device


# Format 1 (skddpm 0.1) kept the columns as eleven attributes of the generator.
_FORMAT_1_COLUMNS = {
    "mean": "mean_",
    "scale": "scale_",
    "data_min": "data_min_",
    "data_max": "data_max_",
    "integer_columns": "integer_columns_",
    "is_categorical": "is_categorical_",
    "categories": "categories_",
    "missing": "_missing_columns",
    "dtypes": "_column_dtypes",
    "names": "_column_names",
    "quantiles": "_quantiles",
}


def _upgraded(state):
    """A generator's state of any format as this version lays it out."""
    if "mean_" in state and "encoder_" not in state:
        fields = {key: state.pop(name) for key, name in _FORMAT_1_COLUMNS.items()}
        state["encoder_"] = TableEncoder(**fields)
    return state


def continued_state(model, device):
    """A copy of a fitted model's network, average and optimizer: a warm fit's start.

    Training a copy means a fit that fails leaves the fitted model as it was. The copy
    is made as pickle makes one, so it is on ``device`` and laid out as after a fit;
    the learning rate is the current ``learning_rate_init``.
    """
    state, tensors = export_state(model)
    module, average, optimizer = build_torch_state(model, tensors, state["_torch"], device)
    for group in optimizer.param_groups:
        group["lr"] = model.learning_rate_init
    ema = None
    if model.ema_decay > 0:
        n_updates = state["_ema_updates"] if average is not None else 0
        ema = EMA(module, model.ema_decay, average=average, n_updates=n_updates)
    validation = model.validation_loss_curve_
    return TrainingState(
        module,
        optimizer,
        ema,
        list(model.loss_curve_),
        None if validation is None else list(validation),
    )


class PersistenceMixin:
    """``save``, ``load`` and pickling for an estimator with torch attributes.

    Pickle, joblib and the safe file all go through :func:`export_state` and
    :func:`restore_state`.
    """

    def __getstate__(self):
        state, tensors = export_state(self)
        return {**state, "_torch_tensors": tensors}

    def __setstate__(self, state):
        state = dict(state)
        tensors = state.pop("_torch_tensors", {})
        restore_state(self, state, tensors)

    def save(self, path):
        """Write the generator to ``path`` in a format that loading never executes.

        The weights (of the network, its moving average and Adam's moments) go into a
        safetensors file; the parameters and fitted attributes into its JSON header,
        with a format version and a SHA-256 checksum. :meth:`load` reads it back on any
        device. Unlike pickle, a model file from an untrusted source cannot run code.
        The file gets the permissions ``open`` would give a new file (``0o666`` less
        the umask).

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced if it exists). ``.skddpm`` is a good suffix.

        Returns
        -------
        self : DiffusionGenerator
        """
        check_is_fitted(self)
        state, tensors = export_state(self)
        content = {"state": encode(state, type(self).__name__)}
        write_model_file(path, "DiffusionGenerator", content, tensors)
        return self

    @classmethod
    def load(cls, path, *, device=None):
        """Read a generator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : {"cpu", "cuda", "cuda:N", "auto"}, default=None
            Where to put the network; it also becomes the ``device`` parameter. None
            uses the device it was fitted on, or the CPU, with a warning, where that
            device does not exist.

        Returns
        -------
        generator : DiffusionGenerator
            Fitted, sampling the same rows as the saved one for the same
            ``random_state`` (on the same device).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file is not a model, is truncated or was changed after it was saved,
            or comes from a newer skddpm.
        """
        content, tensors = read_model_file(path, "DiffusionGenerator", device=device)
        model = cls.__new__(cls)
        with rebuilding(path):
            restore_state(model, decode(content["state"]), tensors, device)
        return model


@contextlib.contextmanager
def rebuilding(path):
    """Turn a failure to rebuild a model from a file that read well into one clear error."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            f"{str(path)!r} holds a skddpm model that this version cannot rebuild "
            f"({type(exc).__name__}: {exc}). Save it again with this version."
        ) from None


def encode(value, name="value"):
    """``value`` as JSON-able data, with tags for the types JSON lacks."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return encode(value.item(), name)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, f"{name}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        items = [[encode(k, name), encode(v, f"{name}[{k!r}]")] for k, v in value.items()]
        return {"__dict__": items}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufU":
            items = value.ravel().tolist()
        elif value.dtype.kind == "O":
            items = [encode(v, f"{name}[...]") for v in value.ravel().tolist()]
        else:
            raise TypeError(f"{name} is an array of dtype {value.dtype}; {_UNSUPPORTED}")
        return {"__ndarray__": items, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, np.random.RandomState):
        return {"__random_state__": encode(value.get_state(), name)}
    if isinstance(value, NoiseSchedule):
        return {"__noise_schedule__": encode(value.betas, name)}
    if isinstance(value, TableEncoder):
        return {"__table_encoder__": encode(value.state(), name)}
    raise TypeError(f"{name}={value!r} is of type {type(value).__name__}; {_UNSUPPORTED}")


_UNSUPPORTED = (
    "the safe model format stores numbers, strings, lists, tuples, dicts, numpy arrays, "
    "noise schedules and RandomState seeds only. Use plain values, or pickle/joblib, "
    "which store anything."
)


def decode(data):
    """The inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["__dict__"]}
    if "__ndarray__" in data:
        dtype = np.dtype(data["dtype"])
        items = data["__ndarray__"]
        if dtype.kind == "O":
            array = np.empty(len(items), dtype=object)
            array[:] = [decode(v) for v in items]
        else:
            array = np.array(items, dtype=dtype)
        return array.reshape(data["shape"])
    if "__dtype__" in data:
        return np.dtype(data["__dtype__"])
    if "__device__" in data:
        return torch.device(data["__device__"])
    if "__random_state__" in data:
        random_state = np.random.RandomState()
        random_state.set_state(decode(data["__random_state__"]))
        return random_state
    if "__noise_schedule__" in data:
        return NoiseSchedule(decode(data["__noise_schedule__"]), warn=False)
    if "__table_encoder__" in data:
        return TableEncoder(**decode(data["__table_encoder__"]))
    raise ValueError(f"unknown tags {sorted(data)}")


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _digest(header, tensors):
    digest = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}:{tensor.dtype}:{list(tensor.shape)};".encode())
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def write_model_file(path, kind, content, tensors):
    """Write ``content`` (JSON-able) and CPU ``tensors`` (each with a storage of its own,
    as :func:`export_state` makes them) to ``path`` in one step, tagged as a ``kind``
    (one of the class names in ``_FORMATS``)."""
    from safetensors.torch import save

    from . import __version__

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {str(path)!r}: the folder {str(path.parent)!r} does not exist. "
            "Create it first, or choose a path in an existing folder."
        )
    if path.is_dir():
        raise IsADirectoryError(f"Cannot save to {str(path)!r}: it is a folder; add a file name.")
    versions = {
        "format": f"skddpm.{kind}",
        "format_version": FORMAT_VERSION,
        "skddpm_version": __version__,
    }
    header = json.dumps({**versions, **content})
    metadata = {"skddpm": header, "sha256": _digest(header, tensors)}
    data = save(tensors, metadata=metadata)
    # Written beside path and renamed onto it, so a failed write never leaves half a
    # model behind; created as open() creates a file (0666 less the umask), so whoever
    # may read the directory's other new files may read this one.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_model_file(path, kind, *, device=None):
    """``(content, tensors)`` from a file :func:`write_model_file` wrote as a ``kind``,
    or a clear error (one that names the right class where the file holds another).
    ``device``, the one a load asks for, is checked first."""
    from safetensors import SafetensorError, safe_open

    from . import __version__

    if device is not None:
        resolve_device(device)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No model file at {str(path)!r}: check the path.")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a model file.")
    not_a_model = f"{str(path)!r} is not a skddpm model file"
    size = path.stat().st_size
    with open(path, "rb") as file:
        start = file.read(9)
    if len(start) < 9 or start[8:9] != b"{":
        raise ValueError(f"{not_a_model}; {kind}.save writes those.")
    (header_bytes,) = struct.unpack("<Q", start[:8])
    if header_bytes > _MAX_HEADER_BYTES:
        raise ValueError(f"{not_a_model}; {kind}.save writes those.")
    if 8 + header_bytes > size:
        raise ValueError(
            f"{str(path)!r} is truncated: it ends inside its header ({size} bytes). "
            "Save the model again."
        )
    try:
        with safe_open(path, framework="pt") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except SafetensorError as exc:
        raise ValueError(
            f"{str(path)!r} is damaged or truncated and cannot be read ({exc}). "
            "Save the model again."
        ) from None
    if "skddpm" not in metadata:
        raise ValueError(f"{not_a_model}: it is a safetensors file without skddpm metadata.")
    header = metadata["skddpm"]
    if metadata.get("sha256") != _digest(header, tensors):
        raise ValueError(
            f"{str(path)!r} is damaged: its checksum does not match its contents, so it "
            "was changed or cut short after it was saved. Save the model again."
        )
    content = json.loads(header)
    tag = content.get("format")
    if tag == "skddpm.DiffusionGenerator" and "imputer" in content:
        tag = "skddpm.DiffusionImputer"  # skddpm 0.1 tagged an imputer's file so
    held = tag.removeprefix("skddpm.") if isinstance(tag, str) else None
    if held not in _FORMATS or tag != f"skddpm.{held}":
        raise ValueError(f"{not_a_model}: its format is {tag!r}.")
    version = content.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} was written by skddpm {content.get('skddpm_version')} in model "
            f"format {version}, newer than the format {FORMAT_VERSION} that this skddpm "
            f"{__version__} reads. Upgrade skddpm to load it."
        )
    if held != kind:
        raise ValueError(f"{str(path)!r} holds a {held}, not a {kind}; read it with {held}.load.")
    return content, tensors
