"""Explorer: energy against accuracy for a run or one search, the Pareto front, F_AEB re-ranked
live at any alpha and on any hardware energy profile, the detail of the selected candidates, and
"Share", which freezes the leaderboard into a permalink. State: `/explorer?run=&alpha=...`."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app.common import charts, frames, units
from app.web.components import downloads, genes, leaderboard_format, permissions, ui, viewstate
from app.web.components.text import plain
from engine.pareto import f_aeb
from engine.profiles import PROFILES, get_profile
from storage.errors import StoreError, one_line
from storage.records import RunRecord, SearchRecord

PAGE = "explorer"
K = "ex_"  # session-state key prefix of this page's widgets
WHOLE_RUN = ""  # the scope option meaning every search of the run


def _seed(view: viewstate.ExplorerView) -> None:
    """Seed the widgets from the URL (first visit, or a link opened in place)."""
    ss = st.session_state
    ss[K + "run"] = view.run
    ss[K + "search"] = view.search or WHOLE_RUN
    ss[K + "alpha"] = view.alpha
    ss[K + "top"] = view.top
    ss[K + "page"] = view.page
    ss[K + "color"] = view.color
    ss[K + "log"] = view.log
    ss[K + "selection"] = view.selection
    ss[K + "box"] = view.box
    ss[K + "profile"] = view.profile
    ss[K + "infeasible"] = view.infeasible
    ss[K + "silent"] = view.silent

    ss[genes.BRUSH], ss[genes.BLOCKS], ss[genes.SIG] = view.brush, view.blocks, None
    ss[K + "chart_sig"] = None
    ss[K + "table_sig"] = None
    ss[K + "run_picked"] = False


def _on_run_change() -> None:
    ss = st.session_state
    ss[K + "search"] = WHOLE_RUN
    ss[K + "selection"] = ()
    ss[K + "box"] = None
    ss[K + "page"] = 1
    ss[genes.BRUSH] = ()


def _clear_selection() -> None:
    st.session_state[K + "selection"] = ()
    st.session_state[K + "box"] = None
    st.session_state[genes.BRUSH] = ()


def _view() -> viewstate.ExplorerView:
    ss = st.session_state
    return viewstate.ExplorerView(
        run=ss.get(K + "run"),
        search=ss.get(K + "search") or None,
        alpha=float(ss.get(K + "alpha", viewstate.DEFAULT_ALPHA)),
        selection=tuple(ss.get(K + "selection", ())),
        page=int(ss.get(K + "page", 1)),
        top=int(ss.get(K + "top", viewstate.DEFAULT_TOP)),
        color=ss.get(K + "color", viewstate.COLOR_BY[0]),
        log=bool(ss.get(K + "log", False)),
        box=ss.get(K + "box"),
        profile=ss.get(K + "profile") or viewstate.DEFAULT_PROFILE,
        infeasible=bool(ss.get(K + "infeasible", False)),
        silent=bool(ss.get(K + "silent", False)),
        brush=tuple(ss.get(genes.BRUSH) or ()),
        blocks=bool(ss.get(genes.BLOCKS, False)),
    )


def _signature(event: Any) -> str:
    selection = (event or {}).get("selection", {}) if hasattr(event, "get") else {}
    return json.dumps(selection, sort_keys=True, default=str)


def _is_empty(sig: str | None) -> bool:
    if not sig:
        return True
    return not any(v for v in json.loads(sig).values())


def _take_events(page_ids: list[str]) -> None:
    """Turn a new click/drag on the chart or a row picked in the table into the selection."""
    ss = st.session_state
    sig = _signature(ss.get(K + "chart"))
    last = ss.get(K + "chart_sig")
    if sig != last:
        ss[K + "chart_sig"] = sig
        if not (_is_empty(sig) and _is_empty(last)):
            chosen = json.loads(sig)
            pick = [p["id"] for p in chosen.get(charts.PICK) or [] if p.get("id")]
            box = chosen.get(charts.BOX) or {}
            ss[genes.BRUSH] = ()  # the newest way of selecting wins
            if pick:
                ss[K + "selection"], ss[K + "box"] = tuple(pick), None
            elif box.get(charts.ENERGY) and box.get("accuracy"):
                # The box is in the unit the chart was drawn in; the view keeps µJ.
                factor = units.unit_factor(ss.get(K + "chart_unit") or "µJ")
                e_lo, e_hi = sorted(v / factor for v in box[charts.ENERGY])
                a_lo, a_hi = sorted(box["accuracy"])
                ss[K + "selection"], ss[K + "box"] = (), (e_lo, e_hi, a_lo, a_hi)
            else:
                _clear_selection()
    sig = _signature(ss.get(K + "table"))
    last = ss.get(K + "table_sig")
    if sig != last:
        ss[K + "table_sig"] = sig
        rows = json.loads(sig).get("rows") or []
        if rows and rows[0] < len(page_ids):
            ss[K + "selection"], ss[K + "box"] = (page_ids[rows[0]],), None
            ss[genes.BRUSH] = ()


def _selected_ids(points: pd.DataFrame, view: viewstate.ExplorerView) -> list[str]:
    """The selection, exact over every candidate (a box covers aggregated points too)."""
    from app.common import frames

    ids = list(view.selection)
    if ids:
        # Only the selected ids are looked up: a set of 100,000 ids costs a quarter second.
        present = set(points.loc[points["id"].isin(ids), "id"].tolist())
        for cid in ids:
            if cid not in present:
                st.warning(plain(f"Unknown candidate {cid!r} in this scope of run {view.run!r}."))
        ids = [i for i in ids if i in present]
    if view.box:
        e_lo, e_hi, a_lo, a_hi = view.box
        seen = set(ids)
        ids += [i for i in frames.in_box(points, (e_lo, e_hi), (a_lo, a_hi)) if i not in seen]
    if view.brush:
        seen = set(ids)
        ids += [i for i in genes.brushed_ids(view.run, view.search, view.profile) if i not in seen]
    return ids


def _controls(runs: dict[str, RunRecord]) -> RunRecord | None:
    """Run, search, alpha, leaderboard size, colour and scale. None until a known run is picked."""
    ss = st.session_state
    names = list(runs)
    wanted = ss.get(K + "run")
    if wanted is not None and wanted not in runs:
        st.error(plain(f"Unknown run {wanted!r}: there is no run by that name. Pick one below."))
        ss[K + "run"] = None
    elif wanted is None and not ss.get(K + "run_picked"):
        ss[K + "run"] = names[-1]  # no run in the link: the newest one
    ss[K + "run_picked"] = True
    cols = st.columns([2, 2, 3, 1])
    chosen = cols[0].selectbox(
        "Run", names, key=K + "run", placeholder="Pick a run", on_change=_on_run_change
    )
    if chosen is None:
        return None
    searches = {s.id: s for s in ui.store().list_searches(chosen)}
    if ss.get(K + "search") and ss[K + "search"] not in searches:
        search = ss[K + "search"]
        st.error(plain(f"Unknown search {search!r} in run {chosen!r}; showing the whole run."))
        ss[K + "search"] = WHOLE_RUN
    cols[1].selectbox(
        "Scope",
        [WHOLE_RUN, *searches],
        key=K + "search",
        format_func=lambda s: f"{s} ({_how(searches[s])})" if s else "whole run",
    )
    cols[2].slider(
        "alpha: weight of energy in F_AEB",
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        key=K + "alpha",
        help="0 ranks by accuracy alone, 1 by energy alone. See the Help page.",
    )
    cols[3].number_input("top K", min_value=1, max_value=viewstate.MAX_TOP, key=K + "top")
    cols = st.columns([2, 1, 1, 1, 2])
    cols[0].radio("Colour by", viewstate.COLOR_BY, key=K + "color", horizontal=True)
    cols[1].toggle("log energy", key=K + "log")
    cols[2].toggle(
        "infeasible",
        key=K + "infeasible",
        help="Also draw the candidates over their search's energy budget or parameter limit "
        "(grey crosses). They are never ranked and never on the Pareto front.",
    )
    cols[2].toggle(
        "silent in order",
        key=K + "silent",
        help="Rank silent candidates (a block never fires, so it is bypassed through the "
        f"residual; {leaderboard_format.SILENT} in the table) by F_AEB among the others. By "
        "default they come after all the others.",
    )
    cols[3].button("Clear selection", on_click=_clear_selection)
    cols[4].selectbox(
        "Energy profile",
        list(PROFILES),
        key=K + "profile",
        help="The hardware every energy is priced under (pJ per MAC, per SOP, per neuron "
        "update); re-ranks at once from the stored operation counts. See the Help page.",
        format_func=_profile_label,
    )
    return runs[chosen]


def _profile_label(name: str) -> str:
    p = PROFILES[name]
    return f"{name} ({p.pj_per_mac:g} / {p.pj_per_sop:g} / {p.pj_per_neuron_update:g} pJ)"


def _how(search: SearchRecord) -> str:
    """A search's strategy and the alpha it optimised (its F_AEB weight), as one label."""
    alpha = search.settings.get("alpha")
    if search.strategy == "random" or alpha is None:
        return search.strategy
    if search.strategy == "nsga2":
        return f"nsga2, whole front; ranks at alpha {float(alpha):g}"
    return f"{search.strategy}, alpha {float(alpha):g}"


