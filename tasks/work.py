"""The gpu steps: one training epoch, one evaluation slice, one export (or test evaluation).

A gpu worker has no store: each step gets its run's settings from its message, the run's state
from Redis (`Coordinator.stopped`, mirrored by the recorder, so `cancel` reaches it), reads and
writes files under the artefact folder, and sends its store writes to the recorder as op lists.

Every step runs under its lease (`Coordinator.lease`), so the sweeper re-enqueues it within
`lease_ttl_s + sweep_interval_s` if its worker dies, and a duplicate (a message redelivered after
the visibility timeout, a step re-enqueued while its first worker was only stalled) finds the lease
held or the work done and returns. A step that raises fails its run (or its request) with a
one-line message and an `error` event; a lost Redis connection leaves the step to the sweeper.

Before every write (a checkpoint, a cached result, an export) a step checks that it still holds
its lease and that its run was not deleted (`Coordinator.check`); if not, it stops there
(`LeaseLost`), writes nothing, and leaves the step to whoever holds it now. A step never creates
its run's folders before that check, so a deleted run's late message leaves nothing behind.

An epoch that is already trained (its checkpoint is there) is not trained again, but its records
are sent again from the checkpoint's history: the first try may have saved the checkpoint and
lost its records (Redis away when the epoch ended). Recording is insert-or-ignore, so a resend
that was not needed changes nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from kombu.exceptions import OperationalError

from storage import paths
from storage.errors import one_line
from storage.ops import AddArtefact, AddEpochs, AddEvents, AddTestResults, Op, UpdateRun
from storage.records import ArtefactRecord, EventRecord, RunRecord, TestResultRecord
from tasks.plumbing.coordination import Coordinator, Lease, LeaseLost, Step
from tasks.plumbing.recording import OpWriter
from tasks.plumbing.result_cache import ResultCache
from tasks.progress import SliceProgress, as_ops
from tasks.reconciler import info, slice_step, train_step, units
from tasks.remote import export_file, export_step

log = logging.getLogger(__name__)

# Losing Redis (or its connection) mid-task is not the run's fault: the sweeper re-enqueues the
# step once Redis is back (or, if Redis lost everything, kicks the run).
TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OperationalError)


@dataclass(frozen=True)
class Context:
    """What a step needs of its worker process."""

    coordinator: Coordinator
    send: Callable[[list[Op]], Any]  # op lists to the recorder
    kick: Callable[[str], Any]  # enqueue `advance(run)` (coalesced)
    worker: str  # host:pid, on records and events
    task_id: str = ""  # the Celery task id of this delivery
    torch_threads: int = 0


_threads_in_use: list[int] = []  # the count this process last applied (logged when it changes)


def _torch_threads(ctx: Context) -> None:
    """Set torch's threads before a step computes: `--threads`/AUTOSPIKFORMER_TORCH_THREADS when
    given, else this host's cores divided by the processes busy on them now
    (`engine.threads`), so a worker next to another job does not oversubscribe the cores."""
    from engine.threads import (
        ThreadChoice,
        apply_threads,
        available_cores,
        choose_threads,
        host_busy_processes,
    )

    if ctx.torch_threads:
        choice = ThreadChoice(ctx.torch_threads, available_cores(), 1, "--threads")
    else:
        choice = choose_threads(host_busy_processes())
    if _threads_in_use != [choice.threads]:
        apply_threads(choice, log.info)
        _threads_in_use[:] = [choice.threads]


@contextmanager
def _running(
    ctx: Context, step: Step, what: str, on_failure: Callable[[str], list[Op]]
) -> Iterator[Lease | None]:
    """Hold `step`'s lease (None: someone else runs it), record a restart as an event, apply
    the failure policy (`on_failure(message)` does its part and returns ops to record with the
    `error` event), and forget the step when the block ends normally."""
    try:
        with ctx.coordinator.lease(step, ctx.worker) as lease:
            if lease is not None and lease.deliveries > 1:
                ctx.send([AddEvents((_restart_event(ctx, step, what, lease),))])
            yield lease
            if lease is not None:
                ctx.coordinator.finish(step)
    except (*TRANSIENT, LeaseLost):
        raise  # not the run's failure: the sweeper, or the lease's new holder, carries on
    except Exception as err:
        reason = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        message = one_line(f"{what} failed: {reason}", 300)
        event = EventRecord(
            step.run, f"{step.name}:{ctx.task_id}:error", "error", message, ctx.worker
        )
        try:
            ctx.send([*on_failure(message), AddEvents((event,))])  # one op list: seen together
            ctx.coordinator.finish(step)
        except Exception as inner:  # noqa: BLE001 - the original error matters more
            log.error("could not record the failure of %s (%s): %s", what, message, inner)
        raise


def _restart_event(ctx: Context, step: Step, what: str, lease: Lease) -> EventRecord:
    if lease.previous_holder and lease.previous_holder != ctx.worker:
        kind = "worker_lost"
        message = f"{what}: its worker {lease.previous_holder} died under it; started again"
    else:
        kind, message = "retry", f"{what} started again (delivery {lease.deliveries})"
    return EventRecord(
        step.run, f"{step.name}:delivery:{lease.deliveries}", kind, message, ctx.worker
    )


def _fail_run(ctx: Context, run: str) -> Callable[[str], list[Op]]:
    """The run fails: in Redis at once (so no advance enqueues the step again before the recorder
    has stored it), and in the store through the recorder."""

    def fail(message: str) -> list[Op]:
        ctx.coordinator.mirror({run: "failed"})
        return [UpdateRun(run, "failed", message=message)]

    return fail


def trained_epochs(run: str) -> int:
    """Epochs in the run's newest readable checkpoint (0 if none)."""
    from engine.checkpoint_files import latest_checkpoint, read_meta

    path = latest_checkpoint(paths.run_dir(run, create=False))
    return 0 if path is None else int(read_meta(path)["epoch"])


