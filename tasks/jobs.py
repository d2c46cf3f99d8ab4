"""The tasks of a launched run: short, idempotent steps, driven by one reconciling task.

What a run has done lives on disk (checkpoints, the search state, the result cache) and in the
store, never only in a message, so any step can be re-run or re-derived:

    advance(run)         [cpu] looks at what is done and enqueues what comes next:
                               - `train_epoch(run, e)` while epochs are missing;
                               - `evaluate_slice` for the archs of the current generation that
                                 have no cached result; once all have one, steps the search one
                                 generation, records it, saves the state and goes on;
                               - once the search is done, records the whole search again (a no-op
                                 unless records were lost) and marks the run done.
    train_epoch(run, e)  [gpu] trains epoch e from the last checkpoint, then kicks `advance`.
    evaluate_slice(...)  [gpu] evaluates a few archs into the result cache, then kicks `advance`.
    record(ops)          [cpu] applies store writes; the store's single writer (`tasks.recording`).

`kick(run)` enqueues `advance` unless one is already pending (a Redis flag that `advance` clears
when it starts), so many slices finishing together cause one `advance`. Each training epoch and
each slice is enqueued at most once per visibility timeout (a Redis mark set with SET NX). A task
whose worker died is redelivered by Redis after that timeout; a task whose message was lost (Redis
restarted without persistence) is re-enqueued when the recorder's sweeper kicks the run again. Every
task first reads the run's state and stops if it is done, failed or cancelled.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import redis
from celery import signals
from celery.exceptions import Retry
from kombu.exceptions import OperationalError

from storage import paths
from storage.duckdb_store import DuckDBStore
from storage.errors import StoreBusy, StoreError, UnknownRun, UnknownSearch, one_line
from storage.records import RunRecord, SearchRecord
from tasks.celery_app import CPU_QUEUE, SETTINGS, app
from tasks.recording import WriteBehindStore, apply_ops, update_run
from tasks.result_cache import MissingResults, ResultCache

if TYPE_CHECKING:
    from tasks.pipeline import SearchSpec

log = logging.getLogger(__name__)

KEY_PREFIX = "autospikformer"
ACTIVE = ("queued", "training", "searching")
READER_SHARE_MAX_S = 0.25
# Losing Redis (or its connection) mid-task is not the run's fault: the task is redelivered, or the
# sweeper re-enqueues the step, once Redis is back.
TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OperationalError)


# ---- per-process resources ----------------------------------------------------------------------
@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)


def redis_client() -> redis.Redis:
    return _redis(app.conf.broker_url)


@functools.cache
def _store(path: str) -> DuckDBStore:
    return DuckDBStore(path)


def store() -> DuckDBStore:
    """This process's store on the home folder's file (short connections per call)."""
    return _store(str(paths.store_path()))


def key(run: str, *parts: object) -> str:
    return ":".join([KEY_PREFIX, run, *map(str, parts)])


def is_recorder() -> bool:
    """True in a worker that consumes the cpu queue, i.e. the store's single writer."""
    return CPU_QUEUE in app.amqp.queues.consume_from


def send_ops(ops: list[dict[str, Any]]) -> None:
    """Hand store writes to the recorder; in the recorder itself (a worker on the cpu queue, e.g.
    the single worker of a small setup) apply them at once, with the same rules."""
    if is_recorder():
        apply_ops(store(), ops)
    else:
        record.apply_async(args=[ops])


def write_behind(**kw: Any) -> WriteBehindStore:
    return WriteBehindStore(store(), send_ops, **kw)


def _torch_threads() -> None:
    if SETTINGS.torch_threads:
        import torch

        torch.set_num_threads(SETTINGS.torch_threads)


# ---- enqueueing ---------------------------------------------------------------------------------
def kick(run: str) -> bool:
    """Enqueue `advance(run)` unless one is pending. False if Redis is unreachable (the sweeper
    kicks again later)."""
    try:
        if redis_client().set(key(run, "advance-pending"), 1, nx=True, ex=_ttl()):
            advance.apply_async(args=[run])
        return True
    except (*TRANSIENT, redis.exceptions.RedisError) as err:
        log.warning("could not kick run %s: %s", run, one_line(err, 200))
        return False


def enqueue_once(mark: str, task, *args: Any) -> bool:
    """Enqueue `task(*args)` unless `mark` says it was enqueued within the visibility timeout."""
    client = redis_client()
    if not client.set(mark, 1, nx=True, ex=_ttl()):
        return False
    try:
        task.apply_async(args=list(args))
    except BaseException:
        client.delete(mark)
        raise
    return True


def _ttl() -> int:
    return SETTINGS.visibility_timeout_s