def main() -> None:
    st.title("Pareto explorer")
    store = ui.store()
    view, problems = viewstate.parse_explorer(ui.current_params())
    ui.adopt_url(PAGE, lambda: _seed(view))
    linked = st.session_state.get(K + "run")  # an archived run is listed only when linked
    runs = {r.name: r for r in store.list_runs() if not r.archived or r.name == linked}
    for problem in problems:
        st.warning(plain(problem))
    if not runs:
        st.info("No runs yet.")
        st.page_link(ui.PAGES["launch"], label="Launch a run", icon=":material/rocket_launch:")
        return
    run = _controls(runs)
    ui.publish_url(PAGE, _view().to_params())
    if run is None:
        return
    live = run.state in ui.LIVE_RUN_STATES
    _body(live)


@st.fragment
def _fragment_once() -> None:
    _render()


@st.fragment(run_every=ui.LIVE_EVERY_S)
def _fragment_live() -> None:
    _render()


def _body(live: bool) -> None:
    (_fragment_live if live else _fragment_once)()


def _render() -> None:
    """Chart, leaderboard and detail; reruns on its own every few seconds while the run is live."""
    store = ui.store()
    view = _view()
    run = store.get_run(view.run)
    was_live = st.session_state.get(K + "live")
    st.session_state[K + "live"] = run.state in ui.LIVE_RUN_STATES
    if was_live and run.state not in ui.LIVE_RUN_STATES:
        st.rerun()  # the run finished: stop the timer
    profile = get_profile(view.profile)
    points, front, cloud = ui.scope_frames(
        view.run, view.search, log=view.log, profile=view.profile
    )
    progress = f" · {run.progress:.0%}" if run.state in ui.LIVE_RUN_STATES else ""
    st.caption(
        f"Run **{plain(run.name)}** · {plain(run.dataset)} · state **{run.state}**{progress}"
    )
    _searches_caption(view, points)
    infeasible = ui.infeasible_points(view.run, view.search, view.profile)
    unpriced = store.count_candidates(view.run, view.search) - len(points) - len(infeasible)
    if unpriced > 0 and view.search is None:
        unpriced = 0  # in run scope the count includes repeats of one arch across searches
    if unpriced > 0:
        st.caption(
            f"{unpriced:,} candidates recorded before neuron updates were counted cannot be "
            f"priced under {view.profile} and are left out."
        )
    if points.empty:
        if len(infeasible):
            st.info(
                f"None of the {len(infeasible):,} candidates meets its search's constraints yet."
            )
        else:
            st.info("No candidates yet; the chart fills in as the search evaluates them.")
        return
    last_page = max(1, -(-len(points) // view.top))
    if view.page > last_page:  # a link or an old page number past the end: show the last page
        st.session_state[K + "page"] = last_page
        view = _view()
    ranked = store.rank(
        view.run,
        view.search,
        view.alpha,
        top=view.top * view.page,
        profile=profile,
        silent_last=not view.silent,
    )
    table = ui.ranked_frame(ranked)
    page_rows = table.iloc[(view.page - 1) * view.top :].reset_index(drop=True)
    _take_events(page_rows["id"].tolist())
    genes.take_brush(view.run, view.search, view.profile)
    view = _view()
    ui.publish_url(PAGE, view.to_params())
    best = table.head(1)
    unit = charts.energy_unit([points, infeasible])  # one unit for the chart and the tables
    selected_ids = _selected_ids(points, view)
    selected = points[points["id"].isin(selected_ids)]
    chart = charts.explorer_chart(
        cloud,
        front,
        page_rows,
        best,
        selected.head(500),
        color=view.color,
        log=view.log,
        alpha=view.alpha,
        infeasible=infeasible if view.infeasible else None,
        unit=unit,
    )
    st.session_state[K + "chart_unit"] = unit
    st.altair_chart(
        chart,
        on_select="rerun",
        selection_mode=[charts.PICK, charts.BOX],
        key=K + "chart",
        width="stretch",
    )
    top = best.iloc[0]
    drawn = len(cloud)  # the cloud holds the front's points too
    thinned = " (dominated ones aggregated for drawing)" if len(cloud) < len(points) else ""
    st.markdown(
        f"**Best at alpha={view.alpha:.2f}: `{top['id']}`** · accuracy {top['accuracy']:.2%} · "
        f"{units.format_energy(top['energy_uj'], unit=unit)} · F_AEB {top['fitness']:.4f}"
    )
    shown = f", {len(infeasible):,} infeasible ones as grey crosses" if view.infeasible else ""
    silent = int(points["silent"].sum())
    if silent:
        where = "ranked in order" if view.silent else "ranked after the others"
        shown += f"; {silent:,} silent ({leaderboard_format.SILENT}, {where})"
    hidden = (
        f"; {len(infeasible):,} infeasible candidates hidden (toggle 'infeasible')"
        if len(infeasible) and not view.infeasible
        else ""
    )
    st.caption(
        f"{len(points):,} candidates within their constraints, {drawn:,} points drawn"
        f"{thinned}{shown}; Pareto "
        f"front of {len(front)} (black line){hidden}. Energies under {view.profile}. Click a "
        "point or drag a box to select; the diamond is the F_AEB winner, rings are the "
        "leaderboard rows below."
    )
    ui.help_link()
    _leaderboard(page_rows, view, {r.id: r.arch for r, _ in ranked}, selected_ids, unit)
    _share(view)
    _detail(points, selected_ids, view, unit)
    live = run.state in ui.LIVE_RUN_STATES
    genes.section(view.run, view.search, view.profile, front["id"].tolist(), live=live)
    ui.share_box(PAGE, view.to_params())


def _searches_caption(view: viewstate.ExplorerView, points: pd.DataFrame) -> None:
    """Each search's strategy and alpha; for a scalarised (F_AEB evolution) search, the alphas
    its candidates cover: where its own winner is on the run's Pareto front."""
    store = ui.store()
    searches = store.list_searches(view.run)
    if view.search is not None:
        searches = [s for s in searches if s.id == view.search]
    if not searches:
        return
    run_front = ui.scope_frames(view.run, None, profile=view.profile)[1]["id"]
    parts = []
    for search in searches:
        text = f"`{search.id}`: {_how(search)}"
        if search.strategy == "evolution":
            curve = ui.knee(view.run, search.id, view.profile)
            ranges = frames.covered_ranges(curve, run_front)
            text += f"; covers alpha {frames.format_ranges(ranges)}"
            inside = any(lo <= view.alpha <= hi for lo, hi in ranges)
            if view.search == search.id and ranges and not inside:
                st.warning(
                    f"alpha={view.alpha:.2f} is outside the alphas this search covers "
                    f"({frames.format_ranges(ranges)}): it optimised F_AEB at "
                    f"alpha={float(search.settings.get('alpha', 0.5)):g}, and its winner here is "
                    "dominated by candidates of other searches of the run."
                )
        parts.append(text)
    st.caption(
        "Searches: "
        + " · ".join(parts)
        + ". A search covers an alpha when its own F_AEB winner there is on the run's Pareto "
        "front."
    )


def _share(view: viewstate.ExplorerView) -> None:
    """ "Share": freeze this leaderboard (top K at this alpha and profile) into a permalink."""
    acc = ui.access()
    with st.expander("Share this leaderboard", icon=":material/share:"):
        if ui.write_blocked(acc, "share leaderboards"):
            return
        # Enter in the title never shares: only the button does (a half-typed title stays).
        with st.form(K + "share_form", clear_on_submit=False, enter_to_submit=False, border=False):
            st.caption(
                f"Freezes the top {view.top} at alpha={view.alpha:.2f} under {view.profile} "
                "as they are now: candidates found later never change it."
            )
            title = st.text_input("Leaderboard title", key=K + "share_title", max_chars=200)
            notes = st.text_area(
                "Leaderboard notes", key=K + "share_notes", max_chars=5000, height=80
            )
            submitted = st.form_submit_button("Share leaderboard", icon=":material/link:")
        if submitted:
            why = permissions.refusal(ui.access(), permissions.SHARE)  # checked again, now
            if why:
                st.error(plain(why))
                return
            try:
                board = ui.store().share(
                    view.run,
                    view.search,
                    alpha=view.alpha,
                    top=view.top,
                    profile=get_profile(view.profile),
                    title=title,
                    notes=notes,
                    author=acc.user,
                    silent_last=not view.silent,
                )
            except StoreError as err:
                st.error(plain(one_line(err)))
                return
            st.session_state[K + "shared"] = board.id
        shared = st.session_state.get(K + "shared")
        if shared:
            st.success(f"Shared as leaderboard `{shared}`. Its permalink:")
            url = viewstate.share_link(
                getattr(st.context, "url", None), "leaderboard", {"id": shared}, current=PAGE
            )
            st.code(url, language=None)
            st.page_link(
                ui.PAGES["leaderboard"],
                label="Open the shared leaderboard",
                icon=":material/leaderboard:",
                query_params={"id": shared},
            )


def _leaderboard(
    rows: pd.DataFrame, view: viewstate.ExplorerView, archs: dict, selected: list[str], unit: str
) -> None:
    first = (view.page - 1) * view.top + 1
    st.subheader(f"Leaderboard at alpha={view.alpha:.2f} (ranks {first}-{first + len(rows) - 1})")
    shown, columns = leaderboard_format.leaderboard(rows, archs, selected, unit=unit)
    st.dataframe(
        shown,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=K + "table",
        column_config=columns,
    )
    cols = st.columns([1, 1, 1, 3])
    cols[0].number_input("page", min_value=1, key=K + "page")
    store, run, search, alpha = ui.store(), view.run, view.search, view.alpha
    profile = get_profile(view.profile)
    stem = f"{run}{'-' + search if search else ''}-alpha{viewstate.format_alpha(alpha)}"
    if view.profile != viewstate.DEFAULT_PROFILE:
        stem += f"-{view.profile}"

    def table() -> pd.DataFrame:
        return downloads.leaderboard(
            store, run, search, alpha, profile=profile, silent_last=not view.silent
        )

    cols[1].download_button(
        "CSV",
        data=lambda: downloads.to_csv(table()),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        help="Every feasible candidate ranked at this alpha",
    )
    cols[2].download_button(
        "Parquet",
        data=lambda: downloads.to_parquet(table()),
        file_name=f"{stem}.parquet",
        mime="application/vnd.apache.parquet",
        icon=":material/download:",
        on_click="ignore",
        help="Every feasible candidate ranked at this alpha",
    )


def _detail(points: pd.DataFrame, ids: list[str], view: viewstate.ExplorerView, unit: str) -> None:
    st.subheader("Selected candidates")
    if not ids:
        st.caption("Nothing selected: click a point, drag a box on the chart, or pick a row.")
        return
    store = ui.store()
    chosen = ids[0]
    if len(ids) > 1:
        fitness = f_aeb(points["accuracy"].to_numpy(), points["energy_uj"].to_numpy(), view.alpha)
        subset = points.assign(fitness=fitness)[points["id"].isin(ids)]
        subset = subset.sort_values(["fitness", "id"], ascending=[False, True])
        st.caption(f"{len(subset):,} candidates selected, best F_AEB first.")
        st.dataframe(
            subset[["id", "fitness", "accuracy", "energy_uj", "generation", "strategy"]]
            .head(1000)
            .assign(accuracy=lambda f: f["accuracy"] * 100)
            .assign(energy_uj=lambda f: f["energy_uj"] * units.unit_factor(unit))
            .rename(columns={"energy_uj": "energy"}),
            hide_index=True,
            height=220,
            column_config=leaderboard_format.subset_columns(unit),
        )
        chosen = st.selectbox("Details of", subset["id"].head(1000).tolist(), key=K + "detail")
    record = store.get_candidate(view.run, chosen, view.search)
    note = leaderboard_format.silent_note(
        record.firing_rates, record.layer_energy_uj, record.arch["depth"]
    )
    if note:
        st.warning(note, icon=":material/volume_off:")
    with st.container(border=True):
        ui.candidate_panel(
            store, view.run, record, key=K + "panel", profile=view.profile, unit=unit
        )


main()