def _stopped(run: str, err: LeaseLost) -> dict[str, Any]:
    log.warning("%s: stopped before writing: %s", run, err)
    return {"run": run, "stopped": str(err)}


def resend_history(ctx: Context, record: RunRecord) -> int:
    """Send the epoch records kept in the run's newest checkpoint (and its progress and artefact)
    again; returns how many epochs were sent."""
    from tasks.pipeline import checkpoint_history

    run = record.name
    epochs, path = checkpoint_history(run, ctx.worker)
    if path is None:
        return 0
    total, generations = units(record)
    progress = min(trained_epochs(run), total) / (total + generations)
    artefact = ArtefactRecord(run, "supernet", paths.relative_to_artefacts(path))
    ops: list[Op] = [AddEpochs(tuple(epochs))] if epochs else []
    ctx.send([*ops, UpdateRun(run, "training", progress), AddArtefact(artefact)])
    return len(epochs)


# ---- training -----------------------------------------------------------------------------------
def train_epoch(ctx: Context, run: str, epoch: int, message: dict[str, Any]) -> dict[str, Any]:
    """Train epoch `epoch` of the run's supernet (resuming from the last checkpoint)."""

    record = RunRecord.from_dict(message)
    step = train_step(record, epoch)
    if ctx.coordinator.stopped(run):
        ctx.coordinator.finish(step)
        return {"run": run, "skipped": "inactive"}
    try:
        return _train_epoch(ctx, record, step, epoch)
    except LeaseLost as err:
        return _stopped(run, err)


def _train_epoch(ctx: Context, record: RunRecord, step: Step, epoch: int) -> dict[str, Any]:
    from tasks import pipeline

    run = record.name
    with _running(ctx, step, f"training epoch {epoch}", _fail_run(ctx, run)) as lease:
        if lease is None:
            return {"run": run, "skipped": "held"}
        if trained_epochs(run) >= epoch:
            resent = resend_history(ctx, record)
            ctx.kick(run)
            return {"run": run, "skipped": "trained", "resent_epochs": resent}
        ctx.coordinator.check(lease)  # before the run's folder is created
        epochs, generations = units(record)
        writer = OpWriter(record, ctx.send, progress=lambda p: p * epochs / (epochs + generations))
        if epoch == 1:
            ctx.send(
                [info(run, "training-started", f"training started ({epochs} epochs)", ctx.worker)]
            )
        _torch_threads(ctx)
        result = pipeline.train_run(
            writer,
            run,
            device=record.settings["launch"].get("device", "auto"),
            max_epochs=1,
            before_save=lambda: ctx.coordinator.check(lease),
        )
    ctx.kick(run)
    return {"run": run, "epoch": result["epochs"]}


# ---- evaluation ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _evaluator(run: str, checkpoint: str, mtime_ns: int, seed: int, recalib: int, device: str):
    from tasks import pipeline

    return pipeline.make_evaluator(run, seed, device, recalib)


def evaluator(run: str, spec, device: str | None):
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
        str(pick_device(device or "auto")),
    )


def evaluate_slice(
    ctx: Context,
    run: str,
    search_id: str,
    generation: int,
    index: int,
    archs: list[dict],
    message: dict[str, Any],
) -> dict[str, Any]:
    """Evaluate the archs of slice `index` of a generation that have no cached result."""
    record = RunRecord.from_dict(message)
    step = slice_step(record, search_id, generation, index, archs)
    if ctx.coordinator.stopped(run):
        ctx.coordinator.finish(step)
        return {"run": run, "skipped": "inactive"}
    what = f"evaluating slice {index} of generation {generation}"
    try:
        return _evaluate_slice(ctx, record, step, what, search_id, generation, index, archs)
    except LeaseLost as err:
        return _stopped(run, err)


