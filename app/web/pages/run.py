"""One run's page (`/runs?run=NAME`, drawn by the runs page) and the run card it shares with the
runs list: the run's settings, its supernet training and search curves as they grow, the time each
stage took and an ETA, the log, and the lifecycle actions (cancel, archive, clone, delete)."""

from __future__ import annotations

import time

import streamlit as st

from app.common import units
from app.web.components import extend, forms, permissions, runs_table, ui
from app.web.components.text import plain
from storage import paths
from storage.errors import StoreError, one_line
from storage.records import RunRecord
from tasks import estimates, history

MESSAGE = "runs_message"  # one message for the next run of the runs page
REFUSED = "runs_refused"  # why the last action was refused, shown once
JUST_LAUNCHED = "runs_just_launched"  # the run this session launched last
CONFIRM = "runs_confirm_delete"
K_LIVE = "runs_page_live"  # whether the shown run was active at the last redraw
BADGES = {"done": "green", "failed": "red", "cancelled": "gray"}


# ---- the card -----------------------------------------------------------------------------------
def eta_text(estimate: estimates.Estimate) -> str:
    """`3 min 05 s`; `at least 3 min 05 s` while the search is not timed; `estimating…` until
    the first batch is timed; `finishing…` when only recording is left."""
    # TODO(lead): switch to app.common.units.format_duration once the CLI helper's units merge.
    if estimate.seconds is None:
        return "finishing…" if estimate.basis.startswith("finishing") else "estimating…"
    text = history.format_duration(estimate.seconds)
    return text if estimate.complete else f"at least {text}"


def generation_line(run: RunRecord) -> str:
    """The newest search's latest generation, counted from 1 as the CLI does ("generation 3 of
    3"), with its best candidate. A finished run's line is kept: it changes only when the run
    does (another search makes it active, then done again, a new `updated_at`), and the runs
    page redraws up to 20 cards every few seconds (three store reads each)."""
    if run.active:
        return _generation_line(run)
    return _finished_line(str(paths.store_path()), run.name, run.updated_at)


@st.cache_data(max_entries=4096, show_spinner=False)
def _finished_line(path: str, name: str, updated_at: float) -> str:
    return _generation_line(ui.store().get_run(name))


def _generation_line(run: RunRecord) -> str:
    store = ui.store()
    searches = store.list_searches(run.name)
    if not searches:
        return "no search yet"
    search = searches[-1]
    generations = store.generations(search.id)
    if not generations:
        return f"{search.strategy} search {search.id}: no generation yet"
    last = generations[-1]
    total = search.settings.get("generations") or run.settings.get("search", {}).get("generations")
    text = f"generation {last.generation + 1}" + (f" of {total}" if total else "")
    text += f" of {plain(search.id)}" if len(searches) > 1 else ""
    if last.best_id:
        try:
            best = store.get_candidate(run.name, last.best_id, search.id)
        except StoreError:
            return f"{text}: best {last.best_id}"
        text += (
            f": best `{best.id}` · {best.accuracy:.2%} · {units.format_energy(best.energy_uj)}"
            f" · F_AEB {last.best_fitness or 0.0:.3f}"
        )
        if best.silent:  # the search's own best, by F_AEB alone
            text += " · silent (a block never fires)"
    return text


def progress_text(run: RunRecord) -> str:
    """`45% · epoch 1 of 2 done` while training; the percentage otherwise."""
    text = f"{run.progress:.0%}"
    if run.state == "training":
        done = len(ui.store().epochs(run.name))
        total = run.settings.get("train", {}).get("epochs")
        if total:
            text += f" · epoch {done} of {total} done"
    return text


MAX_CARDS = 20  # cards on the runs page at most; every run is in its table


def carded(newest: list[RunRecord], just: str | None) -> set[str]:
    """The runs of `newest` (newest first) that get a card on the runs page (each card reads the
    store every few seconds): the one just launched, every run in progress, then the newest, up
    to `MAX_CARDS` in all."""
    drawn = {r.name for r in newest if r.active or r.name == just}
    for run in newest:
        if len(drawn) >= MAX_CARDS:
            break
        drawn.add(run.name)
    return drawn


