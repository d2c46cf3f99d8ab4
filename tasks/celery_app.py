"""The Celery app: broker and result backend on `REDIS_URL` (or the embedded server), two queues.

Queues:
    gpu: `train_epoch` (one epoch from the last checkpoint) and `evaluate_slice` (a few archs of one
         generation). Run one worker per accelerator on it.
    cpu: `advance` (search bookkeeping) and `record` (the only writes to the store). Run exactly one
         worker on it, with concurrency 1: that worker is the store's single writer (the recorder).

Settings are a frozen `TaskSettings`. A process that wants particular settings (the `worker`
command, a test) passes them to `configure()` before the app is first used; otherwise they are
read from the environment on first use (`settings()`). Importing this module reads nothing and
starts nothing. The broker URL is resolved when Celery first needs its configuration: `REDIS_URL`,
else the embedded server under the home folder (`tasks.broker.ensure()`), started if none runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu import Queue

GPU_QUEUE = "gpu"
CPU_QUEUE = "cpu"
QUEUES = (GPU_QUEUE, CPU_QUEUE)


@dataclass(frozen=True)
class TaskSettings:
    """Deployment settings of the task layer (environment variable in brackets).

    Args:
        redis_url: broker and result backend [REDIS_URL]; None: the embedded server.
        visibility_timeout_s: how long a delivered, unacknowledged task may run before Redis hands
            it to another worker [AUTOSPIKFORMER_VISIBILITY_TIMEOUT]. Must exceed the longest task
            (one epoch of the largest space on one GPU: minutes), else a running task is re-run.
            Lost work does not wait for it: leases bring it back (`lease_ttl_s`); a message that
            comes back after it is a harmless duplicate. Also the lifetime of the step ledger.
        restore_interval_s: how often a worker looks for tasks whose visibility timeout expired
            (those of a worker that died) [AUTOSPIKFORMER_RESTORE_INTERVAL].
        result_expires_s: how long task results stay in the backend.
        slice_size: archs per `evaluate_slice` task [AUTOSPIKFORMER_SLICE_SIZE].
        sweep_interval_s: how often the recorder's sweeper re-enqueues steps whose lease lapsed
            and kicks active runs with nothing in flight (messages lost with a Redis restart)
            [AUTOSPIKFORMER_SWEEP_S].
        max_deliveries: a task delivered this often (it keeps killing its worker, e.g. out of
            memory) fails its run instead of looping [AUTOSPIKFORMER_MAX_DELIVERIES].
        torch_threads: intra-op threads per worker process; 0 keeps torch's default
            [AUTOSPIKFORMER_TORCH_THREADS].
        soft_shutdown_s: on shutdown, how long running tasks may finish before they are stopped
            and their messages go back to the queue [AUTOSPIKFORMER_SOFT_SHUTDOWN_S].
        lease_ttl_s: lifetime of a running step's lease (an epoch, a slice, an export), renewed
            every sixth of it while the step runs, so it lapses at most this long after its holder
            died [AUTOSPIKFORMER_LEASE_TTL; AUTOSPIKFORMER_LOCK_TTL is read as before].
            Recovery after a dead worker takes at most `lease_ttl_s + sweep_interval_s`.
        record_batch: most candidate records the recorder applies in one transaction
            [AUTOSPIKFORMER_RECORD_BATCH].
    """

    redis_url: str | None = None
    visibility_timeout_s: int = 2 * 3600
    restore_interval_s: int = 10
    result_expires_s: int = 24 * 3600
    slice_size: int = 2
    sweep_interval_s: float = 10.0
    max_deliveries: int = 10
    torch_threads: int = 0
    soft_shutdown_s: float = 5.0
    lease_ttl_s: int = 30
    record_batch: int = 1000

    def __post_init__(self) -> None:
        if min(self.visibility_timeout_s, self.restore_interval_s, self.lease_ttl_s) < 1:
            raise ValueError("visibility timeout, restore interval and lease TTL must be >= 1 s")
        if self.slice_size < 1 or self.max_deliveries < 1 or self.sweep_interval_s <= 0:
            raise ValueError("slice size, max deliveries and sweep interval must be positive")
        if self.record_batch < 1 or self.torch_threads < 0:
            raise ValueError("record batch must be >= 1 and torch threads >= 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TaskSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: float, kind: type = int) -> Any:
            raw = env.get(name, "").strip()
            try:
                return kind(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a number, got {raw!r}") from None

        return cls(
            redis_url=env.get("REDIS_URL") or None,
            visibility_timeout_s=number("AUTOSPIKFORMER_VISIBILITY_TIMEOUT", 2 * 3600),
            restore_interval_s=number("AUTOSPIKFORMER_RESTORE_INTERVAL", 10),
            slice_size=number("AUTOSPIKFORMER_SLICE_SIZE", 2),
            sweep_interval_s=number("AUTOSPIKFORMER_SWEEP_S", 10.0, float),
            max_deliveries=number("AUTOSPIKFORMER_MAX_DELIVERIES", 10),
            torch_threads=number("AUTOSPIKFORMER_TORCH_THREADS", 0),
            soft_shutdown_s=number("AUTOSPIKFORMER_SOFT_SHUTDOWN_S", 5.0, float),
            lease_ttl_s=number("AUTOSPIKFORMER_LEASE_TTL", number("AUTOSPIKFORMER_LOCK_TTL", 30)),
            record_batch=number("AUTOSPIKFORMER_RECORD_BATCH", 1000),
        )


def broker_url(settings: TaskSettings) -> str:
    """`REDIS_URL`, else the URL of the embedded server (started, owned by this process, if none
    is running)."""
    if settings.redis_url:
        return settings.redis_url
    from tasks import broker

    return broker.ensure().url


def celery_config(settings: TaskSettings, url: str) -> dict[str, Any]:
    """The Celery configuration for `settings`, each setting with the reason for it."""
    return {
        "broker_url": url,
        "result_backend": url,
        # Nothing waits on task results (progress and records live in the store), so results are
        # not kept; a caller that wants one can still ask per call. Kept ones expire after a day.
        "task_ignore_result": True,
        "result_expires": settings.result_expires_s,
        # Acknowledge after the task ran, not when it was received: a worker that dies mid-task
        # leaves the message unacknowledged, and Redis redelivers it (every task is idempotent).
        "task_acks_late": True,
        # A pool process killed under a task (OOM killer, kill -9) requeues the message instead of
        # acknowledging it as failed.
        "task_reject_on_worker_lost": True,
        # Reserve one message at a time per process: a long epoch must not hold back queued
        # evaluations that another (idle) worker could take.
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            # Redis redelivers a task not acknowledged within this time, so it must be longer than
            # the longest task, or a healthy long task runs twice.
            "visibility_timeout": settings.visibility_timeout_s,
            # Look for expired deliveries this often, at every scan (kombu's default scans only
            # every 10th time), so a dead worker's task comes back soon after its timeout.
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
        },
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        # Publishing retries for a while when Redis is briefly away (a restart) instead of failing.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 20,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
        },
        # Workers keep reconnecting while Redis restarts, and a running task carries on meanwhile.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Stopping a worker (SIGTERM is remapped to Celery's cold shutdown by `autospikformer
        # worker`) gives running tasks this long, then stops them and puts their messages back on
        # the queue at once, instead of leaving them to the visibility timeout.
        "worker_soft_shutdown_timeout": settings.soft_shutdown_s,
        # A pool process imports torch and the model code when it starts (tasks.jobs), so
        # its first task does not pay for it; that takes longer than Celery's default 4 s wait.
        "worker_proc_alive_timeout": 120.0,
        "task_queues": (Queue(GPU_QUEUE), Queue(CPU_QUEUE)),
        "task_default_queue": CPU_QUEUE,
        # Training and evaluation need the accelerator; bookkeeping and store writes do not.
        "task_routes": {
            "tasks.train_epoch": {"queue": GPU_QUEUE},
            "tasks.evaluate_slice": {"queue": GPU_QUEUE},
            "tasks.export_subnet": {"queue": GPU_QUEUE},
            "tasks.advance": {"queue": CPU_QUEUE},
            "tasks.record": {"queue": CPU_QUEUE},
        },
        # Plain JSON on the wire: no pickle, readable by any client.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
    }


_chosen: list[TaskSettings] = []  # set once: by configure(), or from the environment on first use
_choosing = threading.Lock()


def configure(chosen: TaskSettings) -> TaskSettings:
    """Use `chosen` as this process's task settings. Call it before the app is first used (a
    worker does, from its command line); `RuntimeError` once other settings are in use."""
    with _choosing:
        if _chosen and _chosen[0] != chosen:
            raise RuntimeError("task settings are already in use; configure() them first")
        if not _chosen:
            _chosen.append(chosen)
    return chosen


def settings() -> TaskSettings:
    """This process's task settings (from the environment unless `configure()` chose them)."""
    with _choosing:
        if not _chosen:
            _chosen.append(TaskSettings.from_env())
        return _chosen[0]


app = Celery("autospikformer", include=["tasks.jobs"])
# A promise: evaluated on first use of `app.conf`, so importing this module starts no server.
app.add_defaults(lambda: celery_config(settings(), broker_url(settings())))
