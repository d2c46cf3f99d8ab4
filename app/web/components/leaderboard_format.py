"""How candidates read in the app's tables: the leaderboard with per-block genes as short columns
(`mlp 4/3`, `heads 4/2`, `thr 1.4/1.0`, `tau 2/10`), one accuracy format (two decimals, in %), one
energy unit for the whole table (`energy (nJ)`, the view's: `app.common.units`), parameters with
SI suffixes (`19.1 k`), a tick on the selected rows and column widths that fit the content; and
the note on silent blocks for the candidate detail. No Streamlit: the pages pass the returned
column settings on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pandas as pd

from app.common import units

ACCURACY_FORMAT = "%.2f%%"  # accuracy is shown x 100 with two decimals, everywhere
SILENT = "🔇"  # the column (and mark) of a silent candidate
SILENT_HELP = (
    "Silent: a block never fires (firing rate 0), so it is bypassed through the residual. "
    "Ranked after the others unless silent ones are shown in order."
)
CHAR_PX = 7.4  # width of one character of the table font (14 px), in pixels
PAD_PX = 18  # cell padding
SELECT_PX = 40  # the row-selection checkboxes
# The explorer's main column at a 1400 px wide window, minus borders and a scrollbar.
FIT_PX = 900
ENERGY_FORMAT = "%.4g"  # energies in the table's one unit
# Columns left out (in this order) when the table would not fit `FIT_PX`; each is in the CSV and
# the candidate detail. Params go last: the size is what a reader compares after accuracy and
# energy.
OPTIONAL = ("L", "gen", "rate", "D", "search", "params")
# Per-block gene -> (column, ARCH key, how one value is written).
BLOCK_GENES: dict[str, tuple[str, str]] = {
    "mlp": ("mlp_ratios", "{:g}"),
    "heads": ("num_heads", "{:d}"),
    "thr": ("thresholds", "{:.1f}"),
    "tau": ("taus", "{:g}"),
}


def per_block(arch: Mapping[str, Any], key: str, fmt: str) -> str:
    """One per-block gene of `arch` as `a/b/c` (block 1 first)."""
    return "/".join(fmt.format(int(v) if fmt == "{:d}" else float(v)) for v in arch.get(key, []))


def short_search(search: str) -> str:
    """A search id without its run's name: `evolution.1` for `my-run.evolution.1`."""
    parts = search.rsplit(".", 2)
    return ".".join(parts[-2:]) if len(parts) == 3 else search


def percent(accuracy: float) -> str:
    """An accuracy in [0, 1] as text: `91.23%`."""
    return f"{accuracy * 100:.2f}%"


def _width(
    frame: pd.DataFrame, column: str, shown: pd.Series | None = None, label: str | None = None
) -> int:
    values = (frame[column] if shown is None else shown).astype(str)
    head = len(label or column)
    longest = max([head, *values.str.len().tolist()]) if len(values) else head
    return int(longest * CHAR_PX + PAD_PX)


