"""The store interface: what every backend promises (`MemoryStore`, `DuckDBStore`).

Contract
--------
Records
    A store keeps these kinds of record (`storage.records`): runs (keyed by `name`), searches (keyed
    by `id`, unique across the store, each belonging to one run), candidates (keyed by `(search,
    id)`), generations (keyed by `(search, generation)`), artefacts (keyed by `(run, path)`), and a
    run's history: training epochs (keyed by `(run, epoch)`), log events (keyed by `(run, id)`)
    and progress points of work in flight (keyed by `ProgressRecord.key`);
    also test-split results of candidates (keyed by `(run, candidate_id)`) and shared leaderboards.
    Records are validated when they are built, so a store only sees well-formed values; a store
    checks the links between them (a search's run exists, a candidate's search exists and belongs to
    the candidate's run, ...). Records read back compare equal to the records written (dict fields
    round-trip through JSON, so tuples come back as lists).

Errors
    Bad input raises a subclass of `storage.errors.StoreError` (itself a `ValueError`) with a
    one-line message: `UnknownRun`, `DuplicateRun`, `UnknownSearch`, `DuplicateSearch`,
    `UnknownCandidate`, `BadRecord`, `BadArgument` (and its `RunActive`), `BadName`. Every
    writing method is atomic: when it raises, nothing it was given has been stored (a batch with
    one bad record stores none).
    A backend shared between processes may raise `StoreBusy` when it cannot get the file in time.

Idempotence
    `add_candidates`, `add_generation`, `add_artefact`, `add_epochs`, `add_events`,
    `add_progress` and `add_test_results` insert-or-ignore on their key: adding a record whose
    key is already stored changes nothing (the first write wins) and never creates a duplicate,
    so a writer can safely resend a batch after a crash. `create_run` and `create_search` are
    not idempotent: an existing key raises `DuplicateRun`/`DuplicateSearch`. Only `delete_run`
    deletes: a finished run (done, failed or cancelled) with every record that belongs to it; an
    active run raises `RunActive`.

Batches
    `apply(ops)` takes typed writes (`storage.ops`, what the recorder receives) and applies them
    all or none with the same idempotent rules, run and search updates only ever moving forward;
    a `DuckDBStore` does it in one transaction with bulk inserts.

Order
    Lists come back in a fixed order: runs and searches by `(created_at, name/id)`, candidates by
    `(search, generation, id)`, generations by `generation`, artefacts by `(created_at, path)`,
    epochs by `epoch`, events by `(created_at, id)`, progress by `(created_at, key)`.

Finished runs
    A run's `finished_at` is set to the time of the update that first makes its state terminal
    (done, failed, cancelled), by `update_run` and `apply` alike, and no later update (archiving,
    settings) changes it; a run made active again has it cleared.

Ranking (F_AEB, the paper's Eq. 6)
    `rank(run, search, alpha, top)` scores the candidates in scope with

        fitness = alpha * (1 - E_scaled) + (1 - alpha) * A_scaled

    where `E_scaled = (energy_uj - E_min) / (E_max - E_min)` and `A_scaled` likewise for
    `accuracy`. The min and max are taken over exactly the candidates being ranked, before `top`
    is applied: all candidates of the search when `search` is given, else all candidates of the
    run. When max == min the scaled value is 0 for every candidate. So `alpha=1` ranks by lowest
    energy, `alpha=0` by highest accuracy. In run scope an architecture evaluated by several
    searches counts once, as its first stored record, which is also the one
    `get_candidate(run, id)` returns. The result is best first; equal fitness is broken by the
    objectives, higher accuracy first, then lower energy, then ascending candidate id, so the
    winner at every alpha lies on the Pareto front. Stored values are read, never re-evaluated.
    `alpha` must be a real number in [0, 1] (not NaN, not a bool) and `top` None or an integer
    >= 1, else `BadArgument`.

    Constraints (second round). Only feasible candidates are ranked (those within their search's
    energy budget and parameter limit, `CandidateRecord.feasible`), and the min-max runs over
    exactly them, unless `include_infeasible=True`, which ranks every candidate in scope.

    Energy profiles (second round). With `profile` (anything with `name`, `pj_per_mac`,
    `pj_per_sop` and `pj_per_neuron_update`, such as `engine.profiles.EnergyProfile`), every
    energy is priced under it: the stored `energy_uj` for records priced under that profile
    already, else (MACs x pJ/MAC + SOPs x pJ/SOP + neuron updates x pJ/update) x 1e-6 from the
    stored counts. Records that cannot be priced (no counts) are left out of the ranked set.
    The records returned carry the priced `energy_uj` and `layer_energy_uj`. Without `profile`
    the stored energies are ranked as they are.

    Silent candidates (third round). With `silent_last=True` the candidates with a silent block
    (`CandidateRecord.silent`) come after all the others, each group in F_AEB order; fitness and
    its min-max are unchanged (silent ones stay in the ranked set), and `top` cuts after the
    reordering. How tables rank by default, so a silent subnet is never ranked first unasked.

Leaderboards (second round)
    A shared leaderboard (`LeaderboardRecord`, keyed by `id`) freezes a ranking's rows as they
    were. `share(...)` ranks and stores one; `create_leaderboard` checks the run (and search)
    exist and raises `DuplicateLeaderboard` for a taken id; `get_leaderboard` and
    `delete_leaderboard` raise `UnknownLeaderboard`; `list_leaderboards` is newest first
    (`created_at` descending, then id). Leaderboards outlive candidates added later and the
    deletion of their run (they hold their rows). `edit_leaderboard(id, title=..., notes=...)`
    changes its title and notes only, never its rows, and sets `edited_at`; bad input
    (`BadArgument`, `BadRecord`, `UnknownLeaderboard`) changes nothing. Who may edit or delete
    one is the app's business.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pyarrow as pa

from storage.errors import BadArgument, BadRecord, DuplicateSearch, one_line
from storage.ops import (
    AddArtefact,
    AddCandidates,
    AddEpochs,
    AddEvents,
    AddGeneration,
    AddProgress,
    AddTestResults,
    Applied,
    CreateSearch,
    Op,
    UpdateRun,
    UpdateSearch,
    finished_at,
    run_changes,
    search_changes,
)
from storage.records import (
    DEFAULT_ENERGY_PROFILE,
    PROGRESS_STAGES,
    ArtefactRecord,
    CandidateRecord,
    EpochRecord,
    EventRecord,
    GenerationRecord,
    LeaderboardRecord,
    ProgressRecord,
    RunRecord,
    SearchRecord,
    TestResultRecord,
    new_leaderboard_id,
)

DEFAULT_ALPHA = 0.5
# `Store.apply`: creates, then inserts (so links exist), then the updates in their own order.
_APPLY_ORDER = {
    CreateSearch: 0,
    AddCandidates: 1,
    AddGeneration: 2,
    AddArtefact: 3,
    AddEpochs: 4,
    AddEvents: 5,
    AddTestResults: 6,
    AddProgress: 6,
    UpdateSearch: 7,
    UpdateRun: 7,
}


def check_alpha(alpha: Any) -> float:
    """`alpha` as a float in [0, 1]; `BadArgument` for NaN, bools, strings or out of range."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise BadArgument(f"alpha must be a number in [0, 1], got {one_line(repr(alpha), 60)}")
    value = float(alpha)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise BadArgument(f"alpha must be a number in [0, 1], got {value}")
    return value


