"""The task layer's deployment settings (`TaskSettings`) and this process's choice of them.

Bottom of tasks/: imports nothing of Celery, so the broker, coordination and the CLI can read the
settings without building the Celery app. `configure()` picks them once (the `worker` command, a
test); otherwise `settings()` reads the environment on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
        torch_threads: intra-op threads per worker process [AUTOSPIKFORMER_TORCH_THREADS,
            `worker --threads`]; 0: each task divides the host's cores by the processes busy on
            them when it starts (`engine.threads`), so workers and other jobs do not
            oversubscribe the cores.
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
