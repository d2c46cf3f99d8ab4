"""Coordination through Redis: kicks, the step ledger with leases, run state, request status.

Nothing here touches the store, so every host can use it (a gpu worker has only Redis and the
artefact folder). Keys are prefixed `autospikformer:<run>:`.

Steps and leases
----------------
A step is one unit of gpu work (`train:<epoch>`, `eval:<search>:<g>:<i>`, `export:<candidate>`,
`test:<candidate>`). Enqueueing writes its ledger entry (`step:<name>`, a hash with the task, its
arguments and task id; created with HSETNX, so a step is enqueued once) and adds it to the
`inflight` set. A worker running it holds its lease (`lease:<name>`, `lease_ttl_s`, renewed every
sixth of that by a thread) and marks the entry started; on success it deletes both.

Every worker keeps a heartbeat (`worker:<name>`, same TTL), and notes on the ledger which worker
received a step's message. The sweeper (`lost_steps` + `requeue`) finds the steps whose lease is
gone:

* started, no lease, and its message not back in the queue: its holder died (kill -9, a lost
  host): re-enqueued at once; a holder that released its lease (it was stopped: its worker puts
  the message back) gets a lease TTL for that first;
* received but not started by a worker whose heartbeat lapsed, and not back in the queue: it died
  holding the message (or, alive, it has not started it after 5 lease TTLs: its task ended
  without running the step); a worker that was stopped put the message back, and that is not lost;
* neither started, received, nor waiting in the queue for `lease_ttl_s`: its message was lost.

So a dead worker's step comes back within `lease_ttl_s + sweep_interval_s`, whatever Redis's
visibility timeout. When the old message is redelivered later (after the visibility timeout), it
is a duplicate: the step finds its work done, or the lease held, and returns.

A holder checks its lease before every write (`check`): a holder that stalled past its lease
(someone else may run the step now) or whose run was deleted stops with `LeaseLost` and writes
nothing. Deleting a run leaves a tombstone (`<run>:state` = `deleted`), so a late message of it
(a redelivered duplicate) stops before it creates any folder; `busy(run)` lists the run's steps
that hold a lease or are queued, and `delete` is refused while there are any.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from storage.errors import BadName, one_line
from storage.ops import TERMINAL
from tasks.plumbing.settings import TaskSettings

log = logging.getLogger(__name__)

KEY_PREFIX = "autospikformer"
# The second part of every key that belongs to no run (`autospikformer:task:<id>`, the recorder's
# `autospikformer:records`, ...). Run keys are `autospikformer:<run>:...`, and launch clears a
# new run's leftovers with `autospikformer:<run>:*`, so a run may never take one of these names:
# launching a run called `task` would wipe every run's task map. `check_run_name` refuses them.
RESERVED_RUN_NAMES = frozenset({"inflight", "records", "recorder", "task", "worker"})
INFLIGHT = f"{KEY_PREFIX}:inflight"  # ledger keys of every step enqueued and not finished
STATE_TTL_S = 7 * 24 * 3600
# A step received by a live worker but not started after this many lease TTLs is lost (more than
# a pool process's start-up allowance, `worker_proc_alive_timeout`).
RECEIVED_GRACE_LEASES = 5
REQUEST_TTL_S = 24 * 3600
DELETED = "deleted"  # the mirrored state of a deleted run: a tombstone for its late messages
DELIVERIES_TTL_S = 24 * 3600

Publish = Callable[[str, list, str], None]  # (task name, args, task id)

# Delete a key only if it still holds our token (a lapsed lease may belong to someone else now).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# Release a lease only if it is still ours, and note on the step's ledger entry (KEYS[2]) when:
# a holder that stopped (not one that died) released it, and its message is on its way back.
_RELEASE_STEP = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  if redis.call('exists', KEYS[2]) == 1 then redis.call('hset', KEYS[2], 'released_at', ARGV[2]) end
  return 1
end
return 0
"""
# Renew a lease only if it is still ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
# Write a whole ledger entry, unless the step is in flight already (KEYS: ledger, inflight set,
# task map; ARGV: ttl, then field/value pairs): enqueueing is all or nothing, even if the process
# dies right after.
_ENQUEUE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV, 2))
redis.call('expire', KEYS[1], ARGV[1])
redis.call('sadd', KEYS[2], KEYS[1])
redis.call('set', KEYS[3], KEYS[1], 'EX', ARGV[1])
return 1
"""
# Note which worker received a task's message, and when (KEYS: task map; ARGV: worker, time).
_RECEIVED = """
local ledger = redis.call('get', KEYS[1])
if ledger and redis.call('exists', ledger) == 1 then
  redis.call('hset', ledger, 'received_by', ARGV[1], 'received_at', ARGV[2])
