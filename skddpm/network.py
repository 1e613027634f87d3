"""The denoising network: a time-embedded residual MLP, in plain ``torch.nn``.

The modules here know nothing of noise schedules, optimizers or scikit-learn: the
network maps a noisy batch ``x_t`` and its steps ``t`` (integers in ``1..T``) to an
output of the same shape as ``x_t``, whose meaning the diffusion module decides.
"""

import itertools
import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_STRUCTURE",
    "DenoisingMLP",
    "FourierFeatures",
    "LearnedTimeEmbedding",
    "ResidualBlock",
    "SinusoidalPositionEmbedding",
    "build_network",
]

ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}

# The network's structure by default, written once: DenoisingMLP's defaults and
# DiffusionGenerator's structure parameters both read it.
DEFAULT_STRUCTURE = {
    "hidden_layer_sizes": (256, 256),
    "activation": "silu",
    "time_embedding": "sinusoidal",
    "embedding_dim": 64,
    "fourier_features": 4,
    "residual": True,
}

# The same activations as functions. The blocks' forward passes call the functional
# forms of their layers: at batch 32 a module call's Python overhead is a large part
# of the cost of the layer itself.
_FUNCTIONS = {"relu": F.relu, "silu": F.silu, "gelu": F.gelu, "tanh": torch.tanh}


def _linear(layer, x):
    return F.linear(x, layer.weight, layer.bias)


def _layer_norm(layer, x):
    return F.layer_norm(x, layer.normalized_shape, layer.weight, layer.bias, layer.eps)


class SinusoidalPositionEmbedding(nn.Module):
    """Transformer-style embedding of the step ``t`` (Vaswani et al., 2017).

    Steps are first mapped to ``1000 t / T`` so that a short chain spreads over the
    same range of phases as Ho et al.'s ``T = 1000``.

    Parameters
    ----------
    dim : int
        Size of the embedding (even).
    timesteps : int
        ``T``, the number of diffusion steps.
    max_period : float, default=10000.0
        The longest wavelength.
    """

    def __init__(self, dim, timesteps, max_period=10000.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"Expected an even embedding dim, got dim={dim}.")
        half = dim // 2
        frequencies = torch.exp(-math.log(max_period) * torch.arange(half) / half)
        phase = torch.arange(1, timesteps + 1)[:, None] * (frequencies * (1000.0 / timesteps))
        # Every step's embedding, computed once: a forward pass is one lookup.
        table = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1)
        self.register_buffer("table", table, persistent=False)

    def forward(self, t):
        return F.embedding(t - 1, self.table)


class LearnedTimeEmbedding(nn.Module):
    """A learned vector per step ``t = 1..T``."""

    def __init__(self, dim, timesteps):
        super().__init__()
        self.embedding = nn.Embedding(timesteps, dim)

    def forward(self, t):
        return self.embedding(t - 1)


# The angular frequency of the first Fourier feature: a period of 8 standard deviations.
LOWEST_FREQUENCY = math.pi / 4


class FourierFeatures(nn.Module):
    """``x``, then ``sin(2^k π x / 4)`` and ``cos(2^k π x / 4)`` of each feature, ``k < K``.

    A plain MLP is slow to learn functions of fine detail in a few input dimensions
    (the spectral bias of Tancik et al., 2020); these features give it the detail. On
    standardized columns the periods are 8, 4, 2, 1, 1/2, ... standard deviations: the
    first ones resolve the shape of the whole table, and each further one a finer detail.
    """

    def __init__(self, n_features, n_frequencies):
        super().__init__()
        self.out_features = n_features * (1 + 2 * n_frequencies)
        scales = LOWEST_FREQUENCY * 2.0 ** torch.arange(n_frequencies, dtype=torch.float32)
        # cos θ = sin(θ + π/2): one sine of [ω x, ω x + π/2] gives both.
        self.register_buffer("scales", torch.cat([scales, scales]), persistent=False)
        offsets = torch.cat([torch.zeros(n_frequencies), torch.full((n_frequencies,), math.pi / 2)])
        self.register_buffer("offsets", offsets, persistent=False)

    def forward(self, x):
        if self.scales.numel() == 0:
            return x
        phase = torch.addcmul(self.offsets, x[:, :, None], self.scales)
        return torch.cat([x, torch.sin(phase).flatten(1)], dim=1)


