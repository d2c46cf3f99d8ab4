"""Compare: two runs' (or searches') Pareto fronts overlaid, or two candidates side by side; and
the knee, how the F_AEB winner changes as alpha sweeps from 0 to 1."""

from __future__ import annotations

import itertools
import string

import pandas as pd
import streamlit as st

from app.common import charts, frames, units
from app.web.components import compare_charts, leaderboard_format, runs_table, ui, viewstate
from app.web.components.text import plain
from engine.pareto import ReferencePoint, hypervolume, reference_point
from engine.profiles import DEFAULT_PROFILE
from storage.errors import StoreError, one_line

PAGE = "compare"
K = "cp_"
WHOLE_RUN = ""  # the scope option meaning every search of the run
MODE_LABELS = {"runs": "Two fronts", "candidates": "Two candidates"}


def _seed(view: viewstate.CompareView) -> None:
    ss = st.session_state
    for field in ("mode", "run", "run2", "a", "b", "alpha"):
        ss[K + field] = getattr(view, field)
    ss[K + "search"] = view.search or WHOLE_RUN
    ss[K + "search2"] = view.search2 or WHOLE_RUN
    ss[K + "more"] = list(view.more)
    ss[K + "seeded"] = False


def _view() -> viewstate.CompareView:
    ss = st.session_state
    return viewstate.CompareView(
        mode=ss.get(K + "mode") or viewstate.COMPARE_MODES[0],
        run=ss.get(K + "run"),
        search=ss.get(K + "search") or None,
        run2=ss.get(K + "run2"),
        search2=ss.get(K + "search2") or None,
        a=ss.get(K + "a"),
        b=ss.get(K + "b"),
        alpha=float(ss.get(K + "alpha", viewstate.DEFAULT_ALPHA)),
        more=tuple(ss.get(K + "more") or ()),
    )


def _check_names(names: list[str]) -> None:
    """Unknown runs or searches from the link: say so and leave the picker empty."""
    ss = st.session_state
    for run_key, search_key in (("run", "search"), ("run2", "search2")):
        run = ss.get(K + run_key)
        if run is not None and run not in names:
            st.error(plain(f"Unknown run {run!r}: there is no run by that name. Pick one below."))
            ss[K + run_key], ss[K + search_key] = None, WHOLE_RUN
            continue
        search = ss.get(K + search_key)
        if run is not None and search:
            ids = [s.id for s in ui.store().list_searches(run)]
            if search not in ids:
                st.error(plain(f"Unknown search {search!r} in run {run!r}; using the whole run."))
                ss[K + search_key] = WHOLE_RUN
    for run in [r for r in ss.get(K + "more") or () if r not in names]:
        st.error(plain(f"Unknown run {run!r}: there is no run by that name; left out."))
        ss[K + "more"] = [r for r in ss[K + "more"] if r in names]


def _defaults(names: list[str]) -> None:
    """Without a link: the newest searched run's first two searches (evolution vs random), or
    the two newest searched runs."""
    ss = st.session_state
    if ss.get(K + "seeded"):
        return
    ss[K + "seeded"] = True
    if ss.get(K + "run") is not None or ss.get(K + "run2") is not None:
        return
    store = ui.store()
    # The two newest runs with a search, asked newest first until two answer (not every run).
    with_searches = (n for n in reversed(names) if store.list_searches(n))
    searched = list(itertools.islice(with_searches, 2)) or [names[-1]]
    newest = searched[0]
    searches = [s.id for s in store.list_searches(newest)]
    ss[K + "run"], ss[K + "run2"] = newest, newest
    if len(searches) >= 2:
        ss[K + "search"], ss[K + "search2"] = searches[0], searches[1]
    elif len(searched) >= 2:
        ss[K + "run2"] = searched[1]


def _reset_search(key: str) -> None:
    st.session_state[K + key] = WHOLE_RUN


