"""Supernet training (weight entanglement + DSPS alternate choice) and standalone training.

Every step samples an arch (uniformly, the default, or by the sandwich rule: largest + smallest +
random, with gradients accumulated; see engine/sampling.py) and trains it. T, thresholds and taus
are genes of the arch, so sampling them each step is the paper's alternate choice for the SNN
space.

Resume is exact: all randomness of epoch e (data order, augmentation, arch sampling) is drawn from
generators seeded by (seed, e), and a checkpoint holds the model, the AdamW state and the step.
Under DDP every rank draws its augmentation (and its DataLoader workers' seeds) from its own
stream seeded by (seed, e, rank); the data order is one permutation per epoch, shared by the
ranks and split between them by `DistributedSampler`.

Every step sends a "step" progress event: `epoch` (counted from 0), `step` of `steps` (over the
whole schedule), `batch` of `batches` (within the epoch, counted from 1), `loss` (the step's mean
training loss over the archs it trained) and `seconds` (since the epoch's first batch began).
Every epoch adds a record to the run's history (kept in each checkpoint) and sends an "epoch"
progress event with the same fields: `epoch`, `loss` (mean training loss of the epoch),
`seconds` (wall time of the epoch's training), and `val_accuracy_largest` /
`val_accuracy_smallest`, the validation accuracy of the space's largest and smallest subnet after
BN recalibration (for a standalone arch, both are that arch's). Under DDP, rank 0 measures and
records them. Checkpoints written before these fields existed hold records without them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from engine import data
from engine.checkpoint import load_tensors, save_tensors
from engine.checkpoint_files import checkpoints, latest_checkpoint
from engine.errors import AutoSpikformerError
from engine.evaluate import evaluate_model, recalibrate_bn
from engine.shape import ModelShape
from engine.space import Arch, SearchSpace
from engine.spikformer import Spikformer
from engine.supernet import Supernet
from engine.train_config import TrainConfig

Progress = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    epochs: int
    checkpoint: Path
    val_accuracy_largest: float
    val_accuracy_smallest: float
    history: list[dict[str, Any]] = field(default_factory=list)


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise AutoSpikformerError("--device cuda asked for, but no CUDA device is available")
    if device not in ("cpu", "cuda"):
        raise AutoSpikformerError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


def build_model(config: TrainConfig) -> Supernet | Spikformer:
    spec = data.dataset_spec(config.dataset)
    space = config.search_space
    arch = config.standalone_arch
    data.check_space_time_steps(spec, [arch.time_steps] if arch else space.time_steps)
    if arch is not None:  # a standalone arch need not lie inside the space
        return Spikformer(arch, ModelShape(spec.in_channels, spec.num_classes, spec.image_size))
    return Supernet(
        space,
        in_channels=spec.in_channels,
        num_classes=spec.num_classes,
        image_size=spec.image_size,
    )


def lr_at(step: int, total: int, warmup: int, config: TrainConfig) -> float:
    """Linear warmup, then cosine decay to `min_lr`."""
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr)


def step_archs(config: TrainConfig, space: SearchSpace, rng: np.random.Generator) -> list[Arch]:
    """The archs trained in one step."""
    if config.arch is not None:
        return [config.standalone_arch]
    if config.sampling == "sandwich":
        return [space.largest(), space.smallest(), space.sample(rng)]
    if config.sampling == "sandwich-dsps":  # extremes of the shared weights, SNN genes drawn
        big, small = (space.with_sampled_snn(a, rng) for a in (space.largest(), space.smallest()))
        return [big, small, space.sample(rng)]
    return [space.sample(rng)]


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in state["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _load_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    for key, v in meta["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    run_dir: Path, model, opt, config: TrainConfig, epoch: int, step: int, history: list
) -> Path:
    path = Path(run_dir) / "checkpoints" / f"epoch-{epoch:04d}.safetensors"
    model_t = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_t, opt_meta = _optimizer_tensors(opt)
    kind = "standalone" if config.arch is not None else "supernet"
    meta = {
        "kind": kind,
        "config": asdict(config),
        "epoch": epoch,
        "step": step,
        "optimizer": opt_meta,
        "history": history,
    }
    save_tensors(path, {**model_t, **opt_t}, meta)
    for old in checkpoints(run_dir)[: -config.keep_checkpoints]:
        old.unlink(missing_ok=True)
    return path


def _val_accuracy(model, arch: Arch, config: TrainConfig, device) -> float:
    val = list(data.make_loader(config.dataset, "val", batch_size=256, seed=config.seed))
    if isinstance(model, Supernet):
        subnet = model.extract(arch)
        recal = data.fixed_batches(
            config.dataset,
            "train",
            n_batches=config.recalib_batches,
            batch_size=128,
            seed=config.seed,
        )
        recalibrate_bn(subnet, recal)
        model = subnet
    acc, _ = evaluate_model(model.to(device), val)
    return acc


def train(
    run_dir: Path,
    config: TrainConfig,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    max_epochs: int | None = None,
    before_save: Callable[[], None] | None = None,
) -> TrainResult:
    """Train (or resume) the run in `run_dir` up to `config.epochs`.

    `max_epochs` stops after that many epochs in this call (a task trains one epoch at a time).
    `progress` receives a dict after every step and epoch. `before_save` is called before each
    checkpoint is written; it raises to stop without writing (a task that lost its lease).
    """
    dev = pick_device(device)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    torch.manual_seed(config.seed)
    model = build_model(config).to(dev)
    opt = make_optimizer(model, config)
    start_epoch, step, history = 0, 0, []
    last = latest_checkpoint(run_dir)
    if last is not None:
        tensors, meta = load_tensors(last)
        stored = TrainConfig(**meta["config"])
        if stored.schedule_key() != config.schedule_key():
            raise AutoSpikformerError(
                f"run at {run_dir} was trained with other settings; use a new run name"
            )
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        _load_optimizer(opt, tensors, meta["optimizer"])
        start_epoch, step, history = meta["epoch"], meta["step"], meta["history"]
    space = config.search_space
    ddp_model = _wrap_ddp(model, dev) if distributed else model
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    rank0 = rank == 0
    steps_per_epoch = _steps_per_epoch(config)
    total, warmup = config.epochs * steps_per_epoch, config.warmup_epochs * steps_per_epoch
    end = config.epochs if max_epochs is None else min(config.epochs, start_epoch + max_epochs)
    path = last
    for epoch in range(start_epoch, end):
        rng = np.random.default_rng([config.seed, epoch])
        loader = _train_loader(config, epoch, rank, world)
        model.train()
        started = time.perf_counter()
        loss_sum = n = 0
        for batch, (x, y) in enumerate(loader, start=1):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, config)
            archs = step_archs(config, space, rng)
            opt.zero_grad(set_to_none=True)
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            step_loss = 0.0
            for arch in archs:
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                    logits = ddp_model(x) if config.arch is not None else ddp_model(x, arch)
                    loss = F.cross_entropy(
                        logits.float(), y, label_smoothing=config.label_smoothing
                    )
                loss.backward()
                functional.reset_net(model)
                step_loss += loss.item()
            loss_sum, n = loss_sum + step_loss, n + len(archs)
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            step += 1
            if progress and rank0:
                progress(
                    {
                        "event": "step",
                        "epoch": epoch,
                        "step": step,
                        "steps": total,
                        "batch": batch,
                        "batches": steps_per_epoch,
                        "loss": step_loss / len(archs),
                        "seconds": time.perf_counter() - started,
                    }
                )
        record = {
            "epoch": epoch + 1,
            "loss": loss_sum / max(n, 1),
            "seconds": time.perf_counter() - started,
        }
        if rank0:
            acc_l, acc_s = _summary_accuracies(model, config, space, dev)
            record.update(val_accuracy_largest=acc_l, val_accuracy_smallest=acc_s)
        history.append(record)
        if rank0:
            if before_save is not None:
                before_save()
            path = save_checkpoint(run_dir, model, opt, config, epoch + 1, step, history)
        if progress and rank0:
            progress({"event": "epoch", **record, "epochs": config.epochs, "checkpoint": str(path)})
    if distributed:
        torch.distributed.barrier()  # rank 0 has written the checkpoint every rank reports
        path = latest_checkpoint(run_dir)
    if path is None:
        raise AutoSpikformerError("nothing to train: no epochs were run and no checkpoint exists")
    last = history[-1] if history and end > start_epoch else {}
    if "val_accuracy_smallest" in last:  # measured after this call's last epoch
        acc_l, acc_s = last["val_accuracy_largest"], last["val_accuracy_smallest"]
    else:
        acc_l, acc_s = _summary_accuracies(model, config, space, dev)
    return TrainResult(end, path, acc_l, acc_s, history)


def _summary_archs(config: TrainConfig, space: SearchSpace) -> tuple[Arch, Arch]:
    arch = config.standalone_arch
    return (arch, arch) if arch is not None else (space.largest(), space.smallest())


def _summary_accuracies(
    model: Supernet | Spikformer, config: TrainConfig, space: SearchSpace, dev: torch.device
) -> tuple[float, float]:
    """Validation accuracy of the largest and the smallest subnet (the arch, standalone)."""
    largest, smallest = _summary_archs(config, space)
    acc_l = _val_accuracy(model, largest, config, dev)
    acc_s = acc_l if smallest == largest else _val_accuracy(model, smallest, config, dev)
    return acc_l, acc_s


def _steps_per_epoch(config: TrainConfig) -> int:
    n = len(data.load_split(config.dataset, "train"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return max(1, n // world // config.batch_size)


def _train_loader(config: TrainConfig, epoch: int, rank: int = 0, world: int = 1):
    """Epoch `epoch`'s training batches for `rank` of `world` processes (all of them for 1)."""
    seed = config.seed * 100_003 + epoch
    if world == 1:
        return data.make_loader(
            config.dataset,
            "train",
            batch_size=config.batch_size,
            seed=seed,
            shuffle=True,
            augment=config.augment,
            drop_last=True,
        )
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    # Augmentation and workers: this rank's own stream. Order: one permutation for all ranks.
    rank_seed = data.derive_seed(config.seed, epoch, rank)
    ds = data.load_split(config.dataset, "train", seed=rank_seed, augment=config.augment)
    sampler = DistributedSampler(
        ds, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    return DataLoader(
        ds,
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=4,
        pin_memory=torch.cuda.is_available(),
        generator=data.seeded_generator(config.seed, epoch, rank),
    )


def _wrap_ddp(model: nn.Module, dev: torch.device) -> nn.Module:
    """DistributedDataParallel under torchrun. Subnets leave blocks unused, hence the flag."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    ids = [dev.index] if dev.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
