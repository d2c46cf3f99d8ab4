"""Evolutionary search (paper 4.2 and 5.1, following AutoFormer's evolution).

Generation 0 is P distinct random candidates; with `anchors` (the default) its first two are the
space's two ends instead, `largest()` and `cheapest()`, so the front's ends are known from the start
(the paper draws all of generation 0 at random; see `SearchConfig.anchors`). After every
generation the parents are the top K by F_AEB among ALL feasible candidates evaluated so far in this
search (AutoFormer keeps its top-k list across generations the same way), with F_AEB min-max scaled
over those candidates. Each child of the next generation is, with probability `crossover_prob`, the
crossover of two distinct random parents (redrawn until their depths match, as AutoFormer does),
else a random parent mutated by `operators.mutate` (one SNN parameter, AutoFormer's probabilities
for the architecture genes). As in AutoFormer, crossover children are not mutated again. A child
already evaluated (or already in the generation), or over `param_limit`, is re-drawn up to
`max_retries` times. While no candidate is feasible, children are drawn at random.

With `predictor` (`OperatorConfig`), each generation after the first breeds `screen_factor` x P
children that way and evaluates the P the predictor ranks best by F_AEB (some kept for
exploration; `engine.search.predictor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from engine.pareto import f_aeb
from engine.results import EvalResult
from engine.search.base import Evaluate, ParamCount, Search
from engine.search.config import EvolutionConfig
from engine.search.operators import crossover, mutate, pick_pair
from engine.search.predictor import Prediction
from engine.space import Arch, SearchSpace


class EvolutionSearch(Search):
    """Evolutionary search with F_AEB fitness. See `Search` for the arguments."""

    strategy: ClassVar[str] = "evolution"
    config_type: ClassVar[type[EvolutionConfig]] = EvolutionConfig
    config: EvolutionConfig

    def __init__(
        self,
        space: SearchSpace,
        config: EvolutionConfig,
        evaluate: Evaluate,
        *,
        param_count: ParamCount | None = None,
        prior: Sequence[EvalResult] = (),
    ) -> None:
        self._parents: list[str] = []
        super().__init__(space, config, evaluate, param_count=param_count, prior=prior)

    @property
    def parents(self) -> list[EvalResult]:
        """The top-K feasible candidates by F_AEB that breed the next generation."""
        return [self._results[i] for i in self._parents]

    def _after_generation(self) -> None:
        self._parents = self._ranking[: self.config.parents]

    def _propose(self) -> list[Arch]:
        if not self.parents:
            return self._sample_new(self._anchor_archs())
        return self._screened(self._breed, self._predicted_order)

    def _predicted_order(self, pool: list[Arch], prediction: Prediction) -> list[int]:
        """Children best first by predicted F_AEB, min-max scaled over the feasible candidates
        evaluated so far and the children's predictions together; children predicted over the
        energy budget last."""
        known = self.ranked()
        acc = [r.accuracy for r in known] + prediction.accuracy.tolist()
        energy = [r.energy_uj for r in known] + prediction.energy_uj.tolist()
        score = f_aeb(acc, energy, self.config.alpha)[len(known) :]
        budget = self.config.energy_budget_uj
        over = [budget is not None and e > budget for e in prediction.energy_uj.tolist()]
        return sorted(range(len(pool)), key=lambda k: (over[k], -score[k], k))

    def _breed(self) -> Arch:
        parents = [r.arch for r in self.parents]
        c = self.config
        if len(parents) >= 2 and self._rng.random() < c.crossover_prob:
            i, j = pick_pair(lambda: int(self._rng.integers(len(parents))), parents)
            return crossover(parents[i], parents[j], self.space, self._rng)
        parent = parents[int(self._rng.integers(len(parents)))]
        return mutate(parent, self.space, self._rng, c.mutation_prob, c.structure_prob)

    def _state_extra(self) -> dict[str, Any]:
        return {"parents": list(self._parents)}
