"""The recorder: the store's single writer, fed by an op log in Redis, and the sweeper.

Op log
------
Every task sends its writes as an op list (`storage.ops`, JSON) onto one Redis list,
`autospikformer:records` (`send`). The recorder, a thread of the worker that consumes the `cpu`
queue, drains it: it reads the oldest op lists (up to `record_batch` candidate records), decodes
and checks them outside the store, applies them with `Store.apply` in ONE transaction (bulk
inserts; each op list is wholly in or out), and only then removes them from the list. A recorder
that dies between the two applies them again on restart, which changes nothing (every op is
idempotent). Readers (the app, the CLI) get in between transactions: a reader that finds the file
held leaves a mark next to it (`DuckDBStore.readers_waiting`), and the recorder then leaves the file
free until that reader got in (at most `READER_SHARE_MAX_S`).

Only the holder of the `autospikformer:recorder` lease drains; a second recorder started by mistake
waits as a standby and takes over when the first one dies. An op list that fails on its own is
retried a few times when it names a search or candidate not stored yet, and otherwise set aside on
`autospikformer:records:dead` (its runs marked failed with the reason).

Sweeper
-------
Every `sweep_interval_s` (and once at start) the recorder mirrors every run's state to Redis (where
gpu workers read it, so `cancel` reaches them without the store), re-enqueues steps whose lease
lapsed (`tasks.plumbing.coordination`), records those as run events, and kicks each active
launched run that has nothing in flight (its messages were lost, e.g. with a Redis restart
without persistence).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from storage.base import Store
from storage.errors import (
    StoreBusy,
    StoreError,
    UnknownCandidate,
    UnknownRun,
    UnknownSearch,
    one_line,
)
from storage.ops import AddCandidates, AddEvents, Op, UpdateRun, decode, encode, runs_of
from storage.records import EventRecord
from tasks.plumbing.coordination import KEY_PREFIX, Coordinator, LostStep

log = logging.getLogger(__name__)

RECORDS = f"{KEY_PREFIX}:records"
DEAD = f"{KEY_PREFIX}:records:dead"
RECORDER_LEASE = f"{KEY_PREFIX}:recorder"
READER_SHARE_MAX_S = 0.25
PEEK = 16  # op lists read at a time from the log, until a batch is full
IDLE_S = 0.02  # wait between looks at an empty log
LINK_RETRIES = 5  # tries of an op list naming a search or candidate not stored yet
DEAD_KEPT = 1000

# Remove the first N op lists only while we still hold the recorder lease.
_TRIM = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('ltrim', KEYS[2], ARGV[2], -1)
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def send(client: redis.Redis, ops: Sequence[Op]) -> None:
    """Append an op list to the recorder's log."""
    if ops:
        client.rpush(RECORDS, json.dumps(encode(ops)))


def send_wire(client: redis.Redis, wire: list[Any]) -> None:
    """Append an op list already in its JSON form (checked when the recorder decodes it)."""
    client.rpush(RECORDS, json.dumps(wire))


@dataclass
class _Entry:
    """One op list read from the log."""

    raw: bytes
    wire: Any  # the op list's JSON
    ops: list[Op] | None  # None: malformed
    attempts: int = 0
    error: str = ""

    @property
    def size(self) -> int:
        return sum(len(op.records) for op in self.ops or () if isinstance(op, AddCandidates))


def _read(raw: bytes) -> _Entry:
    body: Any = None
    try:
        body = json.loads(raw)
        attempts = 0
        if isinstance(body, dict):  # re-queued: {"ops": [...], "attempts": n}
            attempts, body = int(body.get("attempts", 0)), body.get("ops")
        return _Entry(raw, body, decode(body), attempts)
    except (ValueError, TypeError) as err:  # StoreError is a ValueError
        return _Entry(raw, body, None, error=one_line(err, 200))