def _scope_picker(label: str, names: list[str], run_key: str, search_key: str) -> None:
    cols = st.columns(2)
    run = cols[0].selectbox(
        f"{label}: run",
        names,
        key=K + run_key,
        placeholder="Pick a run",
        on_change=_reset_search,
        args=(search_key,),
    )
    searches = {s.id: s for s in ui.store().list_searches(run)} if run else {}
    cols[1].selectbox(
        f"{label}: scope",
        [WHOLE_RUN, *searches],
        key=K + search_key,
        format_func=lambda s: f"{s} ({searches[s].strategy})" if s else "whole run",
    )


def _label(run: str, search: str | None) -> str:
    return f"{run} / {search}" if search else run


def _boxes(scopes) -> list:
    """Each scope's normalized-hypervolume box, computed for the profile the fronts are shown in
    (`frames.front_box`), never a search's stored one (its own profile may differ)."""
    store = ui.store()
    return [frames.front_box(store.get_run(run), DEFAULT_PROFILE) for run, _ in scopes]


def _reference(boxes, energies) -> ReferencePoint:
    """The raw hypervolume's reference of both scopes: the larger space energy bound (both
    under the shown profile, so it bounds both); without a box, 1.1 x the largest energy shown."""
    if all(b is not None for b in boxes):
        return ReferencePoint(max(b.energy_high_uj for b in boxes))
    return reference_point(*energies)


def _fronts(view: viewstate.CompareView, log: bool) -> None:
    scopes = [(view.run, view.search), (view.run2, view.search2)]
    if any(run is None for run, _ in scopes):
        st.info("Pick two runs (or two searches of one run) to compare.")
        return
    scopes += [(run, None) for run in view.more]
    tags = string.ascii_uppercase[: len(scopes)]
    clouds, fronts, energies, accs = [], [], [], []
    for tag, (run, search) in zip(tags, scopes, strict=True):
        points, front, cloud = ui.scope_frames(run, search, log=log)
        label = f"{tag}: {_label(run, search)}"
        clouds.append(cloud.assign(scope=label))
        fronts.append(front.assign(scope=label))
        energies.append(points["energy_uj"].to_numpy())
        accs.append(points["accuracy"].to_numpy())
    st.altair_chart(
        charts.fronts_chart(
            pd.concat(clouds, ignore_index=True),
            pd.concat(fronts, ignore_index=True),
            group="scope",
            log=log,
        ),
        width="stretch",
    )
    boxes = _boxes(scopes)
    ref = _reference(boxes, energies)
    cols = st.columns(len(scopes)) if len(scopes) <= 4 else st.columns(4) * 3
    for col, tag, (run, search), e, a, f, box in zip(
        cols, tags, scopes, energies, accs, fronts, boxes, strict=False
    ):
        normalized = frames.normalized(pd.DataFrame({"accuracy": a, "energy_uj": e}), box)
        col.metric(
            f"{tag}: normalized hypervolume",
            "-" if normalized is None else f"{normalized:.4f}",
            help=f"The {frames.NORMALIZED_HV_LABEL}: unitless; the box is the space's analytic "
            f"energy range under {DEFAULT_PROFILE}",
        )
        hv = hypervolume(a, e, ref.energy_uj, ref.accuracy) if len(e) else 0.0
        col.metric(
            f"{tag}: raw {units.HV_RAW_LABEL}",
            f"{hv:.4g}",
            help=f"Reference: energy {ref.energy_uj:.4g} uJ, accuracy 0; shared by every scope",
        )
        col.caption(f"{len(e):,} candidates, {len(f)} on the front · {plain(_label(run, search))}")
    same_box = all(b == boxes[0] for b in boxes)
    st.caption(
        f"The {frames.NORMALIZED_HV_LABEL} is the share of the box from chance accuracy to 1 and "
        "from the space's analytic energy bound down to its floor (log energy) that the front "
        "dominates; larger is better"
        + ("." if same_box else "; the scopes' spaces or datasets differ, so do their boxes.")
        + " Raw hypervolume (the paper's figure): the area dominated up to energy "
        f"{units.format_energy(ref.energy_uj)} (the spaces' energy bound under {DEFAULT_PROFILE}, "
        "the largest of the scopes') and accuracy 0."
    )
    if view.run != view.run2:
        runs_table.settings_table(view.run, view.run2)


