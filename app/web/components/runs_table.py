"""The runs table (W&B sweeps): every run as a row, sortable by any column (click its header) and
filtered by state, dataset, owner and tags (filters above it, kept in the URL); pick rows to
overlay their Pareto fronts in Compare, and two rows to see the settings that differ. A run's
tags and notes are edited on its page (`annotations`), by its owner or an admin."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app.common import settings_diff, units
from app.web.components import permissions, ui, viewstate
from app.web.components.text import plain
from storage.base import RunSummary
from storage.errors import StoreError, one_line
from storage.records import NOTES_LIMIT, TAG_LIMIT, RunRecord

K = "rt_"
FILTERS: dict[str, str] = {"state": "states", "dataset": "datasets", "owner": "owners"}
FILTERS["tag"] = "tags"  # URL key -> `RunsView` field; the widget is `rt_<URL key>`
LABELS = {"state": "State", "dataset": "Dataset", "owner": "Owner", "tag": "Tags"}
NOTE_CHARS = 24  # of a run's notes shown in its row (all of them on its page)
FIT_PX = 930  # the runs table at a 1400 px wide window (measured: 938 px, less the borders)
# Left out, in this order, while the columns would not fit `FIT_PX` (the cards below and the run's
# page show them all); owner, tags and notes are left out first when no run has any.
OPTIONAL = ("elapsed", "created", "notes", "candidates", "progress")
CHAR_PX, PAD_PX, SELECT_PX = 7.4, 18, 40


# ---- filters -----------------------------------------------------------------------------------
def values_of(run: RunRecord, key: str) -> list[str]:
    """The values of filter `key` a run has: its state, dataset, owner, or tags."""
    if key == "tag":
        return list(run.tags)
    value = {"state": run.state, "dataset": run.dataset, "owner": run.owner}[key]
    return [value] if value else []


def options(runs: list[RunRecord], key: str) -> list[str]:
    return sorted({v for r in runs for v in values_of(r, key)})


def seed(view: viewstate.RunsView) -> None:
    """Seed the filters from the URL (first visit, or a link opened in place)."""
    for key, field in FILTERS.items():
        st.session_state[K + key] = list(getattr(view, field))


def chosen() -> dict[str, list[str]]:
    return {key: list(st.session_state.get(K + key) or []) for key in FILTERS}


def matches(run: RunRecord, picked: dict[str, list[str]]) -> bool:
    """A run passes when, for every filter with values picked, it has one of them."""
    return all(not want or set(want) & set(values_of(run, key)) for key, want in picked.items())


def filtered(runs: list[RunRecord]) -> list[RunRecord]:
    """`runs` that pass the filters picked now."""
    picked = chosen()
    return [r for r in runs if matches(r, picked)]


def filters(runs: list[RunRecord]) -> None:
    """The four filters; a value from the link that no run has is dropped with one line."""
    cols = st.container(key="runs_filters").columns(4)
    for col, key in zip(cols, FILTERS, strict=True):
        present = options(runs, key)
        picked = list(st.session_state.get(K + key) or [])
        unknown = [v for v in picked if v not in present]
        if unknown:
            st.warning(plain(f"{key}={unknown[0]!r} in the link matches no run; ignored."))
            st.session_state[K + key] = [v for v in picked if v in present]
        col.multiselect(LABELS[key], present, key=K + key, placeholder="any")


def view_params(run: str | None) -> viewstate.RunsView:
    picked = chosen()
    return viewstate.RunsView(run=run, **{f: tuple(picked[k]) for k, f in FILTERS.items()})


# ---- the table ---------------------------------------------------------------------------------
def _note(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= NOTE_CHARS else line[: NOTE_CHARS - 1] + "…"


def table_frame(runs: list[RunRecord]) -> tuple[pd.DataFrame, str]:
    """One row per run, newest first, and the unit of its `lowest energy` column (one for the
    whole column): candidates, best accuracy and lowest energy of its feasible candidates."""
    rows = []
    summaries = ui.run_summaries()
    for run in sorted(runs, key=lambda r: (-r.created_at, r.name)):
        line = summaries.get(run.name) or RunSummary(0, None, None)  # a run created since
        rows.append(
            {
                "run": f"runs?run={run.name}",
                "state": run.state,
                "dataset": run.dataset,
                "owner": run.owner or "-",
                "tags": list(run.tags),
                "notes": _note(run.notes),
                "progress": run.progress,
                "candidates": line.candidates,
                "best accuracy": line.best_accuracy,
                "min energy": line.min_energy_uj,
                "created": dt.datetime.fromtimestamp(run.created_at),
                "elapsed": ui.elapsed(run),
            }
        )
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    unit, scaled = units.format_energy_uj(frame["min energy"].tolist())
    frame["min energy"] = pd.Series(scaled, dtype="float64")
    frame["best accuracy"] = frame["best accuracy"].astype("float64") * 100
    return frame, unit


TABLE_COLUMNS = ["run", "state", "dataset", "owner", "tags", "notes", "progress", "candidates"]
TABLE_COLUMNS += ["best accuracy", "min energy", "created", "elapsed"]


def _shown_width(frame: pd.DataFrame, column: str, header: str) -> int:
    """Pixels the column needs for its header and its longest cell as text."""
    if column == "tags":
        cells = [sum(len(t) + 3 for t in tags) for tags in frame["tags"]]
    elif column == "progress":
        cells = [10]  # a short bar and "100%"
    elif column == "created":
        cells = [16]
    elif column in ("best accuracy", "min energy"):
        cells = [7]
    elif column == "run":  # shown as the name alone
        cells = [len(v.removeprefix("runs?run=")) for v in frame["run"]]
    else:
        cells = [len(str(v)) for v in frame[column]]
    return int(max([len(header), *cells]) * CHAR_PX + PAD_PX)


def fit(frame: pd.DataFrame, unit: str, fit_px: int = FIT_PX) -> list[str]:
    """The columns to show, each as wide as its content, so that none is cut off: owner, tags
    and notes only when some run has one, then `OPTIONAL` left out in turn while too wide."""
    headers = {c: c for c in frame.columns} | {"min energy": f"min energy ({unit})"}
    shown = [c for c in frame.columns]
    for column, empty in (("owner", "-"), ("tags", None), ("notes", "")):
        values = frame[column].tolist()
        if all((v == empty) if empty is not None else not len(v) for v in values):
            shown.remove(column)
    widths = {c: _shown_width(frame, c, headers[c]) for c in shown}
    for column in OPTIONAL:
        if SELECT_PX + sum(widths.values()) <= fit_px:
            break
        widths.pop(column, None)
    return [c for c in shown if c in widths]


def column_config(unit: str) -> dict:
    cc = st.column_config
    return {
        "run": cc.LinkColumn("run", display_text=r"runs\?run=(.*)", help="Open the run's page"),
        "tags": cc.ListColumn("tags"),
        "progress": cc.ProgressColumn("progress", format="percent", min_value=0, max_value=1),
        "best accuracy": cc.NumberColumn(
            "best accuracy", format="%.2f%%", help="Of its feasible candidates (validation)"
        ),
        "min energy": cc.NumberColumn(
            f"min energy ({unit})", format="%.4g", help="Lowest of its feasible candidates"
        ),
        "created": cc.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
    }


def table(runs: list[RunRecord]) -> list[str]:
    """The table of `runs` (already filtered); returns the names of the rows picked."""
    frame, unit = table_frame(runs)
    event = st.dataframe(
        frame,
        column_order=fit(frame, unit),
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=K + "table",
        column_config=column_config(unit),
        width="stretch",
    )
    rows = event.selection.rows if event is not None else []
    names = [r.removeprefix("runs?run=") for r in frame["run"]]
    return [names[i] for i in rows if i < len(names)]


def actions(picked: list[str]) -> None:
    """Compare the picked runs' fronts; the settings two of them differ in."""
    cols = st.columns([2, 5])
    if cols[0].button(
        f"Compare {len(picked)} fronts" if len(picked) >= 2 else "Compare fronts",
        key=K + "compare",
        icon=":material/compare:",
        disabled=len(picked) < 2,
        help="Overlay the Pareto fronts of the runs picked in the table (two or more)",
    ):
        params = {"mode": "runs", "run": picked[0], "run2": picked[1]}
        if len(picked) > 2:
            params["more"] = ",".join(picked[2 : 2 + viewstate.MAX_MORE])
        st.switch_page(ui.PAGES["compare"], query_params=params)
    cols[1].caption(
        "Pick rows (the boxes at their left) to compare their fronts; pick two to see the "
        "settings they differ in. Click a column's header to sort by it."
    )
    if len(picked) == 2:
        settings_table(*picked)


