"""The ETA from recorded progress, with numbers: from the first timed batch of epoch 1, from
generation 0's first evaluated arch, never 0 while work remains; elapsed time frozen at the run's
end; what the workers are doing now (`tasks.estimates`)."""

from __future__ import annotations

import pytest

from storage.memory_store import MemoryStore
from storage.records import (
    EpochRecord,
    GenerationRecord,
    ProgressRecord,
    RunRecord,
    SearchRecord,
)
from tasks import estimates

T0 = 1_700_000_000.0
# 64 archs: 2 x 2 x 4 x 4 per block, one block.
SPACE = {
    "embed_dim": [16],
    "depth": [1],
    "mlp_ratio": [2, 4],
    "num_heads": [1, 2],
    "time_steps": [1],
}
SPACE |= {"threshold": [0.6, 1.0, 1.4, 1.8], "tau": [1.5, 2, 2.5, 10]}
SEARCH = {"strategy": "evolution", "generations": 2, "population": 5}
SEARCH_ID = "live.evolution.1"


def launched(store: MemoryStore, name: str = "live", *, epochs: int = 4, **search) -> RunRecord:
    settings = {"train": {"epochs": epochs}, "search": {**SEARCH, **search}}
    return store.create_run(
        RunRecord(
            name, dataset="digits", space=SPACE, settings=settings, state="training", created_at=T0
        )  # fmt: skip
    )


def batch(epoch: int, done: int, seconds: float, at: float, total: int = 94) -> ProgressRecord:
    return ProgressRecord("live", "training", epoch, done, total, seconds, loss=1.0,
                          worker="host:1", created_at=at)  # fmt: skip


def arch(generation: int, part: int, done: int, seconds: float, at: float, worker: str = "host:2"):
    return ProgressRecord("live", "search", generation, done, 2, seconds, search=SEARCH_ID,
                          part=part, worker=worker, created_at=at)  # fmt: skip


def eta(store: MemoryStore, now: float) -> estimates.Estimate:
    return estimates.estimate(store, store.get_run("live"), now=now)


# ---- training -----------------------------------------------------------------------------------
def test_estimating_only_until_the_first_batch_is_timed() -> None:
    store = MemoryStore()
    launched(store)
    first = eta(store, T0 + 10)
    assert first.seconds is None and "estimating" in first.basis
    # Epoch 1's first batch (of 94) took 0.5 s: 93 batches left in it, 3 epochs of 47 s after it.
    store.add_progress([batch(1, 1, 0.5, at=T0 + 10.5)])
    now = eta(store, T0 + 10.5)
    assert now.seconds == pytest.approx(93 * 0.5 + 3 * 94 * 0.5)
    # The search is not timed yet: the figure is training only, and says so.
    assert now.complete is False and "not timed" in now.basis and "epoch 1" in now.basis


def test_eta_during_epoch_1_follows_the_batches_and_the_clock() -> None:
    store = MemoryStore()
    launched(store)
    store.add_progress([batch(1, 1, 0.5, T0 + 10.5), batch(1, 47, 23.5, T0 + 33.5)])
    assert eta(store, T0 + 33.5).seconds == pytest.approx(47 * 0.5 + 3 * 47)
    # 1 s after the latest point, 1 s of the epoch in flight is counted as done.
    assert eta(store, T0 + 34.5).seconds == pytest.approx(47 * 0.5 + 3 * 47 - 1)


def test_the_first_batchs_warm_up_is_not_every_batchs_cost() -> None:
    store = MemoryStore()
    launched(store)
    store.add_progress([batch(1, 1, 5.0, T0 + 5)])  # 5 s: building the model, first batch
    assert eta(store, T0 + 5).seconds == pytest.approx(93 * 5.0 + 3 * 94 * 5.0)
    store.add_progress([batch(1, 11, 7.0, T0 + 7)])  # then 0.2 s per batch
    assert eta(store, T0 + 7).seconds == pytest.approx(83 * 0.2 + 3 * 94 * 0.2)


def test_after_epoch_1_epochs_count_their_overhead_and_the_search_is_guessed() -> None:
    store = MemoryStore()
    launched(store)
    # Epoch 1: 47 s of batches from T0 + 10, then 10 s of validation and checkpoint.
    store.add_progress([batch(1, 1, 0.5, T0 + 10.5), batch(1, 94, 47.0, T0 + 57)])
    store.add_epochs([EpochRecord("live", 1, loss=1.0, seconds=47.0, created_at=T0 + 67)])
    # Epoch 2 at batch 10 (5 s in).
    store.add_progress([batch(2, 10, 5.0, at=T0 + 72)])
    got = eta(store, T0 + 72)
    training = 84 * 0.5 + 10.0 + 2 * 57.0  # rest of epoch 2 with its overhead, then 2 epochs
    search = 2 * 5 * (10.0 / 2)  # 10 candidates, each half an epoch's overhead (2 subnets)
    assert got.seconds == pytest.approx(training + search)
    assert got.complete and "guessed" in got.basis