def card(run: RunRecord, acc: ui.Access, *, just_launched: bool = False, page: bool = False):
    """The run's state, dataset, owner, elapsed time (and ETA while active), progress and the
    current best; a Cancel button while active; links to its page and to the explorer."""
    with st.container(border=True):
        head, action = st.columns([5, 1])
        badge = BADGES.get(run.state, "blue")
        parts = [f":{badge}-badge[{run.state}]", plain(run.dataset or "?")]
        if run.owner:
            parts.append(f"owner **{plain(run.owner)}**")
        parts.append(f"elapsed {ui.elapsed(run)}")
        if run.active:
            parts.append(f"ETA {eta_text(estimates.estimate(ui.store(), run))}")
        if run.archived:
            parts.append(":gray-badge[archived]")
        parts += [f":violet-badge[{plain(tag)}]" for tag in run.tags]
        mark = " ← just launched" if just_launched and run.active else ""
        head.markdown(f"### {plain(run.name)}\n{' · '.join(parts)}{mark}")
        if run.active:
            why = permissions.refusal(acc, permissions.CANCEL, run.owner, f"run {run.name}")
            action.button(
                "Cancel",
                key=f"cancel_{run.name}",
                on_click=cancel,
                args=(run.name,),
                disabled=why is not None,
                help=why,
            )
        st.progress(run.progress, text=progress_text(run))
        doing = estimates.doing_now(ui.store(), run)
        if doing:
            st.caption(f"Now: {plain(doing)}")
        st.markdown(generation_line(run))
        if run.message:
            st.caption(plain(run.message))
        cols = st.columns(2)
        if not page:
            with cols[0]:
                st.page_link(
                    ui.PAGES["runs"],
                    label=f"Open the page of {plain(run.name)}",
                    icon=":material/monitoring:",
                    query_params={"run": run.name},
                )
        with cols[1] if not page else cols[0]:
            st.page_link(
                ui.PAGES["explorer"],
                label=f"Open {plain(run.name)} in the explorer",
                icon=":material/scatter_plot:",
                query_params={"run": run.name, "alpha": "0.5"},
            )


# ---- actions ------------------------------------------------------------------------------------
def _say(text: str) -> None:
    st.session_state[MESSAGE] = text


def messages() -> None:
    """The outcome of the last action (a callback's), once; user text is shown as text."""
    refused = st.session_state.pop(REFUSED, None)
    if refused:
        st.error(plain(refused))
    message = st.session_state.pop(MESSAGE, None)
    if message:
        st.info(plain(message))


def refused(action: str, run: str) -> bool:
    """Check the signed-in user against the run's owner now, inside the callback (a disabled
    button is no guard); say why and return True when `action` is not allowed."""
    try:
        owner = ui.store().get_run(run).owner
    except StoreError:
        owner = ""  # unknown: only who may act on anyone's run gets on to the one-line error
    why = permissions.refusal(ui.access(), action, owner, f"run {run}")
    if why:
        st.session_state[REFUSED] = why
    return why is not None


def cancel(run: str) -> None:
    if refused(permissions.CANCEL, run):
        return
    try:
        from tasks import api

        api.cancel(run)
    except Exception as err:  # shown to the user, whatever the queue raised
        _say(f"Could not cancel {run}: {one_line(err)}")
    else:
        _say(f"Cancel requested for {run}.")


def _archive(run: str, archived: bool) -> None:
    from tasks import api

    if refused(permissions.ARCHIVE if archived else permissions.RESTORE, run):
        return
    try:
        api.archive(run, archived)
    except StoreError as err:
        _say(f"Could not change {run}: {one_line(err)}")
    else:
        _say(
            f"Archived {run}: it is hidden from the runs list." if archived else f"Restored {run}."
        )


def _delete(run: str) -> None:
    from tasks import api

    st.session_state.pop(CONFIRM, None)
    if refused(permissions.DELETE, run):
        return
    try:
        out = api.delete(run)
    except (StoreError, OSError) as err:
        _say(f"Could not delete {run}: {one_line(err)}")
        return
    _say(f"Deleted {run}: its records and {len(out['removed'])} folder(s) or file(s).")
    st.query_params.clear()  # back to the list


def may_delete(acc: ui.Access, run: RunRecord) -> tuple[bool, str | None]:
    """(allowed, why not): `permissions.may` (with sign-in: its owner or an admin), and the run
    is not active."""
    why = permissions.refusal(acc, permissions.DELETE, run.owner, f"run {run.name}")
    if why:
        return False, why
    if run.active:
        return False, "The run is still active: cancel it before deleting it."
    return True, None


