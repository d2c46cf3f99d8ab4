"""Nothing lost, nothing resurrected: an epoch's lost records come back from its checkpoint, a
holder that lost its lease writes nothing, delete waits for the run's steps, a deleted run's late
message recreates nothing, and a worker sweeps what killed writers left.

The gpu steps run in this process where that makes the moment exact (their collaborators are
real: the Redis server, the training, the DuckDB store; `send` is the boundary, a list); the rest
runs on real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
import redis

from storage.ops import AddEpochs, Op, UpdateRun
from storage.records import RunRecord
from tests.tasks.conftest import REPO, Service, wait_for


@pytest.fixture(autouse=True)
def _home(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
    yield
    service.stop_all()


def _record(service: Service, run: str) -> RunRecord:
    """A run as `launch` records it (2 epochs of the tiny space, batch 256, one generation)."""
    from tasks.pipeline import RunSpec, SearchSpec

    spec = RunSpec(run, "digits", str(service.space), epochs=2, seed=3, batch_size=256)
    config = spec.validate()
    search = SearchSpec(generations=1, population=4, parents=2)
    settings = {"train": asdict(config), "search": asdict(search), "launch": {"device": "cpu"}}
    return RunRecord(name=run, dataset="digits", space=config.space, settings=settings)


def _context(service: Service, sent: list[list[Op]]):
    from tasks.plumbing.coordination import Coordinator
    from tasks.plumbing.settings import TaskSettings
    from tasks.work import Context

    client = redis.Redis.from_url(service.redis.url)
    return Context(Coordinator(client, TaskSettings()), sent.append, lambda run: None, "test")


def _message(record: RunRecord) -> dict[str, Any]:
    from tasks.reconciler import run_message

    return run_message(record)


def _epochs(ops: list[list[Op]]) -> list[Any]:
    return [r for batch in ops for op in batch if isinstance(op, AddEpochs) for r in op.records]


def _take_lease_when_held(service: Service, lease_key: str) -> threading.Thread:
    """As soon as `lease_key` is held, let it lapse and hand it to another worker (a stalled
    holder's lease expired and the sweeper gave the step to someone else)."""
    client = redis.Redis.from_url(service.redis.url)

    def take() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not client.exists(lease_key):
            time.sleep(0.005)
        client.set(lease_key, "other-worker/0123", ex=30)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread


def test_a_trained_epoch_whose_records_were_lost_sends_them_again(service: Service) -> None:
    """The first try trains epoch 1 and saves its checkpoint, but its records never arrive
    (Redis went away as the epoch ended). The retry finds the epoch trained and sends its
    records again from the checkpoint's history: the store ends with the whole history."""
    from storage.duckdb_store import DuckDBStore
    from tasks import work

    record = _record(service, "lost1")
    first: list[list[Op]] = []
    done = work.train_epoch(_context(service, first), "lost1", 1, _message(record))
    assert done == {"run": "lost1", "epoch": 1}
    [trained] = _epochs(first)  # these never reach the recorder

    again: list[list[Op]] = []
    skipped = work.train_epoch(_context(service, again), "lost1", 1, _message(record))
    assert skipped == {"run": "lost1", "skipped": "trained", "resent_epochs": 1}
    [resent] = _epochs(again)
    measured = ("epoch", "loss", "seconds", "val_accuracy_largest", "val_accuracy_smallest")
    assert [getattr(resent, k) for k in measured] == [getattr(trained, k) for k in measured]
    updates = [op for batch in again for op in batch if isinstance(op, UpdateRun)]
    assert [(u.state, u.progress) for u in updates] == [("training", 1 / 3)]

    store = DuckDBStore(service.home / "lost-history.duckdb")
    store.create_run(RunRecord(**{**asdict(record), "state": "queued"}))
    for batch in again:
        store.apply(batch)
    assert [(e.epoch, e.loss) for e in store.epochs("lost1")] == [(1, trained.loss)]
    assert store.get_run("lost1").progress == pytest.approx(1 / 3)


def test_a_holder_that_lost_its_lease_writes_no_checkpoint(service: Service) -> None:
    from tasks import work

    record = _record(service, "lease1")
    taker = _take_lease_when_held(service, "autospikformer:lease1:lease:train:1")
    sent: list[list[Op]] = []
    result = work.train_epoch(_context(service, sent), "lease1", 1, _message(record))
    taker.join()
    assert result == {"run": "lease1", "stopped": "lost the lease of train:1"}
    assert not (service.home / "runs" / "lease1").exists()  # no checkpoint, no folder
    states = [op.state for batch in sent for op in batch if isinstance(op, UpdateRun)]
    assert "failed" not in states  # not the run's failure: the new holder carries on
    assert not _epochs(sent)  # the epoch it did not save is not recorded either
    client = redis.Redis.from_url(service.redis.url)
    assert client.get("autospikformer:lease1:lease:train:1") == b"other-worker/0123"  # kept


def test_a_holder_that_lost_its_lease_writes_no_result(service: Service) -> None:
    from engine.space import SearchSpace
    from tasks import work
    from tasks.plumbing.result_cache import ResultCache

    record = _record(service, "lease2")
    work.train_epoch(_context(service, []), "lease2", 1, _message(record))  # a supernet
    space = SearchSpace.from_dict(record.space)
    archs = [space.largest().to_dict()]
    search = "lease2.evolution.1"
    taker = _take_lease_when_held(service, f"autospikformer:lease2:lease:eval:{search}:0:0")
    result = work.evaluate_slice(
        _context(service, []), "lease2", search, 0, 0, archs, _message(record)
    )
    taker.join()
    assert result["stopped"] == f"lost the lease of eval:{search}:0:0"
    assert not ResultCache("lease2", search).folder.exists()


def _in_one_process(service: Service, script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=service.env,
        capture_output=True,
        text=True,
        timeout=240,
    )


# While the run's first epoch holds its lease: cancel, then `autospikformer delete` (the
# command's own code, in this process).
CANCEL_THEN_DELETE = """
import sys, time
import redis
from app.cli.main import main
from tasks import api
from tasks.plumbing.settings import settings

run = sys.argv[1]
client = redis.Redis.from_url(settings().redis_url)
while not client.exists(f"autospikformer:{run}:lease:train:1"):
    time.sleep(0.005)
api.cancel(run)
print("exit", main(["delete", "--run", run]), flush=True)
"""

# A late copy of a task message (Redis redelivers one after its visibility timeout).
PUBLISH = """
import json, sys
from tasks.plumbing.celery_app import app
app.send_task("tasks.train_epoch", args=json.loads(sys.argv[1]), task_id=sys.argv[2])
"""


def test_delete_waits_for_the_runs_steps_and_a_late_message_recreates_nothing(
    service: Service,
) -> None:
    service.worker("--queues", "cpu", log="recorder-delete")
    gpu = service.worker("--queues", "gpu", log="gpu-delete")
    service.launch("del1", "--batch-size", "16")  # (the last --batch-size wins) a longer epoch
    client = redis.Redis.from_url(service.redis.url)
    wait_for(lambda: client.exists("autospikformer:del1:lease:train:1"), 120, "epoch 1 to run")
    # The gpu worker paused while it holds the epoch (SIGSTOP to its process group), so the
    # delete lands while the epoch runs however loaded the machine is; it goes on afterwards.
    os.killpg(gpu.pid, signal.SIGSTOP)
    try:
        refused = _in_one_process(service, CANCEL_THEN_DELETE, "del1")
    finally:
        os.killpg(gpu.pid, signal.SIGCONT)
    assert refused.stdout.strip().splitlines()[-1] == "exit 2", refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("error: run 'del1' still has steps on the workers (train:1 running")
    assert service.run_state("del1") == "cancelled"  # refused: nothing deleted
    record = service.store().get_run("del1")

    wait_for(lambda: not client.keys("autospikformer:del1:lease:*"), 120, "the epoch to stop")
    wait_for(
        lambda: not [k for k in client.smembers("autospikformer:inflight") if b":del1:" in k],
        60,
        "the run's queued steps to stop",
    )
    deleted = service.cli_json("delete", "--run", "del1")
    assert deleted["deleted"] is True
    assert not (service.home / "runs" / "del1").exists()
    assert client.get("autospikformer:del1:state") == b"deleted"  # the tombstone

    late = [record.name, 2, _message(record)]
    published = _in_one_process(service, PUBLISH, json.dumps(late), "late-del1-train-2")
    assert published.returncode == 0, published.stderr
    log = service.home / "logs" / "gpu-delete.log"
    wait_for(
        lambda: "late-del1-train-2] succeeded" in log.read_text(), 120, "the late message to run"
    )
    assert not (service.home / "runs" / "del1").exists()
    service.kill(gpu)


def test_a_worker_sweeps_what_killed_writers_left(service: Service) -> None:
    from tests.engine.test_files import killed_writer

    target = service.home / "runs" / "swept" / "checkpoints" / "epoch-0001.safetensors"
    target.parent.mkdir(parents=True)
    tmp = killed_writer(target)
    worker = service.worker("--queues", "gpu", log="sweeper")
    log = service.home / "logs" / "sweeper.log"
    wait_for(lambda: not tmp.exists(), 60, "the worker to sweep the temporary file")
    assert "removed 1 stale temporary file(s)" in log.read_text()
    service.kill(worker)
    os.rmdir(target.parent)


def test_epoch_records_lost_with_the_op_log_come_back_by_the_end_of_the_run(
    service: Service,
) -> None:
    """On real workers: the recorder is down while epoch 1 ends, and Redis then loses the op
    log with its records (a restart without persistence would). The run still ends `done` with
    the whole epoch history: the final replay resends it from the checkpoint."""
    client = redis.Redis.from_url(service.redis.url)
    recorder = service.worker("--queues", "cpu", log="recorder-lost")
    service.worker("--queues", "gpu", log="gpu-lost")
    service.launch("lost2", "--generations", "1")
    # Received by the gpu worker, not only on the ledger: the ledger entry is written just before
    # the message is sent, and a recorder killed between the two leaves the step to the sweeper,
    # which runs on the recorder (it came back only after the wait below, which then timed out).
    wait_for(
        lambda: client.hexists("autospikformer:lost2:step:train:1", "received_by"),
        120,
        "epoch 1 received by the gpu worker",
    )
    # kill -9: down at once. (A SIGTERM lets it finish what it is doing, and on a loaded
    # machine epoch 1 can end meanwhile and its records be applied before the recorder exits.)
    service.kill(recorder, signal.SIGKILL)
    checkpoint = service.home / "runs" / "lost2" / "checkpoints" / "epoch-0001.safetensors"
    wait_for(checkpoint.exists, 180, "epoch 1 to be trained")

    def epoch_1_sent() -> bool:
        return any(b'"epoch": 1' in op for op in client.lrange("autospikformer:records", 0, -1))

    wait_for(epoch_1_sent, 60, "epoch 1's records on the op log")
    client.delete("autospikformer:records")  # lost
    service.worker("--queues", "cpu", log="recorder-lost-2")
    assert service.wait_state("lost2", ("done", "failed", "cancelled"), 300) == "done"
    assert [e.epoch for e in service.store().epochs("lost2")] == [1, 2]
