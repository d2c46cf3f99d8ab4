"""The explorer's genes section: parallel coordinates of the genes against accuracy and energy,
whose brush selects candidates in the explorer (its scatter, leaderboard and detail), and the
gene importance for accuracy and for energy.

The brush lives in `st.session_state["ex_brush"]` as real ranges (`app.common.genes.Range`) and
in the URL (`brush=depth:2:3,...`), so a copied link reproduces it. A new drag over an axis sets
that axis' range (ranges on other axes stay) and replaces a clicked or boxed selection; a click or
a box on the scatter clears the brush (the explorer does that).
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app.common import frames, genes, importance, parallel
from app.web.components import ui
from engine.profiles import get_profile
from storage import paths

K = "ex_"  # the explorer's session-state prefix
BRUSH = K + "brush"
BLOCKS = K + "blocks"
CHART = K + "genes_chart"
SIG = K + "genes_sig"
COMPUTE = K + "importance_now"


# ---- frames, cached until the scope grows ------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner=False)
def _frame(
    path: str, run: str, search: str | None, version: int, profile: str, blocks: bool
) -> pd.DataFrame:
    points = frames.load_points(
        ui.store(), run, search, with_arch=True, profile=get_profile(profile)
    )
    return genes.gene_frame(points, per_block_mlp=blocks)


def frame(run: str, search: str | None, profile: str, blocks: bool = False) -> pd.DataFrame:
    """The scope's feasible candidates as genes, accuracy and energy (under `profile`)."""
    version = ui.store().count_candidates(run, search)
    return _frame(str(paths.store_path()), run, search, version, profile, blocks)


def axes(gene_frame: pd.DataFrame) -> list[str]:
    """The genes that vary in the scope, then accuracy and energy."""
    columns = [*genes.GENES, *[c for c in gene_frame.columns if genes.BLOCK_MLP.fullmatch(c)]]
    if any(genes.BLOCK_MLP.fullmatch(c) for c in gene_frame.columns):
        columns.remove("mlp_ratio")
    return [*genes.varying(gene_frame, columns), *genes.OBJECTIVES]


@st.cache_data(max_entries=16, show_spinner=False)
def _importance(
    path: str, run: str, search: str | None, version: int, profile: str
) -> dict[str, importance.Importance] | str:
    data = frame(run, search, profile)
    chosen = genes.varying(data, list(genes.GENES))
    try:
        return importance.gene_importance(data, chosen)
    except ValueError as err:
        return str(err)


# ---- the brush ---------------------------------------------------------------------------------
def _signature(event: Any) -> str:
    selection = (event or {}).get("selection", {}) if hasattr(event, "get") else {}
    return json.dumps(selection.get(parallel.BRUSH) or {}, sort_keys=True, default=str)


def take_brush(run: str, search: str | None, profile: str) -> None:
    """Turn a new drag on the parallel coordinates into the brush (and the explorer's
    selection). An emptied brush (a click, a redraw) changes nothing: "Clear" does."""
    ss = st.session_state
    sig = _signature(ss.get(CHART))
    if sig == ss.get(SIG):
        return
    ss[SIG] = sig
    selection = json.loads(sig)
    if not selection:
        return
    data = frame(run, search, profile, bool(ss.get(BLOCKS)))
    new = genes.brush_from_selection(data, axes(data), selection)
    if new:
        ss[BRUSH] = genes.merge(tuple(ss.get(BRUSH) or ()), new)
        ss[K + "selection"], ss[K + "box"] = (), None


def brushed_ids(run: str, search: str | None, profile: str) -> list[str]:
    """The candidates inside every brushed range (none without a brush)."""
    ranges = tuple(st.session_state.get(BRUSH) or ())
    if not ranges:
        return []
    data = frame(run, search, profile, bool(st.session_state.get(BLOCKS)))
    return data.loc[genes.brushed(data, ranges), "id"].tolist()


def clear_brush() -> None:
    st.session_state[BRUSH] = ()


# ---- the section -------------------------------------------------------------------------------
def section(run: str, search: str | None, profile: str, front: list[str], live: bool) -> None:
    """Parallel coordinates and gene importance of the scope, each in its own container
    (`st-key-genes_parallel`, `st-key-genes_importance`)."""
    with st.container(key="genes_parallel"):
        _parallel(run, search, profile, front)
    with st.container(key="genes_importance"):
        _importance_panel(run, search, profile, live)


