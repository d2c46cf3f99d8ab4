"""A launched run on real workers: it completes, survives killed workers, and can be cancelled."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
import redis

from tests.tasks.conftest import Service, wait_for

ENDED = ("done", "failed", "cancelled")


@pytest.fixture(autouse=True)
def _no_leftover_workers(service: Service) -> Iterator[None]:
    """A failed test leaves its workers running: stop them so the next test starts clean."""
    yield
    service.stop_all()


@pytest.fixture(scope="module")
def reference(service: Service) -> dict:
    """Run r1 from launch to its end with one `autospikformer worker` on both queues."""
    worker = service.worker(log="reference")
    service.launch("r1")
    state = service.wait_state("r1", ENDED, timeout=300)
    service.kill(worker, signal.SIGTERM)
    return {"state": state, "candidates": service.candidate_set("r1")}


def test_launch_with_one_worker_reaches_done(service: Service, reference: dict) -> None:
    assert reference["state"] == "done", service.store().get_run("r1").message
    status = service.cli_json("status", "--run", "r1")
    assert status["state"] == "done"
    assert status["progress"] == 1.0
    assert status["generation"] == 2
    listed = service.cli_json("candidates", "--run", "r1")["candidates"]
    assert {c["id"] for c in listed} == set(reference["candidates"])
    generations = service.store().generations("r1.evolution.1")
    assert [g.generation for g in generations] == [0, 1]
    assert generations[-1].evaluated == len(listed) > 4  # both generations evaluated something
    assert status["best"]["id"] == listed[0]["id"]
    _assert_fixed_reference(service, "r1", "r1.evolution.1")
    _assert_progress_points(service, "r1", "r1.evolution.1", status)


def _assert_progress_points(service: Service, run: str, search: str, status: dict) -> None:
    """The gpu worker's throttled progress points reached the store through the recorder: each
    epoch's first and last batch, and every slice's start and last arch; the run's elapsed time
    ends at its end."""
    store = service.store()
    for epoch in (1, 2):
        points = store.progress(run, "training", epoch)
        assert points[0].done == 1 and points[-1].done == points[-1].total
        assert all(p.loss is not None and p.worker for p in points)
    for generation in (0, 1):
        points = [p for p in store.progress(run, "search", generation) if p.search == search]
        assert points and {p.done for p in points} >= {0}
        assert any(p.done == p.total for p in points)
    record = store.get_run(run)
    assert status["finished_at"] == record.finished_at is not None
    assert status["elapsed_s"] == pytest.approx(record.finished_at - record.created_at)
    assert status["eta_s"] is None and status["doing"] is None


def _assert_fixed_reference(service: Service, run: str, search: str) -> None:
    """The search record stores the reference `advance` fixed (the space's energy bound), and
    the recorded hypervolume history, computed under it, never decreases."""
    from engine.space import SearchSpace
    from tasks.pipeline import search_reference

    store = service.store()
    space = SearchSpace.from_dict(store.get_run(run).space)
    ref = search_reference("digits", space)
    assert store.get_search(search).settings["reference_energy_uj"] == ref
    history = [g.hypervolume for g in store.generations(search)]
    assert history and history == sorted(history) and history[0] > 0
    assert max(c.energy_uj for c in store.candidates(run, search)) < ref


def test_launch_nsga2_reaches_done(service: Service) -> None:
    """`launch --strategy nsga2` (CONTRACT, second round) runs on the workers like evolution."""
    service.worker(log="nsga2")
    service.launch("r6", "--strategy", "nsga2")
    assert service.wait_state("r6", ENDED, timeout=300) == "done", (
        service.store().get_run("r6").message
    )
    record = service.store().get_search("r6.nsga2.1")
    assert record.strategy == "nsga2" and record.state == "done"
    assert [g.generation for g in service.store().generations("r6.nsga2.1")] == [0, 1]
    _assert_fixed_reference(service, "r6", "r6.nsga2.1")


def _leases(service: Service, run: str, step: str = "") -> dict[bytes, bytes]:
    """The run's step leases held now (of steps named `step`...): key -> holder token."""
    client = redis.Redis.from_url(service.redis.url)
    keys = client.keys(f"autospikformer:{run}:lease:{step}*")
    return {k: v for k in keys if (v := client.get(k)) is not None}


def _kill_all_and_restart(
    service: Service, run: str, step: str, procs: list, tag: str
) -> tuple[list, float, float]:
    """kill -9 every worker process (recorder and gpu worker, with their pools) while a `step`
    of `run` holds its lease, start new ones at once, and return them with the seconds from the
    kill until (1) a new worker holds a lease of the run (the run resumed) and (2) every step
    that was running at the kill runs again on a new worker or is done."""
    wait_for(lambda: _leases(service, run, step), 240, f"a {step} step of {run} to run", every=0.02)
    for proc in procs:
        service.kill(proc)  # SIGKILL to the process group: the worker and its pool processes
    killed = time.monotonic()
    held = _leases(service, run)  # every lease now is a dead worker's: the steps it ran
    assert held, "killed between two steps: nothing was running"
    old = set(held.values())
    client = redis.Redis.from_url(service.redis.url)
    ledgers = [k.replace(b":lease:", b":step:") for k in held]
    new = [
        service.worker("--queues", "cpu", log=f"recorder-{tag}"),
        service.worker("--queues", "gpu", log=f"gpu-{tag}"),
    ]
    wait_for(
        lambda: any(token not in old for token in _leases(service, run).values()),
        120,
        f"a new worker to resume {run}",
        every=0.1,
    )
    resumed = time.monotonic() - killed

    def back(lease: bytes, ledger: bytes) -> bool:
        token = client.get(lease)
        return (token is not None and token not in old) or not client.exists(ledger)

    wait_for(
        lambda: all(back(k, ledger) for k, ledger in zip(held, ledgers, strict=True)),
        120,
        f"the steps of {run} that were running to run again",
        every=0.1,
    )
    return new, resumed, time.monotonic() - killed


def test_kill_9_of_every_worker_resumes_within_60_s_at_default_settings(
    service: Service, reference: dict
) -> None:
    """kill -9 every worker process mid-training and again mid-search, with every timing
    setting (visibility timeout 2 h, lease, sweep interval) at its default: each time a new worker
    resumes the run within 60 s, and the run ends with the same candidates, once each."""
    procs = [
        service.worker("--queues", "cpu", log="recorder-k0"),
        service.worker("--queues", "gpu", log="gpu-k0"),
    ]
    service.launch("r2")
    procs, training_s, training_back_s = _kill_all_and_restart(service, "r2", "train:", procs, "k1")
    procs, search_s, search_back_s = _kill_all_and_restart(service, "r2", "eval:", procs, "k2")
    assert service.wait_state("r2", ENDED, timeout=300) == "done"
    print(
        f"\nkill -9 of every worker: the run resumed after {training_s:.1f} s (mid-training) and "
        f"{search_s:.1f} s (mid-search); the killed steps ran again after {training_back_s:.1f} s "
        f"and {search_back_s:.1f} s"
    )
    assert max(training_s, search_s, training_back_s, search_back_s) < 60
    assert service.candidate_set("r2") == reference["candidates"]
    assert service.duplicated_rows() == 0
    kinds = {e.kind for e in service.store().events("r2")}
    assert "lease_expired" in kinds  # the sweeper said why it re-enqueued the steps
    # The recorder's worker (the cpu queue: recording, stepping the search, resending lost
    # epochs after the kill) never imported torch; the gpu worker did.
    recorder, gpu = procs
    assert service.torch_loaders(recorder) == []
    assert service.torch_loaders(gpu) != []
    service.stop_all()


def test_cancel_stops_at_the_next_task(service: Service) -> None:
    service.worker("--queues", "cpu", log="recorder-cancel")
    service.worker("--queues", "gpu", log="gpu-cancel")
    # Thirty epochs (the last --epochs wins): the cancel lands in training however loaded the
    # machine is, and the run must stop at the next epoch instead of going on to its search.
    service.launch("r3", "--epochs", "30")
    wait_for(lambda: service.run_state("r3") == "training", 120, "training to start")
    checkpoints = service.home / "runs" / "r3" / "checkpoints"
    status = service.cli_json("cancel", "--run", "r3")
    assert status["state"] == "cancelled"
    # Epochs last seconds here, so the cancel may land in any epoch (the CLI takes a moment to
    # start): the epoch in flight finishes and keeps its checkpoint; nothing after it runs.
    done_at_cancel = len(list(checkpoints.glob("epoch-*.safetensors")))
    logs = service.home / "logs"

    def stopped() -> bool:  # the next task saw the cancelled run and did nothing
        return "'skipped': 'cancelled'" in (logs / "recorder-cancel.log").read_text() or (
            "'skipped': 'inactive'" in (logs / "gpu-cancel.log").read_text()
        )

    wait_for(stopped, 120, "the next task to stop")
    assert len(list(checkpoints.glob("epoch-*.safetensors"))) <= done_at_cancel + 1
    assert service.run_state("r3") == "cancelled"
    assert service.store().list_searches("r3") == []  # the search never started
    assert service.store().get_run("r3").message == "cancelled by request"
    service.stop_all()


def test_a_task_failure_fails_the_run_with_one_line(service: Service) -> None:
    service.launch("r4")
    blocker = service.home / "runs" / "r4" / "checkpoints"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the checkpoint folder should be")
    service.worker(log="failing")
    assert service.wait_state("r4", ENDED, timeout=180) == "failed"
    message = service.store().get_run("r4").message
    assert message.startswith("training epoch 1 failed:")
    assert "\n" not in message
    status = service.cli_json("status", "--run", "r4")
    assert status["state"] == "failed" and status["message"] == message
    errors = [e for e in service.store().events("r4") if e.kind == "error"]
    assert [e.message for e in errors] == [message] and errors[0].worker  # in the run's log
    service.stop_all()


def test_a_stopped_worker_puts_its_task_back_at_once(service: Service) -> None:
    """SIGTERM (docker stop, `up`'s Ctrl-C): the running epoch goes back on the queue now, not
    after the visibility timeout."""
    service.worker("--queues", "cpu", log="recorder-stop")
    gpu = service.worker("--queues", "gpu", log="gpu-stop")
    service.launch("r7")
    wait_for(lambda: service.run_state("r7") == "training", 120, "training to start")
    started = time.monotonic()
    service.kill(gpu, signal.SIGTERM)
    assert time.monotonic() - started < 15
    queued = redis.Redis.from_url(service.redis.url).lrange("gpu", 0, -1)
    assert len(queued) == 1 and b"tasks.train_epoch" in queued[0]
    service.cli_json("cancel", "--run", "r7")
    service.stop_all()
