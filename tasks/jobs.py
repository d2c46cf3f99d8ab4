"""The Celery tasks of a launched run: thin wrappers around the reconciler and the gpu steps.

    advance(run)          [cpu] `tasks.reconciler`: enqueue the next steps, step the search.
    train_epoch(...)      [gpu] `tasks.work.train_epoch`: one epoch from the last checkpoint.
    evaluate_slice(...)   [gpu] `tasks.work.evaluate_slice`: a few archs into the result cache.
    export_subnet(...)    [gpu] `tasks.work.export_subnet`: a standalone subnet (and its test
                                accuracy, when asked), for the app's download and `export --remote`.
    record(ops)           [cpu] puts an op list on the recorder's log (`tasks.plumbing.recorder`);
                                kept for senders that still use a task message.

The worker that consumes the `cpu` queue also runs, as threads of its main process, the recorder
(the store's single writer, draining the op log) and the sweeper (`tasks.plumbing.recorder`). gpu
workers never open the store: a gpu task reads its run from its message and Redis.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import Any

import redis
from celery import signals

from storage import paths
from storage.duckdb_store import DuckDBStore
from storage.errors import StoreBusy, one_line
from storage.ops import AddEvents, Op, UpdateRun
from storage.records import EventRecord
from tasks import work
from tasks.plumbing import recorder
from tasks.plumbing.celery_app import app, broker_url
from tasks.plumbing.coordination import Coordinator
from tasks.plumbing.settings import CPU_QUEUE, settings
from tasks.work import TRANSIENT

log = logging.getLogger(__name__)


# ---- per-process resources ----------------------------------------------------------------------
@functools.cache
def _redis(url: str, pid: int) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)


def redis_client() -> redis.Redis:
    return _redis(app.conf.broker_url, os.getpid())


def _publish(name: str, args: list, task_id: str) -> None:
    app.send_task(name, args=args, task_id=task_id)


def coordinator() -> Coordinator:
    return Coordinator(redis_client(), settings(), publish=_publish)


@functools.cache
def _store(path: str, pid: int) -> DuckDBStore:
    # One per process: a store object inherited through fork() may hold a lock of a thread that
    # does not exist in the child.
    return DuckDBStore(path)


def store() -> DuckDBStore:
    """The head host's store (only the recorder, its `advance` tasks, the app and the CLI)."""
    return _store(str(paths.store_path()), os.getpid())


def worker_name() -> str:
    from tasks.pipeline import worker_name as name

    return name()


def send_ops(ops: list[Op]) -> None:
    """Hand store writes to the recorder (its op log in Redis)."""
    recorder.send(redis_client(), ops)


def kick(run: str) -> bool:
    """Enqueue `advance(run)` unless one is pending. False if Redis is unreachable (the sweeper
    kicks again later)."""
    try:
        return coordinator().kick(run, lambda: advance.apply_async(args=[run]))
    except (*TRANSIENT, redis.exceptions.RedisError) as err:
        log.warning("could not kick run %s: %s", run, one_line(err, 200))
        return False


def _context(task) -> work.Context:
    return work.Context(
        coordinator=coordinator(),
        send=send_ops,
        kick=kick,
        worker=worker_name(),
        task_id=task.request.id or "",
        torch_threads=settings().torch_threads,
    )


# ---- the reconciler -----------------------------------------------------------------------------
@app.task(name="tasks.advance", bind=True, max_retries=None)
def advance(self, run: str) -> dict[str, Any]:
    """Enqueue the run's next step, or step its search as far as cached results allow."""
    from tasks.reconciler import Reconciler

    coord = coordinator()
    try:
        coord.advance_started(run)
    except TRANSIENT as err:
        log.warning("advance %s: %s", run, one_line(err))
    reconciler = Reconciler(
        store(),
        coord,
        send_ops,
        trained_epochs=work.trained_epochs,
        slice_size=settings().slice_size,
        worker=worker_name(),
    )
    try:
        result = reconciler.advance(run)
        if result.get("more"):  # its time is up with cached generations left: queue up again
            kick(run)
        return result
    except StoreBusy as err:
        raise self.retry(countdown=2, max_retries=30, exc=err) from None
    except TRANSIENT:
        raise
    except Exception as err:
        reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        message = one_line(f"advancing the run failed: {reason}", 300)
        try:
            coord.mirror({run: "failed"})
            send_ops(
                [
                    UpdateRun(run, "failed", message=message),
                    AddEvents(
                        (EventRecord(run, f"advance:{self.request.id}:error", "error", message),)
                    ),
                ]
            )
        except Exception as inner:  # noqa: BLE001 - the original error matters more
            log.error("could not mark run %s failed (%s): %s", run, message, inner)
        raise


