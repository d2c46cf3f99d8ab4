"""Run work on the workers: `launch`, `status`, `cancel`, `delete`, `archive`, `extend`. The app
and the command line call these.

`launch` checks everything before it writes anything (a bad dataset, space, alpha, name or a taken
name raises a one-line `ValueError` and stores nothing), then creates the run `queued` and enqueues
its first step. `status`, `cancel`, `delete` and `archive` work from the store and the run's
files, so they work without a broker; `cancel` also tells the gpu workers through Redis when it
can (the recorder's sweeper does otherwise).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import AutoSpikformerError
from storage import paths
from storage.duckdb_store import open_store
from storage.errors import DuplicateRun, RunActive, UnknownRun, one_line
from storage.ops import TERMINAL, AddEvents, UpdateRun
from storage.records import EventRecord, RunRecord
from tasks import estimates, history
from tasks.plumbing.broker import BrokerUnavailable, require_url, running_url
from tasks.plumbing.recording import update_run

if TYPE_CHECKING:  # the pipeline imports torch; status and cancel do not need it
    from storage.base import Store
    from tasks.pipeline import RunSpec, SearchSpec

DEVICES = ("auto", "cpu", "cuda")
ARTEFACTS_ENV = paths.ARTEFACTS_ENV


__all__ = ["BrokerUnavailable", "cancel", "extend", "launch", "open_store", "status"]


def _search_id(run: str, search_spec: SearchSpec) -> str:
    """The launched search's id (`tasks.pipeline.launched_search_id`), checked to fit."""
    try:
        return paths.search_id(run, search_spec.strategy, 1)
    except ValueError:
        raise AutoSpikformerError(
            f"run name {run!r} is too long: its search id must fit in 64 characters"
        ) from None


# Each owner's queued and running runs at most (0: no limit). A shared server's GPU hosts serve the
# whole team: one user's sweep of fifty runs would hold everyone else back for days.
MAX_ACTIVE_ENV = "AUTOSPIKFORMER_MAX_ACTIVE_RUNS"
DEFAULT_MAX_ACTIVE_RUNS = 8


