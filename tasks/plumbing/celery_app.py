"""The Celery app: broker and result backend on `REDIS_URL` (or the embedded server), two queues.

Queues:
    gpu: `train_epoch` (one epoch from the last checkpoint) and `evaluate_slice` (a few archs of one
         generation). Run one worker per accelerator on it.
    cpu: `advance` (search bookkeeping) and `record` (the only writes to the store). Run exactly one
         worker on it, with concurrency 1: that worker is the store's single writer (the recorder).

Settings are a frozen `TaskSettings` (`tasks.plumbing.settings`). A process that wants particular
settings (the `worker` command, a test) passes them to `configure()` before the app is first used;
otherwise they are read from the environment on first use (`settings()`). Importing this module
reads nothing and starts nothing. The broker URL is resolved when Celery first needs its
configuration: `REDIS_URL`, else the embedded server running under the home folder. It never
starts one (only `up` and `worker` do, `tasks.plumbing.broker.ensure()`): with none running, the
first use raises `BrokerUnavailable` (one line: how to start one) and leaves the app unconfigured,
so a later use, once a broker runs, resolves it then.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from tasks.plumbing.settings import CPU_QUEUE, GPU_QUEUE, TaskSettings, settings


def broker_url(settings: TaskSettings) -> str:
    """`REDIS_URL`, else the URL of the running embedded server; never starts one
    (`BrokerUnavailable`, saying how to start one, if none runs)."""
    if settings.redis_url:
        return settings.redis_url
    from tasks.plumbing import broker

    found = broker.find()
    if found is None:
        raise broker.BrokerUnavailable(broker.NO_BROKER)
    return found.url


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


def _defaults() -> dict[str, Any]:
    """The app's configuration, on first use of `app.conf` (importing this module reads nothing).
    Without a broker it raises and leaves the app unconfigured, to be resolved again next time
    (Celery would otherwise keep a configuration without our settings)."""
    from tasks.plumbing.broker import BrokerUnavailable

    try:
        url = broker_url(settings())
    except BrokerUnavailable:
        app._conf = None
        app.configured = False
        app._pending_defaults.appendleft(_defaults)
        raise
    return celery_config(settings(), url)


app = Celery("autospikformer", include=["tasks.jobs"])
app.add_defaults(_defaults)