def _candidate_options(run: str, alpha: float, extra: list[str | None]) -> list[str]:
    store = ui.store()
    ids = [r.id for r, _ in store.rank(run, alpha=alpha, top=20, silent_last=True)]
    ids += [i for i in ui.scope_frames(run, None)[1]["id"] if i not in ids]
    return ids + [i for i in extra if i and i not in ids]


def _candidates(view: viewstate.CompareView) -> None:
    if view.run is None:
        st.info("Pick a run.")
        return
    store = ui.store()
    for key in ("a", "b"):
        cid = st.session_state.get(K + key)
        if cid is None:
            continue
        try:
            store.get_candidate(view.run, cid)
        except StoreError as err:
            st.error(plain(one_line(err)))
            st.session_state[K + key] = None
    options = _candidate_options(view.run, view.alpha, [])
    if not options:
        st.info("This run has no candidates yet.")
        return
    ss = st.session_state
    if ss.get(K + "a") is None:
        ss[K + "a"] = options[0]
    if ss.get(K + "b") is None:
        ss[K + "b"] = options[-1] if len(options) > 1 else options[0]
    options = _candidate_options(view.run, view.alpha, [ss[K + "a"], ss[K + "b"]])
    cols = st.columns(2)
    cols[0].selectbox("Candidate A (top 20 at alpha, then the front)", options, key=K + "a")
    cols[1].selectbox("Candidate B", options, key=K + "b")
    a = store.get_candidate(view.run, ss[K + "a"])
    b = store.get_candidate(view.run, ss[K + "b"])
    st.table(_side_by_side(a, b))
    st.caption("Per-block genes are listed block 1 first; accuracy is on the validation split.")
    tabs = st.tabs([f"A: {a.id}", f"B: {b.id}"])
    for tab, tag, record in zip(tabs, "AB", (a, b), strict=True):
        with tab:
            note = leaderboard_format.silent_note(
                record.firing_rates, record.layer_energy_uj, record.arch["depth"]
            )
            if note:
                st.warning(note, icon=":material/volume_off:")
            ui.candidate_panel(store, view.run, record, key=f"{K}{tag}")


def _side_by_side(a, b) -> pd.DataFrame:
    """Candidates A and B as text in the formats of the other pages, with B - A."""
    fmt = leaderboard_format

    def per_block(record, key: str, pattern: str) -> str:
        return fmt.per_block(record.arch, key, pattern)

    def diff(x: float, y: float, pattern: str) -> str:
        return ("+" if y - x > 0 else "") + pattern.format(y - x)

    def ops(x: float, y: float) -> tuple[str, str, str]:
        return (
            units.format_ops(x),
            units.format_ops(y),
            ("+" if y > x else "") + units.format_ops(y - x),
        )

    unit = units.energy_unit_uj([a.energy_uj, b.energy_uj])[0]  # one unit for the row

    rows = {
        "validation accuracy": (
            fmt.percent(a.accuracy),
            fmt.percent(b.accuracy),
            diff(a.accuracy * 100, b.accuracy * 100, "{:.2f} pt"),
        ),
        "energy": (
            units.format_energy(a.energy_uj, unit=unit),
            units.format_energy(b.energy_uj, unit=unit),
            ("+" if b.energy_uj > a.energy_uj else "")
            + units.format_energy(b.energy_uj - a.energy_uj, unit=unit),
        ),
        "params": ops(a.params, b.params),
        "SOPs": ops(a.sops, b.sops),
        "mean firing rate": (
            f"{a.firing_rate:.3f}",
            f"{b.firing_rate:.3f}",
            diff(a.firing_rate, b.firing_rate, "{:.3f}"),
        ),
    }
    for label, key in (("time steps T", "time_steps"), ("embed dim", "embed_dim")):
        rows[label] = (str(a.arch[key]), str(b.arch[key]), "")
    rows["blocks"] = (str(a.arch["depth"]), str(b.arch["depth"]), "")
    silent = [fmt.silent_blocks(r.firing_rates, r.arch["depth"]) for r in (a, b)]
    rows[f"silent blocks {fmt.SILENT}"] = (
        *(", ".join(map(str, blocks)) or "none" for blocks in silent),
        "",
    )
    for label, (key, pattern) in fmt.BLOCK_GENES.items():
        rows[f"{label} per block"] = (per_block(a, key, pattern), per_block(b, key, pattern), "")
    frame = pd.DataFrame(rows, index=["A", "B", "B - A"]).T
    return frame