def max_active_runs() -> int:
    """`AUTOSPIKFORMER_MAX_ACTIVE_RUNS`, else `DEFAULT_MAX_ACTIVE_RUNS`; a one-line
    `AutoSpikformerError` for anything but a whole number >= 0."""
    raw = os.environ.get(MAX_ACTIVE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_ACTIVE_RUNS
    if not raw.isdigit():
        raise AutoSpikformerError(
            f"{MAX_ACTIVE_ENV} must be a whole number >= 0 (0: no limit), got {one_line(raw, 40)!r}"
        )
    return int(raw)


def check_quota(store: Store, owner: str, *, besides: str = "") -> None:
    """A one-line `AutoSpikformerError` when `owner` already has `max_active_runs()` active runs
    (`besides` not counted). Runs without an owner (the command line, single-user mode) are not
    counted. Two launches at the same instant may both pass: the check is a fair-share rule, not
    a lock."""
    limit = max_active_runs()
    if not owner or limit == 0:
        return
    active = [
        r.name for r in store.list_runs() if r.owner == owner and r.active and r.name != besides
    ]
    if len(active) >= limit:
        shown = ", ".join(active[:3]) + (", ..." if len(active) > 3 else "")
        raise AutoSpikformerError(
            f"its owner already has {len(active)} active runs ({shown}); at most {limit} per "
            f"user ({MAX_ACTIVE_ENV}): wait for one to finish, or cancel one"
        )


def launch(
    run_spec: RunSpec, search_spec: SearchSpec, *, owner: str = "", device: str = "auto"
) -> str:
    """Validate, create the run (`queued`) and enqueue it; returns the run name.

    Raises a one-line `ValueError` (and stores nothing) for a bad or taken name, an unknown or
    missing dataset, a bad space, search settings out of range, or an unreachable broker (with
    none running, one line saying how to start one: launch never starts a broker of its own).
    """
    from tasks import pipeline
    from tasks.plumbing.coordination import check_run_name, key

    spec = replace(run_spec, owner=owner) if owner else run_spec
    if spec.arch_file:
        raise AutoSpikformerError(
            "launch trains a supernet and searches it: give --space (use `train --arch` to train "
            "one architecture)"
        )
    if device not in DEVICES:
        raise AutoSpikformerError(f"device must be one of {'|'.join(DEVICES)}, got {device!r}")
    config = spec.validate()  # name, dataset (on disk), space
    check_run_name(spec.name)  # never a name that the broker's own keys use
    # Strategy, alpha, sizes, budgets, param limit; the spec comes back with its front box.
    search_spec = pipeline.validate_search(search_spec, config)
    _search_id(spec.name, search_spec)
    store = open_store()
    try:
        store.get_run(spec.name)
    except UnknownRun:
        pass
    else:
        raise DuplicateRun(f"run {spec.name!r} already exists; pick a new name")
    check_quota(store, spec.owner)
    leftover = [folder for folder in run_folders(spec.name) if folder.exists()]
    if leftover:  # e.g. written by a task of a deleted run that was still finishing
        raise DuplicateRun(
            f"folder {leftover[0]} of an earlier run called {spec.name!r} is still there; "
            "pick a new name or remove the folder"
        )

    require_url()  # a running broker (never a private one that dies with this process)
    from tasks import jobs  # the Celery app: resolves the running broker on first use

    try:
        client = jobs.redis_client()
        client.ping()
    except Exception as err:  # noqa: BLE001 - any failure to reach it is the same to the user
        raise BrokerUnavailable(f"cannot reach the broker: {one_line(err, 200)}") from None
    # The store's create is the claim on the name: of two launches under one name, the second
    # stops here, before it could touch the first one's keys below.
    store.create_run(
        RunRecord(
            name=spec.name,
            owner=spec.owner,
            dataset=spec.dataset,
            space=config.space,
            settings={
                "train": asdict(config),
                "search": asdict(search_spec),
                "launch": {"device": device},
            },
            state="queued",
        )
    )
    try:
        # Marks left by a deleted run of this name ("epoch 1 enqueued", "finished", its
        # tombstone) would hold the new run back until they expire.
        stale = list(client.scan_iter(match=key(spec.name, "*"), count=1000))
        if stale:
            client.delete(*stale)
        jobs.advance.apply_async(args=[spec.name])
    except Exception as err:  # noqa: BLE001
        message = f"could not enqueue the run: {one_line(err, 200)}"
        update_run(store, spec.name, state="failed", message=message)
        raise BrokerUnavailable(message) from None
    return spec.name


def status(run: str) -> dict[str, Any]:
    """`{"run", "state", "progress", "message", "generation", "generations", "epochs",
    "search", "evaluated", "best", "settings", "eta_s", "history", "archived"}` from the store
    (see `tasks.history`), plus `"elapsed_s"` (creation to end, or to now while active),
    `"finished_at"`, `"eta_basis"` and `"eta_complete"` (see `tasks.estimates`: false when the
    ETA counts training only) and `"doing"` (what its workers are doing now, or null).
    `UnknownRun` (a `ValueError`)."""
    paths.validate_name(run, "run")
    store = open_store()
    record = store.get_run(run)
    searches = store.list_searches(run)
    search = searches[-1] if searches else None
    settings = record.settings
    best = None
    evaluated = 0
    if search is not None:
        evaluated = store.count_candidates(run, search.id)
        alpha = float(search.settings.get("alpha", 0.5))
        ranked = store.rank(run, search=search.id, alpha=alpha, top=1, silent_last=True)
        best = ranked[0][0].to_contract(ranked[0][1]) if ranked else None
    eta = estimates.estimate(store, record)
    return {
        "run": record.name,
        "state": record.state,
        "progress": record.progress,
        "message": record.message,
        "owner": record.owner,
        "dataset": record.dataset,
        "epochs": settings.get("train", {}).get("epochs"),
        "generations": settings.get("search", {}).get("generations"),
        "generation": search.generation if search else 0,
        "search": search.id if search else None,
        "evaluated": evaluated,
        "best": best,
        "updated_at": record.updated_at,
        "archived": record.archived,
        "settings": history.settings(store, record),
        "eta_s": eta.seconds,
        "history": history.history(store, run),
        "elapsed_s": estimates.elapsed_s(record),
        "finished_at": record.finished_at,
        "eta_basis": eta.basis,
        "eta_complete": eta.complete,
        "doing": estimates.doing_now(store, record),
    }


def cancel(run: str) -> dict[str, Any]:
    """Mark the run cancelled; its tasks stop at their next boundary and what was recorded stays.
    A run that already ended is left as it is. Returns `status(run)`. `UnknownRun`."""
    paths.validate_name(run, "run")
    store = open_store()
    store.get_run(run)
    applied = store.apply(
        [
            UpdateRun(run, "cancelled", message="cancelled by request"),
            AddEvents((EventRecord(run, "cancel", "cancelled", "cancelled by request"),)),
        ]
    )
    for search in store.list_searches(run):
        if search.state not in TERMINAL:
            store.update_search(search.id, state="cancelled")
    _tell_workers(applied.runs)
    return status(run)


def _tell_workers(states: dict[str, str]) -> None:
    """Mirror run states to Redis now, so gpu workers stop at their next step; if the broker is
    away, the recorder's sweeper mirrors them within its interval."""
    if not states:
        return
    try:
        import redis

        from tasks.plumbing.coordination import Coordinator
        from tasks.plumbing.settings import settings

        url = running_url()
        if url is not None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            Coordinator(client, settings()).mirror(states)
    except Exception:  # noqa: BLE001, S110 - best effort; the sweeper repeats it
        pass


def run_folders(run: str) -> list[Path]:
    """Where a run's files live: `runs/<run>` under the home folder and, on several hosts, under
    the shared artefacts folder (`AUTOSPIKFORMER_ARTEFACTS`)."""
    roots = [paths.home()]
    shared = os.environ.get(ARTEFACTS_ENV)
    if shared:
        roots.append(Path(shared).expanduser().absolute())
    folders: list[Path] = []
    for root in roots:
        folder = paths.resolve_inside(root, "runs", paths.validate_name(run, "run"))
        if folder not in folders:
            folders.append(folder)
    return folders


def delete_files(run: str, artefacts: list[str]) -> list[str]:
    """Remove the run's folders and the recorded artefact files outside them (an export written
    elsewhere under the home folder). Returns what was removed. The only code that deletes a
    run's files."""
    removed: list[str] = []
    for folder in run_folders(run):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder))
    for relative in artefacts:
        try:
            path = paths.artefact_path(relative)  # records are relative to the artefact folder
        except ValueError:
            continue  # a record naming a path outside the artefact folder: not ours to delete
        if path.is_file():
            path.unlink()
            removed.append(str(path))
    return removed