def test_earlier_runs_time_the_search_before_it_starts() -> None:
    store = MemoryStore()
    earlier = launched(store, "earlier")
    store.add_epochs([EpochRecord("earlier", 1, loss=1.0, seconds=9.0, created_at=T0 + 9)])
    store.create_search(SearchRecord("earlier.evolution.1", "earlier", "evolution", created_at=T0))
    store.add_generation(
        GenerationRecord("earlier.evolution.1", 0, evaluated=5, created_at=T0 + 15)
    )
    store.update_run(earlier.name, state="done")
    launched(store)
    store.add_progress([batch(1, 2, 1.0, at=T0 + 11)])
    got = eta(store, T0 + 11)
    assert got.seconds == pytest.approx(92 * 0.5 + 3 * 47 + 10 * 3.0)
    assert got.complete and "earlier runs" in got.basis


# ---- search -------------------------------------------------------------------------------------
def searching(store: MemoryStore, *, generations: int = 2, epochs: int = 1) -> None:
    launched(store, epochs=epochs, generations=generations)
    # One epoch: 8 s of batches from T0, recorded at T0 + 10 (2 s of validation: 2 subnets).
    store.add_progress([batch(1, 94, 8.0, at=T0 + 8)])
    store.add_epochs([EpochRecord("live", 1, loss=1.0, seconds=8.0, created_at=T0 + 10)])
    store.create_search(SearchRecord(SEARCH_ID, "live", "evolution", created_at=T0 + 20))
    store.update_run("live", state="searching")


def test_search_eta_from_generation_0s_first_evaluated_arch() -> None:
    store = MemoryStore()
    searching(store)
    # Generation 0's first slice started at T0 + 30 (the worker loaded its supernet before).
    store.add_progress([arch(0, 0, 0, 0.0, at=T0 + 30)])
    before = eta(store, T0 + 31)
    assert "guessed" in before.basis  # nothing evaluated yet: the training guess (1 s / cand.)
    store.add_progress([arch(0, 0, 1, 4.0, at=T0 + 34)])
    got = eta(store, T0 + 34)
    assert got.seconds == pytest.approx(9 * 4.0) and "evaluated candidates" in got.basis
    # 2 s later, half of the candidate in flight is counted as done.
    assert eta(store, T0 + 36).seconds == pytest.approx(9 * 4.0 - 2.0)


def test_parallel_workers_count_as_throughput() -> None:
    store = MemoryStore()
    searching(store)
    store.add_progress(
        [
            arch(0, 0, 0, 0.0, at=T0 + 30, worker="a"),
            arch(0, 1, 0, 0.0, at=T0 + 30, worker="b"),
            arch(0, 0, 1, 4.0, at=T0 + 34, worker="a"),
            arch(0, 1, 1, 4.0, at=T0 + 34, worker="b"),
        ]
    )
    assert eta(store, T0 + 34).seconds == pytest.approx(8 * 2.0)  # 2 archs per 4 s


def test_later_generations_expect_as_many_new_candidates_as_before() -> None:
    """Duplicates are not evaluated again: 4 generations, where generation 1 brought 2 new ones,
    leave 2 x 2 candidates, not 2 x 5."""
    store = MemoryStore()
    searching(store, generations=4)
    store.add_progress([arch(0, 0, 0, 0.0, T0 + 30), arch(0, 0, 2, 8.0, T0 + 38)])
    store.add_progress([arch(1, 0, 0, 0.0, T0 + 40), arch(1, 0, 2, 8.0, T0 + 48)])
    store.add_generation(GenerationRecord(SEARCH_ID, 0, evaluated=5, created_at=T0 + 39))
    store.add_generation(GenerationRecord(SEARCH_ID, 1, evaluated=7, created_at=T0 + 49))
    rate = (48 - 30) / 4  # 4 archs measured by the points between T0 + 30 and T0 + 48
    assert eta(store, T0 + 49).seconds == pytest.approx(2 * 2 * rate - 1.0)


