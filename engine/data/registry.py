"""Dataset name -> (spec, loader) registry and the one factory, `load_split`.

A family module registers each dataset it provides with `@register_dataset(spec, ...)` on its
loader, as timm's `register_model` does for models; importing `engine.data` imports every
family. A loader is called as `loader(spec, split, options)` and returns a `SplitDataset`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.data.base import DatasetSpec, LoadOptions, SplitDataset, check_split, data_root
from engine.errors import DatasetError

Loader = Callable[[DatasetSpec, str, LoadOptions], SplitDataset]

_REGISTRY: dict[str, tuple[DatasetSpec, Loader]] = {}


def register_dataset(*specs: DatasetSpec) -> Callable[[Loader], Loader]:
    """Register `loader` under each spec's name (a name may be registered once)."""

    def wrap(loader: Loader) -> Loader:
        for spec in specs:
            if spec.name in _REGISTRY:
                raise ValueError(f"dataset {spec.name!r} is registered twice")
            _REGISTRY[spec.name] = (spec, loader)
        return loader

    return wrap


def dataset_names() -> tuple[str, ...]:
    """Every registered dataset, in registration order."""
    return tuple(_REGISTRY)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a known dataset; `DatasetError` for an unknown name."""
    try:
        return _REGISTRY[name][0]
    except (KeyError, TypeError):
        raise DatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(_REGISTRY)}"
        ) from None


def load_split(
    name: str,
    split: str,
    *,
    root: Path | None = None,
    seed: int = 0,
    augment: bool = False,
    time_steps: int | None = None,
) -> SplitDataset:
    """One split ("train", "val" or "test") of a dataset; items are (float32 tensor, int).

    `root` defaults to `data_root()` (unused by shipped datasets). `seed` seeds augmentation
    only; the splits are fixed. `augment` applies the dataset's training augmentation (whatever
    the split). `time_steps` integrates each event sample into T frames (all of the spec's
    frames when None); it is ignored for static images.
    """
    spec = dataset_spec(name)
    check_split(split)
    _, loader = _REGISTRY[name]
    options = LoadOptions(
        root=data_root() if root is None else Path(root),
        seed=seed,
        augment=augment,
        time_steps=time_steps,
    )
    return loader(spec, split, options)
