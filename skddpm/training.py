"""The training loop: epochs of minibatches, Adam, an EMA of the weights, validation.

It works on tensors already on the device and knows nothing of scikit-learn or numpy
input. Each epoch gathers its rows in a shuffled order once and makes their noisy
versions and targets in one call; minibatches are slices of those (no DataLoader), and
all the randomness of an epoch (order, steps, noise) is drawn from one explicit
``torch.Generator`` in a few calls.
"""

import copy
import math
import warnings
from dataclasses import dataclass, field

import torch

# The first torch.optim optimizer of a process imports torch._dynamo (and sympy), about
# a second on a laptop CPU. An interrupt (Ctrl-C) inside that import leaves sympy half
# imported, and every later fit in the process fails ("module 'sympy' has no attribute
# 'core'"). Importing it with this module puts that second where no fit can be stopped.
import torch._dynamo

__all__ = [
    "EMA",
    "TrainingState",
    "flatten_parameters",
    "make_optimizer",
    "resolve_batch_size",
    "resolve_max_iter",
    "train",
    "validation_split",
]


# Each weight's offset in the flat tensor is a multiple of this many bytes. CPU
# allocations are 64-byte aligned, so every weight then has the alignment a tensor of
# its own would have: MKL's matrix products round differently for operands of other
# alignments, and a flattened model must compute exactly what a restored copy computes.
_ALIGNMENT_BYTES = 64


