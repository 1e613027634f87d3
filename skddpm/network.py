"""The denoising network: a time-embedded residual MLP, in plain ``torch.nn``.

The modules here know nothing of noise schedules, optimizers or scikit-learn: the
network maps a noisy batch ``x_t`` and its steps ``t`` (integers in ``1..T``) to an
output of the same shape as ``x_t``, whose meaning the diffusion module decides.
"""

import itertools
import math

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "DenoisingMLP",
    "FourierFeatures",
    "LearnedTimeEmbedding",
    "ResidualBlock",
    "SinusoidalPositionEmbedding",
]

ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh}


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
        self.register_buffer("frequencies", frequencies * (1000.0 / timesteps), persistent=False)

    def forward(self, t):
        phase = t.to(self.frequencies.dtype)[:, None] * self.frequencies[None, :]
        return torch.cat([torch.sin(phase), torch.cos(phase)], dim=1)


class LearnedTimeEmbedding(nn.Module):
    """A learned vector per step ``t = 1..T``."""

    def __init__(self, dim, timesteps):
        super().__init__()
        self.embedding = nn.Embedding(timesteps, dim)

    def forward(self, t):
        return self.embedding(t - 1)


class FourierFeatures(nn.Module):
    """``[x, sin(2^k π x), cos(2^k π x)]`` for ``k = 0..n_frequencies-1``, per feature.

    A plain MLP is slow to learn functions of fine detail in a few input dimensions
    (the spectral bias of Tancik et al., 2020); these features give it the detail.
    """

    def __init__(self, n_features, n_frequencies):
        super().__init__()
        self.out_features = n_features * (1 + 2 * n_frequencies)
        scales = math.pi * 2.0 ** torch.arange(n_frequencies, dtype=torch.float32)
        self.register_buffer("scales", scales, persistent=False)

    def forward(self, x):
        if self.scales.numel() == 0:
            return x
        phase = (x[:, :, None] * self.scales).flatten(1)
        return torch.cat([x, torch.sin(phase), torch.cos(phase)], dim=1)


class ResidualBlock(nn.Module):
    """``skip(h) + fc2(act(fc1(act(norm(h))) + proj(emb)))``, or without the skip.

    The step embedding is added inside every block, so each layer knows ``t``.
    """

    def __init__(self, in_features, out_features, emb_features, activation, residual=True):
        super().__init__()
        self.residual = residual
        self.norm = nn.LayerNorm(in_features) if residual else nn.Identity()
        self.fc1 = nn.Linear(in_features, out_features)
        self.emb = nn.Linear(emb_features, out_features)
        self.fc2 = nn.Linear(out_features, out_features)
        self.act = ACTIVATIONS[activation]()
        if residual and in_features != out_features:
            self.skip = nn.Linear(in_features, out_features, bias=False)
        else:
            self.skip = nn.Identity()

    def forward(self, h, emb):
        r = self.fc1(self.act(self.norm(h)) if self.residual else h) + self.emb(emb)
        r = self.fc2(self.act(r))
        return self.skip(h) + r if self.residual else self.act(r)


class DenoisingMLP(nn.Module):
    """The time-embedded MLP that denoises ``x_t``.

    Parameters
    ----------
    n_features : int
        Width of the data.
    timesteps : int
        ``T``, the number of diffusion steps.
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
        Width of each block.
    activation : {"silu", "relu", "gelu", "tanh"}, default="silu"
    time_embedding : {"sinusoidal", "learned"}, default="sinusoidal"
    embedding_dim : int, default=64
        Size of the step embedding.
    fourier_features : int, default=8
        Frequencies of :class:`FourierFeatures` per input feature; 0 feeds ``x`` as is.
    residual : bool, default=True
        Residual blocks with layer norm; ``False`` gives a plain MLP.
    n_classes : int, default=0
        With ``n_classes > 0`` the network is class-conditional: a learned label
        embedding, with one extra "no label" entry (index ``n_classes``), is added to the
        step embedding.

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
        hidden_layer_sizes=(256, 256, 256),
        activation="silu",
        time_embedding="sinusoidal",
        embedding_dim=64,
        fourier_features=8,
        residual=True,
        n_classes=0,
    ):
        super().__init__()
        self.n_classes = n_classes
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
        self.features = FourierFeatures(n_features, fourier_features)
        widths = [self.features.out_features, *hidden_layer_sizes]
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
        """
        emb = self.time_mlp(t)
        if self.label_embedding is not None:
            if y is None:
                y = torch.full((1,), self.n_classes, dtype=torch.long, device=x.device)
            emb = emb + self.label_embedding(y)
        h = self.features(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.head(h)
