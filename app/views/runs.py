"""Runs: every run with its state, owner, progress, elapsed time and the current generation's
best, updated live in place (a fragment that reruns every few seconds). `?run=NAME` puts that
run first (where a launch lands)."""

from __future__ import annotations

import streamlit as st

from app import ui, viewstate
from storage.errors import StoreError, one_line
from storage.records import RunRecord

PAGE = "runs"


def _current_best(run: RunRecord) -> str:
    """The newest search's latest generation: its best candidate, accuracy and energy."""
    store = ui.store()
    searches = store.list_searches(run.name)
    if not searches:
        return "no search yet"
    search = searches[-1]
    generations = store.generations(search.id)
    if not generations:
        return f"{search.strategy} search {search.id}: no generation yet"
    last = generations[-1]
    text = f"generation {last.generation} of {search.id}"
    if last.best_id:
        try:
            best = store.get_candidate(run.name, last.best_id, search.id)
        except StoreError:
            return f"{text}: best {last.best_id}"
        text += (
            f": best `{best.id}` · {best.accuracy:.2%} · {best.energy_uj:.4g} uJ"
            f" · F_AEB {last.best_fitness or 0.0:.3f}"
        )
    return text


def _cancel(run: str) -> None:
    try:
        from tasks import api

        api.cancel(run)
    except Exception as err:  # shown to the user, whatever the queue raised
        st.session_state["runs_message"] = f"Could not cancel {run}: {one_line(err)}"
    else:
        st.session_state["runs_message"] = f"Cancel requested for {run}."


def _row(run: RunRecord, acc: ui.Access, focus: bool) -> None:
    with st.container(border=True):
        head, action = st.columns([5, 1])
        badge = {"done": "green", "failed": "red", "cancelled": "gray"}.get(run.state, "blue")
        mark = " ← just launched" if focus else ""
        head.markdown(
            f"### {run.name}\n:{badge}-badge[{run.state}] · {run.dataset or '?'} · owner "
            f"**{run.owner or '-'}** · elapsed {ui.elapsed(run)}{mark}"
        )
        if run.state in ui.LIVE_RUN_STATES:
            action.button(
                "Cancel",
                key=f"cancel_{run.name}",
                on_click=_cancel,
                args=(run.name,),
                disabled=not acc.can_write,
                help=None if acc.can_write else "Sign in to cancel",
            )
        st.progress(run.progress, text=f"{run.progress:.0%}")
        st.markdown(_current_best(run))
        if run.message:
            st.caption(run.message)
        st.page_link(
            ui.PAGES["explorer"],
            label=f"Open {run.name} in the explorer",
            icon=":material/scatter_plot:",
            query_params={"run": run.name, "alpha": "0.5"},
        )


@st.fragment(run_every=ui.LIVE_EVERY_S)
def _table(focus: str | None, acc: ui.Access) -> None:
    message = st.session_state.pop("runs_message", None)
    if message:
        st.info(message)
    runs = ui.store().list_runs()
    if not runs:
        st.info("No runs yet.")
        st.page_link(ui.PAGES["launch"], label="Launch one", icon=":material/rocket_launch:")
        return
    live = sum(r.state in ui.LIVE_RUN_STATES for r in runs)
    st.caption(f"{len(runs)} runs, {live} in progress. This list updates every few seconds.")
    # The run in the link first, then newest first.
    ordered = sorted(runs, key=lambda r: (r.name != focus, -r.created_at, r.name))
    for run in ordered:
        _row(run, acc, run.name == focus)


def main() -> None:
    st.title("Runs")
    view, problems = viewstate.parse_runs(ui.current_params())
    for problem in problems:
        st.warning(problem)
    known = {r.name for r in ui.store().list_runs()}
    if view.run and view.run not in known:
        st.error(f"Unknown run {view.run!r}: there is no run by that name.")
    ui.publish_url(PAGE, view.to_params())
    acc = ui.access()
    if not acc.can_write:
        st.caption("Sign in to cancel runs.")
    _table(view.run, acc)


main()
