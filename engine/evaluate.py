"""Evaluate subnets with weights inherited from the supernet.

One candidate's evaluation is a pure function of (supernet weights, arch, seed): the subnet is
extracted (the supernet's shared BN statistics stay untouched), its BN statistics are
recalibrated on a fixed, seeded set of training batches, and accuracy and energy are measured
together on the same validation batches. Nothing depends on which process evaluates it or when.

`SubnetEvaluator` computes the SPS stem once per stem key (`engine.stems`) and runs each
candidate's blocks and head on the stem's stored tokens: the same arithmetic as a full forward,
so the same results to the bit, at a fraction of the cost when candidates share embed_dim and T.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from engine import data
from engine.checkpoint import load_tensors
from engine.energy import EnergyMeter, EnergyReport
from engine.errors import CheckpointError
from engine.profiles import DEFAULT_PROFILE, get_profile
from engine.results import EvalResult
from engine.shape import count_params
from engine.space import Arch, SearchSpace
from engine.spikformer import SpikformerBody
from engine.stems import Stem, StemCache, batch_norms, cumulative_statistics
from engine.supernet import Supernet

Batches = list[tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Batches, *, arch: Arch | None = None) -> None:
    """Reset BN running statistics and re-estimate them on `batches` (train mode, no gradients).

    Uses a cumulative average (momentum=None), so the result is the plain mean over the batches.
    Shared supernet statistics are wrong for most subnets; run this on an extracted subnet.
    """
    was_training = model.training
    model.train()
    device = next(model.parameters()).device
    with cumulative_statistics(batch_norms(model)):
        for x, _ in batches:
            model(x.to(device)) if arch is None else model(x.to(device), arch)
    model.train(was_training)


@torch.no_grad()
def evaluate_model(model: SpikformerBody, batches: Batches, *, arch: Arch | None = None):
    """Top-1 accuracy and the energy report of `model` over `batches`, in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    correct = total = 0
    with EnergyMeter(model) as meter:
        for x, y in batches:
            logits = model(x.to(device)) if arch is None else model(x.to(device), arch)
            correct += int((logits.argmax(1).cpu() == y).sum())
            total += len(y)
    return correct / max(total, 1), meter.report()


def to_result(arch: Arch, accuracy: float, report: EnergyReport, params: int) -> EvalResult:
    """The search's record of one evaluation: metrics, operation counts and energy as priced in
    `report` (its profile)."""
    return EvalResult(
        arch=arch,
        accuracy=accuracy,
        energy_uj=report.energy_uj,
        params=params,
        sops=report.sops,
        firing_rate=report.firing_rate,
        firing_rates=dict(report.firing_rates),
        layer_energy_uj=dict(report.layer_energy_uj),
        macs=report.macs,
        neuron_updates=report.neuron_updates,
        layer_ops=report.layer_ops,
        energy_profile=report.profile,
    )


class SubnetEvaluator:
    """`evaluate(archs) -> results` for the search, bound to one supernet and dataset.

    Args:
        supernet: trained supernet (not modified).
        dataset: dataset name; accuracy is measured on its validation split.
        seed: picks the recalibration batches; part of the evaluation's identity.
        recalib_batches: how many training batches re-estimate BN statistics (0 disables).
        batch_size: batch size of recalibration and validation.
        val_batches: cap on validation batches (None: the whole validation split).
        energy_profile: the hardware profile `energy_uj` is priced under (`engine.profiles`).
        stem_cache_bytes: memory for the stems kept between candidates (`engine.stems`); 0
            keeps none (each candidate then computes its stem, with the same results).
    """

    def __init__(
        self,
        supernet: Supernet,
        dataset: str,
        *,
        seed: int = 0,
        recalib_batches: int = 4,
        batch_size: int = 128,
        val_batches: int | None = None,
        energy_profile: str = DEFAULT_PROFILE,
        stem_cache_bytes: int = 1 << 30,
    ) -> None:
        self.profile = get_profile(energy_profile)
        self.supernet = supernet.eval()
        self.dataset = dataset
        self.seed = seed
        self.recalib = (
            data.fixed_batches(
                dataset, "train", n_batches=recalib_batches, batch_size=batch_size, seed=seed
            )
            if recalib_batches
            else []
        )
        loader = data.make_loader(dataset, "val", batch_size=batch_size, seed=seed)
        self.val = [b for i, b in enumerate(loader) if val_batches is None or i < val_batches]
        self.stems = StemCache(self.recalib, self.val, max_bytes=stem_cache_bytes)

    def evaluate_one(self, arch: Arch) -> tuple[EvalResult, nn.Module]:
        """The result of `arch` and its extracted subnet, BN-recalibrated.

        The same as `recalibrate_bn` then `evaluate_model` on the extracted subnet, with the
        stem's part taken from its `Stem` (`engine.stems`).
        """
        subnet = self.supernet.extract(arch)
        stem = self.stems.get(subnet, arch)
        stem.load_statistics(subnet)
        if self.recalib:
            self._recalibrate_blocks(subnet, arch, stem)
        accuracy, report = self._validate(subnet, arch, stem)
        params = count_params(arch, self.supernet.shape)
        return to_result(arch, accuracy, report.priced(self.profile), params), subnet

    @torch.no_grad()
    def _recalibrate_blocks(self, subnet: SpikformerBody, arch: Arch, stem: Stem) -> None:
        """`recalibrate_bn` for every BN after the stem, on the stem's recalibration tokens."""
        in_stem = set(batch_norms(subnet.sps))
        subnet.train()
        with cumulative_statistics([bn for bn in batch_norms(subnet) if bn not in in_stem]):
            for tokens in stem.recalib_tokens:
                subnet.forward_tokens(stem.tokens(tokens), arch)

    @torch.no_grad()
    def _validate(
        self, subnet: SpikformerBody, arch: Arch, stem: Stem
    ) -> tuple[float, EnergyReport]:
        """`evaluate_model` on the stem's validation tokens, the stem's energy counts added."""
        subnet.eval()
        correct = total = 0
        with EnergyMeter(subnet) as meter:
            meter.add(stem.meter)
            for tokens, (_, y) in zip(stem.val_tokens, self.val, strict=True):
                logits = subnet.forward_tokens(stem.tokens(tokens), arch)
                correct += int((logits.argmax(1).cpu() == y).sum())
                total += len(y)
        return correct / max(total, 1), meter.report()

    def __call__(self, archs: Sequence[Arch]) -> list[EvalResult]:
        return [self.evaluate_one(a)[0] for a in archs]


def load_supernet(path: Path, device: str | torch.device = "cpu") -> tuple[Supernet, dict]:
    """Rebuild a supernet from a training checkpoint (weights only, no optimizer)."""
    tensors, meta = load_tensors(Path(path))
    if meta.get("kind") != "supernet":
        raise CheckpointError(f"{Path(path).name} is not a supernet checkpoint")
    spec = data.dataset_spec(meta["config"]["dataset"])
    net = Supernet(
        SearchSpace.from_dict(meta["config"]["space"]),
        in_channels=spec.in_channels,
        num_classes=spec.num_classes,
        image_size=spec.image_size,
    )
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{Path(path).name}: weights do not match: {str(e)[:200]}") from None
    return net.to(device).eval(), meta