# ---- gpu steps ----------------------------------------------------------------------------------
@app.task(name="tasks.train_epoch", bind=True, max_retries=None)
def train_epoch(self, run: str, epoch: int, message: dict | None = None) -> dict[str, Any]:
    """Train epoch `epoch` of the run's supernet (resuming from the last checkpoint)."""
    if message is None:  # a message from before runs travelled with their tasks
        return {"run": run, "skipped": "old message"}
    return work.train_epoch(_context(self), run, epoch, message)


@app.task(name="tasks.evaluate_slice", bind=True, max_retries=None)
def evaluate_slice(
    self,
    run: str,
    search_id: str,
    generation: int,
    index: int,
    archs: list[dict],
    message: dict | None = None,
) -> dict[str, Any]:
    """Evaluate the archs of slice `index` of a generation that have no cached result."""
    if message is None:
        return {"run": run, "skipped": "old message"}
    return work.evaluate_slice(_context(self), run, search_id, generation, index, archs, message)


@app.task(name="tasks.export_subnet", bind=True, max_retries=None)
def export_subnet(self, run: str, candidate_id: str, request: dict) -> dict[str, Any]:
    """Export a candidate (and evaluate it on the test split when asked)."""
    return work.export_subnet(_context(self), run, candidate_id, request)


# ---- the recorder -------------------------------------------------------------------------------
@app.task(name="tasks.record", bind=True, max_retries=None)
def record(self, ops: list[dict[str, Any]]) -> dict[str, int]:
    """Put an op list (JSON form) on the recorder's log; it is checked when applied."""
    recorder.send_wire(redis_client(), ops)
    return {"queued": len(ops)}


# ---- worker processes ---------------------------------------------------------------------------
@signals.worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Import the model code (torch, spikingjelly: seconds) when a pool process of a worker
    that consumes the gpu queue starts, not in its first task. A worker of the cpu queue alone
    (the recorder's) never needs torch: it records, steps searches and reads checkpoint
    metadata, all without it."""
    if set(app.amqp.queues.consume_from or ()) == {CPU_QUEUE}:
        return
    import engine.evaluate  # noqa: F401
    import engine.train  # noqa: F401
    import tasks.pipeline.exporting  # noqa: F401


def _sweep_forever(stop: threading.Event, name: str) -> None:
    coord = Coordinator(
        redis.Redis.from_url(broker_url(settings()), socket_timeout=30), settings(), _publish
    )
    while not stop.is_set():
        try:
            recorder.sweep(store(), coord, kick, worker=name)
        except Exception as err:  # noqa: BLE001 - keep sweeping; the next round may succeed
            log.warning("sweep failed: %s", one_line(err, 200))
        stop.wait(settings().sweep_interval_s)


def _record_forever(stop: threading.Event, name: str) -> None:
    client = redis.Redis.from_url(broker_url(settings()), socket_timeout=30)
    coord = Coordinator(client, settings())
    recorder.Recorder(store(), coord, record_batch=settings().record_batch, name=name).run(stop)


def _heartbeat_forever(stop: threading.Event, name: str) -> None:
    coord = coordinator()
    while not stop.is_set():
        try:
            coord.heartbeat(name)
        except Exception as err:  # noqa: BLE001 - Redis away: try again
            log.warning("heartbeat: %s", one_line(err, 200))
        stop.wait(settings().lease_ttl_s / 6)
    # Stopping: the heartbeat lapses on its own, a lease TTL from now. Not deleted now: until the
    # soft shutdown has put the received messages back on the queue, a worker without heartbeat
    # looks to the sweeper like one that died holding them, and they would be sent twice.
    try:
        coord.heartbeat(name)
    except Exception:  # noqa: BLE001, S110 - it lapses on its own
        pass


@signals.task_received.connect
def _received(request=None, **_: Any) -> None:
    """Note on the step's ledger which worker holds its message (`tasks.plumbing.coordination`)."""
    try:
        coordinator().received(request.id, request.hostname)
    except Exception as err:  # noqa: BLE001 - only the sweeper's bookkeeping suffers
        log.warning("could not note task %s received: %s", request.id, one_line(err, 200))


@signals.worker_ready.connect
def _start_threads(sender=None, **_: Any) -> None:
    """In every worker, a heartbeat; in the one that consumes the cpu queue, also the recorder
    and the sweeper. On shutdown the recorder finishes its batch and hands its lease over."""
    queues = {q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", [])}
    stop = threading.Event()
    name = worker_name()
    targets: list = [(_heartbeat_forever, sender.hostname)]
    if CPU_QUEUE in queues:
        targets += [(_record_forever, name), (_sweep_forever, name)]
    threads = [
        threading.Thread(target=target, args=(stop, arg), name=target.__name__, daemon=True)
        for target, arg in targets
    ]
    for thread in threads:
        thread.start()

    def _stop(**_: Any) -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=3)

    # `worker_shutting_down` comes with warm and cold shutdowns (SIGTERM is remapped to a cold
    # one); `worker_shutdown` only with warm ones.
    signals.worker_shutting_down.connect(_stop, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)


__all__ = ["advance", "evaluate_slice", "export_subnet", "kick", "record", "train_epoch"]