def _evaluate_slice(
    ctx: Context,
    record: RunRecord,
    step: Step,
    what: str,
    search_id: str,
    generation: int,
    index: int,
    archs: list[dict],
) -> dict[str, Any]:
    from engine.space import Arch
    from tasks import pipeline

    run = record.name
    with _running(ctx, step, what, _fail_run(ctx, run)) as lease:
        if lease is None:
            return {"run": run, "skipped": "held"}
        spec = pipeline.SearchSpec(**record.settings["search"])
        cache = ResultCache(run, search_id)
        todo = [a for a in map(Arch.from_dict, archs) if cache.get(a) is None]
        if todo:
            _torch_threads(ctx)
            evaluate = evaluator(run, spec, record.settings["launch"].get("device"))
            send = as_ops(ctx.send)
            points = SliceProgress(run, search_id, generation, index, len(archs), ctx.worker, send)
            points.start(done=len(archs) - len(todo))
            for arch in todo:
                result = evaluate([arch])[0]
                ctx.coordinator.check(lease)
                cache.put(result, worker=ctx.worker)
                points.evaluated()
    ctx.kick(run)
    return {"run": run, "generation": generation, "evaluated": len(todo)}


# ---- exports and test evaluations ---------------------------------------------------------------
def _exported(path: Path, candidate_id: str) -> bool:
    """A complete export of this candidate is already there (a repeated request reuses it)."""
    from engine.checkpoint_files import read_meta
    from engine.errors import CheckpointError

    try:
        return read_meta(path).get("candidate") == candidate_id
    except CheckpointError:
        return False


def export_subnet(
    ctx: Context, run: str, candidate_id: str, request: dict[str, Any]
) -> dict[str, Any]:
    """Export a candidate's standalone subnet into the artefact folder and record it; for a
    `test` request also evaluate that file on the test split and record the result."""
    kind = request["kind"]
    step = export_step(run, candidate_id, request)
    what = "test evaluation" if kind == "test" else "export"

    def status(**fields: Any) -> None:
        ctx.coordinator.set_request(run, kind, candidate_id, worker=ctx.worker, **fields)

    def failed(message: str) -> list[Op]:
        status(state="failed", message=message)
        return []

    try:
        return _export(ctx, request, step, what, status, failed)
    except LeaseLost as err:
        return _stopped(run, err)


def _export(
    ctx: Context,
    request: dict[str, Any],
    step: Step,
    what: str,
    status: Callable[..., None],
    failed: Callable[[str], list[Op]],
) -> dict[str, Any]:
    from engine import data
    from engine.space import Arch
    from engine.subnet_eval import evaluate_checkpoint
    from engine.train import pick_device
    from tasks import pipeline

    run, candidate_id = step.run, step.args[1]
    kind = request["kind"]
    with _running(ctx, step, what, failed) as lease:
        if lease is None:
            return {"run": run, "candidate": candidate_id, "skipped": "held"}
        out = export_file(run, candidate_id)
        device = pick_device(request.get("device") or "auto")
        if not _exported(out, candidate_id):
            status(state="running", stage="exporting the subnet (BN recalibration)")
            _torch_threads(ctx)
            spec = pipeline.SearchSpec(**request["search_settings"])
            pipeline.export_subnet(
                run,
                Arch.from_dict(request["arch"]),
                spec,
                out,
                device=device,
                before_save=lambda: ctx.coordinator.check(lease),
            )
        relative = paths.relative_to_artefacts(out)
        ops: list[Op] = [AddArtefact(ArtefactRecord(run, "subnet", relative, candidate_id))]
        result: dict[str, Any] = {"run": run, "candidate": candidate_id, "path": relative}
        if kind == "test":
            status(state="running", stage="evaluating on the test split")
            measured = evaluate_checkpoint(out, request["dataset"], "test", device)
            samples = len(data.load_split(request["dataset"], "test"))
            ops.append(
                AddTestResults(
                    (
                        TestResultRecord(
                            run=run,
                            candidate_id=candidate_id,
                            search=request["search"],
                            accuracy=measured["accuracy"],
                            energy_uj=measured["energy_uj"],
                            samples=samples,
                            artefact=relative,
                            sops=measured["sops"],
                            firing_rate=measured["firing_rate"],
                            params=measured["params"],
                            worker=ctx.worker,
                        ),
                    )
                )
            )
            result["test_accuracy"] = measured["accuracy"]
        status(state="recording", stage="recording the result")
        ctx.send(ops)
    return result
