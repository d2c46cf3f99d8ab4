"""The settings of two runs side by side, only those that differ (W&B's run diff): training and
search settings as `tasks.history.settings` reads them, and the search space gene by gene."""

from __future__ import annotations

from typing import Any

import pandas as pd

from app.common import units
from storage.base import Store
from storage.records import RunRecord
from tasks import history

LABELS: dict[str, str] = {
    "dataset": "dataset",
    "space": "space",
    "epochs": "epochs",
    "sampling": "sampling",
    "batch_size": "batch size",
    "lr": "learning rate",
    "seed": "seed",
    "strategy": "strategy",
    "generations": "generations",
    "population": "population",
    "parents": "parents",
    "alpha": "alpha",
    "energy_budget_uj": "energy budget",
    "param_limit": "parameter limit",
    "recalib_batches": "recalibration batches",
    "energy_profile": "energy profile",
    "anchors": "generation-0 anchors",
    "predictor": "predictor",
    "device": "device",
    "owner": "owner",
}


def _text(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "energy_budget_uj":
        return units.format_energy(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def flat(store: Store, record: RunRecord) -> dict[str, str]:
    """The run's settings as text, by label; the space's genes as `space: GENE`."""
    values = history.settings(store, record)
    out = {label: _text(key, values.get(key)) for key, label in LABELS.items()}
    for gene, choices in sorted(values.get("space_genes", {}).items()):
        out[f"space: {gene}"] = _text(gene, choices)
    out["tags"] = ", ".join(record.tags) or "-"
    return out


def settings_diff(store: Store, a: RunRecord, b: RunRecord) -> pd.DataFrame:
    """One row per setting whose text differs between `a` and `b` (index: the setting; columns:
    the two runs' names), in `LABELS` order, then the space's genes and the tags."""
    left, right = flat(store, a), flat(store, b)
    keys = [k for k in left | right if left.get(k, "-") != right.get(k, "-")]
    frame = pd.DataFrame(
        {
            f"A: {a.name}": [left.get(k, "-") for k in keys],
            f"B: {b.name}": [right.get(k, "-") for k in keys],
        },
        index=pd.Index(keys, name="setting"),
    )
    return frame
