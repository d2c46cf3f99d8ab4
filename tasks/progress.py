"""What a worker records of its work in flight (`ProgressRecord`s), and how often.

The run's ETA, its per-step training loss and the "what the worker is doing now" line read the
points a worker records as it goes: training batches and evaluated archs. A store row (and a
recorder transaction) per batch would be far too many, so a `Throttle` lets a point through:

* always for the first and the last of a unit (an epoch's first and last batch; a slice's start
  and its last arch), so the ETA starts from the first batch and an epoch's end is always seen;
* otherwise only when at least `EVERY_S` seconds have passed since the last point sent and at
  least 1/`PER_UNIT` of the unit has been done since.

So one worker sends at most one point every 2 s, and at most about 200 per epoch however long it
is. A training point's loss is the mean loss of the batches since the epoch's previous point, so the
curve drawn from the points is the per-step loss, smoothed over at most 2 s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from storage.ops import AddProgress, Op
from storage.records import ProgressRecord

EVERY_S = 2.0
PER_UNIT = 200

SendPoint = Callable[[ProgressRecord], Any]


def as_ops(send: Callable[[list[Op]], Any]) -> SendPoint:
    """A `SendPoint` that sends each point as an op list of its own (a gpu worker's way)."""
    return lambda point: send([AddProgress((point,))])


class Throttle:
    """Whether a point is due (see the module docstring). `reset()` at the start of each unit."""

    def __init__(
        self,
        every_s: float = EVERY_S,
        per_unit: int = PER_UNIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every_s = every_s
        self.per_unit = per_unit
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._last_t: float | None = None
        self._last_done = 0

    def due(self, done: int, total: int) -> bool:
        """True (and counted as sent) when the point `done` of `total` should be sent."""
        now = self.clock()
        first, last = self._last_t is None, done >= total
        enough = done - self._last_done >= max(1, total // self.per_unit)
        if not (first or last or (now - self._last_t >= self.every_s and enough)):
            return False
        self._last_t, self._last_done = now, done
        return True


class TrainingProgress:
    """Turns the engine's "step" events (`engine.train.train(progress=...)`) into throttled
    training points sent through `send`; other events are ignored.

    Args:
        run: the run trained.
        worker: this process's name, on every point.
        send: delivers one point (to the store, or to the recorder as an op).
        throttle: how often a point is due (a fresh `Throttle` by default).
    """

    def __init__(
        self, run: str, worker: str, send: SendPoint, throttle: Throttle | None = None
    ) -> None:
        self.run, self.worker, self.send = run, worker, send
        self.throttle = throttle or Throttle()
        self._epoch: int | None = None
        self._loss, self._batches = 0.0, 0

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") != "step" or "batch" not in event:
            return
        epoch = int(event["epoch"]) + 1  # the engine counts epochs from 0, the store from 1
        if epoch != self._epoch:
            self._epoch, self._loss, self._batches = epoch, 0.0, 0
            self.throttle.reset()
        self._loss += float(event["loss"])
        self._batches += 1
        done, total = int(event["batch"]), int(event["batches"])
        if not self.throttle.due(done, total):
            return
        loss, self._loss, self._batches = self._loss / self._batches, 0.0, 0
        if not math.isfinite(loss):  # a diverged step is the epoch record's business, not ours
            loss = None
        self.send(
            ProgressRecord(
                run=self.run,
                stage="training",
                unit=epoch,
                done=min(done, total),
                total=total,
                seconds=max(0.0, float(event["seconds"])),
                loss=loss,
                worker=self.worker,
            )
        )


class SliceProgress:
    """Points of one evaluation slice: `start(done)` when its evaluation begins (`done` archs of
    it already have a cached result), `evaluated()` after each arch. Throttled as training is.

    Args:
        run, search: the run and search evaluated.
        generation: the generation (counted from 0), `part` the slice's index in it.
        total: archs in the slice.
        worker: this process's name; `send` delivers one point.
    """

    def __init__(
        self,
        run: str,
        search: str,
        generation: int,
        part: int,
        total: int,
        worker: str,
        send: SendPoint,
        *,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run, self.search, self.generation, self.part = run, search, generation, part
        self.total, self.worker, self.send = total, worker, send
        self.throttle = throttle or Throttle()
        self.clock = clock
        self._started = clock()
        self.done = 0

    def start(self, done: int = 0) -> None:
        self._started, self.done = self.clock(), min(done, self.total)
        self.throttle.reset()
        self.throttle.due(self.done, self.total + 1)  # the start is always sent
        self._send()

    def evaluated(self) -> None:
        self.done = min(self.done + 1, self.total)
        if self.throttle.due(self.done, self.total):
            self._send()

    def _send(self) -> None:
        self.send(
            ProgressRecord(
                run=self.run,
                stage="search",
                unit=self.generation,
                done=self.done,
                total=self.total,
                seconds=max(0.0, self.clock() - self._started),
                search=self.search,
                part=self.part,
                worker=self.worker,
            )
        )
