"""`MemoryStore`: the store contract in plain Python, for tests and throwaway sessions."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from storage.base import (
    DEFAULT_ALPHA,
    Prices,
    Store,
    check_alpha,
    check_progress_filter,
    check_top,
    edited_leaderboard,
    first_per_id,
    given,
    list_of,
    rank_records,
    rankable,
    require_record,
    with_finish,
)
from storage.errors import (
    BadArgument,
    BadRecord,
    DuplicateLeaderboard,
    DuplicateRun,
    DuplicateSearch,
    RunActive,
    UnknownCandidate,
    UnknownLeaderboard,
    UnknownRun,
    UnknownSearch,
    one_line,
)
from storage.ops import Applied, Op
from storage.records import (
    ARTEFACT_KINDS,
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
    now,
)

R = TypeVar(
    "R",
    RunRecord,
    SearchRecord,
    CandidateRecord,
    GenerationRecord,
    ArtefactRecord,
    EpochRecord,
    EventRecord,
    TestResultRecord,
    LeaderboardRecord,
    ProgressRecord,
)


def _copy(record: R) -> R:
    """A deep copy (dict fields are not shared with the caller)."""
    return type(record).from_row(record.to_row())


class MemoryStore(Store):
    """All records in dicts, guarded by one lock; nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, RunRecord] = {}
        self._searches: dict[str, SearchRecord] = {}
        self._candidates: dict[tuple[str, str], CandidateRecord] = {}
        self._generations: dict[tuple[str, int], GenerationRecord] = {}
        self._artefacts: dict[tuple[str, str], ArtefactRecord] = {}
        self._epochs: dict[tuple[str, int], EpochRecord] = {}
        self._events: dict[tuple[str, str], EventRecord] = {}
        self._test_results: dict[tuple[str, str], TestResultRecord] = {}
        self._progress: dict[tuple, ProgressRecord] = {}
        self._leaderboards: dict[str, LeaderboardRecord] = {}

    # ---- lookups (call with the lock held) ---------------------------------------------------
    def _run(self, name: str) -> RunRecord:
        run = self._runs.get(name) if isinstance(name, str) else None
        if run is None:
            raise UnknownRun(f"unknown run {one_line(repr(name), 80)}")
        return run

    def _search(self, search: str, run: str | None = None) -> SearchRecord:
        rec = self._searches.get(search) if isinstance(search, str) else None
        if rec is None or (run is not None and rec.run != run):
            where = "" if run is None else f" in run {run!r}"
            raise UnknownSearch(f"unknown search {one_line(repr(search), 80)}{where}")
        return rec

    def _scope(self, run: str, search: str | None) -> list[CandidateRecord]:
        self._run(run)
        if search is not None:
            self._search(search, run)
            return [c for c in self._candidates.values() if c.search == search]
        return [c for c in self._candidates.values() if c.run == run]

    # ---- runs --------------------------------------------------------------------------------
    def create_run(self, record: RunRecord) -> RunRecord:
        require_record(record, RunRecord, "run")
        with self._lock:
            if record.name in self._runs:
                raise DuplicateRun(f"run {record.name!r} already exists")
            self._runs[record.name] = _copy(record)
            return _copy(record)

    def get_run(self, name: str) -> RunRecord:
        with self._lock:
            return _copy(self._run(name))

    def list_runs(self) -> list[RunRecord]:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: (r.created_at, r.name))
            return [_copy(r) for r in runs]

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
        changes = given(
            state=state, progress=progress, message=message, settings=settings, archived=archived
        )
        with self._lock:
            current = self._run(name)
            if not changes:
                return _copy(current)
            t = now()
            new = dataclasses.replace(current, **with_finish(current, changes, t), updated_at=t)
            self._runs[name] = new
            return _copy(new)

    def annotate_run(
        self, name: str, *, tags: Sequence[str] | None = None, notes: str | None = None
    ) -> RunRecord:
        changes = given(tags=None if tags is None else list_of(tags), notes=notes)
        with self._lock:
            current = self._run(name)
            if not changes:
                return _copy(current)
            new = dataclasses.replace(current, **changes)  # checks the values
            self._runs[name] = new
            return _copy(new)

    def delete_run(self, name: str) -> None:
        with self._lock:
            run = self._run(name)
            if run.active:
                raise RunActive(f"run {name!r} is {run.state}; cancel it before deleting it")
            searches = {s for s, rec in self._searches.items() if rec.run == name}
            del self._runs[name]
            for table, belongs in (
                (self._searches, lambda k, r: k in searches),
                (self._candidates, lambda k, r: r.run == name),
                (self._generations, lambda k, r: r.search in searches),
                (self._artefacts, lambda k, r: r.run == name),
                (self._epochs, lambda k, r: r.run == name),
                (self._events, lambda k, r: r.run == name),
                (self._test_results, lambda k, r: r.run == name),
                (self._progress, lambda k, r: r.run == name),
            ):
                for key in [k for k, r in table.items() if belongs(k, r)]:
                    del table[key]

    # ---- searches ----------------------------------------------------------------------------
    def create_search(self, record: SearchRecord) -> SearchRecord:
        require_record(record, SearchRecord, "search")
        with self._lock:
            self._run(record.run)
            if record.id in self._searches:
                raise DuplicateSearch(f"search {record.id!r} already exists")
            self._searches[record.id] = _copy(record)
            return _copy(record)

    def get_search(self, search: str) -> SearchRecord:
        with self._lock:
            return _copy(self._search(search))

    def list_searches(self, run: str) -> list[SearchRecord]:
        with self._lock:
            self._run(run)
            found = [s for s in self._searches.values() if s.run == run]
            return [_copy(s) for s in sorted(found, key=lambda s: (s.created_at, s.id))]

    def update_search(
        self,
        search: str,
        *,
        state: str | None = None,
        generation: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> SearchRecord:
        changes = given(state=state, generation=generation, settings=settings)
        with self._lock:
            current = self._search(search)
            if not changes:
                return _copy(current)
            new = dataclasses.replace(current, **changes, updated_at=now())
            self._searches[search] = new
            return _copy(new)

    # ---- candidates --------------------------------------------------------------------------
    def add_candidates(self, records: Iterable[CandidateRecord]) -> int:
        batch = list(records)
        for rec in batch:
            require_record(rec, CandidateRecord, "candidate")
        with self._lock:
            for rec in batch:
                search = self._search(rec.search)
                if search.run != rec.run:
                    raise BadRecord(
                        f"candidate {rec.id!r} says run {rec.run!r} but search {rec.search!r} "
                        f"belongs to run {search.run!r}"
                    )
            added = 0
            for rec in batch:
                if rec.key not in self._candidates:
                    self._candidates[rec.key] = _copy(rec)
                    added += 1
            return added

    def candidates(
        self, run: str, search: str | None = None, *, one_per_id: bool = False
    ) -> list[CandidateRecord]:
        with self._lock:
            found = self._scope(run, search)
            if one_per_id and search is None:
                found = first_per_id(found)
            found.sort(key=lambda c: (c.search, c.generation, c.id))
            return [_copy(c) for c in found]

    def count_candidates(self, run: str, search: str | None = None) -> int:
        with self._lock:
            return len(self._scope(run, search))

    def get_candidate(self, run: str, id: str, search: str | None = None) -> CandidateRecord:
        with self._lock:
            found = [c for c in self._scope(run, search) if c.id == id]
            if not found:
                where = f"run {run!r}" if search is None else f"search {search!r}"
                raise UnknownCandidate(f"unknown candidate {one_line(repr(id), 80)} in {where}")
            return _copy(first_per_id(found)[0])

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
        alpha = check_alpha(alpha)
        top = check_top(top)
        with self._lock:
            scope = self._scope(run, search)
            if search is None:
                scope = first_per_id(scope)
            scope = rankable(scope, profile, include_infeasible=include_infeasible)
            ranked = rank_records(scope, alpha, top, silent_last=silent_last)
            return [(_copy(c), f) for c, f in ranked]

    # ---- generations -------------------------------------------------------------------------
    def add_generation(self, record: GenerationRecord) -> bool:
        require_record(record, GenerationRecord, "generation")
        with self._lock:
            self._search(record.search)
            if record.key in self._generations:
                return False
            self._generations[record.key] = _copy(record)
            return True

    def generations(self, search: str) -> list[GenerationRecord]:
        with self._lock:
            self._search(search)
            found = [g for g in self._generations.values() if g.search == search]
            return [_copy(g) for g in sorted(found, key=lambda g: g.generation)]

    # ---- artefacts ---------------------------------------------------------------------------
    def add_artefact(self, record: ArtefactRecord) -> bool:
        require_record(record, ArtefactRecord, "artefact")
        with self._lock:
            self._run(record.run)
            if record.candidate_id is not None and not any(
                c.run == record.run and c.id == record.candidate_id
                for c in self._candidates.values()
            ):
                raise UnknownCandidate(
                    f"unknown candidate {record.candidate_id!r} in run {record.run!r}"
                )
            if record.key in self._artefacts:
                return False
            self._artefacts[record.key] = _copy(record)
            return True

    def artefacts(self, run: str, kind: str | None = None) -> list[ArtefactRecord]:
        if kind is not None and kind not in ARTEFACT_KINDS:
            raise BadArgument(f"kind must be one of {'|'.join(ARTEFACT_KINDS)}, got {kind!r}")
        with self._lock:
            self._run(run)
            found = [
                a
                for a in self._artefacts.values()
                if a.run == run and (kind is None or a.kind == kind)
            ]
            return [_copy(a) for a in sorted(found, key=lambda a: (a.created_at, a.path))]

    # ---- run history -------------------------------------------------------------------------
    def _add_history(self, table: dict, records: Iterable, cls: type, what: str) -> int:
        batch = list(records)
        for rec in batch:
            require_record(rec, cls, what)
        with self._lock:
            for rec in batch:
                self._run(rec.run)
            added = 0
            for rec in batch:
                if rec.key not in table:
                    table[rec.key] = _copy(rec)
                    added += 1
            return added

    def add_epochs(self, records: Iterable[EpochRecord]) -> int:
        return self._add_history(self._epochs, records, EpochRecord, "epoch")

    def epochs(self, run: str) -> list[EpochRecord]:
        with self._lock:
            self._run(run)
            found = [e for e in self._epochs.values() if e.run == run]
            return [_copy(e) for e in sorted(found, key=lambda e: e.epoch)]

    def add_events(self, records: Iterable[EventRecord]) -> int:
        return self._add_history(self._events, records, EventRecord, "event")

    def events(self, run: str) -> list[EventRecord]:
        with self._lock:
            self._run(run)
            found = [e for e in self._events.values() if e.run == run]
            return [_copy(e) for e in sorted(found, key=lambda e: (e.created_at, e.id))]

    def add_progress(self, records: Iterable[ProgressRecord]) -> int:
        return self._add_history(self._progress, records, ProgressRecord, "progress")

    def progress(
        self, run: str, stage: str | None = None, unit: int | None = None
    ) -> list[ProgressRecord]:
        check_progress_filter(stage, unit)
        with self._lock:
            self._run(run)
            found = [
                p
                for p in self._progress.values()
                if p.run == run
                and (stage is None or p.stage == stage)
                and (unit is None or p.unit == unit)
            ]
            return [_copy(p) for p in sorted(found, key=lambda p: (p.created_at, p.key))]

    # ---- held-out test results ---------------------------------------------------------------
    def add_test_results(self, records: Iterable[TestResultRecord]) -> int:
        batch = list(records)
        for rec in batch:
            require_record(rec, TestResultRecord, "test result")
        with self._lock:
            for rec in batch:
                self._run(rec.run)
                if not any(
                    c.run == rec.run and c.id == rec.candidate_id for c in self._candidates.values()
                ):
                    raise UnknownCandidate(
                        f"unknown candidate {rec.candidate_id!r} in run {rec.run!r}"
                    )
            added = 0
            for rec in batch:
                if rec.key not in self._test_results:
                    self._test_results[rec.key] = _copy(rec)
                    added += 1
            return added

    def test_results(self, run: str, candidate_id: str | None = None) -> list[TestResultRecord]:
        with self._lock:
            self._run(run)
            found = [
                t
                for t in self._test_results.values()
                if t.run == run and (candidate_id is None or t.candidate_id == candidate_id)
            ]
            return [_copy(t) for t in sorted(found, key=lambda t: (t.created_at, t.candidate_id))]

    # ---- batches -----------------------------------------------------------------------------
    def apply(self, ops: Sequence[Op]) -> Applied:
        """All or none: the tables are restored if any op raises."""
        with self._lock:
            tables = [v for v in vars(self).values() if isinstance(v, dict)]
            saved = [dict(t) for t in tables]
            try:
                return super().apply(ops)
            except BaseException:
                for table, before in zip(tables, saved, strict=True):
                    table.clear()
                    table.update(before)
                raise

    # ---- shared leaderboards -----------------------------------------------------------------
    def create_leaderboard(self, record: LeaderboardRecord) -> LeaderboardRecord:
        require_record(record, LeaderboardRecord, "leaderboard")
        with self._lock:
            self._run(record.run)
            if record.search is not None:
                self._search(record.search, record.run)
            if record.id in self._leaderboards:
                raise DuplicateLeaderboard(f"leaderboard {record.id!r} already exists")
            self._leaderboards[record.id] = _copy(record)
            return _copy(record)

    def _leaderboard(self, id: str) -> LeaderboardRecord:
        found = self._leaderboards.get(id) if isinstance(id, str) else None
        if found is None:
            raise UnknownLeaderboard(f"unknown leaderboard {one_line(repr(id), 80)}")
        return found

    def get_leaderboard(self, id: str) -> LeaderboardRecord:
        with self._lock:
            return _copy(self._leaderboard(id))

    def list_leaderboards(self, run: str | None = None) -> list[LeaderboardRecord]:
        with self._lock:
            found = [b for b in self._leaderboards.values() if run is None or b.run == run]
            found.sort(key=lambda b: b.id)
            found.sort(key=lambda b: b.created_at, reverse=True)
            return [_copy(b) for b in found]

    def delete_leaderboard(self, id: str) -> None:
        with self._lock:
            self._leaderboard(id)
            del self._leaderboards[id]

    def edit_leaderboard(
        self, id: str, *, title: str | None = None, notes: str | None = None
    ) -> LeaderboardRecord:
        with self._lock:
            record = edited_leaderboard(self._leaderboard(id), title, notes, now())
            self._leaderboards[id] = record
            return _copy(record)
