"""Altair chart builders shared by the pages and `autospikformer report`.

Every builder takes plain pandas frames (see `app.common.frames`) and returns an Altair chart; none
reads the store or Streamlit. Energy is in microjoules on x (optionally log), accuracy on y; axis
labels and tooltips show it with a readable unit (nJ, uJ or mJ).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from app.common.frames import NORMALIZED_HV_LABEL

PICK = "pick"  # point selection (click) on the explorer scatter, by candidate id
BOX = "box"  # interval selection (drag) on the explorer scatter
SVG_MAX_POINTS = 2000  # above this the browser draws on a canvas (no per-point DOM nodes)
ENERGY_TITLE = "energy per sample"
ACCURACY_TITLE = "validation accuracy"
FRONT_COLOR = "#111111"
BEST_COLOR = "#d62728"
SELECTED_COLOR = "#1f77b4"
TOP_COLOR = "#ff7f0e"
INFEASIBLE_COLOR = "#9e9e9e"


def energy_expr(field: str) -> str:
    """A Vega expression showing the microjoules in `field` with a readable unit."""
    v = field
    return (
        f"abs({v}) >= 1000 ? format({v} / 1000, '.3~g') + ' mJ' : "
        f"abs({v}) > 0 && abs({v}) < 1 ? format({v} * 1000, '.3~g') + ' nJ' : "
        f"format({v}, '.3~g') + ' uJ'"
    )


def _energy_axis() -> alt.Axis:
    return alt.Axis(labelExpr=energy_expr("datum.value"))


def _x(log: bool, title: str = ENERGY_TITLE) -> alt.X:
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    return alt.X("energy_uj:Q", title=title, scale=scale, axis=_energy_axis())


def with_energy_label(chart: alt.Chart) -> alt.Chart:
    """Adds `energy`, the row's energy as text with its unit, for tooltips."""
    return chart.transform_calculate(energy=energy_expr("datum.energy_uj"))


def _y() -> alt.Y:
    return alt.Y(
        "accuracy:Q", title=ACCURACY_TITLE, scale=alt.Scale(zero=False), axis=alt.Axis(format="%")
    )


_TOOLTIP = [
    alt.Tooltip("id:N", title="candidate"),
    alt.Tooltip("accuracy:Q", format=".2%"),
    alt.Tooltip("energy:N", title="energy"),
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
) -> alt.LayerChart:
    """The explorer scatter: drawn candidates (click or drag to select), the Pareto front as a
    line, the top-ranked at `alpha` ringed and the best one marked, the selection outlined.
    `infeasible` candidates (over their search's constraints), if given, are grey crosses: never
    ranked, never on the front, not selectable."""
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
    points = (
        with_energy_label(alt.Chart(drawn))
        .mark_circle(opacity=0.75)
        .encode(x=_x(log), y=_y(), color=colour, size=_size(drawn), tooltip=_TOOLTIP)
        .add_params(pick, box)
    )
    line = (
        with_energy_label(alt.Chart(front))
        .mark_line(color=FRONT_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(color=FRONT_COLOR))
        .encode(x=_x(log), y=_y(), order="energy_uj:Q", tooltip=_TOOLTIP[:3])
    )
    overlay = (
        with_energy_label(alt.Chart(marks))
        .mark_point(strokeWidth=2.5, opacity=1)
        .encode(
            x=_x(log),
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
            tooltip=[alt.Tooltip("role:N"), *_TOOLTIP[:3]],
        )
    )
    label = (
        alt.Chart(best.assign(label=best_label or f"best at alpha={alpha:.2f}"))
        .mark_text(align="left", dx=12, dy=-12, color=BEST_COLOR, fontWeight="bold")
        .encode(x=_x(log), y=_y(), text="label:N")
    )
    layers = [line, overlay, points, label]
    extra = 0
    if infeasible is not None and len(infeasible):
        crosses = (
            with_energy_label(alt.Chart(infeasible.assign(constraint=infeasible["violation"])))
            .mark_point(shape="cross", color=INFEASIBLE_COLOR, size=70, opacity=0.8)
            .encode(
                x=_x(log),
                y=_y(),
                tooltip=[
                    alt.Tooltip("id:N", title="infeasible candidate"),
                    alt.Tooltip("constraint:N", title="breaks"),
                    *_TOOLTIP[1:3],
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


def layer_bars(
    frame: pd.DataFrame, value: str, title: str, *, fmt: str = ".3g", energy: bool = False
) -> alt.Chart:
    """Horizontal bars of a per-layer value (frame from `app.common.frames.layer_frame`); `energy`
    values are microjoules, labelled with a readable unit."""
    axis = _energy_axis() if energy else alt.Axis()
    tip = (
        alt.Tooltip("energy:N", title="energy") if energy else alt.Tooltip(f"{value}:Q", format=fmt)
    )
    chart = alt.Chart(frame)
    if energy:
        chart = chart.transform_calculate(energy=energy_expr(f"datum.{value}"))
    return (
        chart.mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=title, axis=axis),
            y=alt.Y(
                "layer:N",
                sort=None,
                title=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=220, labelFontSize=10),
            ),
            tooltip=["layer:N", tip],
        )
        .properties(height=max(120, 18 * len(frame)))
    )