# ---- guards -------------------------------------------------------------------------------------
def active_run(run: str) -> RunRecord | None:
    """The run if it was launched and is still active; None when there is nothing to do."""
    try:
        record = store().get_run(run)
    except UnknownRun:
        return None
    if "launch" not in record.settings or record.state not in ACTIVE:
        return None
    return record


def mark_failed(run: str, message: str) -> None:
    try:
        send_ops([{"op": "update_run", "run": run, "state": "failed", "message": message}])
    except Exception as err:  # noqa: BLE001 - the original error matters more
        log.error("could not mark run %s failed (%s): %s", run, message, one_line(err))


@contextmanager
def failures(task, run: str, what: str) -> Iterator[None]:
    """Retry on a busy store, leave broker outages to redelivery, fail the run on anything else."""
    try:
        yield
    except Retry:
        raise
    except StoreBusy as err:
        raise task.retry(countdown=2, max_retries=30, exc=err) from None
    except TRANSIENT:
        raise
    except Exception as err:
        reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        mark_failed(run, one_line(f"{what} failed: {reason}", 300))
        raise


@contextmanager
def delivery(mark: str, run: str, what: str) -> Iterator[None]:
    """Count starts of one step; a step that never finishes `max_deliveries` times (its worker
    keeps dying under it) fails the run instead of being redelivered forever."""
    client = redis_client()
    count = client.incr(mark)
    client.expire(mark, 24 * 3600)
    if count > SETTINGS.max_deliveries:
        raise RuntimeError(
            f"{what} was started {count - 1} times without finishing (a worker keeps dying "
            "under it: out of memory?)"
        )
    yield
    client.delete(mark)


