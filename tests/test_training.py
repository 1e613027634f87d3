"""Flat weights: one tensor for Adam and the EMA, with the same arithmetic as per-weight."""

import copy

import torch

from skddpm.network import DenoisingMLP
from skddpm.training import EMA, flatten_parameters


def small_network():
    torch.manual_seed(0)
    return DenoisingMLP(2, 10, hidden_layer_sizes=(16, 16), embedding_dim=8, fourier_features=2)


def test_flattening_keeps_the_weights_and_makes_them_views():
    net = small_network()
    before = [p.detach().clone() for p in net.parameters()]
    flat = flatten_parameters(net)
    assert flat.numel() == sum(p.numel() for p in before)
    for p, old in zip(net.parameters(), before):
        torch.testing.assert_close(p, old, rtol=0, atol=0)
        assert p.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
        assert p.grad.untyped_storage().data_ptr() == flat.grad.untyped_storage().data_ptr()
    with torch.no_grad():
        flat.zero_()
    assert all(torch.count_nonzero(p) == 0 for p in net.parameters())


def test_adam_on_flat_weights_takes_the_same_steps_as_per_weight_adam():
    a = small_network()
    b = copy.deepcopy(a)
    per_weight = torch.optim.Adam(a.parameters(), lr=1e-2, fused=True)
    flat = torch.optim.Adam([flatten_parameters(b)], lr=1e-2, fused=True)
    x, t = torch.randn(64, 2), torch.randint(1, 11, (64,))
    for _ in range(3):
        for net, optimizer in ((a, per_weight), (b, flat)):
            optimizer.zero_grad(set_to_none=False)
            (net(x, t) ** 2).mean().backward()
            optimizer.step()
    # The same arithmetic; the vectorized kernel may round a weight differently (1 ulp).
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-8)


def test_ema_update_is_the_warmed_up_moving_average():
    net = small_network()
    flat = flatten_parameters(net)
    ema = EMA(net, decay=0.9)
    start = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        flat.add_(1.0)
    ema.update(flat)
    decay = min(0.9, 2 / 11)  # the warm-up after one update
    for average, old, new in zip(ema.module.parameters(), start, net.parameters()):
        torch.testing.assert_close(average, old + (1 - decay) * (new - old))


def test_train_names_an_optimizer_over_unflattened_weights():
    import pytest

    from skddpm.diffusion import GaussianDiffusion
    from skddpm.schedules import NoiseSchedule, make_beta_schedule
    from skddpm.training import TrainingState, train

    net = small_network()
    state = TrainingState(net, torch.optim.Adam(net.parameters()), None)
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("linear", 10)))
    with pytest.raises(
        ValueError,
        match=r"flattened weights, one tensor, but state.optimizer holds \d+; build it as",
    ):
        train(state, diffusion, torch.randn(20, 2), None, max_iter=1, batch_size=10, loss="mse",
              shuffle=True, early_stopping=False, n_iter_no_change=1, tol=0.0,
              generator=torch.Generator())  # fmt: skip