def with_finish(current: RunRecord, changes: dict[str, Any], t: float) -> dict[str, Any]:
    """`changes` to a run plus the `finished_at` a change of state implies at time `t`."""
    if "state" not in changes:
        return changes
    end = finished_at(current.state, changes["state"], current.finished_at, t)
    return {**changes, "finished_at": end}


def check_progress_filter(stage: Any, unit: Any) -> None:
    """`BadArgument` unless `stage` is None or a progress stage and `unit` None or an int >= 0."""
    if stage is not None and stage not in PROGRESS_STAGES:
        raise BadArgument(
            f"stage must be one of {'|'.join(PROGRESS_STAGES)}, got {one_line(repr(stage), 60)}"
        )
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, int) or unit < 0):
        raise BadArgument(f"unit must be a whole number >= 0, got {one_line(repr(unit), 60)}")


def require_record(record: Any, cls: type, what: str) -> None:
    """`BadRecord` unless `record` is an instance of `cls`."""
    if not isinstance(record, cls):
        raise BadRecord(f"{what} must be a {cls.__name__}, got {type(record).__name__}")


def edited_leaderboard(
    record: LeaderboardRecord, title: str | None, notes: str | None, at: float
) -> LeaderboardRecord:
    """`record` with a new `title` and/or `notes` (None keeps one) and `edited_at=at`, checked as
    a new record is (`BadRecord` for a non-string or an over-long text); its rows stay as they
    are. `BadArgument` when neither is given."""
    if title is None and notes is None:
        raise BadArgument("nothing to edit: give a title or notes")
    changes = given(title=title, notes=notes)
    return replace(record, **changes, edited_at=at)


