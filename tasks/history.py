"""What a run did and how long it took: its settings, per-epoch and per-generation history, its
per-step training loss, time per stage, and a new run's estimated duration from earlier runs'
measured times (an active run's ETA is `tasks.estimates`).

Read-only over the store and light to import (no torch), so `status`, the Launch page and the run's
page share it. Times are wall-clock seconds. A generation's `seconds` runs from the previous
generation's record (the first: from the search's creation) to its own, so it counts the queue as
well as the evaluation; an epoch's `seconds` is what the worker measured (`EpochRecord.seconds`).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.profiles import DEFAULT_PROFILE
from engine.search.config import PREDICTOR_DEFAULT
from engine.space import SearchSpace
from storage import paths
from storage.base import Store
from storage.records import GenerationRecord, RunRecord, SearchRecord

# The settings a run's page and `status --json` show, in this order.
SETTING_KEYS: tuple[str, ...] = (
    "dataset",
    "space",
    "epochs",
    "sampling",
    "batch_size",
    "lr",
    "seed",
    "strategy",
    "generations",
    "population",
    "parents",
    "alpha",
    "energy_budget_uj",
    "param_limit",
    "recalib_batches",
    "energy_profile",
    "anchors",
    "predictor",
    "device",
    "owner",
)


def genes(space: dict[str, Any]) -> dict[str, list] | None:
    """`space` in canonical form (sorted choices, 4.0 as 4), or None if it is not a space."""
    try:
        return SearchSpace.from_dict(space).to_dict()
    except ValueError:
        return None


def space_name(space: dict[str, Any]) -> str:
    """The preset whose genes are exactly `space`, else "custom"."""
    genes_ = genes(space)
    if genes_ is None:
        return "custom"
    for name in SearchSpace.presets():
        if SearchSpace.preset(name).to_dict() == genes_:
            return name
    return "custom"


def search_settings(store: Store, record: RunRecord) -> dict[str, Any]:
    """The run's search settings: the launched ones, else those of its newest search."""
    return _shown_search(store, record)[0]


def _shown_search(store: Store, record: RunRecord) -> tuple[dict[str, Any], str | None]:
    """`search_settings` and the id of that search (None when the run has none)."""
    if "search" in record.settings:
        search = dict(record.settings["search"])
        strategy = str(search.get("strategy", "evolution"))
        return search, paths.search_id(record.name, strategy, 1)  # the launched search's id
    searches = store.list_searches(record.name)
    if searches:
        return {"strategy": searches[-1].strategy, **searches[-1].settings}, searches[-1].id
    return {}, None


def anchors_applied(run: str, search_id: str | None, search: dict[str, Any]) -> bool | None:
    """Whether the search's generation 0 started with the space's two ends (None: no search).

    Searches recorded before anchors existed have no `anchors` setting and drew generation 0 at
    random. Random and NSGA-II searches recorded before anchors applied to them say `anchors`
    True but ran without: they stored no `front_box` (which came with that change), and their
    saved state's settings have no `anchors`; such a search not started yet starts with them.
    """
    if not search:
        return None
    if "anchors" not in search:
        return False
    if search.get("strategy") == "evolution" or "front_box" in search or search_id is None:
        return bool(search["anchors"])
    saved = _saved_config(run, search_id)
    if saved is None:
        return bool(search["anchors"])  # no saved state yet: it starts as the setting says
    return bool(saved.get("anchors", False))


def predictor_applied(run: str, search_id: str | None, search: dict[str, Any]) -> bool | None:
    """Whether the search screens its children with the predictor (None: no search).

    Random searches have none. Searches recorded before the predictor existed have no
    `predictor` setting and ran as their saved state says (`Search.from_state`: without it when
    the state has none); such a search not started yet starts with `PREDICTOR_DEFAULT`.
    """
    if not search:
        return None
    if search.get("strategy", "evolution") == "random":
        return False
    if "predictor" in search:
        return bool(search["predictor"])
    saved = _saved_config(run, search_id) if search_id is not None else None
    if saved is None:
        return PREDICTOR_DEFAULT  # no saved state yet: it starts as the default says
    return bool(saved.get("predictor", False))


