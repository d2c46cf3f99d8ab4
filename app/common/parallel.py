"""The parallel-coordinates chart of candidates' genes against accuracy and energy (Optuna
Dashboard's view): one vertical axis per column of `app.common.genes.gene_frame`, each scaled to
its own range (energy on a log scale) with ticks labelled in real values, one line per candidate
coloured by accuracy, and an interval brush (`BRUSH`) to drag over an axis. Ranges already brushed
are drawn as bands; candidates outside them are grey.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from app.common import genes

BRUSH = "genes"  # the interval selection's name: `{"axis": [x0, x1], "unit": [y0, y1]}`
MAX_LINES = 600  # lines drawn at most; the rest of the candidates are left out of the drawing
OUT_COLOR = "#d0d0d0"
BAND_COLOR = "#1f77b4"
TICKS = 5  # labelled ticks on an axis with more distinct values than this
MIN_GAP = 0.08  # closer values than this (of the axis' height) get evenly spaced ticks instead


def drawn_ids(
    frame: pd.DataFrame, keep: Sequence[str] = (), *, max_lines: int = MAX_LINES, seed: int = 0
) -> list[str]:
    """The candidates to draw: all when they are few, else those in `keep` (the Pareto front)
    and a seeded sample of the rest."""
    ids = frame["id"].tolist()
    if len(ids) <= max_lines:
        return ids
    kept = [i for i in ids if i in set(keep)][:max_lines]
    rest = [i for i in ids if i not in set(kept)]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(rest), size=max_lines - len(kept), replace=False)
    return kept + [rest[i] for i in sorted(picked)]


def _ticks(frame: pd.DataFrame, column: str) -> list[tuple[float, str]]:
    """(position, label) of the axis' labelled ticks: every value when there are few (genes),
    else `TICKS` evenly spaced ones; one energy unit on the whole axis."""
    from app.common import units

    values = sorted(float(v) for v in frame[column].dropna().unique())
    reals = None
    if column != "energy_uj" and len(values) <= TICKS + 1:
        # Positions only for the few values a gene takes (each one rescans the column).
        spots = [genes.position(frame, column, v) for v in values]
        gaps = [b - a for a, b in zip(spots, spots[1:], strict=False)]
        if min(gaps, default=1.0) >= MIN_GAP:
            reals = values
    if reals is None:
        reals = [genes.from_unit(frame, column, p) for p in np.linspace(0, 1, TICKS)]
    positions = [genes.position(frame, column, v) for v in reals]
    if column == "energy_uj":
        unit, scaled = units.format_energy_uj(reals)
        labels = [f"{v:.3g} {unit}" for v in scaled]
    else:
        labels = [genes.format_value(column, v) for v in reals]
    return list(zip(positions, labels, strict=True))


def parallel_chart(
    frame: pd.DataFrame,
    axes: Sequence[str],
    *,
    draw: Sequence[str] | None = None,
    inside: Sequence[str] | None = None,
    ranges: Sequence[genes.Range] = (),
    height: int = 380,
) -> alt.LayerChart:
    """Lines of the candidates `draw` (all of `frame` by default) over `axes`; those in `inside`
    (all when None) coloured by accuracy, the others grey; `ranges` drawn as bands."""
    ids = frame["id"].tolist() if draw is None else list(draw)
    shown = frame[frame["id"].isin(set(ids))]
    inside_set = set(shown["id"] if inside is None else inside)
    long = []
    for index, column in enumerate(axes):
        part = pd.DataFrame(
            {
                "id": shown["id"].to_numpy(),
                "axis": index,
                "unit": genes.to_unit(frame, column).loc[shown.index].to_numpy(),
                "accuracy": shown["accuracy"].to_numpy(),
            }
        )
        long.append(part)
    lines = pd.concat(long, ignore_index=True) if long else pd.DataFrame()
    lines["inside"] = lines["id"].isin(inside_set) if len(lines) else []
    lines = lines.dropna(subset=["unit"])  # a per-block column past the arch's depth
    titles = [genes.title(c) for c in axes]
    x_scale = alt.Scale(domain=[-0.35, len(axes) - 0.65], nice=False, zero=False)
    y_scale = alt.Scale(domain=[-0.03, 1.03])
    x = alt.X(
        "axis:Q",
        title=None,
        scale=x_scale,
        axis=alt.Axis(
            values=list(range(len(axes))),
            labelExpr=f"{json.dumps(titles)}[datum.value]",
            grid=False,
            ticks=False,
            domain=False,
            labelAngle=0,
            labelFontSize=12,
            labelFontWeight="bold",
            labelLimit=160,
            labelPadding=8,
        ),
    )
    y = alt.Y("unit:Q", title=None, axis=None, scale=y_scale)
    brush = alt.selection_interval(name=BRUSH, encodings=["x", "y"], clear="dblclick")
    rails = pd.DataFrame([{"axis": i, "unit": u} for i in range(len(axes)) for u in (0.0, 1.0)])
    axis_lines = (
        alt.Chart(rails)
        .mark_line(color="#555555", strokeWidth=1)
        .encode(x=x, y=y, detail="axis:N")
        .add_params(brush)
    )
    out = lines[~lines["inside"]] if len(lines) else lines
    grey = (
        alt.Chart(out)
        .mark_line(color=OUT_COLOR, strokeWidth=1, opacity=0.5)
        .encode(x=x, y=y, detail="id:N")
    )
    coloured = (
        alt.Chart(lines[lines["inside"]] if len(lines) else lines)
        .mark_line(strokeWidth=1.2, opacity=0.55)
        .encode(
            x=x,
            y=y,
            detail="id:N",
            color=alt.Color(
                "accuracy:Q",
                title="accuracy",
                scale=alt.Scale(scheme="viridis", domain=list(genes.extent(frame, "accuracy"))),
                legend=alt.Legend(format="%", orient="right"),
            ),
            tooltip=[
                alt.Tooltip("id:N", title="candidate"),
                alt.Tooltip("accuracy:Q", format=".2%"),
            ],
        )
    )
    ticks = pd.DataFrame(
        [
            {"axis": i, "unit": p, "label": label}
            for i, column in enumerate(axes)
            for p, label in _ticks(frame, column)
        ]
    )
    # Each label twice: a white outline first, so the lines under it do not hide it.
    halo = (
        alt.Chart(ticks)
        .mark_text(align="right", dx=-5, fontSize=10, stroke="white", strokeWidth=3)
        .encode(x=x, y=y, text="label:N")
    )
    labels = (
        alt.Chart(ticks)
        .mark_text(align="right", dx=-5, fontSize=10, color="#222222")
        .encode(x=x, y=y, text="label:N")
    )
    tick_marks = (
        alt.Chart(ticks).mark_tick(orient="horizontal", size=6, color="#555555").encode(x=x, y=y)
    )
    layers = [axis_lines, grey, coloured, tick_marks, halo, labels]
    if ranges:
        bands = pd.DataFrame(
            [
                {
                    "x0": axes.index(c) - 0.09,
                    "x1": axes.index(c) + 0.09,
                    # A range of one value (depth 2 to 2) still shows as a band.
                    "y0": genes.position(frame, c, lo) - 0.015,
                    "y1": genes.position(frame, c, hi) + 0.015,
                    "range": f"{genes.format_value(c, lo)} to {genes.format_value(c, hi)}",
                }
                for c, lo, hi in ranges
                if c in axes
            ]
        )
        if len(bands):
            layers.append(
                alt.Chart(bands)
                .mark_rect(color=BAND_COLOR, opacity=0.25, stroke=BAND_COLOR, strokeWidth=1.5)
                .encode(
                    x=alt.X("x0:Q", scale=x_scale),
                    x2="x1:Q",
                    y=alt.Y("y0:Q", scale=y_scale),
                    y2="y1:Q",
                    tooltip=[alt.Tooltip("range:N", title="brushed")],
                )
            )
    chart = alt.layer(*layers).properties(height=height)
    return chart.properties(usermeta={"embedOptions": {"renderer": "svg"}})
