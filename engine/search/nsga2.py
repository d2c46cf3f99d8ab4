"""NSGA-II (Deb et al. 2002) over (accuracy up, energy down): a search for the whole front.

An F_AEB evolution optimises one alpha, so its candidates crowd around that alpha's winner;
NSGA-II keeps a population spread along the front, so re-ranking its candidates at another alpha
(`--alpha` only ranks here) still finds good subnets.

- Generation 0: P distinct random candidates, as every strategy draws them, the first two being
  the space's largest and cheapest arch with `anchors` (the default, `SearchConfig.anchors`).
- Survival: the P survivors are chosen among the previous survivors and the new children, by
  Deb's constrained non-dominated rank, then crowding distance (largest first), then evaluation
  order. Constraint domination: a feasible candidate beats an infeasible one; two infeasible
  ones compare by their violation `(energy - budget) / budget` (a non-finite result violates
  infinitely), each level of violation being one front; feasible ones by Pareto dominance.
  `param_limit` is checked before evaluation, as in every strategy, so no over-limit candidate
  is ever evaluated and its violation is never needed.
- Mating: binary tournaments among the survivors on (rank, crowding), the rank and crowding
  being recomputed over the survivors (the ranks equal those of the survival step; the crowding
  of the last, partly kept front is taken among what was kept, which makes the state a function
  of the survivor ids). A child is, with probability `crossover_prob`, the crossover of two
  tournament winners (redrawn until their depths match, `operators.pick_pair`), else a mutated
  tournament winner: the same genome and operators as the F_AEB evolution. Children already
  evaluated are redrawn (`max_retries`), so no arch id is evaluated twice.
- Predictor (`OperatorConfig.predictor`): each generation after the first breeds
  `screen_factor` x P children and evaluates the P best by constrained rank and crowding among
  the survivors and the children at their predicted objectives (some kept for exploration;
  `engine.search.predictor`).
- Resume: the state adds the survivor ids; everything else is derived, so a resumed search
  proposes exactly what the uninterrupted one does, and the seed fixes every draw.

Library choice: optuna's NSGA-II sampler cannot express this conditional genome (per-block genes
depend on depth) and pymoo handles mixed variables only through its own GA loop, which would
bypass our operators, dedup and batched evaluation. The sorting and crowding are therefore
written here (`engine.pareto.nondominated_fronts`, `crowding_distance`, a few dozen lines) and
tested against pymoo's `NonDominatedSorting` and `calc_crowding_distance` as an oracle
(tests/engine/test_pareto.py; pymoo is a dev dependency only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from engine.pareto import crowding_distance, nondominated_fronts
from engine.results import EvalResult
from engine.search.base import Evaluate, ParamCount, Search
from engine.search.config import OperatorConfig
from engine.search.operators import crossover, mutate, pick_pair
from engine.search.predictor import Prediction
from engine.space import Arch, SearchSpace


def constrained_fronts(
    accuracies: list[float], energies: list[float], violations: list[float]
) -> list[list[int]]:
    """Deb's constrained non-dominated sorting: the feasible candidates' (violation 0) fronts,
    then the infeasible ones grouped by violation, least first. Indices within a front ascend
    (energy order for feasible fronts)."""
    v = np.asarray(violations, dtype=float)
    feasible = np.flatnonzero(v == 0)
    fronts: list[list[int]] = []
    if feasible.size:
        acc = np.asarray(accuracies, dtype=float)[feasible]
        energy = np.asarray(energies, dtype=float)[feasible]
        fronts += [feasible[f].tolist() for f in nondominated_fronts(acc, energy)]
    infeasible = np.flatnonzero(v != 0)
    for level in sorted(set(v[infeasible].tolist())):
        fronts.append(infeasible[v[infeasible] == level].tolist())
    return fronts


def rank_and_crowding(
    accuracies: list[float], energies: list[float], violations: list[float]
) -> tuple[list[int], list[float], list[list[int]]]:
    """Per candidate: its constrained front (0 = best) and crowding distance within that front
    (0 for infeasible fronts, which compare by violation alone, as pymoo's survival does)."""
    n = len(accuracies)
    rank, crowd = [0] * n, [0.0] * n
    fronts = constrained_fronts(accuracies, energies, violations)
    for k, front in enumerate(fronts):
        feasible = violations[front[0]] == 0
        distances = (
            crowding_distance([accuracies[i] for i in front], [energies[i] for i in front])
            if feasible
            else np.zeros(len(front))
        )
        for i, d in zip(front, distances, strict=True):
            rank[i], crowd[i] = k, float(d)
    return rank, crowd, fronts


class NSGA2Search(Search):
    """NSGA-II. Takes any `OperatorConfig` (an `EvolutionConfig` too, whose `parents` it ignores),
    so it can share one config and budget with the evolution. See `Search` for the arguments."""

    strategy: ClassVar[str] = "nsga2"
    config_type: ClassVar[type[OperatorConfig]] = OperatorConfig
    config: OperatorConfig

    def __init__(
        self,
        space: SearchSpace,
        config: OperatorConfig,
        evaluate: Evaluate,
        *,
        param_count: ParamCount | None = None,
        prior: Sequence[EvalResult] = (),
    ) -> None:
        self._survivors: list[str] = []
        self._mating_rank: list[int] = []
        self._mating_crowd: list[float] = []
        super().__init__(space, config, evaluate, param_count=param_count, prior=prior)

    @property
    def survivors(self) -> list[EvalResult]:
        """The population that breeds the next generation, best (rank, crowding) first."""
        return [self._results[i] for i in self._survivors]

    def _violation(self, arch_id: str) -> float:
        r = self._results[arch_id]
        if not (math.isfinite(r.accuracy) and math.isfinite(r.energy_uj)):
            return math.inf
        budget = self.config.energy_budget_uj
        if budget is None or r.energy_uj <= budget:
            return 0.0
        return (r.energy_uj - budget) / budget

    def _objectives(self, ids: list[str]) -> tuple[list[float], list[float], list[float]]:
        violations = [self._violation(i) for i in ids]
        # Non-finite objectives only occur with infinite violation, where they are never used.
        finite = [v < math.inf for v in violations]
        results = [self._results[i] for i in ids]
        acc = [r.accuracy if ok else 0.0 for r, ok in zip(results, finite, strict=True)]
        energy = [r.energy_uj if ok else 0.0 for r, ok in zip(results, finite, strict=True)]
        return acc, energy, violations

    def _select(self, pool: list[str]) -> list[str]:
        """NSGA-II survival: the best `population` of `pool` (in evaluation order) by constrained
        rank, then crowding distance (largest first), then evaluation order."""
        rank, crowd, _ = rank_and_crowding(*self._objectives(pool))
        order = sorted(range(len(pool)), key=lambda k: (rank[k], -crowd[k], k))
        return [pool[k] for k in order[: self.config.population]]

    def _after_generation(self) -> None:
        seen = set(self._survivors)
        pool = self._survivors + [i for i in self._population if i not in seen]
        position = {i: k for k, i in enumerate(self._results)}
        pool.sort(key=position.__getitem__)  # evaluation order: the last tie-break
        self._survivors = self._select(pool)
        self._mating()

    def _mating(self) -> None:
        rank, crowd, _ = rank_and_crowding(*self._objectives(self._survivors))
        self._mating_rank, self._mating_crowd = rank, crowd

    def _after_load(self) -> None:
        self._mating()  # the survivors come from the state

    def _state_extra(self) -> dict[str, Any]:
        return {"survivors": list(self._survivors)}

    def _load_extra(self, state: dict[str, Any]) -> None:
        survivors = [str(i) for i in state["survivors"]]
        if set(survivors) - set(self._results):
            raise ValueError("survivors that were never evaluated")
        self._survivors = survivors

    def _propose(self) -> list[Arch]:
        if not self._survivors:
            return self._sample_new(self._anchor_archs())
        return self._screened(self._breed, self._predicted_order)

    def _predicted_order(self, pool: list[Arch], prediction: Prediction) -> list[int]:
        """Children best first by constrained rank and crowding (then breeding order) among the
        survivors, at their measured objectives, and the children, at their predicted ones."""
        acc, energy, violations = self._objectives(self._survivors)
        budget = self.config.energy_budget_uj
        for a, e in zip(prediction.accuracy.tolist(), prediction.energy_uj.tolist(), strict=True):
            acc.append(a)
            energy.append(e)
            violations.append(0.0 if budget is None or e <= budget else (e - budget) / budget)
        rank, crowd, _ = rank_and_crowding(acc, energy, violations)
        n = len(self._survivors)
        return sorted(range(len(pool)), key=lambda k: (rank[n + k], -crowd[n + k], k))

    def _tournament(self) -> int:
        """Binary tournament: lower rank wins, then larger crowding, then the first drawn."""
        n = len(self._survivors)
        i, j = int(self._rng.integers(n)), int(self._rng.integers(n))
        key_i = (self._mating_rank[i], -self._mating_crowd[i])
        key_j = (self._mating_rank[j], -self._mating_crowd[j])
        return j if key_j < key_i else i

    def _breed(self) -> Arch:
        archs = [self._results[i].arch for i in self._survivors]
        c = self.config
        if len(archs) >= 2 and self._rng.random() < c.crossover_prob:
            i, j = pick_pair(self._tournament, archs)
            return crossover(archs[i], archs[j], self.space, self._rng)
        parent = archs[self._tournament()]
        return mutate(parent, self.space, self._rng, c.mutation_prob, c.structure_prob)
