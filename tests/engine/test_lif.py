"""engine.lif: the inference forward equals spikingjelly's LIFNode bit for bit."""

from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import functional, neuron

from engine.lif import LIF
from engine.spikformer import lif

SETTINGS = [(1.0, 2.0), (0.6, 1.25), (1.4, 10.0), (0.5, 2.5), (1.8, 2.0)]


def _pair(threshold: float, tau: float) -> tuple[neuron.LIFNode, LIF]:
    reference = neuron.LIFNode(tau=tau, v_threshold=threshold, detach_reset=True, step_mode="m")
    return reference, lif(threshold, tau)


@pytest.mark.parametrize(("threshold", "tau"), SETTINGS)
@pytest.mark.parametrize("shape", [(4, 16, 49, 64), (1, 3, 5), (3, 8, 4, 7, 7), (2, 1000)])
def test_inference_spikes_and_voltage_equal_spikingjelly(
    threshold: float, tau: float, shape: tuple[int, ...]
) -> None:
    g = torch.Generator().manual_seed(hash((threshold, tau, shape)) % 2**31)
    reference, fast = _pair(threshold, tau)
    x = torch.randn(shape, generator=g) * 2 * threshold
    x.view(-1)[:10] = torch.tensor([threshold * tau, threshold * tau * 2, 0.0, -0.0, 1e-8] * 2)
    with torch.no_grad():
        for _ in range(2):  # the second call starts from the voltage the first left
            want, got = reference(x), fast(x)
            assert torch.equal(want, got)
            assert torch.equal(reference.v, fast.v)
    assert 0 < float(want.mean()) < 1


def test_channels_last_input_keeps_its_layout_and_values() -> None:
    reference, fast = _pair(1.0, 2.0)
    x = torch.randn(8, 6, 5, 5).contiguous(memory_format=torch.channels_last) * 3
    seq = x.reshape(2, 4, 6, 5, 5)  # (T, B, C, H, W), channels-last strides
    with torch.no_grad():
        want, got = reference(seq), fast(seq)
    assert torch.equal(want, got)
    assert got.stride() == seq.stride()


def test_reset_starts_from_zero_again() -> None:
    reference, fast = _pair(0.6, 1.25)
    x = torch.rand(3, 50, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        first = fast(x)
        fast(x)
        functional.reset_net(fast)
        assert torch.equal(fast(x), first)
        assert torch.equal(first, reference(x))


def test_training_keeps_the_surrogate_gradient() -> None:
    """With gradients on, the neuron is spikingjelly's: the same spikes and a gradient."""
    reference, fast = _pair(1.0, 2.0)
    x = (torch.randn(4, 32, generator=torch.Generator().manual_seed(2)) * 2).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    fast(x).sum().backward()
    reference(x_ref).sum().backward()
    assert x.grad is not None and torch.equal(x.grad, x_ref.grad)
    assert float(x.grad.abs().sum()) > 0
