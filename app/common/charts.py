"""Altair chart builders shared by the pages and `autospikformer report`.

Every builder takes plain pandas frames (see `app.common.frames`) and returns an Altair chart; none
reads the store or Streamlit. Energy is stored in microjoules (`energy_uj`); each chart shows it in
ONE unit (pJ, nJ, µJ, mJ or J, `app.common.units`), chosen from everything it draws or given by the
page (so its table agrees): the data are scaled to that unit in a calculated field `energy`, the
axis is titled `energy per sample (nJ)` and its ticks are plain numbers. Energy goes on x
(optionally log), accuracy on y.
"""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import pandas as pd

from app.common import units
from app.common.frames import NORMALIZED_HV_LABEL

PICK = "pick"  # point selection (click) on the explorer scatter, by candidate id
BOX = "box"  # interval selection (drag) on the explorer scatter
ENERGY = "energy"  # the calculated field: energy in the chart's unit (the box selection's field)
SVG_MAX_POINTS = 2000  # above this the browser draws on a canvas (no per-point DOM nodes)
ENERGY_TITLE = "energy per sample"
ACCURACY_TITLE = "validation accuracy"
FRONT_COLOR = "#111111"
BEST_COLOR = "#d62728"
SELECTED_COLOR = "#1f77b4"
TOP_COLOR = "#ff7f0e"
INFEASIBLE_COLOR = "#9e9e9e"


def energy_unit(frames: Iterable[pd.DataFrame | None], field: str = "energy_uj") -> str:
    """The one unit for every energy in `frames` (their `field`, in µJ)."""
    values: list[float] = []
    for frame in frames:
        if frame is not None and field in frame:
            values.extend(frame[field].tolist())
    return units.energy_unit_uj(values)[0]


def with_energy(chart: alt.Chart, unit: str, field: str = "energy_uj") -> alt.Chart:
    """Adds `energy`: the row's `field` (µJ) in `unit`."""
    factor = units.unit_factor(unit)
    return chart.transform_calculate(**{ENERGY: f"datum.{field} * {factor!r}"})


def energy_tooltip(unit: str) -> alt.Tooltip:
    return alt.Tooltip(f"{ENERGY}:Q", title=units.energy_title(unit), format=".4~g")


def _x(log: bool, unit: str, title: str = ENERGY_TITLE) -> alt.X:
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    # Log ticks as plain numbers too (Vega's default writes SI prefixes there: "200m").
    axis = alt.Axis(format="~g") if log else alt.Axis()
    return alt.X(f"{ENERGY}:Q", title=units.energy_title(unit, title), scale=scale, axis=axis)


def _y() -> alt.Y:
    return alt.Y(
        "accuracy:Q", title=ACCURACY_TITLE, scale=alt.Scale(zero=False), axis=alt.Axis(format="%")
    )


def _tooltip(unit: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("id:N", title="candidate"),
        alt.Tooltip("accuracy:Q", format=".2%"),
        energy_tooltip(unit),
        alt.Tooltip("generation:Q"),
        alt.Tooltip("strategy:N"),
        alt.Tooltip("count:Q", title="candidates here"),
    ]


def _size(drawn: pd.DataFrame) -> alt.Size | alt.SizeValue:
    """Aggregated points grow with the number of candidates they stand for."""
    most = int(drawn["count"].max()) if len(drawn) else 1
    if most <= 1:
        return alt.SizeValue(70)
    return alt.Size(
        "count:Q",
        scale=alt.Scale(domain=[1, most], range=[50, 400]),
        legend=alt.Legend(title="candidates per point"),
    )


def _renderer(chart: alt.TopLevelMixin, n_points: int) -> alt.TopLevelMixin:
    """SVG (one DOM node per point, which browser tests can click) for small charts."""
    if n_points <= SVG_MAX_POINTS:
        return chart.properties(usermeta={"embedOptions": {"renderer": "svg"}})
    return chart


MARK_ROLES = ("leaderboard", "selected", "best")


