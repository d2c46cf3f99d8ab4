"""How long a run has taken and has left, and what its workers are doing now, from what it has
recorded: its epochs, its search's generations and the progress points of its work in flight
(`tasks.progress`). Read-only over the store and light to import (no torch).

Elapsed time runs from the run's creation to its end (`RunRecord.finished_at`, set once when the
run is done, failed or cancelled, so archiving never moves it), or to now while it is active.

The ETA (`estimate`) is the time left for the epochs still to train plus the candidates still to
evaluate, each at a rate measured as "time so far / work done so far", taken from the first source
that has it:

* training: the epoch in flight's batches once one is timed, so from the first batch of epoch 1
  (its seconds per batch; from the second point on, between its first and latest point, so the
  first batch's warm-up does not count for every batch); the wall time per epoch of the recorded
  epochs (which adds validation, checkpoints and the queue between epochs, `overhead`); earlier
  runs on the same dataset and space;
* search: this search's progress points (wall time from its first evaluation's start to its
  latest evaluated arch / archs evaluated, so parallel workers count), so from generation 0's
  first evaluated arch; its recorded generations (runs without points); earlier runs; a guess
  from training: each epoch validates 2 subnets (largest and smallest), so a candidate is taken
  as half an epoch's overhead.

A remaining generation is expected to bring as many new candidates as the recorded generations
after the first brought on average (duplicates are not evaluated again), the population before,
and never more than the space's archs not evaluated yet.
The unit in flight (an epoch, a candidate) counts as partly done by the time since its latest
point, but never more than 95% done, so the ETA never reaches 0 while work remains; nor is it
ever below 1 s then. Before anything is timed the ETA is None ("estimating..."). When the search
has no rate yet, the ETA covers training only and says so (`complete=False`: a lower bound).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.space import SearchSpace
from storage.base import Store
from storage.records import ACTIVE_RUN_STATES, ProgressRecord, RunRecord
from tasks import history

FLOOR = 0.05  # the part of the unit in flight always counted as left
MIN_S = 1.0  # the least ETA while work remains
NOW_FRESH_S = 60.0  # points older than this are not "what the worker is doing now"


def elapsed_s(record: RunRecord, now: float | None = None) -> float:
    """Seconds from the run's creation to its end, or to now while it is active. An ended run
    stored without an end (created ended, e.g. an import) ends at its last update."""
    if record.state in ACTIVE_RUN_STATES:
        end = time.time() if now is None else now
    else:
        end = record.finished_at if record.finished_at is not None else record.updated_at
    return max(0.0, (end or record.created_at) - record.created_at)


@dataclass(frozen=True)
class Estimate:
    """An ETA: `seconds` left (None: nothing timed yet, or only recording is left), how it was
    made (`basis`, for people), and whether it covers all the work left (`complete`; False: the
    search has no rate yet and `seconds` counts training only, a lower bound)."""

    seconds: float | None
    basis: str
    complete: bool = True


@dataclass(frozen=True)
class _Part:
    left_s: float | None
    basis: str


def _shrink(left: float, since: float, unit: float) -> float:
    """`left` less the time spent on the unit in flight (`unit` long), at most 95% of it."""
    return left - min(max(0.0, since), (1.0 - FLOOR) * min(unit, left))


def _training(store: Store, record: RunRecord, planned: int, now: float) -> tuple[_Part, float]:
    """(time left to train, the measured per-epoch overhead or 0)."""
    epochs = store.epochs(record.name)
    done = len(epochs)
    left_epochs = max(0, planned - done)
    first = store.progress(record.name, "training", 1)
    overhead, epoch_s = 0.0, None
    if epochs:
        start = first[0].created_at - first[0].seconds if first else None
        if start is None or start > epochs[0].created_at:
            start = epochs[0].created_at - epochs[0].seconds
        mean_train = sum(e.seconds for e in epochs) / done
        epoch_s = max(mean_train, (epochs[-1].created_at - start) / done)
        overhead = epoch_s - mean_train
    if not left_epochs:
        return _Part(0.0, ""), overhead
    points = first if done == 0 else store.progress(record.name, "training", done + 1)
    timed = [p for p in points if p.done >= 1 and p.seconds > 0]
    if timed:
        first_point = min(timed, key=lambda p: (p.done, p.created_at))
        latest = max(timed, key=lambda p: (p.done, p.created_at))
        batch_s = latest.seconds / latest.done
        if latest.done > first_point.done and latest.seconds > first_point.seconds:
            # From the epoch's first timed batch on: its warm-up is not every batch's cost.
            batch_s = (latest.seconds - first_point.seconds) / (latest.done - first_point.done)
        per_epoch = epoch_s if epoch_s is not None else latest.total * batch_s
        current = (latest.total - latest.done) * batch_s + overhead
        since = now - latest.created_at
        basis = f"batch progress of epoch {done + 1}"
    elif epoch_s is not None:
        per_epoch = current = epoch_s
        since = now - epochs[-1].created_at
        basis = "its measured epochs"
    else:
        earlier = history.measured_rates(store, record.dataset, record.space, exclude=record.name)
        if earlier.epoch_s is None:
            return _Part(None, "no batch timed yet"), overhead
        per_epoch = current = earlier.epoch_s
        since = now - record.created_at
        basis = "earlier runs' epochs"
    left = _shrink(current, since, per_epoch) + (left_epochs - 1) * per_epoch
    return _Part(max(0.0, left), f"training from {basis}"), overhead


def _slices(points: Sequence[ProgressRecord]) -> tuple[int, float | None, float | None]:
    """(archs evaluated per the points, when the first evaluation began, the latest point with
    an arch evaluated): each slice counts its points' done beyond its first point's."""
    first: dict[tuple[int, int], int] = {}
    most: dict[tuple[int, int], int] = {}
    for p in points:
        key = (p.unit, p.part)
        first[key] = min(first.get(key, p.done), p.done)
        most[key] = max(most.get(key, p.done), p.done)
    measured = sum(most[k] - first[k] for k in most)
    evaluated = [p.created_at for p in points if p.done > first[(p.unit, p.part)]]
    start = min((p.created_at - p.seconds for p in points), default=None)
    return measured, start, max(evaluated, default=None)


def _space_size(record: RunRecord) -> float:
    """Distinct archs in the run's space (infinity if its space is not one)."""
    try:
        return float(SearchSpace.from_dict(record.space).size)
    except ValueError:
        return float("inf")