def _knee(view: viewstate.CompareView) -> None:
    st.subheader("The knee: the F_AEB winner as alpha sweeps 0 to 1")
    scopes = [(view.run, view.search)]
    if view.mode == "runs":
        scopes.append((view.run2, view.search2))
    cols = st.columns(len(scopes))
    for col, (run, search) in zip(cols, scopes, strict=True):
        if run is None:
            continue
        with col:
            curve = ui.knee(run, search)
            if curve.empty:
                st.caption(f"{plain(_label(run, search))}: no candidates yet.")
                continue
            st.markdown(f"**{plain(_label(run, search))}**")
            unit = charts.energy_unit([curve])  # the panel's and the table's
            for panel in compare_charts.knee_panels(curve, alpha=view.alpha, unit=unit):
                st.altair_chart(panel, width="stretch")
            segments = frames.knee_segments(curve)
            st.caption(
                f"{len(segments)} different winners over alpha in [0, 1]; they all lie on the "
                "Pareto front."
            )
            st.dataframe(
                segments.assign(
                    accuracy=segments["accuracy"] * 100,
                    energy_uj=segments["energy_uj"] * units.unit_factor(unit),
                ),
                hide_index=True,
                column_config={
                    "alpha_from": st.column_config.NumberColumn("alpha from", format="%.2f"),
                    "alpha_to": st.column_config.NumberColumn("alpha to", format="%.2f"),
                    "id": st.column_config.TextColumn("winner"),
                    "accuracy": st.column_config.NumberColumn(
                        "accuracy", format=leaderboard_format.ACCURACY_FORMAT
                    ),
                    "energy_uj": st.column_config.NumberColumn(
                        units.energy_title(unit), format="%.4g"
                    ),
                },
            )


def main() -> None:
    st.title("Compare")
    view, problems = viewstate.parse_compare(ui.current_params())
    ui.adopt_url(PAGE, lambda: _seed(view))
    for problem in problems:
        st.warning(plain(problem))
    linked = {st.session_state.get(K + "run"), st.session_state.get(K + "run2")}
    # Archived runs are left out of the lists, unless the link names one.
    names = [r.name for r in ui.store().list_runs() if not r.archived or r.name in linked]
    if not names:
        st.info("No runs yet.")
        return
    _check_names(names)
    _defaults(names)
    cols = st.columns([2, 3, 1])
    cols[0].radio(
        "Compare",
        viewstate.COMPARE_MODES,
        key=K + "mode",
        format_func=MODE_LABELS.get,
        horizontal=True,
    )
    cols[1].slider("alpha: weight of energy in F_AEB", 0.0, 1.0, step=0.01, key=K + "alpha")
    log = cols[2].toggle("log energy", key=K + "log")
    mode = st.session_state[K + "mode"]
    if mode == "runs":
        _scope_picker("A", names, "run", "search")
        _scope_picker("B", names, "run2", "search2")
        st.multiselect(
            "More runs to overlay (whole runs)",
            names,
            key=K + "more",
            max_selections=viewstate.MAX_MORE,
            placeholder="none",
        )
        _fronts(_view(), log)
    else:
        st.selectbox("Run", names, key=K + "run", placeholder="Pick a run")
        _candidates(_view())
    _knee(_view())
    ui.help_link()
    view = _view()
    ui.publish_url(PAGE, view.to_params())
    ui.share_box(PAGE, view.to_params())


main()