def given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that are not None (the fields an `update_*` call sets)."""
    return {k: v for k, v in values.items() if v is not None}


# The most candidates a ranking or a new leaderboard keeps (as many as one search may evaluate).
MAX_TOP = 100_000


def list_of(values: Any) -> Any:
    """`values` as a list when it is a list or tuple (so a tuple of tags is taken); anything
    else as it is, for the record's own check to refuse with one line."""
    return list(values) if isinstance(values, (list, tuple)) else values


def check_top(top: Any) -> int | None:
    """`top` as None or an int from 1 to `MAX_TOP`; `BadArgument` otherwise."""
    if top is None:
        return None
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or not 1 <= top <= MAX_TOP:
        raise BadArgument(
            f"top must be a whole number from 1 to {MAX_TOP}, got {one_line(repr(top), 60)}"
        )
    return int(top)


def f_aeb(
    accuracy: float,
    energy_uj: float,
    alpha: float,
    *,
    acc_range: tuple[float, float],
    energy_range: tuple[float, float],
) -> float:
    """F_AEB of one candidate given the (min, max) of accuracy and energy over the ranked set."""
    a_min, a_max = acc_range
    e_min, e_max = energy_range
    e_scaled = (energy_uj - e_min) / (e_max - e_min) if e_max > e_min else 0.0
    a_scaled = (accuracy - a_min) / (a_max - a_min) if a_max > a_min else 0.0
    return alpha * (1.0 - e_scaled) + (1.0 - alpha) * a_scaled


# Arrow types of the candidate columns `candidate_table` can return (dict fields as JSON text).
CANDIDATE_ARROW_TYPES: dict[str, pa.DataType] = {
    "run": pa.string(),
    "search": pa.string(),
    "id": pa.string(),
    "arch": pa.string(),
    "accuracy": pa.float64(),
    "energy_uj": pa.float64(),
    "params": pa.int64(),
    "sops": pa.float64(),
    "firing_rate": pa.float64(),
    "firing_rates": pa.string(),
    "layer_energy_uj": pa.string(),
    "generation": pa.int32(),
    "strategy": pa.string(),
    "worker": pa.string(),
    "created_at": pa.float64(),
    "feasible": pa.bool_(),
    "violation": pa.string(),
    "macs": pa.float64(),
    "neuron_updates": pa.float64(),
    "layer_ops": pa.string(),
    "energy_profile": pa.string(),
    "silent": pa.bool_(),
}


def check_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """`columns` as a tuple of candidate column names; `BadArgument` for an unknown one."""
    out = tuple(columns)
    unknown = [c for c in out if c not in CANDIDATE_ARROW_TYPES]
    if unknown or not out:
        raise BadArgument(f"unknown candidate column {one_line(repr(unknown[:1] or out), 60)}")
    return out


class Prices(Protocol):
    """What a store needs of an energy profile to price stored operation counts."""

    name: str
    pj_per_mac: float
    pj_per_sop: float
    pj_per_neuron_update: float