def explorer_chart(
    drawn: pd.DataFrame,
    front: pd.DataFrame,
    top: pd.DataFrame,
    best: pd.DataFrame,
    selected: pd.DataFrame,
    *,
    color: str = "generation",
    log: bool = False,
    alpha: float = 0.5,
    height: int = 420,
    infeasible: pd.DataFrame | None = None,
    best_label: str | None = None,
    unit: str | None = None,
) -> alt.LayerChart:
    """The explorer scatter: drawn candidates (click or drag to select), the Pareto front as a
    line, the top-ranked at `alpha` ringed and the best one marked, the selection outlined.
    `infeasible` candidates (over their search's constraints), if given, are grey crosses: never
    ranked, never on the front, not selectable. Energies in `unit` (default: the one unit of
    everything drawn); a box selection's `energy` range is in that unit."""
    if unit is None:
        unit = energy_unit([drawn, front, top, best, selected, infeasible])
    tip = _tooltip(unit)
    pick = alt.selection_point(name=PICK, fields=["id"], on="click", clear="dblclick")
    box = alt.selection_interval(name=BOX, encodings=["x", "y"])
    if color == "strategy":
        colour = alt.Color("strategy:N", title="strategy", scale=alt.Scale(scheme="set1"))
    elif drawn["generation"].nunique() <= 12:
        colour = alt.Color("generation:O", title="generation", scale=alt.Scale(scheme="viridis"))
    else:
        colour = alt.Color("generation:Q", title="generation", scale=alt.Scale(scheme="viridis"))
    cols = ["id", "energy_uj", "accuracy"]
    marks = pd.concat(
        [
            top[cols].assign(role="leaderboard"),
            selected[cols].assign(role="selected"),
            best[cols].assign(role="best"),
        ],
        ignore_index=True,
    )
    # The candidate cloud is drawn last (on top) and carries both selections, so a click on a
    # ringed or marked candidate lands on its own point. (Vega-Lite cannot share one point
    # selection between layers.)
    x = _x(log, unit)
    points = (
        with_energy(alt.Chart(drawn), unit)
        .mark_circle(opacity=0.75)
        .encode(x=x, y=_y(), color=colour, size=_size(drawn), tooltip=tip)
        .add_params(pick, box)
    )
    line = (
        with_energy(alt.Chart(front), unit)
        .mark_line(color=FRONT_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(color=FRONT_COLOR))
        .encode(x=x, y=_y(), order="energy_uj:Q", tooltip=tip[:3])
    )
    overlay = (
        with_energy(alt.Chart(marks), unit)
        .mark_point(strokeWidth=2.5, opacity=1)
        .encode(
            x=x,
            y=_y(),
            shape=alt.Shape(
                "role:N",
                scale=alt.Scale(domain=MARK_ROLES, range=["circle", "square", "diamond"]),
                title=None,
            ),
            stroke=alt.Stroke(
                "role:N",
                scale=alt.Scale(domain=MARK_ROLES, range=[TOP_COLOR, SELECTED_COLOR, BEST_COLOR]),
                title=None,
            ),
            size=alt.Size(
                "role:N", scale=alt.Scale(domain=MARK_ROLES, range=[220, 300, 450]), legend=None
            ),
            tooltip=[alt.Tooltip("role:N"), *tip[:3]],
        )
    )
    label = (
        with_energy(alt.Chart(best.assign(label=best_label or f"best at alpha={alpha:.2f}")), unit)
        .mark_text(align="left", dx=12, dy=-12, color=BEST_COLOR, fontWeight="bold")
        .encode(x=x, y=_y(), text="label:N")
    )
    layers = [line, overlay, points, label]
    extra = 0
    if infeasible is not None and len(infeasible):
        crosses = (
            with_energy(alt.Chart(infeasible.assign(constraint=infeasible["violation"])), unit)
            .mark_point(shape="cross", color=INFEASIBLE_COLOR, size=70, opacity=0.8)
            .encode(
                x=x,
                y=_y(),
                tooltip=[
                    alt.Tooltip("id:N", title="infeasible candidate"),
                    alt.Tooltip("constraint:N", title="breaks"),
                    *tip[1:3],
                ],
            )
        )
        layers.insert(0, crosses)
        extra = len(infeasible)
    properties: dict = {"height": height}
    if len(drawn) + len(front) + len(marks) + extra <= SVG_MAX_POINTS:
        # SVG: one DOM node per point, which browser tests (and screen readers) can address.
        properties["usermeta"] = {"embedOptions": {"renderer": "svg"}}
    chart = alt.layer(*layers).properties(**properties)
    return chart.resolve_scale(color="independent", size="independent", shape="independent")


LAYER_ROW_PX = 22  # height of one layer's bar and label on the per-layer charts
LAYER_LABEL_PX = 260  # room for the longest layer name (`blocks.3.attn.proj_lif`)