class ResidualBlock(nn.Module):
    """``skip(h) + fc2(act(fc1(act(norm(h))) + emb(e)))``, or without the skip.

    The step embedding ``e`` enters every block through the block's own linear map
    ``emb``, so each layer knows ``t``. :meth:`forward` takes ``emb(e)`` already
    computed: :class:`DenoisingMLP` computes it once per distinct step.
    """

    def __init__(self, in_features, out_features, emb_features, activation, residual=True):
        super().__init__()
        self.residual = residual
        self.norm = nn.LayerNorm(in_features) if residual else nn.Identity()
        self.fc1 = nn.Linear(in_features, out_features)
        self.emb = nn.Linear(emb_features, out_features)
        self.fc2 = nn.Linear(out_features, out_features)
        self._act = _FUNCTIONS[activation]
        if residual and in_features != out_features:
            self.skip = nn.Linear(in_features, out_features, bias=False)
        else:
            self.skip = nn.Identity()

    def forward(self, h, shift):
        """``h`` of shape (n, in_features), ``shift = self.emb(e)`` broadcastable to (n, out)."""
        act = self._act
        r = _linear(self.fc1, act(_layer_norm(self.norm, h)) if self.residual else h) + shift
        r = _linear(self.fc2, act(r))
        if not self.residual:
            return act(r)
        skip = h if isinstance(self.skip, nn.Identity) else F.linear(h, self.skip.weight)
        return skip + r


class DenoisingMLP(nn.Module):
    """The time-embedded MLP that denoises ``x_t``.

    Parameters
    ----------
    n_features : int
        Width of the data.
    timesteps : int
        ``T``, the number of diffusion steps.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Width of each block. The defaults of this and the next five parameters are
        ``DEFAULT_STRUCTURE``, which ``DiffusionGenerator``'s defaults are too.
    activation : {"silu", "relu", "gelu", "tanh"}, default="silu"
    time_embedding : {"sinusoidal", "learned"}, default="sinusoidal"
    embedding_dim : int, default=64
        Size of the step embedding.
    fourier_features : int, default=4
        Frequencies of :class:`FourierFeatures` per input feature; 0 feeds ``x`` as is.
    residual : bool, default=True
        Residual blocks with layer norm; ``False`` gives a plain MLP.
    n_classes : int, default=0
        With ``n_classes > 0`` the network is class-conditional: a learned label
        embedding, with one extra "no label" entry (index ``n_classes``), is added to the
        step embedding.
    one_hot_features : int, default=0
        The last ``one_hot_features`` of the ``n_features`` inputs are one-hot codes of
        categories: they enter the first block as they are, without Fourier features.

    Examples
    --------
    >>> import torch
    >>> from skddpm.network import DenoisingMLP
    >>> net = DenoisingMLP(2, timesteps=40, hidden_layer_sizes=(32,))
    >>> net(torch.zeros(5, 2), torch.ones(5, dtype=torch.long)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features,
        timesteps,
        hidden_layer_sizes=DEFAULT_STRUCTURE["hidden_layer_sizes"],
        activation=DEFAULT_STRUCTURE["activation"],
        time_embedding=DEFAULT_STRUCTURE["time_embedding"],
        embedding_dim=DEFAULT_STRUCTURE["embedding_dim"],
        fourier_features=DEFAULT_STRUCTURE["fourier_features"],
        residual=DEFAULT_STRUCTURE["residual"],
        n_classes=0,
        one_hot_features=0,
    ):
        super().__init__()
        if not 0 <= one_hot_features <= n_features:
            raise ValueError(
                f"Expected 0 <= one_hot_features <= n_features={n_features}, got "
                f"one_hot_features={one_hot_features}."
            )
        self.timesteps = timesteps
        self.one_hot_features = one_hot_features
        self.n_classes = n_classes
        self.residual = residual
        self._act = _FUNCTIONS[activation]
        self.label_embedding = nn.Embedding(n_classes + 1, embedding_dim) if n_classes else None
        if time_embedding == "sinusoidal":
            step = SinusoidalPositionEmbedding(embedding_dim, timesteps)
        else:
            step = LearnedTimeEmbedding(embedding_dim, timesteps)
        act = ACTIVATIONS[activation]
        self.time_mlp = nn.Sequential(
            step,
            nn.Linear(embedding_dim, embedding_dim),
            act(),
            nn.Linear(embedding_dim, embedding_dim),
        )
        self.features = FourierFeatures(n_features - one_hot_features, fourier_features)
        widths = [self.features.out_features + one_hot_features, *hidden_layer_sizes]
        self.blocks = nn.ModuleList(
            ResidualBlock(w_in, w_out, embedding_dim, activation, residual)
            for w_in, w_out in itertools.pairwise(widths)
        )
        self.head = nn.Sequential(
            nn.LayerNorm(widths[-1]) if residual else nn.Identity(),
            act() if residual else nn.Identity(),
            nn.Linear(widths[-1], n_features),
        )

    def forward(self, x, t, y=None):
        """Denoise ``x`` of shape (n, n_features) at steps ``t`` of shape (n,) or (1,).

        A single step shared by all rows is embedded once and broadcast. ``y`` holds
        label indices of shape (n,) for a conditional network; None (or the index
        ``n_classes``) means "no label".

        A batch has at most ``T`` distinct steps: when it has more rows than that, every
        step is embedded and projected into each block once, and the rows gather their
        own (the same numbers as embedding row by row, a quarter fewer operations for
        the default network). The label embedding enters the blocks' linear maps the
        same way, since ``emb(e_t + e_y) = emb(e_t) + W e_y``.
        """
        if t.numel() > self.timesteps:
            emb, step_rows = (
                self._embed(torch.arange(1, self.timesteps + 1, device=t.device)),
                t - 1,
            )
        else:
            emb, step_rows = self._embed(t), None
        labels = label_rows = None
        if self.label_embedding is not None:
            if y is None:
                y = torch.full((1,), self.n_classes, dtype=torch.long, device=x.device)
            if y.numel() > self.n_classes + 1:
                labels, label_rows = self.label_embedding.weight, y
            else:
                labels = self.label_embedding(y)
        if self.one_hot_features:
            d = x.shape[1] - self.one_hot_features
            h = torch.cat([self.features(x[:, :d]), x[:, d:]], dim=1)
        else:
            h = self.features(x)
        for block in self.blocks:
            shift = _rows(_linear(block.emb, emb), step_rows)
            if labels is not None:
                shift = shift + _rows(F.linear(labels, block.emb.weight), label_rows)
            h = block(h, shift)
        norm, _, out = self.head
        if self.residual:
            h = self._act(_layer_norm(norm, h))
        return _linear(out, h)

    def _embed(self, t):
        """``time_mlp(t)``, calling its layers' functional forms."""
        step, first, _, second = self.time_mlp
        return _linear(second, self._act(_linear(first, step(t))))


