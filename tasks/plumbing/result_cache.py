"""Evaluation results of one search, one JSON file per arch, under the run's folder.

`runs/<run>/searches/<search>.results/<arch id>.json`. A candidate's evaluation is a pure function
of (supernet checkpoint, arch, eval seed), and a search evaluates on one fixed checkpoint with one
seed, so a result written once is final: writers race harmlessly (same content, atomic rename).
The files live next to the checkpoints, not in Redis, so a broker restart loses no evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from engine.files import atomic_write
from engine.results import EvalResult
from engine.space import Arch
from storage import paths


class MissingResults(Exception):
    """Raised by `ResultCache.evaluate` when some archs are not evaluated yet."""

    def __init__(self, archs: Sequence[Arch], missing: Sequence[str]) -> None:
        super().__init__(f"{len(missing)} of {len(archs)} archs are not evaluated yet")
        self.archs = list(archs)
        self.missing = set(missing)


class ResultCache:
    """The results of search `search_id` of `run`."""

    def __init__(self, run: str, search_id: str) -> None:
        paths.validate_name(search_id, "search")
        folder = paths.run_dir(run, create=False)  # created by the first `put`, not by reading
        self.folder = paths.resolve_inside(folder, "searches", f"{search_id}.results")

    def path(self, arch_id: str) -> Path:
        return paths.resolve_inside(self.folder, f"{paths.validate_name(arch_id, 'arch id')}.json")

    def get(self, arch: Arch) -> EvalResult | None:
        try:
            text = self.path(arch.id).read_text()
        except FileNotFoundError:
            return None
        try:
            return EvalResult.from_dict(json.loads(text)["result"])
        except (ValueError, KeyError, TypeError):  # torn by a crash before the rename: redo it
            return None

    def put(self, result: EvalResult, *, worker: str = "") -> None:
        record = {"result": result.to_dict(), "worker": worker}
        atomic_write(self.path(result.id), json.dumps(record))

    def evaluate(self, archs: list[Arch]) -> list[EvalResult]:
        """The injected `evaluate` of a search stepped by a task: cached results, or
        `MissingResults` naming what must be evaluated first."""
        results = [self.get(a) for a in archs]
        missing = [a.id for a, r in zip(archs, results, strict=True) if r is None]
        if missing:
            raise MissingResults(archs, missing)
        return [r for r in results if r is not None]