def rankable(
    records: Iterable[CandidateRecord],
    profile: Prices | None = None,
    *,
    include_infeasible: bool = False,
) -> list[CandidateRecord]:
    """The records `rank` scores: feasible ones (all with `include_infeasible`), priced under
    `profile` (those that cannot be priced are left out); see "Ranking" above."""
    out = []
    for r in records:
        if not (r.feasible or include_infeasible):
            continue
        priced = r if profile is None else r.priced(profile)
        if priced is not None:
            out.append(priced)
    return out


def tie_key(fitness: float, record: CandidateRecord) -> tuple[float, float, float, str]:
    """Best first: higher F_AEB, then higher accuracy, lower energy, ascending id."""
    return (-fitness, -record.accuracy, record.energy_uj, record.id)


def rank_records(
    records: Sequence[CandidateRecord],
    alpha: float,
    top: int | None = None,
    *,
    silent_last: bool = False,
) -> list[tuple[CandidateRecord, float]]:
    """Reference F_AEB ranking in pure Python (min-max over exactly `records`), best first,
    ties broken as `tie_key` says; with `silent_last`, silent candidates after the others."""
    if not records:
        return []
    accs = [r.accuracy for r in records]
    energies = [r.energy_uj for r in records]
    acc_range = (min(accs), max(accs))
    energy_range = (min(energies), max(energies))
    scored = [
        (r, f_aeb(r.accuracy, r.energy_uj, alpha, acc_range=acc_range, energy_range=energy_range))
        for r in records
    ]
    scored.sort(key=lambda pair: (silent_last and pair[0].silent, *tie_key(pair[1], pair[0])))
    return scored if top is None else scored[:top]


def first_per_id(records: Iterable[CandidateRecord]) -> list[CandidateRecord]:
    """One record per candidate id: the first one in `records`. Only records in stored order
    give the store's choice; `Store.candidates(run, one_per_id=True)` does that for you."""
    first: dict[str, CandidateRecord] = {}
    for r in records:
        first.setdefault(r.id, r)
    return list(first.values())


@dataclass(frozen=True)
class RunSummary:
    """One run's line in the runs table (`Store.run_summaries`)."""

    candidates: int
    best_accuracy: float | None
    min_energy_uj: float | None