def fronts_chart(
    points: pd.DataFrame,
    fronts: pd.DataFrame,
    *,
    group: str,
    log: bool = False,
    title: str | None = None,
    height: int = 420,
) -> alt.LayerChart:
    """Candidates of several groups (runs, searches or strategies) with each group's Pareto front
    as a line; `group` is the column naming the group in both frames (paper Fig. 5/6)."""
    colour = alt.Color(f"{group}:N", title=group, scale=alt.Scale(scheme="set1"))
    cloud = (
        with_energy_label(alt.Chart(points))
        .mark_circle(opacity=0.45, size=60)
        .encode(x=_x(log), y=_y(), color=colour, tooltip=[f"{group}:N", *_TOOLTIP[:3]])
    )
    lines = (
        with_energy_label(alt.Chart(fronts))
        .mark_line(strokeWidth=2.5, point=True)
        .encode(
            x=_x(log),
            y=_y(),
            color=colour,
            detail=f"{group}:N",
            order="energy_uj:Q",
            tooltip=[f"{group}:N", *_TOOLTIP[:3]],
        )
    )
    chart = alt.layer(cloud, lines).properties(height=height)
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
    """The F_AEB winner's accuracy and energy as alpha sweeps 0..1 (frame from
    `app.common.frames.knee`), with a dashed rule at the current `alpha`."""
    x = alt.X("alpha:Q", title="alpha (weight of energy in F_AEB)", scale=alt.Scale(domain=[0, 1]))
    rule = (
        alt.Chart(pd.DataFrame({"alpha": [alpha]}))
        .mark_rule(color=BEST_COLOR, strokeDash=[4, 3], strokeWidth=2)
        .encode(x=x)
    )

    def panel(field: str, axis_title: str, fmt: str) -> alt.LayerChart:
        energy = field == "energy_uj"
        axis = _energy_axis() if energy else alt.Axis(format=fmt)
        value = (
            alt.Tooltip("energy:N", title="energy")
            if energy
            else alt.Tooltip(f"{field}:Q", format=fmt)
        )
        line = (
            with_energy_label(alt.Chart(curve))
            .mark_line(interpolate="step-after", point=True)
            .encode(
                x=x,
                y=alt.Y(f"{field}:Q", title=axis_title, scale=alt.Scale(zero=False), axis=axis),
                tooltip=[
                    alt.Tooltip("alpha:Q", format=".2f"),
                    alt.Tooltip("id:N", title="winner"),
                    value,
                ],
            )
        )
        return alt.layer(line, rule).properties(height=150)

    chart = alt.vconcat(
        panel("accuracy", "winner accuracy", ".2%"), panel("energy_uj", "winner energy", ".4g")
    )
    return chart.properties(title=title) if title else chart