def _idle_on_the_workers(run: str) -> Any:
    """The broker's `Coordinator` once no step of `run` holds a lease or is queued there;
    `RunActive` while one does (one line naming them). None when no broker runs (then no worker
    can run a step); `BrokerUnavailable` when `REDIS_URL` names one that does not answer."""
    url = running_url()
    if url is None:
        return None
    import redis

    from tasks.plumbing.coordination import Coordinator
    from tasks.plumbing.settings import settings

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        coordinator = Coordinator(client, settings())
        busy = coordinator.busy(run)
    except redis.exceptions.RedisError as err:
        raise BrokerUnavailable(
            f"cannot check run {run!r}'s steps on the broker ({one_line(err, 120)}); "
            "try again once it answers"
        ) from None
    if busy:
        shown = ", ".join(busy[:3]) + (f" and {len(busy) - 3} more" if len(busy) > 3 else "")
        raise RunActive(
            f"run {run!r} still has steps on the workers ({shown}); a cancelled run's steps stop "
            "at their next boundary: try again then"
        )
    return coordinator


def delete(run: str) -> dict[str, Any]:
    """Delete the run's records and files. `UnknownRun`; `RunActive` (a `ValueError`) while it is
    queued, training or searching, or while any of its steps holds a lease or is queued on the
    broker: then nothing is changed. A deleted run leaves a tombstone on the broker, so a late
    message of it (a redelivered duplicate) writes nothing. Returns
    `{"run", "deleted": True, "removed": [PATH, ...]}`."""
    paths.validate_name(run, "run")
    store = open_store()
    artefacts = [a.path for a in store.artefacts(run)]
    record = store.get_run(run)
    if record.active:
        raise RunActive(f"run {run!r} is {record.state}; cancel it before deleting it")
    coordinator = _idle_on_the_workers(run)
    store.delete_run(run)  # refuses an active run before anything is removed
    if coordinator is not None:
        try:
            coordinator.tombstone(run)
        except Exception:  # noqa: BLE001, S110 - a step that starts now still checks its lease
            pass
    return {"run": run, "deleted": True, "removed": delete_files(run, artefacts)}


def archive(run: str, archived: bool = True) -> dict[str, Any]:
    """Hide the run from the default lists (or show it again). `UnknownRun`."""
    paths.validate_name(run, "run")
    store = open_store()
    store.update_run(run, archived=archived)
    return {"run": run, "archived": archived}


def extend(run: str, search_id: str, generations: int) -> dict[str, Any]:
    """Continue the finished or cancelled search of launched run `run` for `generations` more
    generations on the workers, from its saved state, under the same search id: the search's
    target is raised, the run is `searching` again, and `advance` is enqueued (its reconciler
    steps the search, then records it `done`). Returns `{"run", "search", "from", "generations"}`
    (generations done before, and the new target).

    Raises a one-line `ValueError`, changing nothing, for an unknown run or search, a search
    still running or that failed, `generations` < 1 or a target over the maximum
    (`engine.limits`), a search not of a launched run (extend those with
    `autospikformer search --resume`), or an unreachable broker.
    """
    from tasks.pipeline import extending

    paths.validate_name(run, "run")
    store = open_store()
    record = store.get_run(run)
    ext = extending.check_extension(store, search_id, generations, run=run)
    check_quota(store, record.owner, besides=run)  # extending makes the run active again
    if not ext.launched:
        raise AutoSpikformerError(
            f"search {search_id} was run from the command line, not launched: continue it with "
            f"`autospikformer search --resume {search_id} --generations {generations}`"
        )
    from tasks import jobs
    from tasks.plumbing.coordination import Coordinator, key
    from tasks.plumbing.settings import settings

    try:
        client = jobs.redis_client()
        client.ping()
    except Exception as err:  # noqa: BLE001 - any failure to reach it is the same to the user
        raise BrokerUnavailable(f"cannot reach the broker: {one_line(err, 200)}") from None
    extending.reopen(store, ext)
    try:
        client.delete(key(run, "finished"))  # the reconciler finishes the search once more
        Coordinator(client, settings()).mirror({run: "searching"})  # workers see it active
        jobs.advance.apply_async(args=[run])
    except Exception as err:  # noqa: BLE001
        extending.restore(store, ext)
        raise BrokerUnavailable(f"could not enqueue the extension: {one_line(err, 200)}") from None
    return {"run": run, "search": search_id, "from": ext.current, "generations": ext.target}
