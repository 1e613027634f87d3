"""The runtime parameters: where tensors live (``device``), where randomness comes from
(``random_state``) and what the user sees while it runs (``verbose``).

Randomness comes from explicit ``torch.Generator`` objects seeded from a
``random_state``; the global numpy and torch random states are never read or changed.
This module knows nothing of the maths, the network or scikit-learn's base classes.
"""

import numbers
import re
import secrets
import warnings

import numpy as np
import torch

__all__ = [
    "CHUNK_SIZE",
    "check_sample_seed",
    "chunks",
    "draw_seed",
    "loadable_device",
    "numpy_random_state",
    "progress_bar",
    "resolve_device",
    "seed",
    "seed_sequence",
    "torch_generator",
]

# Rows per pass of the sampler and of the scoring loop: bounds memory whatever the
# number of rows. Measured on a 2-core CPU with the default network, 8,192 rows run a
# step twice as fast per row as 65,536 (whose activations no longer fit in cache).
CHUNK_SIZE = 8192

_DEVICE_PATTERN = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")

# A random_state int must fit numpy's legacy seeding, as scikit-learn's constraint says.
_MAX_SEED = 2**32 - 1


def check_sample_seed(random_state, name="random_state"):
    """``random_state`` if it is None, an int in [0, 2**32 - 1] or a RandomState, else an error.

    scikit-learn validates the constructor's ``random_state``; this checks the one that
    a method such as ``sample`` takes, with a message that names it.
    """
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if 0 <= random_state <= _MAX_SEED:
            return int(random_state)
    raise ValueError(
        f"The '{name}' parameter must be an int in the range [0, {_MAX_SEED}], a "
        f"numpy.random.RandomState instance or None, got {random_state!r}; for example "
        f"{name}=0."
    )


def seed_sequence(random_state):
    """A SeedSequence from a checked ``random_state``, leaving the global numpy state alone."""
    if random_state is None:
        return np.random.SeedSequence(secrets.randbits(64))
    if isinstance(random_state, numbers.Integral):
        return np.random.SeedSequence(int(random_state))
    return np.random.SeedSequence(draw_seed(random_state))


def draw_seed(random_state):
    """An int in [0, 2**31 - 1] to seed another estimator or call with, from ``random_state``.

    An int gives the first draw of ``RandomState(random_state)``; a RandomState instance,
    the user's own, is drawn from; None takes fresh entropy from the operating system,
    never numpy's global state (which ``sklearn.utils.check_random_state(None)`` is).
    """
    if random_state is None:
        return secrets.randbelow(np.iinfo(np.int32).max)
    if isinstance(random_state, numbers.Integral):
        random_state = np.random.RandomState(int(random_state))
    return int(random_state.randint(np.iinfo(np.int32).max))


def numpy_random_state(random_state):
    """A numpy RandomState from ``random_state``, as scikit-learn's ``check_random_state``
    gives, except that None is a fresh one seeded from the operating system's entropy,
    not numpy's global state."""
    if random_state is None:
        return np.random.RandomState(secrets.randbits(32))
    if isinstance(random_state, numbers.Integral):
        return np.random.RandomState(int(random_state))
    return random_state


def seed(sequence):
    """A non-negative 63-bit int, as ``torch.manual_seed`` takes."""
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def torch_generator(sequence, device):
    """A ``torch.Generator`` on ``device`` seeded from a SeedSequence."""
    return torch.Generator(device=device).manual_seed(seed(sequence))


def resolve_device(device):
    """The ``torch.device`` a ``device`` parameter names, or a clear error."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(
            f"The 'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}."
        )
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available to torch "
            f"{torch.__version__}. Use device='cpu', or device='auto' to take a GPU "
            "only where there is one."
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
            f"device(s) exist; use an index below {torch.cuda.device_count()}."
        )
    return torch.device("cuda", index)


def loadable_device(saved):
    """The device ``saved`` names if it exists here, else the CPU with a warning."""
    device = torch.device(saved)
    if device.type == "cuda" and (
        not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()
    ):
        warnings.warn(
            f"This DiffusionGenerator was fitted on {saved}, which this machine does not "
            "have; it is loaded on the CPU (device_='cpu'). Pass device= to "
            "DiffusionGenerator.load, or set_params(device='cpu') before fitting again.",
            UserWarning,
            stacklevel=5,
        )
        return torch.device("cpu")
    return device


def chunks(n_rows, verbose, desc):
    """``(start, stop)`` of each chunk of ``CHUNK_SIZE`` rows, behind a progress bar of rows
    when ``verbose``."""
    bounds = [(start, min(start + CHUNK_SIZE, n_rows)) for start in range(0, n_rows, CHUNK_SIZE)]
    if not verbose:
        yield from bounds
        return
    from tqdm.auto import tqdm

    with tqdm(total=n_rows, desc=desc, unit="row") as bar:
        for start, stop in bounds:
            yield start, stop
            bar.update(stop - start)


class progress_bar:
    """A tqdm bar over the epochs when ``verbose``; the callback the training loop reports to."""

    def __init__(self, verbose, total):
        self.verbose, self.total, self.bar = verbose, total, None

    def __enter__(self):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc="fit", unit="epoch")

        def progress(epoch, train_loss, val_loss):
            postfix = {"loss": f"{train_loss:.4f}"}
            if val_loss is not None:
                postfix["val_loss"] = f"{val_loss:.4f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

        return progress

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