def test_a_small_space_runs_out_of_new_archs() -> None:
    """8 archs in the space, 5 evaluated in generation 0 (10 s each): 3 are left, not 5."""
    store = MemoryStore()
    small = {**SPACE, "threshold": [0.6, 1.0], "tau": [2]}  # 2 x 2 x 2 archs, one block
    settings = {"train": {"epochs": 1}, "search": SEARCH}
    store.create_run(RunRecord("small", dataset="digits", space=small, settings=settings,
                               state="searching", created_at=T0))  # fmt: skip
    store.add_epochs([EpochRecord("small", 1, loss=1.0, seconds=8.0, created_at=T0 + 10)])
    store.create_search(SearchRecord("small.s", "small", "evolution", created_at=T0 + 20))
    store.add_generation(GenerationRecord("small.s", 0, evaluated=5, created_at=T0 + 70))
    got = estimates.estimate(store, store.get_run("small"), now=T0 + 70)
    assert got.seconds == pytest.approx(3 * 10.0) and "generations" in got.basis


def test_never_zero_while_work_remains() -> None:
    """The reported failure: an ETA of 0.0 in generation 0 (the time since the search began
    subtracted from a tiny earlier rate). Long after its latest point, the ETA still counts 5% of
    the candidate in flight and every candidate not started, and never less than 1 s."""
    store = MemoryStore()
    searching(store)
    store.add_progress([arch(0, 0, 0, 0.0, T0 + 30), arch(0, 0, 1, 4.0, T0 + 34)])
    for late in (5.0, 60.0, 3600.0):
        got = eta(store, T0 + 34 + late).seconds
        assert got == pytest.approx(9 * 4.0 - 0.95 * 4.0)
    # 9 of the 10 evaluated (slices 1 to 4 by other workers), the last one long overdue.
    store.add_progress([arch(0, 0, 2, 8.0, T0 + 38), arch(0, 4, 0, 0.0, T0 + 34)])
    store.add_progress([arch(0, p, 2, 4.0, T0 + 38) for p in (1, 2, 3)])
    store.add_progress([arch(0, 4, 1, 4.0, T0 + 38)])
    assert eta(store, T0 + 10_000).seconds == estimates.MIN_S


def test_only_recording_left_is_finishing_and_an_ended_run_has_no_eta() -> None:
    store = MemoryStore()
    searching(store)
    store.add_generation(GenerationRecord(SEARCH_ID, 0, evaluated=5, created_at=T0 + 40))
    store.add_generation(GenerationRecord(SEARCH_ID, 1, evaluated=10, created_at=T0 + 60))
    got = eta(store, T0 + 61)
    assert got.seconds is None and "finishing" in got.basis
    store.update_run("live", state="cancelled")
    assert estimates.eta_s(store, store.get_run("live")) is None


# ---- elapsed and what the workers are doing -----------------------------------------------------
def test_elapsed_is_frozen_at_the_end_and_archiving_never_moves_it() -> None:
    store = MemoryStore()
    launched(store)
    assert estimates.elapsed_s(store.get_run("live"), now=T0 + 100) == 100.0
    ended = store.update_run("live", state="done")
    record = store.update_run("live", archived=True)
    assert record.finished_at == ended.finished_at
    frozen = ended.finished_at - T0
    assert estimates.elapsed_s(record, now=ended.finished_at + 224) == frozen
    assert estimates.elapsed_s(store.get_run("live")) == frozen


def test_what_the_workers_are_doing_now() -> None:
    store = MemoryStore()
    launched(store, generations=5, population=12)
    run = store.get_run("live")
    assert estimates.doing_now(store, run, now=T0) is None
    store.add_progress([batch(1, 37, 18.5, at=T0 + 30)])
    assert estimates.doing_now(store, run, now=T0 + 31) == "epoch 1 of 4: batch 37/94 · host:1"
    assert estimates.doing_now(store, run, now=T0 + 31 + 60) is None  # stale: nothing now
    store.add_progress([batch(1, 94, 47.0, at=T0 + 60)])
    assert "batch 94/94, validating" in estimates.doing_now(store, run, now=T0 + 61)
    store.add_epochs([EpochRecord("live", 1, loss=1.0, seconds=47.0, created_at=T0 + 65)])
    assert estimates.doing_now(store, run, now=T0 + 66).startswith("epoch 1 of 4 done")
    store.add_progress([arch(1, 0, 2, 8.0, T0 + 70, "h1"), arch(1, 1, 1, 4.0, T0 + 71, "h2"),
                        arch(1, 2, 1, 4.0, T0 + 72, "h1")])  # fmt: skip
    assert estimates.doing_now(store, run, now=T0 + 72) == (
        "generation 2 of 5: 4 of 12 candidates evaluated · h1, h2"
    )
    store.update_run("live", state="done")
    assert estimates.doing_now(store, store.get_run("live"), now=T0 + 72) is None


def test_a_run_stored_ended_without_an_end_ends_at_its_last_update() -> None:
    record = RunRecord("old", state="done", created_at=T0, updated_at=T0 + 754)
    assert record.finished_at is None
    assert estimates.elapsed_s(record, now=T0 + 9999) == 754.0
