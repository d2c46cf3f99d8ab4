"""The step ledger and leases on a real Redis, at the default settings (a lapse is simulated by
deleting the key that would have expired, so nothing waits for a TTL)."""

from __future__ import annotations

import json
import time

import pytest
import redis

from tasks.plumbing.coordination import INFLIGHT, Coordinator, Step, TooManyDeliveries
from tasks.plumbing.settings import TaskSettings
from tests.tasks.conftest import RedisServer


@pytest.fixture
def coord(redis_server: RedisServer):
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    sent: list[tuple[str, list, str]] = []
    coordinator = Coordinator(client, TaskSettings(), publish=lambda *m: sent.append(m))
    coordinator.sent = sent  # type: ignore[attr-defined]
    return coordinator


STEP = Step("r", "eval:r.evolution.1:0:1", "tasks.evaluate_slice", ("r", "r.evolution.1", 0, 1))


def test_a_step_is_enqueued_once_while_in_flight(coord: Coordinator) -> None:
    assert coord.enqueue(STEP)
    assert not coord.enqueue(STEP)
    assert len(coord.sent) == 1 and coord.sent[0][:2] == ("tasks.evaluate_slice", list(STEP.args))
    assert coord.in_flight("r") == [STEP.name]
    with coord.lease(STEP, "w1") as lease:
        assert lease is not None and lease.deliveries == 1
        coord.finish(STEP)
    assert coord.in_flight("r") == [] and coord.enqueue(STEP)  # done: may be enqueued anew


def test_a_lease_is_exclusive_and_released(coord: Coordinator) -> None:
    coord.enqueue(STEP)
    with coord.lease(STEP, "w1") as first:
        assert first is not None
        with coord.lease(STEP, "w2") as second:
            assert second is None  # a duplicate while the holder lives: it returns
        ttl = coord.client.ttl(STEP.lease_key)
        assert 0 < ttl <= TaskSettings().lease_ttl_s
    assert not coord.client.exists(STEP.lease_key)


def test_a_dead_holders_step_is_found_and_enqueued_again(coord: Coordinator) -> None:
    coord.enqueue(STEP)
    coord.heartbeat("w1")
    coord.received(coord.sent[0][2], "w1")
    with coord.lease(STEP, "w1:pool"):
        assert coord.lost_steps() == []  # running: its lease is held
        # The holder died (kill -9): no finish, no release; its lease lapsed, as did its
        # worker's heartbeat.
        coord.client.delete(STEP.lease_key)
        coord.gone("w1")
        (lost,) = coord.lost_steps()
    assert (lost.kind, lost.holder, lost.step) == ("lease_expired", "w1:pool", STEP)
    assert coord.requeue(lost)
    assert not coord.requeue(lost)  # a second sweeper (or a race) does not send it twice
    assert len(coord.sent) == 2 and coord.sent[1][2] != coord.sent[0][2]
    with coord.lease(STEP, "w2") as lease:
        assert lease.deliveries == 2  # counted across re-enqueues


def test_a_message_received_by_a_dead_worker_or_lost_comes_back(coord: Coordinator) -> None:
    coord.enqueue(STEP)
    coord.heartbeat("w1")
    coord.received(coord.sent[0][2], "w1")
    assert coord.lost_steps() == []  # w1 is alive: it will start it
    coord.gone("w1")  # w1 died holding the message (its heartbeat lapsed)
    (lost,) = coord.lost_steps()
    assert (lost.kind, lost.holder) == ("retry", "w1")
    assert coord.requeue(lost)
    # Neither received nor waiting in the queue: lost only once older than the lease TTL.
    assert coord.lost_steps() == []
    entry = coord.client.hgetall(STEP.ledger)
    coord.client.hset(STEP.ledger, "enqueued_at", repr(time.time() - 31))
    (lost,) = coord.lost_steps()
    assert lost.kind == "retry" and lost.task_id == entry[b"task_id"].decode()
    # A message still waiting in the queue is not lost, however old.
    coord.client.rpush("gpu", json.dumps({"headers": {"id": lost.task_id}}))
    assert coord.lost_steps() == []