def _actions(run: RunRecord, acc: ui.Access) -> None:
    cols = st.columns([1, 1, 1, 3])
    action = permissions.RESTORE if run.archived else permissions.ARCHIVE
    why = permissions.refusal(acc, action, run.owner, f"run {run.name}")
    cols[0].button(
        "Restore" if run.archived else "Archive",
        key="run_archive",
        icon=":material/unarchive:" if run.archived else ":material/archive:",
        on_click=_archive,
        args=(run.name, not run.archived),
        disabled=why is not None,
        help=why or "Archived runs are hidden from the runs list (a toggle shows them).",
    )
    if cols[1].button(
        "Clone",
        key="run_clone",
        icon=":material/content_copy:",
        disabled=not permissions.may(acc, permissions.LAUNCH),
        help="Open Launch with this run's settings.",
    ):
        form = forms.clone(ui.store(), run.name)
        st.switch_page(ui.PAGES["launch"], query_params=forms.to_params(form))
    allowed, why = may_delete(acc, run)
    if cols[2].button(
        "Delete", key="run_delete", icon=":material/delete:", disabled=not allowed, help=why
    ):
        st.session_state[CONFIRM] = run.name
    if st.session_state.get(CONFIRM) == run.name and allowed:
        st.warning(
            f"Delete run **{plain(run.name)}**: every record of it (candidates, history, log) and "
            "its files (checkpoints, search state, exports)? This cannot be undone."
        )
        yes, no, _ = st.columns([1, 1, 4])
        yes.button("Yes, delete it", key="run_delete_yes", type="primary", on_click=_delete,
                   args=(run.name,))  # fmt: skip
        if no.button("Keep it", key="run_delete_no"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()
    elif why:
        cols[3].caption(plain(why))


# ---- the page -----------------------------------------------------------------------------------
def _generation_0(values: dict) -> str:
    """How the first generation was drawn, for any strategy (`SearchConfig.anchors`, as the
    search ran: `tasks.history.anchors_applied`)."""
    return "anchors + random" if values["anchors"] else "random"


def _settings(record: RunRecord) -> None:
    values = history.settings(ui.store(), record)

    def show(value, unit: str = "") -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:g}{unit}"
        return f"{value}{unit}"

    training = {
        "dataset": show(values["dataset"]),
        "space": show(values["space"]),
        "epochs": show(values["epochs"]),
        "sampling": show(values["sampling"]),
        "batch size": show(values["batch_size"]),
        "learning rate": show(values["lr"]),
        "seed": show(values["seed"]),
        "device": show(values["device"]),
    }
    budget = values["energy_budget_uj"]
    search = {
        "strategy": show(values["strategy"]),
        "generations": show(values["generations"]),
        "population": show(values["population"]),
        "parents": show(values["parents"]),
        "alpha": show(values["alpha"]),
        "energy budget": "none" if budget is None else units.format_energy(budget),
        "energy profile": show(values["energy_profile"]),
        "recalibration batches": show(values["recalib_batches"]),
        "generation 0": _generation_0(values),
        "predictor": {True: "on", False: "off", None: "-"}[values["predictor"]],
        "owner": plain(values["owner"]) if values["owner"] else "none (single-user mode)",
    }
    import pandas as pd  # here, not at import: the runs list needs no pandas (a faster first page)

    left, right = st.columns(2)
    for col, title, rows in ((left, "Supernet training", training), (right, "Search", search)):
        frame = pd.DataFrame({"value": list(rows.values())}, index=pd.Index(rows, name=title))
        col.table(frame)
    if values["space"] == "custom":
        genes = " · ".join(
            f"{g} {', '.join(f'{c:g}' for c in cs)}" for g, cs in values["space_genes"].items()
        )
        st.caption(f"Custom space: {genes}")


def _steps(steps: list[dict], total: int | None) -> None:
    """The per-step training loss (from the workers' progress points), drawn from epoch 1's first
    recorded batch on."""
    from app.web.components import run_charts  # Altair and pandas: not for the runs list

    if not steps:
        return
    frame = run_charts.step_frame(steps)
    last = int(total or frame["epoch"].max())
    st.altair_chart(run_charts.step_loss_chart(frame, last), width="stretch")
    st.caption(
        "Training loss within epochs, as the worker recorded it every few seconds (each point "
        "is the mean over the batches since the previous one)."
    )


def _training(epochs: list[dict], total: int | None, steps: list[dict]) -> None:
    from app.web.components import run_charts  # Altair and pandas: not for the runs list

    st.subheader("Supernet training")
    if not epochs:
        _steps(steps, total)
        st.caption("No epoch recorded yet: the per-epoch curves start after the first epoch.")
        return
    frame = run_charts.epoch_frame(epochs)
    last = int(total or frame["epoch"].max())
    left, right = st.columns(2)
    left.altair_chart(run_charts.loss_chart(frame, last), width="stretch")
    if frame[list(run_charts.ACCURACY_LABELS)].notna().any().any():
        right.altair_chart(run_charts.accuracy_chart(frame, last), width="stretch")
    else:
        right.caption(
            "Validation accuracy of the largest and smallest subnet is not recorded per epoch "
            "for this run."
        )
    st.caption(f"{len(frame)} of {total or '?'} epochs.")
    _steps(steps, total)


