"""Spikformer's LIF neuron, with a cheaper multi-step forward for inference on CPU.

spikingjelly's `LIFNode` runs its torch reference on CPU: per time step about a dozen tensor
passes (charge, the surrogate's heaviside through an autograd function, the reset written as
`spike * v_reset + (1 - spike) * h`, and a stacked copy of every charge it then discards). In
inference (no gradients) `LIF` runs the same arithmetic in five passes per step, without boolean
masks: the comparison is written straight into the float spike tensor and the reset is one
`addcmul`, both several times quicker on CPU than a `masked_fill`.

The spikes are bit-identical to spikingjelly's (`tests/engine/test_lif.py`): the charge keeps
spikingjelly's operation order, `h >= threshold` is `heaviside(h - threshold)` for finite floats,
and the reset leaves the same voltage up to the sign of a zero, which no later step sees.
Training, CUDA and settings other than Spikformer's (`decay_input=True`, hard reset to 0, no
stored voltage trace, float32) keep spikingjelly's path.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import neuron


class LIF(neuron.LIFNode):
    """spikingjelly's multi-step `LIFNode` whose inference forward on CPU is cheaper."""

    def _fast(self, x_seq: torch.Tensor) -> bool:
        return (
            not torch.is_grad_enabled()
            and x_seq.device.type == "cpu"
            and x_seq.dtype == torch.float32
            and x_seq.dim() >= 2
            and self.decay_input
            and self.v_reset == 0.0
            and not self.store_v_seq
            and self._neuron_precision is None
        )

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if args or kwargs or not self._fast(x_seq):
            return super().multi_step_forward(x_seq, *args, **kwargs)
        v = self._memories["v"]
        carried = isinstance(v, torch.Tensor) and v.shape == x_seq.shape[1:]
        if not carried and not (isinstance(v, float) or isinstance(v, torch.Tensor)):
            return super().multi_step_forward(x_seq)
        spikes, v = lif_inference(x_seq, v if carried else None, self.tau, self.v_threshold)
        self._memories["v"] = v
        self.v_seq = None
        return spikes


def lif_inference(
    x_seq: torch.Tensor, v: torch.Tensor | None, tau: float, v_threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes (T, ...) and the final voltage of a decay_input LIF with hard reset to 0.

    `v` is the voltage before the first step (None: 0, a freshly reset neuron). Per step:
    H = V + (X - V) / tau (at V = 0: X / tau, which is what spikingjelly's formula gives),
    S = (H >= threshold) as 0.0 / 1.0, V = H - H * S (H where no spike, else 0).
    """
    spikes = torch.empty_like(x_seq)  # x_seq's layout (channels-last stays channels-last)
    for t in range(x_seq.shape[0]):
        x = x_seq[t]
        h = torch.div(x, tau) if v is None else torch.sub(x, v).div_(tau).add_(v)
        torch.ge(h, v_threshold, out=spikes[t])
        v = h.addcmul_(h, spikes[t], value=-1.0)
    return spikes, v
