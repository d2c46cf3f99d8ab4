"""What a search's predictor learns from besides the search's own candidates (`prior` of
`engine.search.make_search` and `resume_search`): the candidates the run's other searches had
stored before this search was created, priced under its energy profile.

The creation time fixes the set, so a search resumed, extended or replayed later gets the same
prior (and proposes what the uninterrupted search did), whatever the run's other searches record
meanwhile. Ordered by search, generation and id.
"""

from __future__ import annotations

import time

from engine.errors import AutoSpikformerError
from engine.profiles import get_profile
from engine.results import EvalResult
from engine.space import Arch
from storage.base import Store
from storage.errors import UnknownSearch
from storage.records import CandidateRecord
from tasks.pipeline.search_spec import SearchSpec


def eval_result(record: CandidateRecord) -> EvalResult | None:
    """A stored candidate as the engine's result (None when its arch cannot be read)."""
    try:
        arch = Arch.from_dict(record.arch)
    except (AutoSpikformerError, ValueError, KeyError, TypeError):
        return None
    return EvalResult(
        arch=arch,
        accuracy=record.accuracy,
        energy_uj=record.energy_uj,
        params=record.params,
        sops=record.sops,
        firing_rate=record.firing_rate,
        firing_rates=dict(record.firing_rates),
        layer_energy_uj=dict(record.layer_energy_uj),
        macs=record.macs,
        neuron_updates=record.neuron_updates,
        layer_ops={k: dict(v) for k, v in record.layer_ops.items()},
        energy_profile=record.energy_profile,
    )


def search_prior(
    store: Store,
    run: str,
    search_id: str,
    spec: SearchSpec,
    *,
    created_at: float | None = None,
) -> list[EvalResult]:
    """The prior of search `search_id` of `run`: empty without the predictor; else the run's
    candidates of other searches stored before the search was created (its record's
    `created_at`; for a search not recorded yet, `created_at`, default now), priced under
    `spec.energy_profile` (those that cannot be priced there are left out)."""
    if not spec.predictor:
        return []
    try:
        created_at = store.get_search(search_id).created_at
    except UnknownSearch:
        created_at = time.time() if created_at is None else created_at
    profile = get_profile(spec.energy_profile)
    others = [
        s.id for s in store.list_searches(run) if s.id != search_id and s.created_at < created_at
    ]
    earlier = [
        priced
        for other in others  # usually none (a launched run's own search): nothing to read
        for c in store.candidates(run, other)
        if c.created_at < created_at and (priced := c.priced(profile)) is not None
    ]
    earlier.sort(key=lambda c: (c.search, c.generation, c.id))
    return [r for r in map(eval_result, earlier) if r is not None]
