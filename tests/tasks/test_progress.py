"""What a worker records of its work in flight: the throttle (first and last point of a unit
always, else one every 2 s and 1/200 of the unit), training points from the engine's step events
(loss averaged since the previous point) and an evaluation slice's points."""

from __future__ import annotations

import pytest

from storage.memory_store import MemoryStore
from storage.ops import AddProgress
from storage.records import ProgressRecord, RunRecord
from tasks.plumbing.recording import OpWriter
from tasks.progress import SliceProgress, Throttle, TrainingProgress, as_ops


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def step(epoch: int, batch: int, batches: int, loss: float, seconds: float) -> dict:
    return {"event": "step", "epoch": epoch, "step": batch, "steps": batches * 3,
            "batch": batch, "batches": batches, "loss": loss, "seconds": seconds}  # fmt: skip


def test_throttle_sends_first_and_last_and_then_one_every_2_s() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    sent = []
    for done in range(1, 95):  # a batch every 0.25 s: 94 batches in 23.5 s
        clock.t += 0.25
        if throttle.due(done, 94):
            sent.append(done)
    assert sent[0] == 1 and sent[-1] == 94
    assert sent == [1, *range(9, 94, 8), 94]  # 8 batches = 2 s apart
    assert len(sent) <= 23.5 / 2 + 2


def test_throttle_caps_points_per_unit_on_a_long_epoch() -> None:
    """Slow batches (10 s each) would each be due by time: at most ~200 points per epoch."""
    clock = Clock()
    throttle = Throttle(clock=clock)
    sent = 0
    for done in range(1, 2001):
        clock.t += 10.0
        sent += throttle.due(done, 2000)
    assert sent == 2000 // 10 + 1  # every 10th batch, plus the first


def test_throttle_starts_again_after_reset() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    assert throttle.due(1, 10) and not throttle.due(2, 10)
    throttle.reset()
    assert throttle.due(1, 10)


def test_training_points_carry_the_mean_loss_since_the_previous_point() -> None:
    clock = Clock()
    points: list[ProgressRecord] = []
    progress = TrainingProgress("r1", "host:1", points.append, Throttle(clock=clock))
    losses = [2.0, 1.0, 3.0, 1.5, 0.5]
    for batch, loss in enumerate(losses, start=1):
        clock.t += 1.0  # 1 s per batch: points at batches 1, 3 and the last, 5
        progress(step(0, batch, 5, loss, seconds=batch * 1.0))
    progress({"event": "epoch", "epoch": 1, "loss": 1.6, "seconds": 5.0})  # ignored
    assert [(p.unit, p.done, p.total, p.seconds) for p in points] == [
        (1, 1, 5, 1.0),
        (1, 3, 5, 3.0),
        (1, 5, 5, 5.0),
    ]
    assert [p.loss for p in points] == pytest.approx([2.0, 2.0, 1.0])
    assert {(p.run, p.stage, p.worker) for p in points} == {("r1", "training", "host:1")}
    # The next epoch starts afresh: its first batch is sent at once.
    clock.t += 0.1
    progress(step(1, 1, 5, 0.7, seconds=0.1))
    assert (points[-1].unit, points[-1].done, points[-1].loss) == (2, 1, 0.7)


def test_slice_points_start_at_once_and_count_cached_archs() -> None:
    clock = Clock()
    points: list[ProgressRecord] = []
    sl = SliceProgress("r1", "r1.evolution.1", 2, 3, 4, "host:2", points.append,
                       throttle=Throttle(clock=clock), clock=clock)  # fmt: skip
    sl.start(done=1)  # one arch of the slice was evaluated by an earlier delivery
    for _ in range(3):
        clock.t += 3.0
        sl.evaluated()
    assert [(p.done, p.seconds) for p in points] == [(1, 0.0), (2, 3.0), (3, 6.0), (4, 9.0)]
    first = points[0]
    assert (first.stage, first.search, first.unit, first.part, first.total, first.loss) == (
        "search", "r1.evolution.1", 2, 3, 4, None
    )  # fmt: skip


def test_points_reach_the_store_through_the_recorders_ops() -> None:
    store = MemoryStore()
    record = store.create_run(RunRecord("r1", state="training"))
    sent: list[list] = []
    writer = OpWriter(record, sent.append)
    progress = TrainingProgress("r1", "w", lambda p: writer.add_progress([p]))
    progress(step(0, 1, 10, 2.0, seconds=0.5))
    slices = SliceProgress("r1", "s", 0, 0, 2, "w", as_ops(sent.append))
    slices.start()
    assert [type(op) for ops in sent for op in ops] == [AddProgress, AddProgress]
    for ops in sent:
        store.apply(ops)
    assert [(p.stage, p.done) for p in store.progress("r1")] == [("training", 1), ("search", 0)]


def test_a_diverged_step_is_recorded_without_a_loss() -> None:
    points: list[ProgressRecord] = []
    TrainingProgress("r1", "w", points.append)(step(0, 1, 5, float("nan"), seconds=0.1))
    assert points[0].loss is None and points[0].done == 1