def flatten_parameters(module, *, grads=True):
    """Put a module's parameters, and their gradients, in one contiguous tensor.

    Each parameter becomes a view into the returned tensor (and its gradient a view
    into the returned tensor's ``grad``), so an optimizer or an average over that one
    tensor updates every weight in a single kernel. On a CPU, Adam's fused step over
    the default network drops from 25 kernels (0.39 ms) to one (0.07 ms), a sixth of
    a training step at batch 32. Every view starts at a 64-byte boundary, as a freshly
    allocated tensor does, so the same weights give bit-identical results flattened or
    not (the few padding entries between them stay zero). Moving the module to another
    device undoes this; flatten it again there.

    Parameters
    ----------
    module : torch.nn.Module
    grads : bool, default=True
        Also give the parameters gradient views. Optimizers must then clear them in
        place (``zero_grad(set_to_none=False)``) so that autograd keeps accumulating
        into the views.

    Returns
    -------
    flat : torch.nn.Parameter of shape (n_entries,)
        ``n_entries`` is the number of weights plus the padding that aligns them.
    """
    params = list(module.parameters())
    if not params:
        raise ValueError("flatten_parameters needs a module with parameters; this one has none.")
    dtype, device = params[0].dtype, params[0].device
    step = max(1, _ALIGNMENT_BYTES // params[0].element_size())
    offsets, end = [], 0
    for p in params:
        offsets.append(end)
        end += -(-p.numel() // step) * step
    flat = torch.nn.Parameter(torch.zeros(end, dtype=dtype, device=device))
    if grads:
        flat.grad = torch.zeros_like(flat)
    with torch.no_grad():
        for p, offset in zip(params, offsets):
            view = flat.data[offset : offset + p.numel()].view_as(p)
            view.copy_(p.detach())
            p.data = view
            if grads:
                p.grad = flat.grad[offset : offset + p.numel()].view_as(p)
    return flat


def make_optimizer(module, learning_rate):
    """Fused Adam over the module's weights, flattened into one tensor: one kernel a step."""
    return torch.optim.Adam([flatten_parameters(module)], lr=learning_rate, fused=True)


# The "auto" budget: about this many optimizer steps, whatever the table (issue 12).
AUTO_STEPS = 2000
# The largest "auto" batch, and the share of the rows in one when they are few.
AUTO_MAX_BATCH = 256
AUTO_BATCHES_PER_EPOCH = 8


def resolve_batch_size(batch_size, n_rows):
    """Rows per step: ``"auto"`` is ``min(256, max(16, n_rows // 8))``; at most ``n_rows``."""
    if batch_size == "auto":
        return min(n_rows, AUTO_MAX_BATCH, max(16, n_rows // AUTO_BATCHES_PER_EPOCH))
    if batch_size > n_rows:
        warnings.warn(
            f"batch_size={batch_size} is larger than the {n_rows} training rows; "
            f"each step uses all {n_rows}. Pass batch_size <= {n_rows} to silence this.",
            UserWarning,
            stacklevel=4,
        )
        return n_rows
    return batch_size


def resolve_max_iter(max_iter, n_rows, batch_size):
    """Epochs: ``"auto"`` is as many as make about ``AUTO_STEPS`` steps, at least one."""
    if max_iter == "auto":
        return max(1, round(AUTO_STEPS / math.ceil(n_rows / batch_size)))
    return max_iter


def validation_split(n_rows, validation_fraction, early_stopping, generator):
    """Rows to train on and rows held out for the validation loss (or None).

    ``generator`` is a CPU ``torch.Generator``; the split is a random permutation.
    """
    every_row = torch.arange(n_rows)
    n_val = int(validation_fraction * n_rows)
    if validation_fraction == 0:
        if early_stopping:
            raise ValueError(
                "early_stopping=True needs validation rows, but validation_fraction=0; "
                "set validation_fraction to a value such as 0.1."
            )
        return every_row, None
    if n_val < 1 or n_val >= n_rows:
        message = (
            f"validation_fraction={validation_fraction} of {n_rows} rows leaves no validation rows"
        )
        if early_stopping:
            raise ValueError(
                f"{message}, which early_stopping=True needs; give more rows or a larger "
                "validation_fraction."
            )
        warnings.warn(
            f"{message}; training on every row, and validation_loss_curve_ is None. "
            "Set validation_fraction=0 to silence this warning.",
            UserWarning,
            stacklevel=4,
        )
        return every_row, None
    order = torch.randperm(n_rows, generator=generator)
    return order[n_val:], order[:n_val]


class EMA:
    """An exponential moving average of a module's weights, used for sampling.

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so a
    short run is not dominated by the initial weights.
    """

    def __init__(self, module, decay, *, average=None, n_updates=0):
        """Start from a copy of ``module``, or continue an ``average`` of ``n_updates``.

        The average's weights are flattened (:func:`flatten_parameters`), so that
        updating it from a flattened module is one kernel.
        """
        self.decay = decay
        if average is None:
            average = copy.deepcopy(module)
        self.module = average.requires_grad_(False)
        self.n_updates = n_updates
        self._flat = flatten_parameters(self.module, grads=False).requires_grad_(False)

    @torch.no_grad()
    def update(self, flat):
        """Move the average towards ``flat``, the module's flattened weights."""
        self.n_updates += 1
        decay = min(self.decay, (1 + self.n_updates) / (10 + self.n_updates))
        self._flat.lerp_(flat.detach(), 1.0 - decay)


@dataclass
class TrainingState:
    """What training has learned so far; ``warm_start`` continues from it."""

    module: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: EMA | None
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: list | None = None
    best_validation_loss: float = math.inf
    best_state: dict | None = None
    n_iter_no_change: int = 0

    @property
    def sampling_module(self):
        """The EMA weights when there are some, else the trained weights."""
        return self.ema.module if self.ema is not None else self.module


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def _with_labels(module, labels):
    """The denoiser ``(x_t, t) -> output`` that the diffusion maths expects."""
    return lambda x_t, t: module(x_t, t, labels)


def _draw_epoch(n_rows, shuffle, timesteps, n_features, generator, device, dtype):
    """Row order, steps and noise for a whole epoch, drawn in three calls."""
    if shuffle:
        order = torch.randperm(n_rows, generator=generator, device=device)
    else:
        order = torch.arange(n_rows, device=device)
    t = torch.randint(1, timesteps + 1, (n_rows,), generator=generator, device=device)
    noise = torch.randn((n_rows, n_features), generator=generator, device=device, dtype=dtype)
    return order, t, noise


def train(
    state,
    diffusion,
    X_train,
    X_val,
    *,
    labels=None,
    val_labels=None,
    cond_drop_prob=0.0,
    max_iter,
    batch_size,
    loss,
    shuffle,
    early_stopping,
    n_iter_no_change,
    tol,
    generator,
    learning_rate="constant",
    progress=None,
):
    """Run up to ``max_iter`` epochs on ``state``, in place.

    Parameters
    ----------
    state : TrainingState
        Its optimizer must hold the module's weights as one tensor,
        :func:`flatten_parameters`, so that each step and each EMA update is one kernel.
    diffusion : GaussianDiffusion
    X_train : Tensor of shape (n_rows, n_features)
    X_val : Tensor of shape (n_val, n_features) or None
        Rows held out for the validation loss, computed with the sampling weights and
        with steps and noise fixed for the whole of training, so epochs compare.
    labels, val_labels : Tensor of shape (n_rows,) and (n_val,), optional
        Class indices for a conditional module, called as ``module(x, t, y)``; the
        "no label" index is the module's ``n_classes``.
    cond_drop_prob : float, default=0.0
        Each epoch, each training label is replaced by "no label" with this
        probability (classifier-free guidance training, Ho & Salimans 2022).
    max_iter, batch_size, loss, shuffle, early_stopping, n_iter_no_change, tol
        As for :class:`~skddpm.DiffusionGenerator`.
    generator : torch.Generator
        On the device of ``X_train``.
    progress : callable, optional
        ``progress(epoch, train_loss, val_loss)`` after each epoch (the progress bar).

    Returns
    -------
    n_epochs : int
        The number of epochs run.

    Raises
    ------
    NonFiniteLossError
        When an epoch's loss is NaN or infinite; its message names the epoch.
    """
    n_rows, n_features = X_train.shape
    device, dtype = X_train.device, X_train.dtype
    module, optimizer, ema = state.module, state.optimizer, state.ema
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if len(params) != 1:
        raise ValueError(
            f"train needs an optimizer over the module's flattened weights, one tensor, "
            f"but state.optimizer holds {len(params)}; build it as "
            "torch.optim.Adam([flatten_parameters(module)], ...)."
        )
    (flat,) = params
    n_batches = math.ceil(n_rows / batch_size)
    null_label = getattr(module, "n_classes", 0)
    val_t = val_noise = None
    if X_val is not None:
        # Fixed once per call so that validation losses of successive epochs compare.
        val_generator = torch.Generator(device=device).manual_seed(
            int(torch.randint(2**62, (1,), generator=generator, device=device).item())
        )
        _, val_t, val_noise = _draw_epoch(
            X_val.shape[0], False, diffusion.timesteps, n_features, val_generator, device, dtype
        )
    start = len(state.loss_curve)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    total_steps = max_iter * n_batches
    step = 0
    for epoch in range(start + 1, start + max_iter + 1):
        module.train()
        order, t, noise = _draw_epoch(
            n_rows, shuffle, diffusion.timesteps, n_features, generator, device, dtype
        )
        epoch_labels = None
        if labels is not None:
            drop = torch.rand(n_rows, generator=generator, device=device) < cond_drop_prob
            epoch_labels = torch.where(drop, null_label, labels)
        # The epoch's noisy rows and targets, made in one call in the epoch's order: a
        # step then only slices them (three row gathers and q_sample's nine small
        # kernels fewer a step).
        x_t, target = diffusion.training_pair(X_train[order], t, noise)
        if epoch_labels is not None:
            epoch_labels = epoch_labels[order]
        total = torch.zeros((), device=device)
        for i in range(n_batches):
            rows = slice(i * batch_size, (i + 1) * batch_size)
            if learning_rate == "cosine":
                # Anneal to zero over this call's steps (Loshchilov & Hutter, 2017).
                factor = 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
                for group, base in zip(optimizer.param_groups, base_lrs):
                    group["lr"] = base * factor
            step += 1
            if epoch_labels is None:
                output = module(x_t[rows], t[rows])
            else:
                output = module(x_t[rows], t[rows], epoch_labels[rows])
            batch_target = target[rows]
            batch_loss = diffusion.objective(output, batch_target, x_t[rows], t[rows], loss)
            flat.grad.zero_()  # in place, as zero_grad(set_to_none=False) would
            batch_loss.backward()
            optimizer.step()
            if ema is not None:
                ema.update(flat)
            total.add_(batch_loss.detach(), alpha=batch_target.shape[0])
        train_loss = total.item() / n_rows  # one host sync per epoch
        if not math.isfinite(train_loss):
            raise NonFiniteLossError(f"the training loss became {train_loss} in epoch {epoch}")
        state.loss_curve.append(train_loss)

        val_loss = None
        if X_val is not None:
            sampler = state.sampling_module
            sampler.eval()
            model = sampler if val_labels is None else _with_labels(sampler, val_labels)
            with torch.inference_mode():
                val_loss = diffusion.loss(model, X_val, val_t, val_noise, loss).item()
            state.validation_loss_curve.append(val_loss)
            if val_loss < state.best_validation_loss - tol:
                state.best_validation_loss = val_loss
                state.n_iter_no_change = 0
                if early_stopping:
                    state.best_state = copy.deepcopy(sampler.state_dict())
            else:
                state.n_iter_no_change += 1
        if progress is not None:
            progress(epoch, train_loss, val_loss)
        if early_stopping and state.n_iter_no_change >= n_iter_no_change:
            break
    for group, base in zip(optimizer.param_groups, base_lrs):
        group["lr"] = base
    if early_stopping and state.best_state is not None:
        state.sampling_module.load_state_dict(state.best_state)
    return epoch - start
