"""Architecture search over a trained supernet: evolution (with F_AEB), NSGA-II (the whole front)
and the random baseline.

Strategies only propose archs; an injected `evaluate(archs) -> list[EvalResult]` scores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import SearchError
from engine.results import EvalResult
from engine.search.base import Evaluate, GenerationSummary, ParamCount, Search
from engine.search.config import (
    PREDICTOR_DEFAULT,
    EvolutionConfig,
    NSGA2Config,
    OperatorConfig,
    RandomConfig,
    SearchConfig,
)
from engine.search.evolution import EvolutionSearch
from engine.search.nsga2 import NSGA2Search
from engine.search.operators import crossover, mutate
from engine.search.random_search import RandomSearch
from engine.space import SearchSpace

STRATEGIES: dict[str, type[Search]] = {
    EvolutionSearch.strategy: EvolutionSearch,
    NSGA2Search.strategy: NSGA2Search,
    RandomSearch.strategy: RandomSearch,
}


def _strategy(name: str) -> type[Search]:
    if name not in STRATEGIES:
        raise SearchError(f"unknown search strategy {name!r}; choose from {sorted(STRATEGIES)}")
    return STRATEGIES[name]


def make_search(
    strategy: str,
    space: SearchSpace,
    config: SearchConfig,
    evaluate: Evaluate,
    *,
    param_count: ParamCount | None = None,
    prior: Sequence[EvalResult] = (),
) -> Search:
    """A new search: `strategy` is "evolution" (needs an `EvolutionConfig`), "nsga2" (an
    `OperatorConfig`, e.g. `NSGA2Config`) or "random" (any `SearchConfig`). `prior`: the
    candidates of the run's earlier searches, for the predictor (`Search`)."""
    return _strategy(strategy)(space, config, evaluate, param_count=param_count, prior=prior)


def resume_search(
    space: SearchSpace,
    config: SearchConfig,
    evaluate: Evaluate,
    state: dict[str, Any],
    *,
    param_count: ParamCount | None = None,
    prior: Sequence[EvalResult] = (),
) -> Search:
    """The search saved in `state` (from `Search.state_dict`), of whichever strategy it was."""
    if not isinstance(state, dict) or not isinstance(state.get("strategy"), str):
        raise SearchError("malformed search state (no strategy)")
    cls = _strategy(state["strategy"])
    return cls.from_state(space, config, evaluate, state, param_count=param_count, prior=prior)


__all__ = [
    "PREDICTOR_DEFAULT",
    "STRATEGIES",
    "Evaluate",
    "EvolutionConfig",
    "EvolutionSearch",
    "GenerationSummary",
    "NSGA2Config",
    "NSGA2Search",
    "OperatorConfig",
    "ParamCount",
    "RandomConfig",
    "RandomSearch",
    "Search",
    "SearchConfig",
    "crossover",
    "make_search",
    "mutate",
    "resume_search",
]