def leaderboard(
    rows: pd.DataFrame,
    archs: Mapping[str, Mapping[str, Any]],
    selected: Collection[str] = (),
    *,
    unit: str | None = None,
    fit_px: int = FIT_PX,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The leaderboard to show for `rows` (`app.web.components.ui.ranked_frame`), in the same row
    order, and the `column_config` for `st.dataframe`.

    Columns: a tick for the selected candidates, rank, id, F_AEB, accuracy (x 100), energy in
    `unit` (the view's; default: the one unit of these rows), params (SI suffixes), firing rate,
    T, D (embed dim), L (depth), the per-block genes, generation, and the search (without the
    run's name) only when it differs between rows. Each column is as wide as its content; when
    they add up to more than `fit_px`, the `OPTIONAL` ones are left out in turn, so no column is
    cut off.
    """
    from streamlit import column_config as cc  # imported here so the module stays UI-free

    unit = unit or units.energy_unit_uj(rows["energy_uj"])[0]
    energy_label = units.energy_title(unit)

    out = pd.DataFrame(
        {
            "✓": ["✓" if i in set(selected) else "" for i in rows["id"]],
            "rank": rows["rank"],
            "id": rows["id"],
            SILENT: [SILENT if s else "" for s in rows.get("silent", [False] * len(rows))],
            "F_AEB": rows["fitness"],
            "accuracy": rows["accuracy"] * 100,
            "energy": rows["energy_uj"] * units.unit_factor(unit),
            "params": rows["params"].map(units.format_ops),
            "rate": rows["firing_rate"],
            "T": rows["T"],
            "D": rows["embed_dim"],
            "L": rows["depth"],
        }
    )
    for column, (key, fmt) in BLOCK_GENES.items():
        out[column] = [per_block(archs.get(i, {}), key, fmt) for i in rows["id"]]
    out["gen"] = rows["generation"]
    if rows["search"].nunique() > 1:  # its id names the strategy: "<run>.evolution.1"
        out["search"] = [short_search(s) for s in rows["search"]]
    shown = {
        "F_AEB": out["F_AEB"].map("{:.4f}".format),
        "accuracy": out["accuracy"].map("{:.2f}%".format),
        "energy": out["energy"].map("{:.4g}".format),
        "rate": out["rate"].map("{:.3f}".format),
    }
    config: dict[str, Any] = {
        "✓": cc.TextColumn("✓", help="Selected (on the chart or in this table)"),
        SILENT: cc.TextColumn(SILENT, help=SILENT_HELP),
        "F_AEB": cc.NumberColumn("F_AEB", format="%.4f"),
        "accuracy": cc.NumberColumn("accuracy", format=ACCURACY_FORMAT, help="Validation"),
        "energy": cc.NumberColumn(
            energy_label, format=ENERGY_FORMAT, help="Per sample, under the energy profile"
        ),
        "params": cc.TextColumn("params", help="Parameters (k: thousand, M: million)"),
        "rate": cc.NumberColumn("rate", format="%.3f", help="Mean firing rate"),
        "D": cc.NumberColumn("D", help="Embedding dimension"),
        "L": cc.NumberColumn("L", help="Depth (blocks)"),
        "T": cc.NumberColumn("T", help="Time steps"),
        "mlp": cc.TextColumn("mlp", help="MLP ratio per block"),
        "heads": cc.TextColumn("heads", help="Attention heads per block"),
        "thr": cc.TextColumn("thr", help="LIF threshold per block"),
        "tau": cc.TextColumn("tau", help="LIF time constant per block"),
        "gen": cc.NumberColumn("gen", help="Generation (from 0) that first evaluated it"),
        "search": cc.TextColumn("search", help="The search (strategy.number) that evaluated it"),
    }
    labels = {"energy": energy_label}
    widths = {c: _width(out, c, shown.get(c), labels.get(c)) for c in out.columns}
    for column in OPTIONAL:
        if SELECT_PX + sum(widths.values()) <= fit_px:
            break
        del widths[column]
    out = out[list(widths)]
    for column, width in widths.items():
        config.setdefault(column, {})["width"] = width
    return out, {c: v for c, v in config.items() if c in widths}


def subset_columns(unit: str) -> dict[str, Any]:
    """`column_config` of the explorer's table of selected candidates (accuracy x 100, `energy`
    in the view's `unit`)."""
    from streamlit import column_config as cc

    return {
        "fitness": cc.NumberColumn("F_AEB", format="%.4f"),
        "accuracy": cc.NumberColumn("accuracy", format=ACCURACY_FORMAT),
        "energy": cc.NumberColumn(units.energy_title(unit), format=ENERGY_FORMAT),
        "generation": cc.NumberColumn("gen"),
    }


# ---- silent blocks ------------------------------------------------------------------------------
def silent_blocks(firing_rates: Mapping[str, float], depth: int) -> list[int]:
    """Blocks (counted from 1) whose spiking layers all have firing rate 0: the engine's rule
    (`engine.results.silent_blocks`), which judged each stored candidate's `silent` flag."""
    from engine.results import silent_blocks as engine_silent_blocks

    return engine_silent_blocks(firing_rates, depth)


def block_energy_uj(layer_energy_uj: Mapping[str, float], block: int) -> float:
    """The recorded energy of block `block` (counted from 1): the sum over its layers."""
    prefix = f"blocks.{block - 1}."
    return float(sum(v for k, v in layer_energy_uj.items() if k.startswith(prefix)))


def silent_note(
    firing_rates: Mapping[str, float], layer_energy_uj: Mapping[str, float], depth: int
) -> str | None:
    """A one-paragraph warning naming the silent blocks of a candidate, or None."""
    blocks = silent_blocks(firing_rates, depth)
    if not blocks:
        return None
    names = ", ".join(str(b) for b in blocks)
    per_block = [block_energy_uj(layer_energy_uj, b) for b in blocks]
    unit = units.energy_unit_uj(per_block)[0]
    energy = ", ".join(units.format_energy(e, unit=unit).split()[0] for e in per_block)
    if len(blocks) == 1:
        return (
            f"Block {names} is silent: all its spiking layers have firing rate 0, so no spike "
            "leaves it and it contributes nothing to the prediction (its output does not depend "
            f"on the input). Its recorded energy: {energy} {unit}."
        )
    return (
        f"Blocks {names} are silent: all their spiking layers have firing rate 0, so no spike "
        "leaves them and they contribute nothing to the prediction (their output does not depend "
        f"on the input). Their recorded energy: {energy} {unit}."
    )
