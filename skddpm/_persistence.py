"""The safe model file: tensors in safetensors, everything else as tagged JSON.

Loading builds only plain values (numbers, strings, lists, tuples, dicts, numpy
arrays, dtypes, ``RandomState`` states) and tensors: nothing in the file is code,
and nothing is unpickled. A SHA-256 digest over the JSON and every tensor catches a
file changed or cut short after it was written.
"""

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch

from .schedules import NoiseSchedule

__all__ = ["FORMAT_VERSION", "decode", "encode", "read_model_file", "write_model_file"]

# Bump when a file written by this version cannot be read by an older one.
FORMAT_VERSION = 1
_FORMAT = "skddpm.DiffusionGenerator"

# A safetensors file starts with the length of its JSON header; ours are kilobytes.
_MAX_HEADER_BYTES = 100 * 2**20


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


def write_model_file(path, content, tensors):
    """Write ``content`` (JSON-able) and CPU ``tensors`` to ``path`` in one step.

    The file is written beside ``path`` and renamed onto it, so a failed write never
    leaves half a model behind.
    """
    from safetensors.torch import save_file

    from . import __version__

    path = Path(path)
    versions = {"format": _FORMAT, "format_version": FORMAT_VERSION, "skddpm_version": __version__}
    header = json.dumps({**versions, **content})
    # Copies: the weights are views into one flat tensor, which safetensors refuses.
    tensors = {name: t.detach().to("cpu", copy=True) for name, t in tensors.items()}
    metadata = {"skddpm": header, "sha256": _digest(header, tensors)}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_model_file(path):
    """``(content, tensors)`` from a file :func:`write_model_file` wrote, or a clear error."""
    from safetensors import SafetensorError, safe_open

    from . import __version__

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
        raise ValueError(f"{not_a_model}; DiffusionGenerator.save writes those.")
    (header_bytes,) = struct.unpack("<Q", start[:8])
    if header_bytes > _MAX_HEADER_BYTES:
        raise ValueError(f"{not_a_model}; DiffusionGenerator.save writes those.")
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
    if content.get("format") != _FORMAT:
        raise ValueError(f"{not_a_model}: its format is {content.get('format')!r}.")
    version = content.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} was written by skddpm {content.get('skddpm_version')} in model "
            f"format {version}, newer than the format {FORMAT_VERSION} that this skddpm "
            f"{__version__} reads. Upgrade skddpm to load it."
        )
    return content, tensors