end
return 1
"""
# Mark a ledger entry started, if it exists (a duplicate may run a step already finished).
_STARTED = """
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('hset', KEYS[1], 'started_at', ARGV[1], 'holder', ARGV[2])
  redis.call('hdel', KEYS[1], 'released_at')
end
return 1
"""


def key(run: str, *parts: object) -> str:
    return ":".join([KEY_PREFIX, run, *map(str, parts)])


def check_run_name(name: str) -> str:
    """`name`, or `BadName` (one line) when it is one of `RESERVED_RUN_NAMES` (case matters,
    as it does for the broker's keys)."""
    if name in RESERVED_RUN_NAMES:
        reserved = ", ".join(sorted(RESERVED_RUN_NAMES))
        raise BadName(f"run name {name!r} is reserved by the broker ({reserved}); pick another")
    return name


def _task_key(task_id: str) -> str:
    return f"{KEY_PREFIX}:task:{task_id}"


def _worker_key(worker: str) -> str:
    return f"{KEY_PREFIX}:worker:{worker}"


@dataclass(frozen=True)
class Step:
    """One unit of gpu work of a run: its name, and the task (with arguments) that does it."""

    run: str
    name: str
    task: str
    args: tuple = ()
    queue: str = "gpu"

    @property
    def ledger(self) -> str:
        return key(self.run, "step", self.name)

    @property
    def lease_key(self) -> str:
        return key(self.run, "lease", self.name)

    @property
    def deliveries(self) -> str:
        return key(self.run, "deliveries", self.name)


@dataclass(frozen=True)
class LostStep:
    """A step whose lease is gone: `kind` is `lease_expired` (it had started) or `retry`."""

    step: Step
    task_id: str
    kind: str
    holder: str = ""


@dataclass
class Lease:
    """A held step lease (see `Coordinator.lease`)."""

    step: Step
    token: str
    holder: str
    deliveries: int
    previous_holder: str = ""
    lost: threading.Event = field(default_factory=threading.Event)


class LeaseLost(Exception):
    """The holder must stop without writing: its lease lapsed (another worker may run the step
    now) or its run was deleted. Not a failure of the run."""


class TooManyDeliveries(RuntimeError):
    """A step started `max_deliveries` times without finishing: its worker keeps dying."""


class Coordinator:
    """The Redis side of a deployment, for one settings object.

    Args:
        client: a Redis connection (the broker's).
        settings: lease TTL, sweep interval, max deliveries, visibility timeout.
        publish: sends a task message `(name, args, task_id)`; needed to enqueue steps.
    """

    def __init__(
        self, client: redis.Redis, settings: TaskSettings, publish: Publish | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self._publish = publish
        self._scripts = {
            name: client.register_script(body)
            for name, body in (
                ("release", _RELEASE),
                ("release_step", _RELEASE_STEP),
                ("renew", _RENEW),
                ("started", _STARTED),
                ("enqueue", _ENQUEUE),
                ("received", _RECEIVED),
            )
        }

    # ---- kicks and once-flags --------------------------------------------------------------
    def kick(self, run: str, enqueue_advance: Callable[[], Any]) -> bool:
        """Call `enqueue_advance` unless an advance of `run` is pending. The pending flag lapses
        after `lease_ttl_s`, so an advance message lost with its worker does not block kicks."""
        if self.client.set(key(run, "advance-pending"), 1, nx=True, ex=self.settings.lease_ttl_s):
            try:
                enqueue_advance()
            except BaseException:
                self.client.delete(key(run, "advance-pending"))
                raise
            return True
        return False

    def advance_started(self, run: str) -> None:
        self.client.delete(key(run, "advance-pending"))

    def once(self, run: str, what: str) -> bool:
        """True the first time `what` is asked for `run` (within the visibility timeout)."""
        return bool(
            self.client.set(key(run, what), 1, nx=True, ex=self.settings.visibility_timeout_s)
        )

    # ---- run state, mirrored from the store ------------------------------------------------
    def mirror(self, states: Mapping[str, str]) -> None:
        """Publish runs' states (from the store) where gpu workers can read them."""
        if not states:
            return
        pipe = self.client.pipeline(transaction=False)
        for run, state in states.items():
            pipe.set(key(run, "state"), state, ex=STATE_TTL_S)
        pipe.execute()

    def run_state(self, run: str) -> str | None:
        """The run's mirrored state; None if unknown (the sweeper mirrors every run again)."""
        value = self.client.get(key(run, "state"))
        return value.decode() if value is not None else None

    def stopped(self, run: str) -> bool:
        """True when the run is known to be done, failed, cancelled or deleted."""
        state = self.run_state(run)
        return state in TERMINAL or state == DELETED

    def tombstone(self, run: str) -> None:
        """Mark the run deleted: its late messages stop before they write anything."""
        self.client.set(key(run, "state"), DELETED, ex=STATE_TTL_S)

    def busy(self, run: str) -> list[str]:
        """The run's steps that hold a lease (`NAME running`) or are enqueued and not finished
        (`NAME queued`), sorted."""
        prefix = key(run, "lease", "")
        running = {
            k.decode()[len(prefix) :] for k in self.client.scan_iter(match=f"{prefix}*", count=1000)
        }
        queued = set(self.in_flight(run)) - running
        return sorted([f"{n} running" for n in running] + [f"{n} queued" for n in queued])

    def check(self, lease: Lease) -> None:
        """Before a write: `LeaseLost` if `lease` is no longer ours or its run was deleted. With
        Redis unreachable, the renewing thread's verdict stands (nobody else can take the lease
        from a Redis that is away)."""
        if lease.lost.is_set():
            raise LeaseLost(f"lost the lease of {lease.step.name}")
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(lease.step.lease_key)
            pipe.get(key(lease.step.run, "state"))
            token, state = pipe.execute()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            log.warning("could not check the lease of %s: %s", lease.step.name, one_line(err))
            return
        if token is None or token.decode() != lease.token:
            lease.lost.set()
            raise LeaseLost(f"lost the lease of {lease.step.name}")
        if state is not None and state.decode() == DELETED:
            raise LeaseLost(f"run {lease.step.run} was deleted")

    # ---- steps -------------------------------------------------------------------------------
    def enqueue(self, step: Step) -> bool:
        """Enqueue `step` unless it is already in flight. True if a message was sent."""
        if self._publish is None:
            raise RuntimeError("this coordinator cannot publish tasks")
        task_id = str(uuid.uuid4())
        fields = {
            "task_id": task_id,
            "run": step.run,
            "name": step.name,
            "task": step.task,
            "args": json.dumps(list(step.args)),
            "queue": step.queue,
            "enqueued_at": repr(time.time()),
        }
        ttl = self.settings.visibility_timeout_s
        flat = [x for pair in fields.items() for x in pair]
        if not self._scripts["enqueue"](
            keys=[step.ledger, INFLIGHT, _task_key(task_id)], args=[ttl, *flat]
        ):
            return False
        try:
            self._publish(step.task, list(step.args), task_id)
        except BaseException:
            self.client.delete(step.ledger, _task_key(task_id))
            self.client.srem(INFLIGHT, step.ledger)
            raise
        return True

    def received(self, task_id: str, worker: str) -> None:
        """A worker received task `task_id`'s message (noted on its step's ledger entry)."""
        self._scripts["received"](keys=[_task_key(task_id)], args=[worker, repr(time.time())])

    def heartbeat(self, worker: str) -> None:
        """`worker` is alive for another `lease_ttl_s`."""
        self.client.set(_worker_key(worker), 1, ex=self.settings.lease_ttl_s)

    def gone(self, worker: str) -> None:
        """`worker` stops (its heartbeat ends now rather than after its TTL)."""
        self.client.delete(_worker_key(worker))

    def in_flight(self, run: str) -> list[str]:
        """Names of the run's steps enqueued and not finished."""
        prefix = key(run, "step", "")
        return sorted(
            k.decode()[len(prefix) :]
            for k in self.client.smembers(INFLIGHT)
            if k.decode().startswith(prefix)
        )

    @contextmanager
    def lease(self, step: Step, holder: str) -> Iterator[Lease | None]:
        """Hold `step`'s lease while the block runs; yields None if a live holder has it.

        Counts the start; raises `TooManyDeliveries` past `max_deliveries`. The lease is renewed
        by a thread; if it is lost anyway (a stall longer than its TTL), `Lease.lost` is set.
        On leaving the block the lease is released, so a step that did not `finish()` is seen
        as lost by the sweeper at once (and re-enqueued)."""
        ttl = self.settings.lease_ttl_s
        token = f"{holder}/{uuid.uuid4().hex[:12]}"
        if not self.client.set(step.lease_key, token, nx=True, ex=ttl):
            yield None
            return
        try:
            before = self.client.hmget(step.ledger, "started_at", "holder")
            self._scripts["started"](keys=[step.ledger], args=[repr(time.time()), holder])
            count = int(self.client.incr(step.deliveries))
            self.client.expire(step.deliveries, DELIVERIES_TTL_S)
        except BaseException:
            self._scripts["release"](keys=[step.lease_key], args=[token])
            raise
        previous = before[1].decode() if before[0] and before[1] else ""
        held = Lease(step, token, holder, count, previous_holder=previous)
        done = threading.Event()

        def renew() -> None:
            while not done.wait(ttl / 6):
                try:
                    if not self._scripts["renew"](keys=[step.lease_key], args=[token, ttl]):
                        held.lost.set()
                        log.warning("lost the lease of %s/%s", step.run, step.name)
                        return
                except redis.exceptions.RedisError as err:
                    log.warning("could not renew the lease of %s: %s", step.name, one_line(err))

        thread = threading.Thread(target=renew, name=f"lease {step.name}", daemon=True)
        thread.start()
        try:
            if count > self.settings.max_deliveries:
                raise TooManyDeliveries(
                    f"{step.name} was started {count - 1} times without finishing (a worker "
                    "keeps dying under it: out of memory?)"
                )
            yield held
        finally:
            done.set()
            thread.join()
            try:
                self._scripts["release_step"](
                    keys=[step.lease_key, step.ledger], args=[token, repr(time.time())]
                )
            except redis.exceptions.RedisError:
                pass  # Redis away: the lease lapses on its own

    def finish(self, step: Step) -> None:
        """The step's work is done (or failed for good): forget it."""
        pipe = self.client.pipeline()
        pipe.delete(step.ledger, step.deliveries)
        pipe.srem(INFLIGHT, step.ledger)
        pipe.execute()

    def lost_steps(self) -> list[LostStep]:
        """Steps in flight whose lease is gone (see the module docstring)."""
        lost: list[LostStep] = []
        pending: dict[str, bytes] = {}
        for ledger in sorted(self.client.smembers(INFLIGHT)):
            entry = {k.decode(): v.decode() for k, v in self.client.hgetall(ledger).items()}
            if "args" not in entry:  # finished (or expired) meanwhile
                self.client.srem(INFLIGHT, ledger)
                continue
            step = Step(
                entry["run"],
                entry["name"],
                entry["task"],
                tuple(json.loads(entry["args"])),
                entry.get("queue", "gpu"),
            )
            if self.client.exists(step.lease_key):
                continue
            task_id = entry.get("task_id", "")
            if step.queue not in pending:
                pending[step.queue] = self._queued(step.queue)
            # Back in the queue: a stopped worker put it back (its heartbeat may be gone, its
            # lease released): the next worker takes it, and it is not sent twice.
            waiting = task_id.encode() in pending[step.queue]
            receiver = entry.get("received_by", "")
            if entry.get("started_at"):
                if not waiting and not self._stopping(entry, receiver):
                    lost.append(LostStep(step, task_id, "lease_expired", entry.get("holder", "")))
                continue
            if receiver:
                held_s = time.time() - float(entry.get("received_at", "0") or 0)
                if not self.client.exists(_worker_key(receiver)):
                    if not waiting:
                        lost.append(LostStep(step, task_id, "retry", receiver))  # died holding it
                elif held_s > RECEIVED_GRACE_LEASES * self.settings.lease_ttl_s:
                    # Alive, but it never started it (its task ended early, e.g. on a lost Redis
                    # connection): a live worker starts what it received within its start-up time.
                    lost.append(LostStep(step, task_id, "retry", receiver))
                continue
            waited = time.time() - float(entry.get("enqueued_at", "0") or 0)
            if not waiting and waited > self.settings.lease_ttl_s:
                lost.append(LostStep(step, task_id, "retry"))  # the message was lost
        return lost

    def _stopping(self, entry: dict[str, str], receiver: str) -> bool:
        """The step's holder released its lease less than a lease TTL ago and its worker is
        alive: it was stopped (SIGTERM: soft shutdown) and puts the message back on the queue, or
        its task ended on a lost connection; after a lease TTL it is lost all the same."""
        released = float(entry.get("released_at", "0") or 0)
        recent = time.time() - released < self.settings.lease_ttl_s
        return bool(released and recent and receiver and self.client.exists(_worker_key(receiver)))

    def requeue(self, lost: LostStep) -> bool:
        """Enqueue a lost step again, unless someone else did or it finished meanwhile."""
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(lost.step.ledger, lost.step.lease_key)
                current = pipe.hget(lost.step.ledger, "task_id")
                if current is None or current.decode() != lost.task_id:
                    return False
                if pipe.exists(lost.step.lease_key):
                    return False
                pipe.multi()
                pipe.delete(lost.step.ledger)
                pipe.execute()
            except redis.exceptions.WatchError:
                return False
        return self.enqueue(lost.step)

    def _queued(self, queue: str) -> bytes:
        """Every message waiting in `queue` (kombu's Redis lists, all priorities), as one blob."""
        names = [queue, *(f"{queue}\x06\x16{p}" for p in range(1, 10))]
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.lrange(name, 0, -1)
        return b"\n".join(m for messages in pipe.execute() for m in messages)

    # ---- status of requests (exports, test evaluations) -----------------------------------
    def set_request(self, run: str, kind: str, candidate: str, **fields: Any) -> None:
        name = key(run, "request", kind, candidate)
        values = {k: str(v) for k, v in fields.items() if v is not None}
        values["updated_at"] = repr(time.time())
        pipe = self.client.pipeline()
        pipe.hset(name, mapping=values)
        pipe.expire(name, REQUEST_TTL_S)
        pipe.execute()

    def clear_request(self, run: str, kind: str, candidate: str) -> None:
        self.client.delete(key(run, "request", kind, candidate))

    def request(self, run: str, kind: str, candidate: str) -> dict[str, str]:
        raw = self.client.hgetall(key(run, "request", kind, candidate))
        return {k.decode(): v.decode() for k, v in raw.items()}
