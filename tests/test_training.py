"""Flat weights (one tensor for Adam and the EMA, the same arithmetic as per-weight) and the
epoch's pairs of the training loop."""

import copy

import pytest
import torch

from skddpm.network import DenoisingMLP
from skddpm.training import (
    AUTO_STEPS,
    EMA,
    flatten_parameters,
    resolve_batch_size,
    resolve_max_iter,
)


def small_network():
    torch.manual_seed(0)
    return DenoisingMLP(2, 10, hidden_layer_sizes=(16, 16), embedding_dim=8, fourier_features=2)


def test_flattening_keeps_the_weights_and_makes_them_views():
    net = small_network()
    before = [p.detach().clone() for p in net.parameters()]
    flat = flatten_parameters(net)
    n_weights = sum(p.numel() for p in before)
    # padded to 16 floats a weight at most
    assert n_weights <= flat.numel() < n_weights + 16 * len(before)
    for p, old in zip(net.parameters(), before):
        torch.testing.assert_close(p, old, rtol=0, atol=0)
        assert p.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
        assert p.grad.untyped_storage().data_ptr() == flat.grad.untyped_storage().data_ptr()
        assert p.data_ptr() % 64 == 0 and p.grad.data_ptr() % 64 == 0
    # the padding between the views is zero
    assert torch.count_nonzero(flat) == sum(torch.count_nonzero(p) for p in net.parameters())
    with torch.no_grad():
        flat.zero_()
    assert all(torch.count_nonzero(p) == 0 for p in net.parameters())


def test_a_flattened_network_computes_bit_for_bit_what_a_fresh_copy_does():
    # MKL's products round by the operands' memory alignment: views at unaligned
    # offsets gave results 1 ulp apart from the same weights in tensors of their own.
    torch.manual_seed(0)
    net = DenoisingMLP(3, 10, hidden_layer_sizes=(32, 32), embedding_dim=16, fourier_features=2)
    fresh = copy.deepcopy(net)
    flatten_parameters(net)
    for rows in (25, 75, 300):
        x = torch.randn(rows, 3)
        for t in (torch.randint(1, 11, (rows,)), torch.full((1,), 5)):  # per row, shared
            with torch.no_grad():
                assert torch.equal(net(x, t), fresh(x, t))


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
    from skddpm.diffusion import GaussianDiffusion
    from skddpm.schedules import NoiseSchedule, make_beta_schedule
    from skddpm.training import TrainingState, train

    net = small_network()
    state = TrainingState(net, torch.optim.Adam(net.parameters()), None)
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", 10)))
    with pytest.raises(
        ValueError,
        match=r"flattened weights, one tensor, but state.optimizer holds \d+; build it as",
    ):
        train(state, diffusion, torch.randn(20, 2), None, max_iter=1, batch_size=10, loss="mse",
              shuffle=True, early_stopping=False, n_iter_no_change=1, tol=0.0,
              generator=torch.Generator())  # fmt: skip


def test_an_epoch_loss_is_the_objective_on_its_rows_steps_and_noise():
    """The epoch's pairs, made in one call, pair the k-th drawn step and noise with the
    k-th row of the epoch's order: the loss train() reports is diffusion.loss on those."""
    from skddpm.diffusion import GaussianDiffusion
    from skddpm.schedules import NoiseSchedule, make_beta_schedule
    from skddpm.training import TrainingState, _draw_epoch, train

    net = small_network()
    diffusion = GaussianDiffusion(NoiseSchedule(make_beta_schedule("cosine", 10)),
                                  prediction_type="v_prediction")  # fmt: skip
    X = torch.randn(50, 2)
    # lr=0: the weights the loss is computed with stay those it is checked against.
    state = TrainingState(net, torch.optim.Adam([flatten_parameters(net)], lr=0.0), None)
    train(state, diffusion, X, None, max_iter=1, batch_size=16, loss="mse",
          shuffle=True, early_stopping=False, n_iter_no_change=1, tol=0.0,
          generator=torch.Generator().manual_seed(3))  # fmt: skip

    order, t, noise = _draw_epoch(50, True, 10, 2, torch.Generator().manual_seed(3),
                                  "cpu", torch.float32)  # fmt: skip
    with torch.no_grad():
        expected = (
            sum(
                diffusion.loss(net, X[order[i : i + 16]], t[i : i + 16], noise[i : i + 16]).item()
                * len(order[i : i + 16])
                for i in range(0, 50, 16)
            )
            / 50
        )
    assert state.loss_curve[0] == pytest.approx(expected, rel=1e-5)
    # Pairing a step and noise with another row gives another loss.
    with torch.no_grad():
        shuffled = diffusion.loss(net, X[order.flip(0)], t, noise).item()
    assert abs(shuffled - expected) > 1e-3


@pytest.mark.parametrize(
    ("n_rows", "expected"), [(10, 10), (100, 16), (1000, 125), (2048, 256), (50_000, 256)]
)
def test_auto_batches_are_an_eighth_of_the_rows_between_16_and_256(n_rows, expected):
    assert resolve_batch_size("auto", n_rows) == expected


@pytest.mark.parametrize("n_rows", [90, 900, 9000, 45_000])
def test_auto_epochs_make_about_the_same_number_of_steps_on_any_table(n_rows):
    batch_size = resolve_batch_size("auto", n_rows)
    epochs = resolve_max_iter("auto", n_rows, batch_size)
    per_epoch = -(-n_rows // batch_size)
    # Within half an epoch of the budget, and never fewer than one epoch.
    assert abs(epochs * per_epoch - AUTO_STEPS) <= per_epoch / 2
    assert resolve_max_iter(7, n_rows, batch_size) == 7
