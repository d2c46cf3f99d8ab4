"""Charts of one run's history (`tasks.history.history`): supernet training per epoch and the search
per generation. Plain frames in, Altair charts out; no store, no Streamlit.

The charts are drawn as SVG (a few hundred points at most), one node per point, so a browser test
can count them as they grow.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from app.common.units import PREDICTOR_TAU_LABEL

SVG = {"embedOptions": {"renderer": "svg"}}
HEIGHT = 220
ACCURACY_LABELS = {
    "val_accuracy_largest": "largest",
    "val_accuracy_smallest": "smallest",
}


def epoch_frame(epochs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per epoch: epoch, loss, the two validation accuracies (NaN where not measured),
    seconds."""
    columns = ["epoch", "loss", *ACCURACY_LABELS, "seconds"]
    frame = pd.DataFrame(epochs, columns=columns)
    return frame.astype({c: "float64" for c in columns[1:]})


def generation_frame(generations: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per generation (`tasks.history.generation_history`); a normalized hypervolume
    that is not known, and the predictor tau of a generation not screened, read as NaN."""
    columns = [
        "generation",
        "best_fitness",
        "hypervolume",
        "hypervolume_normalized",
        "predictor_tau",
    ]
    frame = pd.DataFrame(generations, columns=[*columns, "evaluated", "seconds"])
    return frame.astype({c: "float64" for c in columns[1:]})


def padded_domain(values: pd.Series, *, pad: float = 0.05, floor: float | None = None) -> list:
    """A y range around `values` with a margin; a single value gets a range of its own size
    (or +-1 around 0) instead of a degenerate axis."""
    clean = values.dropna()
    if clean.empty:
        return [0.0, 1.0]
    lo, hi = float(clean.min()), float(clean.max())
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    lo, hi = lo - span * pad, hi + span * pad
    if floor is not None:
        lo = max(lo, floor)
    return [lo, hi]


def _x(field: str, title: str, last: int) -> alt.X:
    """An integer axis from 1 to `last` (at least 2 so one point is not alone on an empty axis)."""
    return alt.X(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(domain=[1, max(2, last)], nice=False),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )


def _line(frame: pd.DataFrame, x: alt.X, field: str, title: str, fmt: str, **y: Any) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(f"{field}:Q", title=title, **y),
            tooltip=[x.to_dict()["field"], alt.Tooltip(f"{field}:Q", format=fmt)],
        )
        .properties(height=HEIGHT, width="container", usermeta=SVG)
    )


def loss_chart(frame: pd.DataFrame, epochs: int) -> alt.Chart:
    """Mean training loss per epoch."""
    x = _x("epoch", "epoch", epochs)
    scale = alt.Scale(domain=padded_domain(frame["loss"], floor=0.0), nice=False)
    return _line(frame, x, "loss", "training loss", ".4f", scale=scale)


def accuracy_chart(frame: pd.DataFrame, epochs: int) -> alt.Chart:
    """Validation accuracy of the largest and the smallest subnet per epoch (after BN
    recalibration), one line each."""
    long = frame.melt(
        id_vars="epoch", value_vars=list(ACCURACY_LABELS), var_name="subnet", value_name="accuracy"
    ).dropna()
    long["subnet"] = long["subnet"].map(ACCURACY_LABELS)
    x = _x("epoch", "epoch", epochs)
    domain = padded_domain(long["accuracy"])
    domain = [max(0.0, domain[0]), min(1.0, domain[1])]
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "accuracy:Q",
                title="validation accuracy",
                scale=alt.Scale(domain=domain, nice=False),
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color(
                "subnet:N",
                scale=alt.Scale(domain=list(ACCURACY_LABELS.values())),
                # On the right: a legend below would take its height from the plot.
                legend=alt.Legend(title="subnet"),
            ),
            tooltip=["epoch", "subnet", alt.Tooltip("accuracy:Q", format=".2%")],
        )
        .properties(height=HEIGHT, width="container", usermeta=SVG)
    )


def search_charts(frame: pd.DataFrame, generations: int) -> list[alt.Chart]:
    """Best F_AEB, the normalized hypervolume (accuracy above chance x log energy, in [0, 1], as
    the search recorded it; the raw one in its tooltip) and candidates evaluated, per
    generation."""
    x = _x("generation", "generation", generations)
    fitness = _line(
        frame,
        x,
        "best_fitness",
        "best F_AEB",
        ".4f",
        scale=alt.Scale(domain=padded_domain(frame["best_fitness"]), nice=False),
    )
    low, high = padded_domain(frame["hypervolume_normalized"], floor=0.0)
    hypervolume = _line(
        frame,
        x,
        "hypervolume_normalized",
        "normalized hypervolume",
        ".4f",
        scale=alt.Scale(domain=[low, min(1.0, high)], nice=False),
    ).encode(
        tooltip=[
            "generation",
            alt.Tooltip("hypervolume_normalized:Q", title="normalized hypervolume", format=".4f"),
            alt.Tooltip("hypervolume:Q", title="raw hypervolume (µJ × accuracy)", format=".4g"),
        ]
    )
    evaluated = _line(
        frame,
        x,
        "evaluated",
        "candidates evaluated",
        "d",
        scale=alt.Scale(domain=[0, max(1, int(frame["evaluated"].max() or 0))], nice=True),
    )
    return [fitness, hypervolume, evaluated]


def predictor_chart(frame: pd.DataFrame, generations: int) -> alt.Chart:
    """The predictor's Kendall tau per generation, on a fixed -1 to 1 axis (no point for a
    generation it did not screen)."""
    x = _x("generation", "generation", generations)
    return _line(
        frame,
        x,
        "predictor_tau",
        PREDICTOR_TAU_LABEL,
        ".3f",
        scale=alt.Scale(domain=[-1.0, 1.0], nice=False),
    ).encode(
        tooltip=[
            "generation",
            alt.Tooltip("predictor_tau:Q", title="predictor tau (Kendall)", format=".3f"),
        ]
    )


# ---- per-step training loss (progress points, `tasks.history.step_history`) -------------------
STEP_POINTS = 400  # at most this many points drawn (evenly spaced over the recorded ones)


def step_frame(steps: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per recorded training point: epoch, batch, batches, position (in epochs), loss;
    thinned evenly to `STEP_POINTS` rows (the first and the last kept)."""
    columns = ["epoch", "batch", "batches", "position", "loss"]
    frame = pd.DataFrame(steps, columns=columns).astype({"position": "float64", "loss": "float64"})
    if len(frame) > STEP_POINTS:
        keep = sorted({round(i * (len(frame) - 1) / (STEP_POINTS - 1)) for i in range(STEP_POINTS)})
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame


def step_loss_chart(frame: pd.DataFrame, epochs: int) -> alt.Chart:
    """Training loss within epochs (each point the mean over the batches since the previous
    one), against epochs done: it grows during epoch 1, before any epoch is recorded."""
    x = alt.X(
        "position:Q",
        title="epoch",
        scale=alt.Scale(domain=[0, max(1, epochs)], nice=False),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    scale = alt.Scale(domain=padded_domain(frame["loss"], floor=0.0), nice=False)
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=x,
            y=alt.Y("loss:Q", title="training loss per step", scale=scale),
            tooltip=["epoch", "batch", "batches", alt.Tooltip("loss:Q", format=".4f")],
        )
        .properties(height=HEIGHT, width="container", usermeta=SVG)
    )
