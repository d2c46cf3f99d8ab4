""" "N more generations" on a run's page: continue a finished (or cancelled) search from its saved
state on the workers (`tasks.api.extend`), for the run's owner or an admin. What `extend` cannot
do (a search run from the command line, a target over the maxima, no broker) it refuses with one
line, shown as it is."""

from __future__ import annotations

import streamlit as st

from app.web.components import permissions, ui
from app.web.components.text import plain
from engine.limits import MAX_GENERATIONS
from storage.errors import StoreError, one_line
from storage.records import RunRecord

K = "run_extend_"
SAID = K + "said"


def _extend(run: str) -> None:
    """The button's callback: check the user again now, then ask the workers."""
    ss = st.session_state
    try:
        owner = ui.store().get_run(run).owner
    except StoreError:
        owner = ""
    why = permissions.refusal(ui.access(), permissions.EXTEND, owner, f"run {run}")
    if why:
        ss[SAID] = ("error", why)
        return
    search, more = ss.get(K + "search"), int(ss.get(K + "n") or 1)
    try:
        from tasks import api

        out = api.extend(run, search, more)
    except (ValueError, StoreError) as err:  # the API's one-line refusals
        ss[SAID] = ("error", one_line(err))
        return
    ss[SAID] = (
        "success",
        f"Search {search} continues: generations {out['from'] + 1} to {out['generations']} "
        "are queued on the workers.",
    )


def box(run: RunRecord, acc: permissions.Identity) -> None:
    """The extend controls under the run's actions, when it has a finished search and is not
    active (nothing while it runs)."""
    from tasks.pipeline.extending import EXTENDABLE

    said = st.session_state.pop(SAID, None)
    if said:
        (st.error if said[0] == "error" else st.success)(plain(said[1]))
    if run.active:
        return
    searches = [s for s in ui.store().list_searches(run.name) if s.state in EXTENDABLE]
    if not searches:
        return
    why = permissions.refusal(acc, permissions.EXTEND, run.owner, f"run {run.name}")
    names = [s.id for s in searches]
    done = {s.id: len(ui.store().generations(s.id)) for s in searches}
    if st.session_state.get(K + "search") not in names:
        st.session_state[K + "search"] = names[-1]
    with st.container(border=True):
        st.markdown("**Extend a search**")
        cols = st.columns([3, 2, 2])
        cols[0].selectbox(
            "Search",
            names,
            key=K + "search",
            format_func=lambda s: f"{s} ({searches[names.index(s)].state}, {done[s]} generations)",
        )
        more = cols[1].number_input(
            "More generations", min_value=1, max_value=MAX_GENERATIONS, value=1, key=K + "n"
        )
        cols[2].button(
            f"{int(more)} more generation{'s' if more != 1 else ''}",
            key=K + "go",
            icon=":material/playlist_add:",
            on_click=_extend,
            args=(run.name,),
            disabled=why is not None,
            help=why or "Continue the search from its saved state, under the same id",
        )