def layer_bars(
    frame: pd.DataFrame, value: str, title: str, *, fmt: str = ".3g", energy: bool = False
) -> alt.Chart:
    """Horizontal bars of a per-layer value (frame from `app.common.frames.layer_frame`), one row
    per layer with room for its whole name; `energy` values are microjoules, shown in the one
    unit of the chart (`energy per sample (pJ)`)."""
    chart = alt.Chart(frame)
    if energy:
        unit = energy_unit([frame], value)
        chart = with_energy(chart, unit, value)
        x = alt.X(f"{ENERGY}:Q", title=units.energy_title(unit, title))
        tip = energy_tooltip(unit)
    else:
        x = alt.X(f"{value}:Q", title=title)
        tip = alt.Tooltip(f"{value}:Q", format=fmt)
    return (
        chart.mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "layer:N",
                sort=None,
                title=None,
                scale=alt.Scale(paddingInner=0.2),
                axis=alt.Axis(
                    labelOverlap=False,
                    labelLimit=LAYER_LABEL_PX,
                    labelFontSize=11,
                    labelPadding=4,
                ),
            ),
            tooltip=["layer:N", tip],
        )
        # SVG: each label a DOM node, which browser tests measure for overlaps.
        .properties(height=alt.Step(LAYER_ROW_PX), usermeta={"embedOptions": {"renderer": "svg"}})
    )


def fronts_chart(
    points: pd.DataFrame,
    fronts: pd.DataFrame,
    *,
    group: str,
    log: bool = False,
    title: str | None = None,
    height: int = 420,
    unit: str | None = None,
) -> alt.LayerChart:
    """Candidates of several groups (runs, searches or strategies) with each group's Pareto front
    as a line; `group` is the column naming the group in both frames (paper Fig. 5/6). Energies
    in `unit` (default: the one unit of every point)."""
    unit = unit or energy_unit([points, fronts])
    tip = [f"{group}:N", *_tooltip(unit)[:3]]
    colour = alt.Color(f"{group}:N", title=group, scale=alt.Scale(scheme="set1"))
    cloud = (
        with_energy(alt.Chart(points), unit)
        .mark_circle(opacity=0.45, size=60)
        .encode(x=_x(log, unit), y=_y(), color=colour, tooltip=tip)
    )
    lines = (
        with_energy(alt.Chart(fronts), unit)
        .mark_line(strokeWidth=2.5, point=True)
        .encode(
            x=_x(log, unit),
            y=_y(),
            color=colour,
            detail=f"{group}:N",
            order="energy_uj:Q",
            tooltip=tip,
        )
    )
    chart = _renderer(alt.layer(cloud, lines).properties(height=height), len(points) + len(fronts))
    if title:
        chart = chart.properties(title=title)
    return chart


def hypervolume_chart(frame: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """The normalized hypervolume per generation, one line per search (columns: search,
    generation, hypervolume_normalized, strategy), on the unit scale."""
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("generation:O", title="generation", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "hypervolume_normalized:Q", title=NORMALIZED_HV_LABEL, scale=alt.Scale(zero=False)
            ),
            color=alt.Color("search:N", title="search"),
            strokeDash=alt.StrokeDash("strategy:N", title="strategy"),
            tooltip=[
                "search:N",
                "generation:Q",
                alt.Tooltip("hypervolume_normalized:Q", title="normalized", format=".4f"),
            ],
        )
        .properties(height=320)
    )
    return chart.properties(title=title) if title else chart


def knee_chart(curve: pd.DataFrame, *, alpha: float, title: str = "") -> alt.VConcatChart:
    """The F_AEB winner's accuracy and energy (in one unit) as alpha sweeps 0..1 (frame from
    `app.common.frames.knee`), with a dashed rule at the current `alpha`."""
    unit = energy_unit([curve])
    x = alt.X("alpha:Q", title="alpha (weight of energy in F_AEB)", scale=alt.Scale(domain=[0, 1]))
    rule = (
        alt.Chart(pd.DataFrame({"alpha": [alpha]}))
        .mark_rule(color=BEST_COLOR, strokeDash=[4, 3], strokeWidth=2)
        .encode(x=x)
    )

    def panel(field: str, axis_title: str, fmt: str) -> alt.LayerChart:
        value = energy_tooltip(unit) if field == ENERGY else alt.Tooltip(f"{field}:Q", format=fmt)
        line = (
            with_energy(alt.Chart(curve), unit)
            .mark_line(interpolate="step-after", point=True)
            .encode(
                x=x,
                y=alt.Y(
                    f"{field}:Q",
                    title=axis_title,
                    scale=alt.Scale(zero=False),
                    axis=alt.Axis(format=fmt),
                ),
                tooltip=[
                    alt.Tooltip("alpha:Q", format=".2f"),
                    alt.Tooltip("id:N", title="winner"),
                    value,
                ],
            )
        )
        return alt.layer(line, rule).properties(height=150)

    chart = alt.vconcat(
        panel("accuracy", "winner accuracy", ".2%"),
        panel(ENERGY, units.energy_title(unit, "winner energy"), "~g"),
    )
    return chart.properties(title=title) if title else chart
