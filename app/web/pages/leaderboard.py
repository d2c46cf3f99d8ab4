"""One shared leaderboard, as it was frozen: `/leaderboard?id=ID`. Its chart (its rows ringed on
the run's current front), its table, CSV/Parquet downloads, "open live" (the same view in the
explorer) and, for its author or an admin (anyone in single-user mode), edit its title and notes
(marked "edited" with the time; the rows never change) and delete. Its title and
notes are shown as the text they are (`app.web.components.text`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.common import charts, units
from app.web.components import downloads, permissions, ui, viewstate
from app.web.components.text import board_title, plain
from engine.profiles import PROFILES
from storage.errors import StoreError, UnknownLeaderboard, UnknownRun, one_line
from storage.records import LeaderboardRecord

PAGE = "leaderboard"
K = "lb_"


def rows_frame(board: LeaderboardRecord) -> pd.DataFrame:
    """The frozen CANDIDATE rows as a table, best first, in machine units (what the CSV and
    Parquet files hold: `energy_uj` in microjoules, counts as numbers)."""
    out = []
    for rank, c in enumerate(board.candidates, start=1):
        arch, ops = c.get("arch", {}), c.get("ops", {})
        out.append(
            {
                "rank": rank,
                "id": c["id"],
                "fitness": c.get("fitness"),
                "accuracy": c.get("accuracy"),
                "energy_uj": c.get("energy_uj"),
                "params": c.get("params"),
                "firing_rate": c.get("firing_rate"),
                "T": arch.get("time_steps"),
                "embed_dim": arch.get("embed_dim"),
                "depth": arch.get("depth"),
                "generation": c.get("generation"),
                "macs": ops.get("macs"),
                "sops": ops.get("sops"),
                "neuron_updates": ops.get("neuron_updates"),
                "silent": c.get("silent"),  # None: frozen before it was recorded
            }
        )
    columns = ["rank", "id", "fitness", "accuracy", "energy_uj", "params"]
    columns += ["firing_rate", "T", "embed_dim", "depth", "generation", "macs", "sops"]
    return pd.DataFrame(out, columns=[*columns, "neuron_updates", "silent"])


COUNTS = {"params": "params", "macs": "MACs", "sops": "SOPs", "neuron_updates": "neuron updates"}


def shown_frame(rows: pd.DataFrame, unit: str | None = None) -> tuple[pd.DataFrame, dict]:
    """`rows_frame` as people read it, and its `column_config`: energies in one unit (`unit`, the
    view's, default the rows' own: `energy (nJ)`), parameter and operation counts with SI
    suffixes (`520.4 k`)."""
    unit = unit or units.energy_unit_uj(rows["energy_uj"])[0]
    out = rows.rename(columns={"energy_uj": "energy"})
    out["energy"] = rows["energy_uj"] * units.unit_factor(unit)
    for column in COUNTS:
        out[column] = rows[column].map(units.format_ops)
    config = {
        **ui.RANKED_COLUMNS,
        "energy": st.column_config.NumberColumn(
            units.energy_title(unit), format="%.4g", help="Per sample, under the energy profile"
        ),
        **{c: st.column_config.TextColumn(label) for c, label in COUNTS.items()},
        "embed_dim": st.column_config.NumberColumn("D", help="Embedding dimension"),
        "depth": st.column_config.NumberColumn("L", help="Depth (blocks)"),
        "generation": st.column_config.NumberColumn("gen"),
    }
    return out, config


def utc(ts: float) -> str:
    """A Unix time as `2026-12-04 16:20 UTC` (the one clock every reader of a permalink shares)."""
    return pd.Timestamp(ts, unit="s").strftime("%Y-%m-%d %H:%M UTC")


def may_delete(acc: ui.Access, board: LeaderboardRecord) -> bool:
    """`permissions.may`: single-user mode, anyone; with sign-in, its author or an admin (a
    leaderboard shared without an author, from the command line: an admin)."""
    return permissions.may(acc, permissions.DELETE_LEADERBOARD, board.author)


def live_view(board: LeaderboardRecord) -> viewstate.ExplorerView:
    """The explorer view the leaderboard was shared from (live: it follows new candidates)."""
    profile = board.energy_profile if board.energy_profile in PROFILES else None
    return viewstate.ExplorerView(
        run=board.run,
        search=board.search,
        alpha=board.alpha,
        top=min(board.top, viewstate.MAX_TOP),
        profile=profile or viewstate.DEFAULT_PROFILE,
    )


def _chart(board: LeaderboardRecord, rows: pd.DataFrame) -> str:
    """Draws the chart; returns its energy unit (the table's too)."""
    marks = rows[["id", "accuracy", "energy_uj"]]
    try:
        profile = board.energy_profile if board.energy_profile in PROFILES else None
        _, front, cloud = ui.scope_frames(board.run, board.search, profile=profile or "45nm-fp32")
        note = "today's candidates of the run and its Pareto front (black line)"
    except (UnknownRun, StoreError):
        front = cloud = marks.assign(generation=0, strategy="", count=1).iloc[0:0]
        note = "the run has been deleted: only the frozen rows are drawn"
    if cloud.empty:
        cloud = marks.assign(generation=0, strategy="", count=1)
    unit = charts.energy_unit([cloud, front, marks])
    chart = charts.explorer_chart(
        cloud,
        front,
        marks,
        marks.head(1),
        marks.iloc[0:0],
        alpha=board.alpha,
        best_label="#1 when shared",
        unit=unit,
    )
    st.altair_chart(chart, width="stretch", key=K + "chart")
    st.caption(
        f"Rings: the {len(rows)} shared rows, the diamond the first of them; behind them, {note}."
    )
    return unit


def _delete_board(board_id: str) -> None:
    """The Delete button's callback: checks the signed-in user against the author again."""
    try:
        author = ui.store().get_leaderboard(board_id).author
    except StoreError as err:
        st.session_state[K + "refused"] = one_line(err)
        return
    what = f"leaderboard {board_id}"
    why = permissions.refusal(ui.access(), permissions.DELETE_LEADERBOARD, author, what)
    if why:
        st.session_state[K + "refused"] = why
        return
    try:
        ui.store().delete_leaderboard(board_id)
    except StoreError as err:
        st.session_state[K + "refused"] = one_line(err)
        return
    st.session_state[K + "deleted"] = board_id


def _edit_board(board_id: str) -> None:
    """The Save button's callback: checks the signed-in user against the author again, then
    changes the title and notes only (the rows stay frozen)."""
    ss = st.session_state
    try:
        author = ui.store().get_leaderboard(board_id).author
    except StoreError as err:
        ss[K + "refused"] = one_line(err)
        return
    what = f"leaderboard {board_id}"
    why = permissions.refusal(ui.access(), permissions.EDIT_LEADERBOARD, author, what)
    if why:
        ss[K + "refused"] = why
        return
    try:
        ui.store().edit_leaderboard(
            board_id, title=ss[f"{K}title_{board_id}"], notes=ss[f"{K}notes_{board_id}"]
        )
    except StoreError as err:
        ss[K + "refused"] = one_line(err)
        return
    ss[K + "edited"] = board_id


def _edit(acc: ui.Access, board: LeaderboardRecord) -> None:
    """Its author (or an admin; anyone in single-user mode) may change the title and notes."""
    if not permissions.may(acc, permissions.EDIT_LEADERBOARD, board.author):
        return
    with st.expander("Edit title and notes", icon=":material/edit:"):
        # Enter in the title saves nothing: only the button does.
        with st.form(K + "edit_form", enter_to_submit=False, border=False):
            st.text_input("Title", value=board.title, max_chars=200, key=f"{K}title_{board.id}")
            st.text_area(
                "Notes", value=board.notes, max_chars=5000, height=80, key=f"{K}notes_{board.id}"
            )
            st.caption("The rows stay as they were frozen; the page says it was edited, and when.")
            st.form_submit_button(
                "Save title and notes",
                icon=":material/save:",
                on_click=_edit_board,
                args=(board.id,),
            )


def _delete(acc: ui.Access, board: LeaderboardRecord) -> None:
    if not may_delete(acc, board):
        who = f"its author ({board.author}) or an admin" if board.author else "an admin"
        st.caption(plain(f"Only {who} may delete this leaderboard."))
        return
    with st.expander("Delete this leaderboard", icon=":material/delete:"):
        sure = st.checkbox("Yes, delete it for everyone", key=K + "sure")
        st.button(
            "Delete",
            key=K + "delete",
            disabled=not sure,
            type="primary",
            on_click=_delete_board,
            args=(board.id,),
        )


def main() -> None:
    st.title("Shared leaderboard")
    view, problems = viewstate.parse_leaderboard(ui.current_params())
    ui.publish_url(PAGE, view.to_params())
    for problem in problems:
        st.warning(plain(problem))
    refused = st.session_state.pop(K + "refused", None)
    if refused:
        st.error(plain(refused))
    if st.session_state.pop(K + "edited", None):
        st.success("Title and notes saved; the rows are unchanged.")
    deleted = st.session_state.pop(K + "deleted", None)
    if deleted:
        st.success(f"Leaderboard `{deleted}` deleted.")
        st.page_link(ui.PAGES["leaderboards"], label="All shared leaderboards")
        return
    acc = ui.access()
    if acc.auth and not acc.user:
        st.info("Sign in to read shared leaderboards.")
        return
    if not view.id:
        st.info("No leaderboard in the link (`/leaderboard?id=ID`).")
        st.page_link(ui.PAGES["leaderboards"], label="All shared leaderboards")
        return
    try:
        board = ui.store().get_leaderboard(view.id)
    except UnknownLeaderboard:
        st.error(plain(f"Unknown leaderboard {view.id!r}: it was never shared, or it was deleted."))
        st.page_link(ui.PAGES["leaderboards"], label="All shared leaderboards")
        return
    st.subheader(plain(board_title(board.title)))
    scope = f"search {plain(board.search)}" if board.search else "the whole run"
    st.markdown(
        f"Run **{plain(board.run)}**, {scope} · top {board.top} by F_AEB at "
        f"alpha={board.alpha:g} · energies under **{plain(board.energy_profile)}** · shared "
        f"{utc(board.created_at)}"
        + (f" by **{plain(board.author)}**" if board.author else "")
        + (f" · edited {utc(board.edited_at)}" if board.edited_at is not None else "")
    )
    st.caption(
        "Frozen when shared: candidates found later never change these rows. "
        "'Open live' shows the same view as it is now."
    )
    if board.notes:
        st.text(board.notes)
    rows = rows_frame(board)
    if rows.empty:
        st.info("No feasible candidate was ranked when this was shared.")
    else:
        unit = _chart(board, rows)
        shown, config = shown_frame(rows, unit)
        st.dataframe(shown, hide_index=True, key=K + "table", column_config=config)
    cols = st.columns([1, 1, 2, 3])
    stem = f"leaderboard-{board.id}"
    cols[0].download_button(
        "CSV",
        data=downloads.to_csv(rows),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
    cols[1].download_button(
        "Parquet",
        data=downloads.to_parquet(rows),
        file_name=f"{stem}.parquet",
        mime="application/vnd.apache.parquet",
        icon=":material/download:",
        on_click="ignore",
    )
    cols[2].page_link(
        ui.PAGES["explorer"],
        label="Open live in the explorer",
        icon=":material/open_in_new:",
        query_params=live_view(board).to_params(),
    )
    _edit(acc, board)
    _delete(acc, board)
    ui.share_box(PAGE, view.to_params())


main()