def _search(store: Store, record: RunRecord, overhead: float, now: float) -> _Part:
    """Time left to evaluate the candidates the search has still to evaluate."""
    settings = history.search_settings(store, record)
    generations = int(settings.get("generations") or 0)
    population = int(settings.get("population") or 0)
    searches = store.list_searches(record.name)
    search = searches[-1] if searches else None
    recorded = store.generations(search.id) if search else []
    points = (
        [p for p in store.progress(record.name, "search") if p.search == search.id]
        if search
        else []
    )
    # Candidates still to evaluate: the generations not recorded, less what the one in flight did.
    news = [b.evaluated - a.evaluated for a, b in zip(recorded, recorded[1:], strict=False)]
    per_generation = sum(news) / len(news) if news else population
    in_flight = 0
    if recorded:
        nxt = recorded[-1].generation + 1
        tops: dict[int, int] = {}
        for p in points:
            if p.unit >= nxt:
                tops[p.part] = max(tops.get(p.part, 0), p.done)
        in_flight = sum(tops.values())
    else:
        in_flight = sum(
            max(p.done for p in points if p.part == part) for part in {p.part for p in points}
        )
    left = max(0.0, (generations - len(recorded)) * per_generation - in_flight)
    # A small space runs out of new archs: at most the ones never evaluated are left.
    evaluated = (recorded[-1].evaluated if recorded else 0) + in_flight
    left = min(left, max(0.0, _space_size(record) - evaluated))
    if left <= 0:
        return _Part(0.0, "")
    measured, start, latest = _slices(points)
    rate, since = None, 0.0
    if measured and start is not None and latest is not None and latest > start:
        rate, since = (latest - start) / measured, now - max(p.created_at for p in points)
        basis = "search from its evaluated candidates"
    elif recorded and recorded[-1].evaluated > 0 and search is not None:
        rate = max(0.0, recorded[-1].created_at - search.created_at) / recorded[-1].evaluated
        since = now - recorded[-1].created_at if record.state == "searching" else 0.0
        basis = "search from its generations"
    if not rate:
        earlier = history.measured_rates(store, record.dataset, record.space, exclude=record.name)
        rate, since = earlier.candidate_s, 0.0
        basis = "search from earlier runs' candidates"
    if not rate and overhead > 0:
        rate = overhead / 2
        basis = "search guessed from the validation of 2 subnets per epoch"
    if not rate:
        return _Part(None, "the search is not timed yet")
    return _Part(_shrink(left * rate, since, rate), basis)