def settings_table(a: str, b: str) -> None:
    store = ui.store()
    try:
        diff = settings_diff.settings_diff(store, store.get_run(a), store.get_run(b))
    except StoreError as err:
        st.error(plain(one_line(err)))
        return
    st.markdown(f"**Settings that differ: {plain(a)} and {plain(b)}**")
    if diff.empty:
        st.caption("None: the two runs have the same settings.")
        return
    st.table(diff)


# ---- tags and notes, on a run's page -----------------------------------------------------------
def _save(name: str) -> None:
    """Store the edited tags and notes, after checking the user again now."""
    ss = st.session_state
    try:
        owner = ui.store().get_run(name).owner
    except StoreError:
        owner = ""
    why = permissions.refusal(ui.access(), permissions.ANNOTATE, owner, f"run {name}")
    if why:
        ss[K + "said"] = ("error", why)
        return
    try:
        ui.store().annotate_run(name, tags=list(ss[K + "tags"]), notes=ss[K + "notes"])
    except StoreError as err:
        ss[K + "said"] = ("error", one_line(err))
        return
    ss[K + "said"] = ("success", f"Saved the tags and notes of {name}.")


def annotations(run: RunRecord, acc: permissions.Identity) -> None:
    """The run's tags and notes, editable by its owner (or an admin)."""
    why = permissions.refusal(acc, permissions.ANNOTATE, run.owner, f"run {run.name}")
    said = st.session_state.pop(K + "said", None)
    with st.expander("Tags and notes", icon=":material/sell:", expanded=bool(said)):
        if said:
            (st.error if said[0] == "error" else st.success)(plain(said[1]))
        if why:
            st.caption(plain(why))
        everyone = options(ui.store().list_runs(), "tag")
        if st.session_state.get(K + "for") != run.name:  # fresh from the store for each run
            st.session_state[K + "for"] = run.name
            st.session_state[K + "tags"] = list(run.tags)
            st.session_state[K + "notes"] = run.notes
        with st.form(K + "form", border=False, enter_to_submit=False):
            st.multiselect(
                "Tags",
                sorted({*everyone, *run.tags}),
                key=K + "tags",
                accept_new_options=True,
                disabled=why is not None,
                help=f"Pick tags or type new ones (at most {TAG_LIMIT} characters, no commas)",
            )
            st.text_area(
                "Notes", key=K + "notes", max_chars=NOTES_LIMIT, height=90, disabled=why is not None
            )
            st.form_submit_button(
                "Save tags and notes",
                on_click=_save,
                args=(run.name,),
                disabled=why is not None,
            )


# ---- the section on the runs page --------------------------------------------------------------
def _section(show_archived: bool) -> None:
    runs = [r for r in ui.store().list_runs() if show_archived or not r.archived]
    shown = filtered(runs)
    if runs and not shown:
        st.info("No run passes these filters.")
        return
    with st.container(key="runs_table"):
        picked = table(shown)
        actions(picked)


@st.fragment(run_every=ui.LIVE_EVERY_S)
def _section_live(show_archived: bool) -> None:
    _section(show_archived)


@st.fragment(run_every=ui.IDLE_EVERY_S)
def _section_idle(show_archived: bool) -> None:
    _section(show_archived)


def section(show_archived: bool, live: bool) -> None:
    """The table and what to do with the rows picked, redrawn on its own (progress, elapsed time,
    new runs): every `ui.LIVE_EVERY_S` while a run is in progress (`live`), else every
    `ui.IDLE_EVERY_S`."""
    (_section_live if live else _section_idle)(show_archived)