def test_a_message_a_stopped_worker_put_back_is_not_lost(coord: Coordinator) -> None:
    """A stopped worker (SIGTERM) puts what it received back on the queue; its heartbeat may be
    gone before another worker takes the message, and the step is not sent a second time."""
    coord.enqueue(STEP)
    coord.heartbeat("w1")
    task_id = coord.sent[0][2]
    coord.received(task_id, "w1")
    with coord.lease(STEP, "w1:pool"):  # it had started it: the lease is released on stopping
        pass
    assert coord.lost_steps() == []  # its worker is stopping: the message is on its way back
    coord.client.rpush("gpu", json.dumps({"headers": {"id": task_id}}))  # put back
    coord.gone("w1")
    assert coord.lost_steps() == []  # waiting in the queue: not lost
    coord.client.delete("gpu")
    assert coord.lost_steps()  # neither waiting nor a live worker's: lost after all


def test_a_released_lease_of_a_live_worker_is_lost_after_a_lease_ttl(coord: Coordinator) -> None:
    """A task that ended on a lost connection released its lease, and its message is gone (acked):
    the step comes back after a lease TTL."""
    coord.enqueue(STEP)
    coord.heartbeat("w1")
    coord.received(coord.sent[0][2], "w1")
    with coord.lease(STEP, "w1:pool"):
        pass
    assert coord.lost_steps() == []
    coord.client.hset(STEP.ledger, "released_at", repr(time.time() - 31))
    (lost,) = coord.lost_steps()
    assert lost.kind == "lease_expired"


def test_a_step_that_keeps_killing_its_worker_fails(coord: Coordinator) -> None:
    coord.enqueue(STEP)
    for _ in range(TaskSettings().max_deliveries):
        with coord.lease(STEP, "w"):
            pass
    with pytest.raises(TooManyDeliveries, match="started 10 times"):
        with coord.lease(STEP, "w"):
            pass
    assert coord.client.sismember(INFLIGHT, STEP.ledger)


def test_restarts_and_failures_of_a_step_are_logged(coord: Coordinator) -> None:
    """What the run's log gets from a step: `worker_lost` when the worker that started it died,
    `error` (and the failure policy) when it raises; either way the step is then forgotten."""
    from storage.ops import AddEvents
    from tasks import work

    sent: list[list] = []
    ctx = work.Context(coord, sent.append, kick=lambda run: None, worker="w2", task_id="t2")
    coord.enqueue(STEP)
    with coord.lease(STEP, "w1"):
        pass  # w1 started it and died: no finish (its lease lapsed, released here)
    with work._running(ctx, STEP, "evaluating slice 1", lambda message: []) as lease:
        assert lease is not None and lease.deliveries == 2
    ((event,),) = [op.records for ops in sent for op in ops if isinstance(op, AddEvents)]
    assert (event.kind, event.worker) == ("worker_lost", "w2") and "w1" in event.message
    assert coord.in_flight("r") == []

    sent.clear()
    failed: list[str] = []
    coord.enqueue(STEP)
    with pytest.raises(ValueError, match="bad data"):
        with work._running(ctx, STEP, "evaluating slice 1", lambda m: failed.append(m) or []):
            raise ValueError("bad data")
    assert failed == ["evaluating slice 1 failed: bad data"]
    ((event,),) = [op.records for ops in sent for op in ops if isinstance(op, AddEvents)]
    assert (event.kind, event.id) == ("error", f"{STEP.name}:t2:error")
    assert coord.in_flight("r") == []  # failed for good: the sweeper will not re-enqueue it


def test_a_message_a_live_worker_received_but_never_started_comes_back(coord: Coordinator) -> None:
    coord.enqueue(STEP)
    coord.heartbeat("w1")
    coord.received(coord.sent[0][2], "w1")
    assert coord.lost_steps() == []  # just received: it will start it
    coord.client.hset(STEP.ledger, "received_at", repr(time.time() - 5 * 30 - 1))
    (lost,) = coord.lost_steps()
    assert (lost.kind, lost.holder) == ("retry", "w1")