class Recorder:
    """Drains the op log into `store` (see the module docstring).

    Args:
        store: the store (the head host's DuckDB file).
        coordinator: Redis coordination (run-state mirror).
        record_batch: most candidate records per transaction.
        name: this recorder's name (host:pid), for the lease and the log.
    """

    def __init__(
        self, store: Store, coordinator: Coordinator, *, record_batch: int, name: str
    ) -> None:
        self.store = store
        self.coordinator = coordinator
        self.client = coordinator.client
        self.record_batch = record_batch
        self.name = name
        self._trim = self.client.register_script(_TRIM)
        self._release = self.client.register_script(_RELEASE)
        self._token = f"{name}/{id(self)}"

    # ---- one round ---------------------------------------------------------------------------
    def drain_once(self) -> int:
        """Apply the oldest op lists (one transaction); how many op lists were taken off the log.
        Call only while holding the recorder lease (`run` does)."""
        group: list[_Entry] = []
        records = 0
        full = False
        seen: dict[bytes, _Entry] = {}  # an op list sent twice is decoded once
        while not full:
            raws = self.client.lrange(RECORDS, len(group), len(group) + PEEK - 1)
            for raw in raws:
                entry = seen.get(raw) or seen.setdefault(raw, _read(raw))
                if group and records + entry.size > self.record_batch:
                    full = True
                    break
                group.append(entry)
                records += entry.size
            full = full or len(raws) < PEEK
        if not group:
            return 0
        good = list({id(e): e for e in group if e.ops is not None}.values())
        # Readers get in between transactions: when one is waiting, the file stays free until
        # it got in (at most READER_SHARE_MAX_S).
        give_way = getattr(self.store, "give_way", None)
        if give_way is not None:
            give_way(READER_SHARE_MAX_S)
        try:
            applied = self.store.apply([op for e in good for op in e.ops or ()])
            states = applied.runs
        except StoreBusy:
            time.sleep(0.2)
            return 0
        except StoreError:
            states = self._one_by_one(good)
        for entry in group:
            if entry.ops is None:
                self._set_aside(entry, f"malformed op list: {entry.error}")
        if not self._trim(keys=[RECORDER_LEASE, RECORDS], args=[self._token, len(group)]):
            raise _LostLease
        self.coordinator.mirror(states)
        return len(group)

    def _one_by_one(self, entries: list[_Entry]) -> dict[str, str]:
        """A batch failed: apply each op list alone, so only the bad ones are set aside."""
        states: dict[str, str] = {}
        for entry in entries:
            while True:
                try:
                    states.update(self.store.apply(entry.ops or []).runs)
                    break
                except StoreBusy:
                    time.sleep(0.2)
                except (UnknownSearch, UnknownCandidate) as err:
                    if entry.attempts + 1 < LINK_RETRIES:
                        # Its search or candidate may come in a later op list: try again later.
                        again = {"ops": entry.wire, "attempts": entry.attempts + 1}
                        self.client.rpush(RECORDS, json.dumps(again))
                    else:
                        self._set_aside(entry, one_line(err, 200))
                    break
                except UnknownRun as err:
                    # The run was deleted: its late records have nowhere to go.
                    log.warning("dropped an op list of a deleted run: %s", one_line(err, 200))
                    break
                except StoreError as err:
                    self._set_aside(entry, one_line(err, 200))
                    break
        return states

    def _set_aside(self, entry: _Entry, reason: str) -> None:
        log.error("recording failed, op list set aside on %s: %s", DEAD, reason)
        pipe = self.client.pipeline()
        pipe.rpush(DEAD, entry.raw)
        pipe.ltrim(DEAD, -DEAD_KEPT, -1)
        pipe.execute()
        for run in runs_of(entry.ops or []):
            try:
                self.store.apply([UpdateRun(run, "failed", message=f"recording failed: {reason}")])
            except StoreError:
                pass

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Drain until `stop` is set, as the lease holder (or wait as a standby)."""
        while not stop.is_set():
            try:
                with self._lease() as held:
                    if not held:
                        stop.wait(1.0)
                        continue
                    while not stop.is_set() and not held.is_set():
                        if not self.drain_once():
                            stop.wait(IDLE_S)
            except _LostLease:
                log.warning("recorder %s lost its lease; standing by", self.name)
            except Exception as err:  # noqa: BLE001 - keep recording; the next round may work
                log.error("recorder: %s", one_line(err, 300))
                stop.wait(1.0)

    @contextmanager
    def _lease(self):
        """Hold the recorder lease; yields an Event set if it is lost, or None (a standby)."""
        ttl = self.coordinator.settings.lease_ttl_s
        if not self.client.set(RECORDER_LEASE, self._token, nx=True, ex=ttl):
            if self.client.get(RECORDER_LEASE) != self._token.encode():
                yield None
                return
        lost = threading.Event()
        done = threading.Event()

        def renew() -> None:
            while not done.wait(ttl / 6):
                try:
                    if self.client.get(RECORDER_LEASE) != self._token.encode():
                        lost.set()
                        return
                    self.client.expire(RECORDER_LEASE, ttl)
                except redis.exceptions.RedisError:
                    pass

        thread = threading.Thread(target=renew, name="recorder lease", daemon=True)
        thread.start()
        try:
            yield lost
        finally:
            done.set()
            thread.join()
            try:  # hand over at once (a stopped recorder); a killed one's lapses after its TTL
                self._release(keys=[RECORDER_LEASE], args=[self._token])
            except redis.exceptions.RedisError:
                pass


class _LostLease(Exception):
    """Another recorder holds the lease now: stop draining."""


# ---- the sweeper --------------------------------------------------------------------------------
def sweep(
    store: Store,
    coordinator: Coordinator,
    kick: Callable[[str], Any],
    *,
    worker: str,
) -> dict[str, int]:
    """One round of the sweeper (see the module docstring); counts of what it did."""
    runs = store.list_runs()
    coordinator.mirror({r.name: r.state for r in runs})
    active = {r.name for r in runs if r.active and "launch" in r.settings}
    known = {r.name for r in runs}
    events: list[EventRecord] = []
    requeued = dropped = kicked = 0
    for lost in coordinator.lost_steps():
        gpu_work = lost.step.name.startswith(("train:", "eval:"))
        if lost.step.run not in known or (gpu_work and lost.step.run not in active):
            coordinator.finish(lost.step)  # its run ended (or is gone): nothing to redo
            dropped += 1
            continue
        if coordinator.requeue(lost):
            requeued += 1
            events.append(_lost_event(lost))
    if events:
        send(coordinator.client, [AddEvents(tuple(events))])
    for run in sorted(active):
        if not coordinator.in_flight(run):
            kicked += kick(run)
    return {"requeued": requeued, "dropped": dropped, "kicked": kicked}


def _lost_event(lost: LostStep) -> EventRecord:
    what = lost.step.name
    if lost.kind == "lease_expired":
        message = f"the lease of {what} lapsed (its worker died); re-enqueued"
    elif lost.holder:
        message = f"{what} was received by a worker that died before starting it; re-enqueued"
    else:
        message = f"{what} was not started (its message was lost); re-enqueued"
    return EventRecord(
        run=lost.step.run,
        id=f"{what}:{lost.task_id}:{lost.kind}",
        kind=lost.kind,
        message=message,
        worker=lost.holder,
    )