class Store(ABC):
    """Runs, searches, candidates, generations and artefacts; see the module docstring."""

    # ---- runs --------------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, record: RunRecord) -> RunRecord:
        """Store a new run and return it. `DuplicateRun` if the name is taken."""

    @abstractmethod
    def get_run(self, name: str) -> RunRecord:
        """The run called `name`. `UnknownRun` if there is none."""

    @abstractmethod
    def list_runs(self) -> list[RunRecord]:
        """All runs, oldest first."""

    @abstractmethod
    def update_run(
        self,
        name: str,
        *,
        state: str | None = None,
        progress: float | None = None,
        message: str | None = None,
        settings: dict[str, Any] | None = None,
        archived: bool | None = None,
    ) -> RunRecord:
        """Set the given fields (None leaves one as is; `settings` is replaced as a whole), bump
        `updated_at` (and set `finished_at`, see the contract) and return the new record.
        `UnknownRun`; `BadRecord` for a bad value."""

    @abstractmethod
    def annotate_run(
        self, name: str, *, tags: Sequence[str] | None = None, notes: str | None = None
    ) -> RunRecord:
        """Set the run's `tags` and/or `notes` (None leaves one as is) and return the new record.
        They describe the run, not its progress: `updated_at` is left as it is. `UnknownRun`;
        `BadRecord` (one line, nothing changed) for tags that are not a list of short strings
        (`records.check_tags`) or notes over `records.NOTES_LIMIT` characters."""

    @abstractmethod
    def delete_run(self, name: str) -> None:
        """Delete the run and everything of it: searches, candidates, generations, artefact
        records, epochs, events and progress (files are not the store's to delete). `UnknownRun`;
        `RunActive` while it is queued, training or searching."""

    # ---- searches ----------------------------------------------------------------------------
    @abstractmethod
    def create_search(self, record: SearchRecord) -> SearchRecord:
        """Store a new search of an existing run. `UnknownRun`, `DuplicateSearch`."""

    @abstractmethod
    def get_search(self, search: str) -> SearchRecord:
        """The search with id `search`. `UnknownSearch` if there is none."""

    @abstractmethod
    def list_searches(self, run: str) -> list[SearchRecord]:
        """The run's searches, oldest first. `UnknownRun`."""

    @abstractmethod
    def update_search(
        self,
        search: str,
        *,
        state: str | None = None,
        generation: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> SearchRecord:
        """Like `update_run`, for a search. `UnknownSearch`; `BadRecord` for a bad value."""

    # ---- candidates --------------------------------------------------------------------------
    @abstractmethod
    def add_candidates(self, records: Iterable[CandidateRecord]) -> int:
        """Insert-or-ignore on (search, id); return how many were new.

        All records are checked first (`UnknownSearch` if a search is missing, `BadRecord` if a
        record's run is not its search's run or an item is not a `CandidateRecord`); on any error
        none is stored. Repeats inside the batch count once (the first wins).
        """

    @abstractmethod
    def candidates(
        self, run: str, search: str | None = None, *, one_per_id: bool = False
    ) -> list[CandidateRecord]:
        """Every stored candidate record of the run, or of one of its searches. With
        `one_per_id` in run scope, only each id's first stored record: the set `rank(run)`
        ranks. `UnknownRun`, `UnknownSearch` (also for a search of another run)."""

    @abstractmethod
    def count_candidates(self, run: str, search: str | None = None) -> int:
        """`len(candidates(run, search))`, without reading the records."""

    @abstractmethod
    def get_candidate(self, run: str, id: str, search: str | None = None) -> CandidateRecord:
        """The candidate `id` of the search, or its first stored record in the run when `search`
        is None. `UnknownRun`, `UnknownSearch`, `UnknownCandidate`."""

    def candidate_table(
        self,
        run: str,
        search: str | None = None,
        *,
        columns: Sequence[str],
        profile: Prices | None = None,
        include_infeasible: bool = False,
    ) -> pa.Table:
        """The candidates `rank` would score (feasible ones unless `include_infeasible`, one per id
        in run scope, without those `profile` cannot price) as a columnar table of `columns`,
        sorted by id; `energy_uj` is priced under `profile`, every other column is as stored
        (dict fields as JSON text). `UnknownRun`,
        `UnknownSearch`; `BadArgument` for an unknown column. Backends may answer it in one query
        (a `DuckDBStore` reads 100,000 rows in tens of milliseconds)."""
        columns = check_columns(columns)
        rows = []
        for r in sorted(self.candidates(run, search, one_per_id=True), key=lambda r: r.id):
            energy = r.energy_uj if profile is None else r.priced_energy_uj(profile)
            if energy is not None and (r.feasible or include_infeasible):
                rows.append({**r.to_row(), "energy_uj": energy})
        return pa.table(
            {c: pa.array([row[c] for row in rows], CANDIDATE_ARROW_TYPES[c]) for c in columns}
        )

    def run_summaries(self, profile: Prices | None = None) -> dict[str, RunSummary]:
        """Every run's `RunSummary`: what `candidate_table(run, profile=profile)` holds (feasible
        candidates, one per id, that `profile` can price), counted, with the best accuracy and the
        lowest energy. Runs without such candidates get 0 and None. The runs table shows every
        run at once: backends should answer it in one query, not one per run."""
        out = {}
        for record in self.list_runs():
            table = self.candidate_table(
                record.name, columns=("accuracy", "energy_uj"), profile=profile
            )
            accuracies = table.column("accuracy").to_pylist()
            energies = table.column("energy_uj").to_pylist()
            out[record.name] = RunSummary(
                candidates=len(accuracies),
                best_accuracy=max(accuracies) if accuracies else None,
                min_energy_uj=min(energies) if energies else None,
            )
        return out

    @abstractmethod
    def rank(
        self,
        run: str,
        search: str | None = None,
        alpha: float = DEFAULT_ALPHA,
        top: int | None = None,
        *,
        profile: Prices | None = None,
        include_infeasible: bool = False,
        silent_last: bool = False,
    ) -> list[tuple[CandidateRecord, float]]:
        """(candidate, F_AEB) best first over the run or one search (silent candidates last with
        `silent_last`); see "Ranking" above."""

    # ---- generations -------------------------------------------------------------------------
    @abstractmethod
    def add_generation(self, record: GenerationRecord) -> bool:
        """Insert-or-ignore on (search, generation); True if it was new. `UnknownSearch`."""

    @abstractmethod
    def generations(self, search: str) -> list[GenerationRecord]:
        """The search's generation summaries, by generation. `UnknownSearch`."""

    # ---- artefacts ---------------------------------------------------------------------------
    @abstractmethod
    def add_artefact(self, record: ArtefactRecord) -> bool:
        """Insert-or-ignore on (run, path); True if it was new. `UnknownRun`; `UnknownCandidate`
        if a subnet's candidate is not in the run."""

    @abstractmethod
    def artefacts(self, run: str, kind: str | None = None) -> list[ArtefactRecord]:
        """The run's artefacts, oldest first, optionally only one kind. `UnknownRun`;
        `BadArgument` for an unknown kind."""

    # ---- run history -------------------------------------------------------------------------
    @abstractmethod
    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        """Insert-or-ignore on (run, epoch); return how many were new. `UnknownRun` (then none
        is stored); `BadRecord` if an item is not an `EpochRecord`."""

    @abstractmethod
    def epochs(self, run: str) -> list[EpochRecord]:
        """The run's training epochs, by epoch. `UnknownRun`."""

    @abstractmethod
    def add_events(self, records: Iterable[EventRecord]) -> int:
        """Insert-or-ignore on (run, id); return how many were new. `UnknownRun` (then none is
        stored); `BadRecord` if an item is not an `EventRecord`."""

    @abstractmethod
    def events(self, run: str) -> list[EventRecord]:
        """The run's log, oldest first. `UnknownRun`."""

    @abstractmethod
    def add_progress(self, records: Iterable[ProgressRecord]) -> int:
        """Insert-or-ignore on `ProgressRecord.key`; return how many were new. `UnknownRun` (then
        none is stored); `BadRecord` if an item is not a `ProgressRecord`."""

    @abstractmethod
    def progress(
        self, run: str, stage: str | None = None, unit: int | None = None
    ) -> list[ProgressRecord]:
        """The run's progress points (of one stage, of one epoch or generation), oldest first.
        `UnknownRun`; `BadArgument` for an unknown stage or a unit that is not a whole number."""

    # ---- held-out test results ---------------------------------------------------------------
    @abstractmethod
    def add_test_results(self, records: Iterable[TestResultRecord]) -> int:
        """Insert-or-ignore on (run, candidate_id); return how many were new. `UnknownRun`,
        `UnknownCandidate` if the candidate is not in the run (then none is stored)."""

    @abstractmethod
    def test_results(self, run: str, candidate_id: str | None = None) -> list[TestResultRecord]:
        """The run's test-split results (of one candidate), oldest first. `UnknownRun`."""

    # ---- batches of writes (the recorder) -----------------------------------------------------
    def apply(self, ops: Sequence[Op]) -> Applied:
        """Apply typed writes (`storage.ops`) with their idempotent rules, all or none: creates
        first, then the inserts (candidates of all ops as one batch), then the updates in order.
        Backends override this to do it in one transaction; this version applies them one by one
        through the methods above (enough for a store private to one process)."""
        applied = Applied()
        ordered = sorted(ops, key=lambda op: _APPLY_ORDER[type(op)])
        for op in ordered:
            if isinstance(op, CreateSearch):
                try:
                    self.create_search(op.record)
                except DuplicateSearch:
                    pass
            elif isinstance(op, AddCandidates):
                applied.candidates += self.add_candidates(op.records)
            elif isinstance(op, AddGeneration):
                applied.generations += self.add_generation(op.record)
            elif isinstance(op, AddArtefact):
                applied.artefacts += self.add_artefact(op.record)
            elif isinstance(op, AddEpochs):
                applied.epochs += self.add_epochs(op.records)
            elif isinstance(op, AddEvents):
                applied.events += self.add_events(op.records)
            elif isinstance(op, AddTestResults):
                applied.test_results += self.add_test_results(op.records)
            elif isinstance(op, AddProgress):
                applied.progress += self.add_progress(op.records)
            elif isinstance(op, UpdateSearch):
                current = self.get_search(op.search)
                changes = search_changes(current.state, current.generation, op)
                if changes:
                    self.update_search(op.search, **changes)
                applied.updates += 1
            elif isinstance(op, UpdateRun):
                current = self.get_run(op.run)
                changes = run_changes(current.state, current.progress, op)
                if changes:
                    current = self.update_run(op.run, **changes)
                    applied.updates += 1
                applied.runs[op.run] = current.state
            else:
                raise BadArgument(f"not a store op: {type(op).__name__}")
        return applied

    # ---- shared leaderboards (second round) ---------------------------------------------------
    # Not abstract: a store that only forwards writes (the workers' write-behind store) keeps no
    # leaderboards. `MemoryStore` and `DuckDBStore` implement all five.
    def create_leaderboard(self, record: LeaderboardRecord) -> LeaderboardRecord:
        """Store a new leaderboard. `UnknownRun`, `UnknownSearch`, `DuplicateLeaderboard`."""
        raise NotImplementedError(f"{type(self).__name__} keeps no leaderboards")

    def get_leaderboard(self, id: str) -> LeaderboardRecord:
        """The leaderboard `id`. `UnknownLeaderboard`."""
        raise NotImplementedError(f"{type(self).__name__} keeps no leaderboards")

    def list_leaderboards(self, run: str | None = None) -> list[LeaderboardRecord]:
        """Every leaderboard (or those of one run), newest first."""
        raise NotImplementedError(f"{type(self).__name__} keeps no leaderboards")

    def delete_leaderboard(self, id: str) -> None:
        """Delete the leaderboard `id`. `UnknownLeaderboard`."""
        raise NotImplementedError(f"{type(self).__name__} keeps no leaderboards")

    def edit_leaderboard(
        self, id: str, *, title: str | None = None, notes: str | None = None
    ) -> LeaderboardRecord:
        """Change the title and/or notes of the leaderboard `id` (None keeps one), mark it
        edited now (`edited_at`) and return it; its rows never change. `UnknownLeaderboard`;
        `BadArgument` when neither is given; `BadRecord` for a non-string or an over-long
        title (200 characters) or notes (5000). Bad input changes nothing."""
        raise NotImplementedError(f"{type(self).__name__} keeps no leaderboards")

    def share(
        self,
        run: str,
        search: str | None = None,
        *,
        alpha: float = DEFAULT_ALPHA,
        top: int,
        profile: Prices | None = None,
        title: str = "",
        notes: str = "",
        author: str = "",
        id: str | None = None,
        silent_last: bool = False,
    ) -> LeaderboardRecord:
        """Freeze the top `top` of `rank(run, search, alpha, top, profile=profile,
        silent_last=silent_last)` (feasible candidates only) as a new leaderboard and return it.
        Checks alpha, top, run and search first (`BadArgument`, `UnknownRun`, `UnknownSearch`),
        so bad input stores nothing."""
        alpha = check_alpha(alpha)
        if top is None:
            raise BadArgument("top must be a whole number >= 1, got None")
        top = check_top(top)
        ranked = self.rank(run, search, alpha, top, profile=profile, silent_last=silent_last)
        record = LeaderboardRecord(
            id=id or new_leaderboard_id(),
            run=run,
            search=search,
            alpha=alpha,
            top=top,
            energy_profile=profile.name if profile is not None else DEFAULT_ENERGY_PROFILE,
            candidates=[r.to_contract(f) for r, f in ranked],
            title=title,
            notes=notes,
            author=author,
        )
        return self.create_leaderboard(record)

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources; the store may not be used afterwards."""
