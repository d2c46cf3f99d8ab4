"""The Compare page's knee panels: the F_AEB winner's accuracy and energy as alpha sweeps 0..1
(frame from `app.common.frames.knee`), each a chart of its own that fills its column, with the
number formats of the other pages, energy in one unit (`energy (nJ)`) and a padded range when the
winner never changes (a single value)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from app.common import charts, units
from app.web.components.run_charts import padded_domain

RULE_COLOR = "#d62728"
HEIGHT = 170


def knee_panels(
    curve: pd.DataFrame, *, alpha: float, unit: str | None = None
) -> list[alt.LayerChart]:
    """[the winner's accuracy, its energy in `unit` (default: the curve's one unit)], each with
    a dashed rule at the current `alpha`."""
    unit = unit or charts.energy_unit([curve])
    curve = curve.assign(**{charts.ENERGY: curve["energy_uj"] * units.unit_factor(unit)})
    x = alt.X(
        "alpha:Q",
        title="alpha (weight of energy in F_AEB)",
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(format=".1f", tickCount=10),
    )
    rule = (
        alt.Chart(pd.DataFrame({"alpha": [alpha]}))
        .mark_rule(color=RULE_COLOR, strokeDash=[4, 3], strokeWidth=2)
        .encode(x=x)
    )

    def panel(field: str, title: str, axis_format: str, tip_format: str, floor) -> alt.LayerChart:
        domain = padded_domain(curve[field], floor=floor)
        if field == "accuracy":
            domain = [domain[0], min(1.0, domain[1])]
        line = (
            alt.Chart(curve)
            .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=18))
            .encode(
                x=x,
                y=alt.Y(
                    f"{field}:Q",
                    title=title,
                    scale=alt.Scale(domain=domain, nice=False),
                    axis=alt.Axis(format=axis_format, tickCount=4),
                ),
                tooltip=[
                    alt.Tooltip("alpha:Q", format=".2f"),
                    alt.Tooltip("id:N", title="winner"),
                    alt.Tooltip(f"{field}:Q", format=tip_format),
                ],
            )
        )
        return alt.layer(line, rule).properties(
            height=HEIGHT, width="container", usermeta={"embedOptions": {"renderer": "svg"}}
        )

    return [
        panel("accuracy", "accuracy", ".1%", ".2%", 0.0),
        panel(charts.ENERGY, units.energy_title(unit), "~g", ".4g", 0.0),
    ]