def estimate(store: Store, record: RunRecord, now: float | None = None) -> Estimate:
    """The ETA of `record` (see the module docstring); None seconds for an ended run."""
    if record.state not in ACTIVE_RUN_STATES:
        return Estimate(None, f"the run is {record.state}")
    now = time.time() if now is None else now
    planned_epochs = int(record.settings.get("train", {}).get("epochs") or 0)
    if not planned_epochs and not history.search_settings(store, record):
        return Estimate(None, "nothing planned that is known")
    training, overhead = _training(store, record, planned_epochs, now)
    search = _search(store, record, overhead, now)
    if training.left_s is None:
        return Estimate(None, f"estimating: {training.basis}")
    if training.left_s <= 0 and search.left_s is not None and search.left_s <= 0:
        return Estimate(None, "finishing: recording the results")
    basis = "; ".join(b for b in (training.basis, search.basis) if b)
    total = training.left_s + (search.left_s or 0.0)
    return Estimate(max(MIN_S, total), basis, complete=search.left_s is not None)


def eta_s(store: Store, record: RunRecord, now: float | None = None) -> float | None:
    """Seconds until an active run is done (a lower bound while the search is not timed), or
    None: not active, nothing timed yet, or only recording left."""
    return estimate(store, record, now).seconds


def doing_now(store: Store, record: RunRecord, now: float | None = None) -> str | None:
    """What the run's workers are doing, from their latest points ("epoch 1 of 4: batch 37/94 ·
    host:123", "generation 2 of 5: 4 of 12 candidates evaluated · host:123, host:456"); None when
    the run is not active or nothing recent was recorded."""
    if record.state not in ACTIVE_RUN_STATES:
        return None
    now = time.time() if now is None else now
    points = [p for p in store.progress(record.name) if now - p.created_at <= NOW_FRESH_S]
    if not points:
        return None
    latest = points[-1]
    if latest.stage == "training":
        epochs = record.settings.get("train", {}).get("epochs")
        of = f" of {epochs}" if epochs else ""
        what = f"epoch {latest.unit}{of}: batch {latest.done}/{latest.total}"
        if latest.done >= latest.total:
            ended = len(store.epochs(record.name)) >= latest.unit
            what = f"epoch {latest.unit}{of} done" if ended else f"{what}, validating"
        return f"{what} · {latest.worker or 'a worker'}"
    same = [p for p in points if p.stage == "search" and p.search == latest.search]
    same = [p for p in same if p.unit == latest.unit]
    tops: dict[int, int] = {}
    for p in same:
        tops[p.part] = max(tops.get(p.part, 0), p.done)
    settings = history.search_settings(store, record)
    generations, population = settings.get("generations"), settings.get("population")
    of = f" of {generations}" if generations else ""
    size = population or "?"
    workers = ", ".join(sorted({p.worker or "a worker" for p in same}))
    return (
        f"generation {latest.unit + 1}{of}: {sum(tops.values())} of {size} candidates evaluated"
        f" · {workers}"
    )