def _rows(table, index):
    return table if index is None else F.embedding(index, table)


def build_network(params, n_features, *, n_classes=0, one_hot_features=0, seed=0):
    """The :class:`DenoisingMLP` that a ``DiffusionGenerator``'s parameters describe.

    Its weights are initialized from ``seed`` with torch's global generator forked, so
    the global random state is left as it was.

    Parameters
    ----------
    params : dict
        At least the structure parameters of a ``DiffusionGenerator``
        (``get_params()`` gives them): ``timesteps``, ``hidden_layer_sizes``,
        ``activation``, ``time_embedding``, ``embedding_dim``, ``fourier_features``
        and ``residual``.
    n_features : int
        Width of the data.
    n_classes : int, default=0
        Classes of a conditional network; 0 for an unconditional one.
    one_hot_features : int, default=0
        How many of the last inputs are one-hot codes of categories.
    seed : int, default=0

    Returns
    -------
    network : DenoisingMLP

    Examples
    --------
    >>> from skddpm import DiffusionGenerator
    >>> from skddpm.network import build_network
    >>> net = build_network(DiffusionGenerator().get_params(), n_features=2)
    >>> net.blocks[0].fc1.out_features
    256
    """
    sizes = params["hidden_layer_sizes"]
    sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DenoisingMLP(
            n_features,
            params["timesteps"],
            hidden_layer_sizes=sizes,
            activation=params["activation"],
            time_embedding=params["time_embedding"],
            embedding_dim=params["embedding_dim"],
            fourier_features=params["fourier_features"],
            residual=params["residual"],
            n_classes=n_classes,
            one_hot_features=one_hot_features,
        )
