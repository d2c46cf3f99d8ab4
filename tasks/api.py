"""Run work on the workers: `launch`, `status`, `cancel`. The app and the command line call these.

`launch` checks everything before it writes anything (a bad dataset, space, alpha, name or a taken
name raises a one-line `ValueError` and stores nothing), then creates the run `queued` and enqueues
its first step. `status` and `cancel` work from the store, so they work without a broker; `cancel`
also tells the gpu workers through Redis when it can (the recorder's sweeper does otherwise).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from engine.errors import AutoSpikformerError
from storage import paths
from storage.duckdb_store import open_store
from storage.errors import DuplicateRun, UnknownRun, one_line
from storage.ops import TERMINAL, AddEvents, UpdateRun
from storage.records import EventRecord, RunRecord
from tasks.recording import update_run

if TYPE_CHECKING:  # the pipeline imports torch; status and cancel do not need it
    from tasks.pipeline import RunSpec, SearchSpec

DEVICES = ("auto", "cpu", "cuda")


class BrokerUnavailable(AutoSpikformerError):
    """The broker cannot be reached, so nothing can be enqueued."""


__all__ = ["BrokerUnavailable", "cancel", "launch", "open_store", "status"]


def _search_id(run: str, search_spec: SearchSpec) -> str:
    """The launched search's id (`tasks.pipeline.launched_search_id`), checked to fit."""
    try:
        return paths.search_id(run, search_spec.strategy, 1)
    except ValueError:
        raise AutoSpikformerError(
            f"run name {run!r} is too long: its search id must fit in 64 characters"
        ) from None


def launch(
    run_spec: RunSpec, search_spec: SearchSpec, *, owner: str = "", device: str = "auto"
) -> str:
    """Validate, create the run (`queued`) and enqueue it; returns the run name.

    Raises a one-line `ValueError` (and stores nothing) for a bad or taken name, an unknown or
    missing dataset, a bad space, search settings out of range, or an unreachable broker.
    """
    from tasks import pipeline

    spec = replace(run_spec, owner=owner) if owner else run_spec
    if spec.arch_file:
        raise AutoSpikformerError(
            "launch trains a supernet and searches it: give --space (use `train --arch` to train "
            "one architecture)"
        )
    if device not in DEVICES:
        raise AutoSpikformerError(f"device must be one of {'|'.join(DEVICES)}, got {device!r}")
    config = spec.validate()  # name, dataset (on disk), space
    pipeline.validate_search(search_spec, config)  # strategy, alpha, sizes, budgets, param limit
    _search_id(spec.name, search_spec)
    store = open_store()
    try:
        store.get_run(spec.name)
    except UnknownRun:
        pass
    else:
        raise DuplicateRun(f"run {spec.name!r} already exists; pick a new name")

    from tasks import jobs  # the Celery app: resolves (or starts) the broker on first use

    try:
        jobs.redis_client().ping()
    except Exception as err:  # noqa: BLE001 - any failure to reach it is the same to the user
        raise BrokerUnavailable(f"cannot reach the broker: {one_line(err, 200)}") from None
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
        jobs.advance.apply_async(args=[spec.name])
    except Exception as err:  # noqa: BLE001
        message = f"could not enqueue the run: {one_line(err, 200)}"
        update_run(store, spec.name, state="failed", message=message)
        raise BrokerUnavailable(message) from None
    return spec.name


def status(run: str) -> dict[str, Any]:
    """`{"run", "state", "progress", "message", "generation", "generations", "epochs",
    "search", "evaluated", "best"}` from the store. `UnknownRun` (a `ValueError`)."""
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
        ranked = store.rank(run, search=search.id, alpha=alpha, top=1)
        best = ranked[0][0].to_contract(ranked[0][1]) if ranked else None
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

        from tasks.celery_app import settings
        from tasks.coordination import Coordinator

        url = running_broker_url()
        if url is not None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
            Coordinator(client, settings()).mirror(states)
    except Exception:  # noqa: BLE001, S110 - best effort; the sweeper repeats it
        pass


def running_broker_url() -> str | None:
    """`REDIS_URL`, or the embedded server if one is running (never starts one)."""
    from tasks import broker
    from tasks.celery_app import settings

    if settings().redis_url:
        return settings().redis_url
    found = broker.find()
    return found.url if found is not None else None
