"""Candidates' genes as columns, for the parallel-coordinates view and gene importance, and the
brush: ranges of real gene values (or accuracy, energy) that pick candidates out.

A per-block gene (MLP ratio, heads, threshold, tau) is one column, its mean over the arch's
blocks; with `per_block_mlp`, the MLP ratio also gets one column per block (`mlp_ratio_2`: block 2,
missing where the arch is shallower). No Streamlit here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

# Column -> axis title, in axis order; the ARCH key each comes from.
GENES: dict[str, str] = {
    "embed_dim": "embed dim",
    "depth": "depth",
    "T": "time steps T",
    "mlp_ratio": "MLP ratio (mean)",
    "num_heads": "heads (mean)",
    "threshold": "threshold (mean)",
    "tau": "tau (mean)",
}
ARCH_KEYS: dict[str, str] = {
    "embed_dim": "embed_dim",
    "depth": "depth",
    "T": "time_steps",
    "mlp_ratio": "mlp_ratios",
    "num_heads": "num_heads",
    "threshold": "thresholds",
    "tau": "taus",
}
OBJECTIVES: dict[str, str] = {"accuracy": "accuracy", "energy_uj": "energy (log)"}
BLOCK_MLP = re.compile(r"mlp_ratio_([1-9][0-9]?)")
MAX_BRUSHED_AXES = 24
Range = tuple[str, float, float]  # (axis column, lowest, highest real value)


def block_title(column: str) -> str:
    """`MLP ratio, block 2` for `mlp_ratio_2`."""
    match = BLOCK_MLP.fullmatch(column)
    return f"MLP ratio, block {match.group(1)}" if match else column


def title(column: str) -> str:
    """The axis title of a column."""
    return GENES.get(column) or OBJECTIVES.get(column) or block_title(column)


def is_axis(column: str) -> bool:
    return column in GENES or column in OBJECTIVES or BLOCK_MLP.fullmatch(column) is not None


def _arch(value: Any) -> Mapping[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def gene_frame(points: pd.DataFrame, *, per_block_mlp: bool = False) -> pd.DataFrame:
    """One row per candidate of `points` (with an `arch` column: JSON text or dicts): `id`, each
    gene of `GENES` (per-block genes as their mean), `accuracy` and `energy_uj`; with
    `per_block_mlp`, also `mlp_ratio_1` .. `mlp_ratio_L` (NaN past an arch's depth)."""
    archs = [_arch(a) for a in points["arch"]] if len(points) else []
    out: dict[str, Any] = {"id": points["id"].to_numpy()}
    for column, key in ARCH_KEYS.items():
        values = [a.get(key) for a in archs]
        if values and isinstance(values[0], (list, tuple)):
            out[column] = [float(np.mean(v)) if v else math.nan for v in values]
        else:
            out[column] = [math.nan if v is None else float(v) for v in values]
    if per_block_mlp:
        deepest = max((len(a.get("mlp_ratios", [])) for a in archs), default=0)
        for block in range(deepest):
            out[f"mlp_ratio_{block + 1}"] = [
                float(a["mlp_ratios"][block]) if block < len(a.get("mlp_ratios", [])) else math.nan
                for a in archs
            ]
    out["accuracy"] = points["accuracy"].to_numpy(dtype=float)
    out["energy_uj"] = points["energy_uj"].to_numpy(dtype=float)
    return pd.DataFrame(out)


def varying(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The `columns` with more than one value in `frame` (a gene fixed by the space says
    nothing)."""
    return [c for c in columns if c in frame.columns and frame[c].dropna().nunique() > 1]


# ---- axes: real value <-> position in [0, 1] -----------------------------------------------------
def _scaled(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column].astype(float)
    return np.log10(values.clip(lower=1e-12)) if column == "energy_uj" else values


def extent(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    """(low, high) of the axis, log10 for energy."""
    values = _scaled(frame, column).dropna()
    if values.empty:
        return 0.0, 1.0
    return float(values.min()), float(values.max())


def to_unit(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column's values as positions in [0, 1] on its axis (0.5 when it holds one value)."""
    lo, hi = extent(frame, column)
    values = _scaled(frame, column)
    if hi <= lo:
        return values * 0 + 0.5
    return (values - lo) / (hi - lo)


def position(frame: pd.DataFrame, column: str, value: float) -> float:
    """Where the real `value` lies on the column's axis (0 its lowest, 1 its highest value)."""
    lo, hi = extent(frame, column)
    scaled = math.log10(max(float(value), 1e-12)) if column == "energy_uj" else float(value)
    return 0.5 if hi <= lo else (scaled - lo) / (hi - lo)


def from_unit(frame: pd.DataFrame, column: str, position: float) -> float:
    """The real value at `position` (clipped to [0, 1]) on the column's axis."""
    lo, hi = extent(frame, column)
    value = lo + min(max(float(position), 0.0), 1.0) * (hi - lo)
    return float(10**value) if column == "energy_uj" else value


# ---- the brush --------------------------------------------------------------------------------
def brush_from_selection(
    frame: pd.DataFrame, axes: Sequence[str], selection: Mapping[str, Any]
) -> list[Range]:
    """The ranges a drag over the parallel coordinates covers: `selection` is the interval
    selection's value (`{"axis": [x0, x1], "unit": [y0, y1]}`, axis index and position); every
    axis whose index lies inside gets the real range of [y0, y1]. Empty when it covers none."""
    xs, ys = selection.get("axis") or [], selection.get("unit") or []
    if len(xs) != 2 or len(ys) != 2:
        return []
    x0, x1 = sorted(float(v) for v in xs)
    y0, y1 = sorted(float(v) for v in ys)
    out = []
    for index, column in enumerate(axes):
        if x0 <= index <= x1:
            lo, hi = from_unit(frame, column, y0), from_unit(frame, column, y1)
            out.append((column, lo, hi))
    return out


def merge(ranges: Sequence[Range], new: Sequence[Range]) -> tuple[Range, ...]:
    """`ranges` with the axes of `new` replaced by (or added as) their new range."""
    replaced = {column for column, _, _ in new}
    kept = [r for r in ranges if r[0] not in replaced]
    return tuple([*kept, *new][:MAX_BRUSHED_AXES])


def brushed(frame: pd.DataFrame, ranges: Sequence[Range]) -> pd.Series:
    """Which rows of `frame` lie inside every range (an axis `frame` lacks matches nothing)."""
    mask = pd.Series(True, index=frame.index)
    for column, lo, hi in ranges:
        if column not in frame.columns:
            return pd.Series(False, index=frame.index)
        slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
        mask &= frame[column].between(lo - slack, hi + slack)  # NaN (no such block) is out
    return mask


def format_brush(ranges: Sequence[Range]) -> str:
    """Ranges as they live in a link: `depth:2:3,energy_uj:0.01:0.2`."""
    return ",".join(f"{c}:{lo:.6g}:{hi:.6g}" for c, lo, hi in ranges)


def parse_brush(text: str | None) -> tuple[tuple[Range, ...], str | None]:
    """(ranges, problem): the ranges of `format_brush` text, or none and one line saying what is
    wrong with it."""
    if not text:
        return (), None
    out: list[Range] = []
    for part in text.split(","):
        pieces = part.split(":")
        try:
            column, lo, hi = pieces[0], float(pieces[1]), float(pieces[2])
        except (IndexError, ValueError):
            column, lo, hi = "", math.nan, math.nan
        if len(pieces) != 3 or not is_axis(column) or not (math.isfinite(lo) and math.isfinite(hi)):
            shown = part if len(part) <= 40 else part[:39] + "…"
            return (), (
                f"brush={shown!r} in the link is not AXIS:LOW:HIGH with AXIS one of "
                f"{', '.join([*GENES, *OBJECTIVES])} (or mlp_ratio_N)"
            )
        out = [r for r in out if r[0] != column] + [(column, min(lo, hi), max(lo, hi))]
    return tuple(out[:MAX_BRUSHED_AXES]), None


def describe(ranges: Sequence[Range]) -> str:
    """`depth 2 to 3 · accuracy 80% to 95%` (energies in µJ as written by `format_value`)."""
    return " · ".join(
        f"{title(c)} {format_value(c, lo)} to {format_value(c, hi)}" for c, lo, hi in ranges
    )


def format_value(column: str, value: float) -> str:
    """A real axis value as a label: accuracy in %, energy with its unit, genes plainly."""
    from app.common import units

    if column == "accuracy":
        return f"{100 * value:.3g}%"
    if column == "energy_uj":
        return units.format_energy(value, digits=3)
    return f"{value:.3g}"
