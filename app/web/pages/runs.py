"""Runs: every run with its state, owner, progress, elapsed time and the current generation's
best, updated live in place (fragments that rerun every 2 s while a run is in progress, every
15 s otherwise); archived runs are hidden unless asked for. `?run=NAME` is that run's own page
(see `app.web.pages.run`)."""

from __future__ import annotations

import streamlit as st

from app.web.components import forms, runs_table, ui, viewstate
from app.web.components.text import plain
from app.web.pages import run as run_page

PAGE = "runs"
SHOW_ARCHIVED = "runs_show_archived"


@st.fragment(run_every=ui.LIVE_EVERY_S)
def _cards_live(acc: ui.Access, show_archived: bool) -> None:
    _cards(acc, show_archived, live=True)


@st.fragment(run_every=ui.IDLE_EVERY_S)
def _cards_idle(acc: ui.Access, show_archived: bool) -> None:
    _cards(acc, show_archived, live=False)


def _cards(acc: ui.Access, show_archived: bool, live: bool) -> None:
    """The count line and the cards. Redrawn every `ui.LIVE_EVERY_S` while a run is in progress,
    else every `ui.IDLE_EVERY_S`; when that changes, the whole page reruns at the other pace."""
    runs = ui.store().list_runs()
    if any(r.active for r in runs) != live:
        st.rerun()
    if not runs:
        st.info("No runs yet.")
        st.page_link(ui.PAGES["launch"], label="Launch one", icon=":material/rocket_launch:")
        return
    active = sum(r.active for r in runs)
    archived = sum(r.archived for r in runs)
    shown = runs_table.filtered(runs if show_archived else [r for r in runs if not r.archived])
    hidden = f", {archived} archived (hidden)" if archived and not show_archived else ""
    pace = ui.LIVE_EVERY_S if live else ui.IDLE_EVERY_S
    st.caption(
        f"{forms.count(len(runs), 'run')}, {active} in progress{hidden}. This list updates every "
        f"{pace:g} s{' while a run is in progress' if live else ''}."
    )
    just = st.session_state.get(run_page.JUST_LAUNCHED)
    newest = sorted(shown, key=lambda r: (-r.created_at, r.name))
    drawn = run_page.carded(newest, just)
    for run in newest:
        if run.name in drawn:
            run_page.card(run, acc, just_launched=run.name == just)
    if len(drawn) < len(newest):
        st.caption(
            f"Cards for the {len(drawn)} newest and running runs; the other "
            f"{forms.count(len(newest) - len(drawn), 'run')} are in the table above (filter it to "
            "bring their cards here)."
        )


def main() -> None:
    view, problems = viewstate.parse_runs(ui.current_params())
    ui.adopt_url(PAGE, lambda: runs_table.seed(view))
    for problem in problems:
        st.warning(plain(problem))
    acc = ui.access()
    runs = {r.name: r for r in ui.store().list_runs()}
    if view.run and view.run in runs:
        st.title(f"Run {plain(view.run)}")
        ui.publish_url(PAGE, view.to_params())
        run_page.render(runs[view.run], acc)
        return
    st.title("Runs")
    if view.run:
        st.error(plain(f"Unknown run {view.run!r}: there is no run by that name."))
    run_page.messages()
    show_archived = st.toggle("Show archived runs", key=SHOW_ARCHIVED)
    live = any(r.active for r in runs.values())
    if runs:
        runs_table.filters([r for r in runs.values() if show_archived or not r.archived])
        runs_table.section(show_archived, live)
    ui.publish_url(PAGE, runs_table.view_params(view.run).to_params())
    if not acc.can_write:
        st.caption("Sign in to cancel runs.")
    (_cards_live if live else _cards_idle)(acc, show_archived)


main()
