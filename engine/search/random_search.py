"""Random search, the baseline: G x P uniformly drawn distinct candidates, the evolution's budget.
With `anchors` (the default, as for the evolution) the first two of generation 0 are the space's
largest and cheapest arch, so the baseline starts from the ends the evolution starts from.

It is evaluated in G batches of P, so it reports per-"generation" summaries and resumes like the
evolution. `param_limit` and `energy_budget_uj` apply the same way.
"""

from __future__ import annotations

from typing import ClassVar

from engine.search.base import Search
from engine.search.config import SearchConfig
from engine.space import Arch


class RandomSearch(Search):
    """Uniform random search. Takes any `SearchConfig` (an `EvolutionConfig` too, whose
    evolution-only fields it ignores), so both strategies can share one config and budget."""

    strategy: ClassVar[str] = "random"
    config_type: ClassVar[type[SearchConfig]] = SearchConfig

    def _propose(self) -> list[Arch]:
        return self._sample_new(self._anchor_archs())
