import pytest
import torch

from skddpm.network import (
    DenoisingMLP,
    FourierFeatures,
    LearnedTimeEmbedding,
    SinusoidalPositionEmbedding,
)


def test_sinusoidal_embedding_separates_steps():
    emb = SinusoidalPositionEmbedding(16, timesteps=40)(torch.arange(1, 41))
    assert emb.shape == (40, 16)
    distances = torch.cdist(emb, emb) + torch.eye(40) * 1e3
    assert distances.min() > 1e-2, "two steps share an embedding"


def test_learned_embedding_indexes_steps_from_one():
    emb = LearnedTimeEmbedding(4, timesteps=5)
    out = emb(torch.tensor([1, 5]))
    torch.testing.assert_close(out, emb.embedding.weight[[0, 4]])


def test_fourier_features_keep_x_and_add_frequencies():
    x = torch.randn(7, 3)
    feats = FourierFeatures(3, 4)
    out = feats(x)
    assert out.shape == (7, feats.out_features) == (7, 3 * 9)
    torch.testing.assert_close(out[:, :3], x)
    assert FourierFeatures(3, 0)(x) is x
    # per feature j: sin(2^k π x_j / 4) for k < 4, then cos(2^k π x_j / 4): periods
    # of 8, 4, 2 and 1 (standard deviations, on standardized columns)
    periods = torch.tensor([8.0, 4.0, 2.0, 1.0])
    for j in range(3):
        phase = x[:, j : j + 1] * 2 * torch.pi / periods
        block = out[:, 3 + 8 * j : 3 + 8 * (j + 1)]
        torch.testing.assert_close(block, torch.cat([phase.sin(), phase.cos()], dim=1))


def test_sinusoidal_embedding_is_the_transformer_formula():
    emb = SinusoidalPositionEmbedding(8, timesteps=50)
    t = torch.tensor([1, 7, 50])
    freqs = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(4) / 4)
    phase = (t[:, None] * 1000.0 / 50) * freqs
    torch.testing.assert_close(emb(t), torch.cat([phase.sin(), phase.cos()], dim=1))


@pytest.mark.parametrize("residual", [True, False])
@pytest.mark.parametrize("time_embedding", ["sinusoidal", "learned"])
def test_denoiser_output_shape_and_gradient(residual, time_embedding):
    net = DenoisingMLP(
        3,
        10,
        (16, 8),
        time_embedding=time_embedding,
        embedding_dim=8,
        fourier_features=2,
        residual=residual,
    )
    x = torch.randn(5, 3)
    out = net(x, torch.randint(1, 11, (5,)))
    assert out.shape == (5, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_denoiser_depends_on_the_step():
    torch.manual_seed(0)
    net = DenoisingMLP(2, 50, (16,), embedding_dim=8)
    x = torch.randn(4, 2)
    a = net(x, torch.full((4,), 1))
    b = net(x, torch.full((4,), 50))
    assert not torch.allclose(a, b)


def test_the_network_and_the_generator_share_one_set_of_structure_defaults():
    from skddpm import DiffusionGenerator
    from skddpm.network import DenoisingMLP, build_network

    plain = DenoisingMLP(3, 100)
    described = build_network(DiffusionGenerator(timesteps=100).get_params(), 3)
    shapes = {k: v.shape for k, v in plain.state_dict().items()}
    assert shapes == {k: v.shape for k, v in described.state_dict().items()}