def _saved_config(run: str, search_id: str) -> dict[str, Any] | None:
    """The settings in the search's saved state; None when there is none (not started yet)."""
    try:
        folder = paths.run_dir(run, create=False) / "searches"
        saved = json.loads((folder / f"{search_id}.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return saved if isinstance(saved, dict) else None


def settings(store: Store, record: RunRecord) -> dict[str, Any]:
    """The run's settings as one flat dict (`SETTING_KEYS`, plus `space_genes`). Settings the run
    does not have (a run trained from the command line has no search settings until it is
    searched) are None."""
    train = record.settings.get("train", {})
    search, search_id = _shown_search(store, record)
    launch = record.settings.get("launch", {})
    values = {
        "dataset": record.dataset or train.get("dataset"),
        "space": space_name(record.space) if record.space else None,
        "epochs": train.get("epochs"),
        "sampling": train.get("sampling"),
        "batch_size": train.get("batch_size"),
        "lr": train.get("lr"),
        "seed": train.get("seed", search.get("seed")),
        "strategy": search.get("strategy"),
        "generations": search.get("generations"),
        "population": search.get("population"),
        "parents": search.get("parents"),
        "alpha": search.get("alpha"),
        "energy_budget_uj": search.get("energy_budget_uj"),
        "param_limit": search.get("param_limit"),
        "recalib_batches": search.get("recalib_batches"),
        # Searches recorded before profiles existed priced energy under the default profile.
        "energy_profile": search.get("energy_profile", DEFAULT_PROFILE) if search else None,
        # Generation-0 anchors as the search ran them (`anchors_applied`).
        "anchors": anchors_applied(record.name, search_id, search),
        # Whether it screens children with the predictor (`predictor_applied`).
        "predictor": predictor_applied(record.name, search_id, search),
        "device": launch.get("device"),
        "owner": record.owner,
    }
    out = {key: values[key] for key in SETTING_KEYS}
    out["space_genes"] = dict(record.space)
    return out


# ---- history ------------------------------------------------------------------------------------
def epoch_history(store: Store, run: str) -> list[dict[str, Any]]:
    """`[{"epoch", "loss", "val_accuracy_largest", "val_accuracy_smallest", "seconds"}, ...]`,
    epochs counted from 1."""
    return [
        {
            "epoch": e.epoch,
            "loss": e.loss,
            "val_accuracy_largest": e.val_accuracy_largest,
            "val_accuracy_smallest": e.val_accuracy_smallest,
            "seconds": e.seconds,
        }
        for e in store.epochs(run)
    ]


def step_history(store: Store, run: str) -> list[dict[str, Any]]:
    """`[{"epoch", "batch", "batches", "position", "loss", "seconds"}, ...]`: the training loss as
    the workers recorded it within epochs (throttled points, `tasks.progress`; each `loss` is the
    mean over the batches since the epoch's previous point), oldest first. `position` counts
    epochs: batch 47 of 94 of epoch 1 is 0.5."""
    return [
        {
            "epoch": p.unit,
            "batch": p.done,
            "batches": p.total,
            "position": p.unit - 1 + p.done / p.total,
            "loss": p.loss,
            "seconds": p.seconds,
        }
        for p in store.progress(run, "training")
        if p.loss is not None
    ]


def generation_history(store: Store, search: SearchRecord) -> list[dict[str, Any]]:
    """`[{"generation", "best_fitness", "hypervolume", "hypervolume_normalized", "predictor_tau",
    "evaluated", "seconds"}, ...]` of one search, generations counted from 1 (the store counts
    them from 0); `evaluated` is the candidates evaluated so far, as the search records it.
    `hypervolume_normalized` is as the search recorded it, or for generations recorded before it
    was kept, recomputed from the search's stored candidates (`normalized_history`).
    `predictor_tau` is the predictor's Kendall tau on the generation, None when it was not
    screened (`storage.records.GenerationRecord`)."""
    generations = store.generations(search.id)
    normalized = [g.hypervolume_normalized for g in generations]
    if any(v is None for v in normalized):
        normalized = normalized_history(store, search, generations)
    out = []
    previous = search.created_at
    for g, hv in zip(generations, normalized, strict=True):
        out.append(
            {
                "generation": g.generation + 1,
                "best_fitness": g.best_fitness,
                "hypervolume": g.hypervolume,
                "hypervolume_normalized": hv,
                "predictor_tau": g.predictor_tau,
                "evaluated": g.evaluated,
                "seconds": max(0.0, g.created_at - previous),
            }
        )
        previous = g.created_at
    return out


def normalized_history(
    store: Store, search: SearchRecord, generations: list[GenerationRecord]
) -> list[float | None]:
    """Each generation's normalized hypervolume: the recorded one, else that of the search's
    feasible candidates evaluated up to it, priced under the search's profile, in its box
    (`tasks.pipeline.front_box_of`), as the search computes it (0 while none is feasible).
    None where the box cannot be had (a dataset or space this install does not know)."""
    from engine.errors import AutoSpikformerError
    from engine.pareto import normalized_hypervolume, pareto_front
    from engine.profiles import get_profile
    from tasks.pipeline.searching import front_box_of  # imports torch: old searches only

    try:
        box = front_box_of(store, search)
        profile = get_profile(search.settings.get("energy_profile", DEFAULT_PROFILE))
    except (AutoSpikformerError, ValueError, TypeError, KeyError):
        return [g.hypervolume_normalized for g in generations]
    columns = ("generation", "accuracy", "energy_uj")
    table = store.candidate_table(search.run, search.id, columns=columns, profile=profile)
    rows = zip(*(table.column(c).to_pylist() for c in columns), strict=True)
    points = sorted(row for row in rows if row[2] > 0)  # (generation, accuracy, energy)
    # The hypervolume of a set is that of its Pareto front: carry the front from generation to
    # generation and add each one's points to it (10,000 candidates over 200 generations: one
    # read and 200 small fronts, not 200 sweeps of everything seen so far).
    front: list[tuple[float, float]] = []
    seen = 0
    at: dict[int, float] = {}
    for number in sorted({g.generation for g in generations}):
        while seen < len(points) and points[seen][0] <= number:
            front.append(points[seen][1:])
            seen += 1
        if front:
            front = [front[i] for i in pareto_front(*zip(*front, strict=True))]
        at[number] = normalized_hypervolume(*zip(*front, strict=True), box) if front else 0.0
    return [
        g.hypervolume_normalized if g.hypervolume_normalized is not None else at[g.generation]
        for g in generations
    ]


def newest_search_screens(store: Store, run: str) -> bool:
    """Whether the run's newest search (the one `history` reports) screens its children with the
    predictor (`predictor_applied`)."""
    searches = store.list_searches(run)
    if not searches:
        return False
    newest = searches[-1]
    settings = {"strategy": newest.strategy, **newest.settings}
    return bool(predictor_applied(run, newest.id, settings))


def history(store: Store, run: str) -> dict[str, list[dict[str, Any]]]:
    """`{"epochs": [...], "generations": [...]}`: the generations of the run's newest search."""
    searches = store.list_searches(run)
    return {
        "epochs": epoch_history(store, run),
        "generations": generation_history(store, searches[-1]) if searches else [],
    }


@dataclass(frozen=True)
class StageTimes:
    """Wall-clock seconds of each stage so far; None for a stage that has not started."""

    training_s: float | None
    search_s: float | None


def stage_times(store: Store, record: RunRecord, now: float | None = None) -> StageTimes:
    """Training: the sum of its epochs' seconds, plus the epoch in flight's so far while the run
    is training. Search: from the newest search's creation to its latest generation (to now while
    the run is searching)."""
    epochs = store.epochs(record.name)
    training = sum(e.seconds for e in epochs) if epochs else None
    if record.state == "training":
        points = store.progress(record.name, "training", len(epochs) + 1)
        if points:
            training = (training or 0.0) + max(p.seconds for p in points)
    searches = store.list_searches(record.name)
    search = None
    if searches:
        latest = searches[-1]
        generations = store.generations(latest.id)
        if record.state == "searching":
            end = now or time.time()
        else:
            end = generations[-1].created_at if generations else latest.created_at
        search = max(0.0, end - latest.created_at)
    return StageTimes(training, search)


# ---- estimates ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rates:
    """Measured seconds per supernet epoch and per evaluated candidate (None: nothing measured),
    and how many earlier runs they come from."""

    epoch_s: float | None = None
    candidate_s: float | None = None
    runs: int = 0


def _candidate_time(store: Store, searches: Iterable[SearchRecord]) -> tuple[float, int]:
    """(seconds, candidates) over searches with at least one recorded generation."""
    seconds, count = 0.0, 0
    for search in searches:
        generations = store.generations(search.id)
        if generations and generations[-1].evaluated > 0:
            seconds += max(0.0, generations[-1].created_at - search.created_at)
            count += generations[-1].evaluated
    return seconds, count


RATE_RUNS = 20  # earlier runs an estimate averages over at most, the newest first


def measured_rates(
    store: Store, dataset: str, space: dict[str, Any], *, exclude: str | None = None
) -> Rates:
    """Mean seconds per epoch and per candidate over the `RATE_RUNS` newest earlier runs on the
    same dataset and space (the same genes, whatever the file was called); `runs` counts those
    that measured either. Bounded: the launch form and every live card ask for it on each rerun,
    and a team's store holds hundreds of runs (reading one costs a few store calls)."""
    wanted = genes(space)
    if wanted is None:
        return Rates()
    epoch_s = epoch_n = 0.0
    cand_s, cand_n, runs = 0.0, 0, 0
    same = (
        run
        for run in sorted(store.list_runs(), key=lambda r: (-r.created_at, r.name))
        if run.name != exclude and run.dataset == dataset and genes(run.space) == wanted
    )
    for run in itertools.islice(same, RATE_RUNS):
        epochs = store.epochs(run.name)
        seconds, count = _candidate_time(store, store.list_searches(run.name))
        if not epochs and not count:
            continue
        runs += 1
        epoch_s += sum(e.seconds for e in epochs)
        epoch_n += len(epochs)
        cand_s, cand_n = cand_s + seconds, cand_n + count
    return Rates(
        epoch_s=epoch_s / epoch_n if epoch_n else None,
        candidate_s=cand_s / cand_n if cand_n else None,
        runs=runs,
    )


def estimate_s(rates: Rates, epochs: int, candidates: int) -> float | None:
    """Seconds for `epochs` epochs and `candidates` evaluations at `rates`; None when a rate the
    work needs was never measured."""
    if (epochs and rates.epoch_s is None) or (candidates and rates.candidate_s is None):
        return None
    return epochs * (rates.epoch_s or 0.0) + candidates * (rates.candidate_s or 0.0)


def planned_candidates(search: dict[str, Any]) -> int:
    """Evaluations a search plans: generations x population (duplicates are evaluated once, so a
    search may evaluate fewer)."""
    return int(search.get("generations") or 0) * int(search.get("population") or 0)


def format_duration(seconds: float | None) -> str:
    """`42 s`, `3 min 05 s`, `2 h 07 min`; `-` for None."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    minutes, secs = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
