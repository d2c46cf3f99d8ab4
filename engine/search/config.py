"""Frozen, validated settings for the search strategies."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from engine import limits
from engine.errors import SearchError
from engine.pareto import FrontBox, check_alpha

MAX_SCREEN_FACTOR = 100
# Whether the evolution and NSGA-II screen their children with the predictor unless told
# otherwise: the one default of `OperatorConfig.predictor`, the CLI's `--predictor`, the launch
# form and `SearchSpec`. On: with it both reach random's 96-evaluation front in 48 evaluations on
# mnist-small and it leads plain evolution on every mnist-snn seed (BENCHMARKS.md, search value).
PREDICTOR_DEFAULT = True
# Settings a state saved before the predictor lacks; it resumes without the predictor.
PREDICTOR_SETTINGS = ("predictor", "screen_factor", "explore_share")


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SearchError(f"{name} must be a whole number >= 1, got {value!r}")


def _probability(name: str, value: object) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise SearchError(f"{name} must be a probability in [0, 1], got {value!r}")


def _positive_number(name: str, value: object) -> None:
    if value is None:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (math.isfinite(value) and value > 0):
        raise SearchError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Settings every strategy shares. A search evaluates at most `generations` x `population`.

    Args:
        population: candidates proposed per generation (paper 5.1: 50).
        generations: number of generations, the initial random one included (paper 5.1: 20).
        alpha: weight of energy in F_AEB (paper Eq. 6: 0.5).
        seed: seed of the search's `numpy.random.Generator`.
        param_limit: largest parameter count a candidate may have; checked before evaluation.
        energy_budget_uj: largest energy (uJ) a candidate may have; checked after evaluation,
            since energy depends on firing rates. Over-budget candidates are kept as infeasible.
        max_retries: draws allowed to fill one slot of a generation with a new candidate that
            meets `param_limit` before the slot is left empty.
        reference_energy_uj: the energy of the hypervolume's reference point, fixed for the
            whole search (accuracy 0). Callers that compare searches pass the space's energy
            bound (`engine.search.reference.space_reference_energy_uj`), the same for every
            search of a space and dataset. None: fixed once the first feasible candidates are
            evaluated, at 1.1 x the largest energy among them (comparable within this search).
        anchors: generation 0 starts with the space's two ends, its largest and its cheapest
            arch (`SearchSpace.anchors`), and fills the rest as the strategy draws it, for every
            strategy, so the random baseline starts where the evolution does. The paper draws
            the whole of generation 0 at random (False). F_AEB steers the parents to the knee of
            the front, and the one-parameter DSPS mutation rarely walks from there to the
            cheapest corner, so without the anchors a search can end without the front's
            low-energy end, which a uniform sample of the same size often hits by chance. The
            anchors put both ends on the front from generation 0, for two evaluations; they do
            not make the search pursue the accurate end (BENCHMARKS.md, "Proving ground", runs 5
            and 6). Searches recorded before this setting existed (evolutions before it, random
            and NSGA-II searches before it applied to them) resume without anchors.
        front_box: the box of the normalized hypervolume (`engine.pareto.FrontBox`: chance
            accuracy and the space's analytic energy floor and bound under the search's energy
            profile, `engine.search.reference.front_box`). It only measures: each generation
            reports `hypervolume_normalized` under it (None without a box). A dict is read as a
            `FrontBox`.
    """

    population: int = 50
    generations: int = 20
    alpha: float = 0.5
    seed: int = 0
    param_limit: int | None = None
    energy_budget_uj: float | None = None
    max_retries: int = 100
    reference_energy_uj: float | None = None
    anchors: bool = True
    front_box: FrontBox | None = None

    def __post_init__(self) -> None:
        for name in ("population", "generations", "seed"):  # the documented maxima
            limits.SETTINGS[name].check(name, getattr(self, name), SearchError)
        _positive_int("max_retries", self.max_retries)
        check_alpha(self.alpha)
        if self.param_limit is not None:
            _positive_int("param_limit", self.param_limit)
        budget = self.energy_budget_uj
        if budget is not None:
            number = isinstance(budget, (int, float)) and not isinstance(budget, bool)
            if not number or not (math.isfinite(budget) and budget > 0):
                raise SearchError(f"energy_budget_uj must be a positive number, got {budget!r}")
        _positive_number("reference_energy_uj", self.reference_energy_uj)
        if not isinstance(self.anchors, bool):
            raise SearchError(f"anchors must be true or false, got {self.anchors!r}")
        box = self.front_box
        if isinstance(box, dict):
            try:
                box = FrontBox(**box)
            except TypeError as e:
                raise SearchError(f"front_box: {e}") from None
            object.__setattr__(self, "front_box", box)
        if box is not None and not isinstance(box, FrontBox):
            raise SearchError(f"front_box must be a FrontBox, got {type(box).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SearchError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        return cls(**d)


@dataclass(frozen=True, kw_only=True)
class RandomConfig(SearchConfig):
    """Random search: `generations` x `population` uniformly drawn distinct candidates, the same
    budget as the evolution it is the baseline for, evaluated in `generations` batches."""


@dataclass(frozen=True, kw_only=True)
class OperatorConfig(SearchConfig):
    """Settings of the mutation and crossover operators (`engine.search.operators`) and of the
    predictor that screens their children, shared by the F_AEB evolution and NSGA-II.

    Args:
        crossover_prob: probability that a child is the crossover of two parents (else it is a
            mutated parent). The paper's Pd (5.1: 0.3).
        mutation_prob: AutoFormer's m_prob: probability that a mutation redraws one block's MLP
            ratio, and separately its head count (0.2, AutoFormer's and the authors' default).
        structure_prob: AutoFormer's s_prob: probability that a mutation redraws the depth, and
            separately the embed dim (0.4). The paper's Pm is 0.4 too; it does not say which
            probability Pm is, and under its own reading (one SNN parameter per mutation) the
            SNN genes need none.
        predictor: screen the children with a predictor (`engine.search.predictor`): breed
            `screen_factor` x `population` children, predict their accuracy and energy with
            models fitted on every candidate evaluated so far in the run, and evaluate only
            `population` of them. Generation 0 is drawn as without it (random, or the anchors).
        screen_factor: children bred per evaluated one when screening (20: OFA-style screening
            of many for few; 1 to 100).
        explore_share: share of the evaluated children kept for exploration when screening:
            those the predictor did not pick that widen the predicted front most (0.25; 0.5 for
            evolution, `EvolutionConfig`).

    Before the paper's operators, `mutation_prob` (default 0.4) was the probability of every
    gene changing; a search state saved then resumes with today's operators (see
    `Search.from_state`). A state saved before the predictor resumes without it.
    """

    crossover_prob: float = 0.3
    mutation_prob: float = 0.2
    structure_prob: float = 0.4
    predictor: bool = PREDICTOR_DEFAULT
    screen_factor: int = 20
    explore_share: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        _probability("crossover_prob", self.crossover_prob)
        _probability("mutation_prob", self.mutation_prob)
        _probability("structure_prob", self.structure_prob)
        _probability("explore_share", self.explore_share)
        if not isinstance(self.predictor, bool):
            raise SearchError(f"predictor must be true or false, got {self.predictor!r}")
        _positive_int("screen_factor", self.screen_factor)
        if self.screen_factor > MAX_SCREEN_FACTOR:
            raise SearchError(
                f"screen_factor must be at most {MAX_SCREEN_FACTOR}, got {self.screen_factor}"
            )


@dataclass(frozen=True, kw_only=True)
class EvolutionConfig(OperatorConfig):
    """Evolutionary search settings; the defaults are the paper's section 5.1 where it gives them.

    Paper 5.1 (DSPS): 50 randomly generated candidates (`population=50`), the top 20 selected as
    parents (`parents=20`), offspring by crossover and mutation with probabilities Pd 0.3
    (`crossover_prob=0.3`) and Pm 0.4, 20 generations (`generations=20`); F_AEB with alpha 0.5
    (section 4.4). The mutation itself is the paper's (one SNN parameter) and AutoFormer's
    (architecture genes with m_prob 0.2, s_prob 0.4): see `OperatorConfig`.

    The authors' public code, built on AutoFormer, instead uses select 10 (`parents=10`) and
    exactly 25 crossovers + 25 mutations per generation (about `crossover_prob=0.5`), with
    accuracy alone as fitness (`alpha=0`).

    Args:
        parents: top-K candidates by F_AEB, among all feasible ones evaluated so far, that
            breed the next generation.

    Generation 0 starts with the space's two ends (`anchors`, on by default for every strategy:
    `SearchConfig`).
    """

    parents: int = 20
    # Half, not the quarter of `OperatorConfig`: F_AEB at one alpha screens for one point of the
    # front, and on `mnist-small` (10 paired seeds) half for the front's coverage reached random's
    # 96-evaluation normalized hypervolume in 48 evaluations, 2.00x [1.60, 2.33], where a quarter
    # did not reach it on 6 of 10 seeds (BENCHMARKS.md, search value).
    explore_share: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        limits.SETTINGS["parents"].check("parents", self.parents, SearchError)
        if self.parents > self.population:
            raise SearchError(
                f"parents ({self.parents}) cannot exceed population ({self.population})"
            )


@dataclass(frozen=True, kw_only=True)
class NSGA2Config(OperatorConfig):
    """NSGA-II settings: a population of `population` survivors, children bred from them by
    binary tournaments with the evolution's operators (`OperatorConfig`). `alpha` does not steer
    the search; it only ranks the candidates it found."""
