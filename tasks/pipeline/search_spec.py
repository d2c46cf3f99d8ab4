"""A search's settings (`SearchSpec`): what the CLI, the launch form and the stored search record
share, and how they become an engine `SearchConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import limits
from engine.errors import AutoSpikformerError
from engine.profiles import DEFAULT_PROFILE, get_profile
from engine.search import (
    PREDICTOR_DEFAULT,
    EvolutionConfig,
    NSGA2Config,
    RandomConfig,
    SearchConfig,
)

# ---- stage 2: search ----------------------------------------------------------------------------
MAX_RECALIB_BATCHES = limits.MAX_RECALIB_BATCHES


@dataclass(frozen=True)
class SearchSpec:
    strategy: str = "evolution"
    generations: int = 20
    population: int = 50
    parents: int = 20
    alpha: float = 0.5
    seed: int = 0
    energy_budget_uj: float | None = None
    param_limit: int | None = None
    eval_seed: int = 0  # picks the BN-recalibration batches; part of a candidate's evaluation
    # BN-recalibration batches per candidate (x the evaluation batch size of 128 images); part of
    # its evaluation. Searches recorded before this setting existed used 4, its default.
    recalib_batches: int = 4
    # The hypervolume reference energy, fixed when the search is created (`with_reference`: the
    # space's energy bound on the run's dataset). None in what a user asks for, and in searches
    # recorded before it existed; theirs is derived the same way when they are loaded.
    reference_energy_uj: float | None = None
    # Hardware profile the search prices energy under (engine.profiles): F_AEB and the energy
    # budget use its microjoules. Searches recorded before profiles existed used the default.
    energy_profile: str = DEFAULT_PROFILE
    # Generation 0 starts with the space's largest and cheapest arch (`SearchConfig.anchors`),
    # for every strategy. Searches recorded before it existed read as True; their generation 0
    # was already drawn, and a saved state without it resumes without (`Search.from_state`):
    # evolutions before anchors, random and NSGA-II searches before they took them (those stored
    # no `front_box`; `tasks.history.anchors_applied` says how each one ran).
    anchors: bool = True
    # The normalized hypervolume's box (`engine.pareto.FrontBox` as a dict: chance accuracy, the
    # space's energy floor and bound under `energy_profile`), set with the reference when the
    # search is created or validated (`with_reference`, `validate_search`). None in what a user
    # asks for and in searches recorded before it existed (derived when they are loaded).
    front_box: dict[str, Any] | None = None
    # Screen each generation's children with the predictor (`OperatorConfig.predictor`), fitted on
    # the run's evaluated candidates: evolution and NSGA-II only. Left unset (None), it reads as
    # `PREDICTOR_DEFAULT` for them and False for random, as in searches recorded before it
    # existed; a saved state without it resumes without (`Search.from_state`;
    # `tasks.history.predictor_applied` says how each one ran).
    predictor: bool | None = None

    def __post_init__(self) -> None:
        if self.predictor is None:
            default = PREDICTOR_DEFAULT and self.strategy != "random"
            object.__setattr__(self, "predictor", default)

    def validate(self) -> SearchConfig:
        """The config of a NEW search, its settings within the documented maxima
        (`engine.limits.check_search`: sizes, parents at most the population, alpha, budget,
        seed); what launch, `search`, the launch form and a resumed search check before anything
        is created. `config()` alone is for searches already recorded."""
        limits.check_search(
            strategy=self.strategy,
            generations=self.generations,
            population=self.population,
            parents=self.parents,
            alpha=self.alpha,
            seed=self.seed,
            energy_budget_uj=self.energy_budget_uj,
            param_limit=self.param_limit,
            recalib_batches=self.recalib_batches,
        )
        return self.config()

    def config(self) -> SearchConfig:
        get_profile(self.energy_profile)  # one-line error for an unknown profile
        if not isinstance(self.anchors, bool):
            raise AutoSpikformerError(f"anchors must be true or false, got {self.anchors!r}")
        if not isinstance(self.predictor, bool):
            raise AutoSpikformerError(f"predictor must be true or false, got {self.predictor!r}")
        if self.predictor and self.strategy == "random":
            raise AutoSpikformerError(
                "random search has no predictor: it screens evolution and nsga2 children only"
            )
        limits.check_setting("recalib_batches", self.recalib_batches)
        common = dict(
            population=self.population,
            generations=self.generations,
            alpha=self.alpha,
            seed=self.seed,
            param_limit=self.param_limit,
            energy_budget_uj=self.energy_budget_uj,
            reference_energy_uj=self.reference_energy_uj,
            anchors=self.anchors,
            front_box=self.front_box,
        )
        if self.strategy == "evolution":
            parents = min(self.parents, self.population)
            return EvolutionConfig(parents=parents, predictor=self.predictor, **common)
        if self.strategy == "nsga2":
            return NSGA2Config(predictor=self.predictor, **common)
        if self.strategy == "random":
            return RandomConfig(**common)
        raise AutoSpikformerError(
            f"unknown strategy {self.strategy!r}; use evolution, nsga2 or random"
        )