@contextmanager
def held_lock(name: str) -> Iterator[bool]:
    """A Redis lock held while the block runs (yields False if another holder has it). A thread
    renews it every quarter of its lifetime, so it outlives any task but expires soon after its
    holder dies."""
    ttl = SETTINGS.lock_ttl_s
    # thread_local=False: the renewing thread must see the token the acquiring one got.
    lock = redis_client().lock(name, timeout=ttl, blocking=False, thread_local=False)
    if not lock.acquire():
        yield False
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl / 4):
            try:
                lock.reacquire()
            except redis.exceptions.RedisError as err:
                log.warning("could not renew %s: %s", name, one_line(err))

    thread = threading.Thread(target=renew, name=f"renew {name}", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        done.set()
        thread.join()
        try:
            lock.release()
        except redis.exceptions.RedisError:
            pass  # expired or Redis away: it expires on its own


# ---- training -----------------------------------------------------------------------------------
def trained_epochs(run: str) -> int:
    """Epochs in the run's newest readable checkpoint (0 if none)."""
    from engine.checkpoint import read_meta
    from engine.train import latest_checkpoint

    path = latest_checkpoint(paths.run_dir(run))
    return 0 if path is None else int(read_meta(path)["epoch"])


def _units(record: RunRecord) -> tuple[int, int]:
    """(epochs, generations): progress counts each epoch and each generation as one unit."""
    return record.settings["train"]["epochs"], record.settings["search"]["generations"]


@app.task(name="tasks.train_epoch", bind=True, max_retries=None)
def train_epoch(self, run: str, epoch: int) -> dict[str, Any]:
    """Train epoch `epoch` of the run's supernet (resuming from the last checkpoint)."""
    from tasks import pipeline

    with failures(self, run, f"training epoch {epoch}"):
        record = active_run(run)
        if record is None:
            return {"run": run, "skipped": "inactive"}
        with held_lock(key(run, "train-lock")) as acquired:
            if not acquired:
                # Another worker trains this run, or one died holding the lock (it expires
                # within SETTINGS.lock_ttl_s): try again soon.
                raise self.retry(countdown=5)
            if trained_epochs(run) >= epoch:
                kick(run)
                return {"run": run, "skipped": "trained"}
            epochs, generations = _units(record)
            total = epochs + generations
            writer = write_behind(progress=lambda p: p * epochs / total)
            _torch_threads()
            with delivery(key(run, "deliveries", "train", epoch), run, f"epoch {epoch}"):
                result = pipeline.train_run(
                    writer,
                    run,
                    device=record.settings["launch"].get("device", "auto"),
                    max_epochs=1,
                )
        kick(run)
        return {"run": run, "epoch": result["epochs"]}


# ---- evaluation ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _evaluator(run: str, checkpoint: str, mtime_ns: int, seed: int, recalib: int, device: str):
    from tasks import pipeline

    return pipeline.make_evaluator(run, seed, device, recalib)


def evaluator(run: str, spec: SearchSpec, device: str):
    """A `SubnetEvaluator` for the run's current checkpoint and the search's evaluation settings,
    cached per process, checkpoint and evaluation settings (not per search)."""
    from engine.train import pick_device
    from tasks import pipeline

    path = pipeline.supernet_checkpoint(run)
    return _evaluator(
        run,
        str(path),
        path.stat().st_mtime_ns,
        spec.eval_seed,
        spec.recalib_batches,
        str(pick_device(device)),
    )


@app.task(name="tasks.evaluate_slice", bind=True, max_retries=None)
def evaluate_slice(
    self, run: str, search_id: str, generation: int, index: int, archs: list[dict]
) -> dict[str, Any]:
    """Evaluate the archs of slice `index` of a generation that have no cached result."""
    from engine.space import Arch
    from tasks import pipeline

    with failures(self, run, f"evaluating generation {generation}"):
        record = active_run(run)
        if record is None:
            return {"run": run, "skipped": "inactive"}
        spec = pipeline.SearchSpec(**record.settings["search"])
        cache = ResultCache(run, search_id)
        todo = [a for a in map(Arch.from_dict, archs) if cache.get(a) is None]
        if todo:
            _torch_threads()
            mark = key(run, "deliveries", "eval", generation, index)
            with delivery(mark, run, f"evaluation slice {index} of generation {generation}"):
                evaluate = evaluator(run, spec, record.settings["launch"].get("device"))
                for arch in todo:
                    cache.put(evaluate([arch])[0], worker=pipeline.worker_name())
        kick(run)
        return {"run": run, "generation": generation, "evaluated": len(todo)}


# ---- the reconciler -----------------------------------------------------------------------------
def search_id_of(run: str, spec: SearchSpec) -> str:
    """The id of a launched run's (only) search."""
    return f"{run}.{spec.strategy}.1"


def _saved_generation(run: str, search_id: str) -> int:
    from tasks import pipeline

    path = pipeline.search_state_path(run, search_id)
    try:
        return int(json.loads(path.read_text())["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _save_state(run: str, search_id: str, search) -> None:
    """Save the search state atomically, never replacing a later generation's (a slower
    duplicate of this task may finish after a faster one)."""
    from tasks import pipeline

    path = pipeline.search_state_path(run, search_id)
    if _saved_generation(run, search_id) >= search.generation:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(search.state_dict()))
    tmp.replace(path)


def _fan_out(run: str, search_id: str, generation: int, missing: MissingResults) -> int:
    """Enqueue the slices of this generation that hold a missing arch (once each)."""
    size = SETTINGS.slice_size
    enqueued = 0
    for index in range(math.ceil(len(missing.archs) / size)):
        chunk = missing.archs[index * size : (index + 1) * size]
        if not any(a.id in missing.missing for a in chunk):
            continue
        enqueued += enqueue_once(
            key(run, "eval", search_id, generation, index),
            evaluate_slice,
            run,
            search_id,
            generation,
            index,
            [a.to_dict() for a in chunk],
        )
    return enqueued


@app.task(name="tasks.advance", bind=True, max_retries=None)
def advance(self, run: str) -> dict[str, Any]:
    """Enqueue the run's next step, or step its search as far as cached results allow."""
    from tasks import pipeline

    try:
        redis_client().delete(key(run, "advance-pending"))
    except TRANSIENT as err:
        log.warning("advance %s: %s", run, one_line(err))
    with failures(self, run, "advancing the run"):
        try:
            record = store().get_run(run)
        except UnknownRun:
            return {"run": run, "skipped": "unknown"}
        if "launch" not in record.settings:
            return {"run": run, "skipped": "not launched"}
        spec = pipeline.SearchSpec(**record.settings["search"])
        if record.state not in ACTIVE:
            if record.state == "cancelled":
                _cancel_search(run, search_id_of(run, spec))
            return {"run": run, "skipped": record.state}
        epochs, _ = _units(record)
        done = trained_epochs(run)
        if done < epochs:
            enqueue_once(key(run, "train", done + 1), train_epoch, run, done + 1)
            return {"run": run, "phase": "training", "epoch": done + 1}
        return _advance_search(run, record, spec)


def _cancel_search(run: str, search_id: str) -> None:
    try:
        store().get_search(search_id)
    except UnknownSearch:
        return
    send_ops([{"op": "update_search", "search": search_id, "state": "cancelled"}])


def _advance_search(run: str, record: RunRecord, spec: SearchSpec) -> dict[str, Any]:
    from engine.space import SearchSpace
    from tasks import pipeline

    search_id = search_id_of(run, spec)
    space = SearchSpace.from_dict(record.space)
    # The hypervolume reference, fixed at the search's start and stored with its record.
    spec = pipeline.with_reference(spec, run, search_id, record.dataset, space)
    cache = ResultCache(run, search_id)
    search = pipeline.search_from_state(run, search_id, spec, space, cache.evaluate)
    search_record = SearchRecord(
        id=search_id, run=run, strategy=spec.strategy, settings=asdict(spec), state="searching"
    )
    epochs, generations = _units(record)
    writer = write_behind()
    if search.generation == 0:
        writer.send(
            {"op": "create_search", "record": search_record.to_dict()},
            {
                "op": "update_run",
                "run": run,
                "state": "searching",
                "progress": epochs / (epochs + generations),
            },
        )
    while not search.done:
        if active_run(run) is None:  # cancelled meanwhile: stop at this boundary
            return {"run": run, "skipped": "inactive"}
        generation = search.generation
        try:
            summary = search.step()
        except MissingResults as missing:
            queued = _fan_out(run, search_id, generation, missing)
            return {
                "run": run,
                "generation": generation,
                "missing": len(missing.missing),
                "queued": queued,
            }
        with writer.batch():
            writer.create_search(search_record)  # each batch stands alone if redelivered first
            pipeline.record_generation(writer, run, search_id, spec.strategy, summary, spec=spec)
            writer.send(
                {"op": "update_search", "search": search_id, "generation": search.generation},
                {
                    "op": "update_run",
                    "run": run,
                    "state": "searching",
                    "progress": min(1.0, (epochs + search.generation) / (epochs + generations)),
                },
            )
        _save_state(run, search_id, search)
    if redis_client().set(key(run, "finished"), 1, nx=True, ex=_ttl()):
        _finish(run, search_id, spec, space, search_record, cache)
    return {"run": run, "done": True}


def _finish(run, search_id, spec, space, search_record, cache) -> None:
    """Record every generation once more from the cached results (no-ops unless some records were
    lost, e.g. with a Redis restart) and mark the search and the run done, in one op list."""
    from tasks import pipeline

    replay = pipeline.search_from_state(run, search_id, spec, space, cache.evaluate, fresh=True)
    writer = write_behind()
    with writer.batch():
        writer.create_search(search_record)
        while not replay.done:
            summary = replay.step()
            pipeline.record_generation(writer, run, search_id, spec.strategy, summary, spec=spec)
        writer.send(
            {
                "op": "update_search",
                "search": search_id,
                "state": "done",
                "generation": replay.generation,
            },
            {"op": "update_run", "run": run, "state": "done", "progress": 1.0, "message": ""},
        )


# ---- the recorder -------------------------------------------------------------------------------
@app.task(name="tasks.record", bind=True, max_retries=None)
def record(self, ops: list[dict[str, Any]]) -> dict[str, int]:
    """Apply store writes (see `tasks.recording`). Only the recorder consumes this task."""
    started = time.monotonic()
    try:
        counts = apply_ops(store(), ops)
        # Leave the file free for as long as we held it: a stream of back-to-back writes would
        # otherwise starve readers, whose retries rarely land in the short gaps between them.
        time.sleep(min(time.monotonic() - started, READER_SHARE_MAX_S))
        return counts
    except (StoreBusy, UnknownSearch) as err:
        # Busy: another process holds the file. Unknown search: its creation is still queued.
        raise self.retry(countdown=1, max_retries=60, exc=err) from None
    except StoreError as err:
        for run in {op.get("run") or op.get("record", {}).get("run") for op in ops} - {None}:
            try:
                update_run(store(), run, state="failed", message=f"recording failed: {err}")
            except StoreError:
                pass
        raise


# ---- worker processes ---------------------------------------------------------------------------
@signals.worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Import the model code when a pool process starts, not in its first task (seconds)."""
    import engine.evaluate  # noqa: F401
    import engine.train  # noqa: F401
    from tasks import pipeline  # noqa: F401 - engine, torch, spikingjelly


# ---- the sweeper --------------------------------------------------------------------------------
def sweep() -> int:
    """Kick every launched run that is still active; returns how many."""
    kicked = 0
    for run in store().list_runs():
        if run.state in ACTIVE and "launch" in run.settings:
            kicked += kick(run.name)
    return kicked


def _sweep_forever(stop: threading.Event) -> None:
    while not stop.wait(SETTINGS.sweep_interval_s):
        try:
            sweep()
        except Exception as err:  # noqa: BLE001 - keep sweeping; the next round may succeed
            log.warning("sweep failed: %s", one_line(err, 200))


@signals.worker_ready.connect
def _start_sweeper(sender=None, **_: Any) -> None:
    """In the worker that consumes the cpu queue (the recorder), sweep unfinished runs."""
    queues = {q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", [])}
    if CPU_QUEUE not in queues:
        return
    stop = threading.Event()
    threading.Thread(target=_sweep_forever, args=(stop,), name="sweeper", daemon=True).start()
    signals.worker_shutdown.connect(lambda **_: stop.set(), weak=False)


__all__ = [
    "advance",
    "evaluate_slice",
    "kick",
    "record",
    "sweep",
    "train_epoch",
]