def _search(generations: list[dict], total: int | None, screened: bool) -> None:
    """The search's curves per generation; with the predictor (`screened`), its Kendall tau next
    to the normalized hypervolume."""
    from app.web.components import run_charts

    st.subheader("Search")
    if not generations:
        st.caption("No generation recorded yet: the curves start after the first generation.")
        return
    frame = run_charts.generation_frame(generations)
    last = int(total or frame["generation"].max())
    charts = run_charts.search_charts(frame, last)
    if screened:
        charts.insert(2, run_charts.predictor_chart(frame, last))
    for col, chart in zip(st.columns(len(charts)), charts, strict=True):
        col.altair_chart(chart, width="stretch")
    st.caption(
        f"{len(frame)} of {total or '?'} generations. The {units.HV_NORMALIZED_LABEL} is "
        "the share of the box from chance accuracy to 1 and from the space's energy bound down "
        "to its floor (log energy, under the search's profile) that its feasible Pareto front "
        "dominates; unitless, as the search recorded it (the raw hypervolume, µJ × accuracy, in "
        "the tooltip). Anchors: the space's largest and cheapest arch."
    )
    if screened:
        st.caption(
            f"The {units.PREDICTOR_TAU_LABEL}: {units.PREDICTOR_TAU_HELP} Generation 1 is not "
            "screened, nor is a generation before enough candidates were evaluated to fit the "
            "predictor: no point there."
        )


def _times(record: RunRecord, data: dict) -> None:
    st.subheader("Time")
    store = ui.store()
    times = history.stage_times(store, record)
    epochs, generations = data["epochs"], data["generations"]
    cols = st.columns(3)
    cols[0].metric("supernet training", history.format_duration(times.training_s))
    if epochs:
        per_epoch = history.format_duration(sum(e["seconds"] for e in epochs) / len(epochs))
        cols[0].caption(f"{forms.count(len(epochs), 'epoch')}, {per_epoch} per epoch")
    cols[1].metric("search", history.format_duration(times.search_s))
    evaluated = generations[-1]["evaluated"] if generations else 0
    if evaluated and times.search_s:
        cols[1].caption(
            f"{forms.count(len(generations), 'generation')}, {evaluated} candidates, "
            f"{times.search_s / evaluated:.2g} s per candidate"
        )
    if record.active:
        estimate = estimates.estimate(store, record)
        cols[2].metric(
            "ETA",
            eta_text(estimate),
            help="Time left at the rates measured so far: this run's batches, epochs and "
            "evaluated candidates, else earlier runs' on the same dataset and space.",
        )
        basis = estimate.basis
        cols[2].caption(plain(basis[:1].upper() + basis[1:] + "."))
    else:
        cols[2].metric("total", ui.elapsed(record))


def _log(run: str) -> None:
    st.subheader("Log")
    events = ui.store().events(run)
    if not events:
        st.caption("No events recorded yet (errors, retries, lost workers and expired leases).")
        return
    import pandas as pd

    frame = pd.DataFrame(
        {
            "time": [
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created_at)) for e in events
            ],
            "kind": [e.kind for e in events],
            "worker": [e.worker or "-" for e in events],
            "message": [e.message for e in events],
        }
    ).iloc[::-1]
    st.dataframe(frame, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)))
    st.caption(f"{len(events)} events, newest first; the workers' own log files hold the rest.")


def _body(name: str, acc: ui.Access) -> None:
    store = ui.store()
    try:
        record = store.get_run(name)
    except StoreError:
        st.session_state.pop(K_LIVE, None)
        st.rerun()  # deleted meanwhile: the page shows the list again
    was_live = st.session_state.get(K_LIVE)
    st.session_state[K_LIVE] = record.active
    if was_live and not record.active:
        st.rerun()  # the run ended: redraw the whole page (actions, no timer)
    card(record, acc, just_launched=st.session_state.get(JUST_LAUNCHED) == name, page=True)
    _settings(record)
    data = history.history(store, name)
    settings = record.settings
    steps = history.step_history(store, name)
    _training(data["epochs"], settings.get("train", {}).get("epochs"), steps)
    total = history.search_settings(store, record).get("generations")
    _search(data["generations"], total, history.newest_search_screens(store, name))
    _times(record, data)
    _log(name)


@st.fragment(run_every=ui.LIVE_EVERY_S)
def _live(name: str, acc: ui.Access) -> None:
    _body(name, acc)


@st.fragment
def _once(name: str, acc: ui.Access) -> None:
    _body(name, acc)


def render(record: RunRecord, acc: ui.Access) -> None:
    """The whole page of `record`: actions, then its live part (a fragment rerun every few
    seconds while the run is active)."""
    st.page_link(ui.PAGES["runs"], label="All runs", icon=":material/arrow_back:")
    messages()
    _actions(record, acc)
    runs_table.annotations(record, acc)
    extend.box(record, acc)
    (_live if record.active else _once)(record.name, acc)