def _parallel(run: str, search: str | None, profile: str, front: list[str]) -> None:
    ss = st.session_state
    st.subheader("Genes against accuracy and energy")
    data = frame(run, search, profile, bool(ss.get(BLOCKS)))
    chosen = axes(data)
    ranges = tuple(ss.get(BRUSH) or ())
    inside = data.loc[genes.brushed(data, ranges), "id"].tolist() if ranges else None
    draw = parallel.drawn_ids(data, front)
    st.altair_chart(
        parallel.parallel_chart(data, chosen, draw=draw, inside=inside, ranges=ranges),
        on_select="rerun",
        selection_mode=[parallel.BRUSH],
        key=CHART,
        width="stretch",
    )
    cols = st.columns([3, 1, 1])
    fixed = [genes.GENES[g] for g in genes.GENES if g not in chosen and g != "mlp_ratio"]
    left_out = f" Fixed in this space, so not drawn: {', '.join(fixed)}." if fixed else ""
    drawn = "" if len(draw) == len(data) else (
        f" {len(draw):,} of {len(data):,} candidates drawn (the Pareto front and a seeded "
        "sample); the brush selects among all of them."
    )  # fmt: skip
    if ranges:
        matched = len(inside or [])
        what = f"**Brushed:** {genes.describe(ranges)}: {matched:,} of {len(data):,} candidates"
        what += " selected above." if matched else "; none lies in every range."
        cols[0].markdown(what)
    else:
        cols[0].caption(
            "Drag over an axis to brush it: the candidates inside every brushed range are "
            "selected in the scatter, the leaderboard and the detail above. One line per "
            "candidate, coloured by accuracy; per-block genes as their mean over the blocks; "
            f"energy on a log scale.{drawn}{left_out}"
        )
    cols[1].toggle("MLP ratio per block", key=BLOCKS, help="One axis per block instead of the mean")
    cols[2].button("Clear brush", on_click=clear_brush, disabled=not ranges, key=K + "unbrush")


def _importance_panel(run: str, search: str | None, profile: str, live: bool) -> None:
    st.subheader("Gene importance")
    version = ui.store().count_candidates(run, search)
    scope = (run, search, profile)
    if live:  # the scope grows every few seconds: fit once on request, then keep that fit
        pinned = st.session_state.get(COMPUTE)
        if pinned and pinned[0] == scope:
            version = pinned[1]
        else:
            st.caption(
                "The run is still evaluating candidates: importance is computed when it is "
                "done (fitting a random forest takes a few seconds), or now on request."
            )
            if not st.button("Compute it now", key=K + "importance_button"):
                return
            st.session_state[COMPUTE] = (scope, version)
    with st.spinner("Fitting a random forest on the candidates..."):
        result = _importance(str(paths.store_path()), run, search, version, profile)
    if isinstance(result, str):
        st.info(f"No importance: {result}.")
        return
    left, right = st.columns(2)
    for col, (name, label) in zip(
        (left, right), (("accuracy", "accuracy"), ("energy", f"energy ({profile})")), strict=True
    ):
        item = result[name]
        with col:
            st.markdown(f"**What drives {label}**")
            st.altair_chart(importance_chart(item), width="stretch")
            trust = "good" if item.oob_r2 >= 0.5 else "weak" if item.oob_r2 >= 0.2 else "poor"
            st.caption(
                f"Out-of-bag R² of the fit: **{item.oob_r2:.2f}** ({trust}; 1 would explain "
                f"every difference), over {item.rows:,} candidates."
            )
    st.caption(
        f"{result['accuracy'].method} Bars: mean drop over {importance.REPEATS} shuffles, "
        "whiskers ± one standard deviation. Fitted on this scope's feasible candidates, which "
        "a search chose, so genes it rarely varied can look unimportant."
    )


def importance_chart(item: importance.Importance) -> alt.LayerChart:
    """Horizontal bars of the drop in out-of-bag R² per gene, most important on top."""
    data = item.frame().assign(
        title=lambda f: f["gene"].map(genes.title),
        lo=lambda f: f["drop"] - f["spread"],
        hi=lambda f: f["drop"] + f["spread"],
    )
    order = data["title"].tolist()
    y = alt.Y("title:N", sort=order, title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False))
    bars = (
        alt.Chart(data)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("drop:Q", title="drop in out-of-bag R² when shuffled"),
            y=y,
            tooltip=[
                alt.Tooltip("title:N", title="gene"),
                alt.Tooltip("drop:Q", format=".3f", title="R² drop"),
                alt.Tooltip("share:Q", format=".0%", title="share"),
            ],
        )
    )
    whiskers = alt.Chart(data).mark_rule(color="#222222").encode(x="lo:Q", x2="hi:Q", y=y)
    # The height holds the x axis too (the app fits the chart to it): about 30 px a gene.
    return alt.layer(bars, whiskers).properties(height=70 + 30 * len(data))
