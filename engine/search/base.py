"""What every search strategy shares: bookkeeping of evaluated candidates, constraints, F_AEB
ranking, per-generation summaries and a JSON state to resume from.

A strategy only proposes archs (`_propose`); it never knows how they are evaluated. The injected
`evaluate(archs) -> results` is called once per generation with all of that generation's new
archs, so it can batch them through one supernet or fan them out to workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from engine.errors import AutoSpikformerError, SearchError
from engine.pareto import (
    REFERENCE_ENERGY_FACTOR,
    f_aeb,
    f_aeb_order,
    hypervolume,
    normalized_hypervolume,
    pareto_front,
)
from engine.results import EvalResult
from engine.search.config import PREDICTOR_SETTINGS, SearchConfig
from engine.search.predictor import MIN_TRAINING, Front, Prediction, Predictor, select
from engine.search.predictor import tau as predictor_tau
from engine.space import Arch, SearchSpace

Evaluate = Callable[[list[Arch]], list[EvalResult]]
ParamCount = Callable[[Arch], int]
PredictedOrder = Callable[[list[Arch], Prediction], list[int]]

# 2: the paper's operators (OperatorConfig.structure_prob) and a fixed hypervolume reference.
STATE_VERSION = 2
# Settings a version-1 state may differ in: it was saved with the old operators (mutation_prob
# meant "every gene") and without a reference; it resumes with today's operators and reference.
V1_FREE_SETTINGS = ("mutation_prob", "structure_prob", "reference_energy_uj")


@dataclass(frozen=True)
class GenerationSummary:
    """One generation of a search.

    `generation` is the 0-based index of this generation (0 is the initial random one);
    `evaluated` the candidates new in it; `infeasible` the ids among them over the energy budget;
    `best` the best feasible candidate by F_AEB so far (None while none is feasible);
    `pareto` the ids of the feasible Pareto front so far, lowest energy first; `hypervolume` that
    front's hypervolume at `reference_energy_uj` and accuracy 0, a reference fixed for the whole
    search (`Search.reference_energy_uj`), so the history is comparable across generations and
    never decreases; `total_evaluated` the candidates evaluated so far, infeasible ones included;
    `hypervolume_normalized` the same front's normalized hypervolume (`engine.pareto`: accuracy
    above chance x log10 energy, in [0, 1]) in `SearchConfig.front_box`, None without a box;
    `predictor_tau` Kendall's tau between the accuracy the predictor gave the candidates of this
    generation before they were evaluated and the accuracy they measured (None when the
    generation was not screened: generation 0, no predictor, or too few candidates to fit one).
    """

    generation: int
    evaluated: list[EvalResult]
    infeasible: list[str]
    best: EvalResult | None
    best_fitness: float | None
    hypervolume: float
    reference_energy_uj: float
    pareto: list[str]
    total_evaluated: int
    hypervolume_normalized: float | None = None
    predictor_tau: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "evaluated": [r.to_dict() for r in self.evaluated],
            "infeasible": list(self.infeasible),
            "best": self.best.to_dict() if self.best is not None else None,
            "best_fitness": self.best_fitness,
            "hypervolume": self.hypervolume,
            "reference_energy_uj": self.reference_energy_uj,
            "pareto": list(self.pareto),
            "total_evaluated": self.total_evaluated,
            "hypervolume_normalized": self.hypervolume_normalized,
            "predictor_tau": self.predictor_tau,
        }


class Search:
    """Base of the search strategies. Subclasses set `strategy` and implement `_propose`.

    Args:
        space: the search space every candidate is drawn from.
        config: the strategy's settings; `config.seed` seeds the search's only random generator.
        evaluate: `archs -> results`, one `EvalResult` per arch (any order).
        param_count: `arch -> parameter count`; required when `config.param_limit` is set.
        prior: candidates evaluated by earlier searches of the run (same supernet), which the
            predictor learns from too (`OperatorConfig.predictor`); ignored without it.
    """

    strategy: ClassVar[str] = ""
    config_type: ClassVar[type[SearchConfig]] = SearchConfig

    def __init__(
        self,
        space: SearchSpace,
        config: SearchConfig,
        evaluate: Evaluate,
        *,
        param_count: ParamCount | None = None,
        prior: Sequence[EvalResult] = (),
    ) -> None:
        if not isinstance(config, self.config_type):
            raise SearchError(
                f"{self.strategy} search needs a {self.config_type.__name__}, "
                f"got {type(config).__name__}"
            )
        self.space = space
        self.config = config
        self._evaluate = evaluate
        self._param_count = param_count
        self._rng = np.random.default_rng(config.seed)
        self._generation = 0
        self._results: dict[str, EvalResult] = {}  # insertion order is evaluation order
        self._generation_of: dict[str, int] = {}
        self._infeasible: set[str] = set()
        self._population: list[str] = []
        self._params: dict[str, int] = {}
        self._fitness: dict[str, float] = {}
        self._ranking: list[str] = []  # feasible ids, best F_AEB first
        self._reference: float | None = config.reference_energy_uj
        self._anchors = config.anchors  # False for a state saved before anchors (`_load`)
        # False for a state saved before the predictor (`_load`).
        self._use_predictor = bool(getattr(config, "predictor", False))
        self._prior = list(prior)
        self._predicted: dict[str, float] = {}  # predicted accuracy of the archs being evaluated
        self._check_param_limit()

    # ---- public state ---------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Generations completed so far."""
        return self._generation

    @property
    def done(self) -> bool:
        return self._generation >= self.config.generations

    @property
    def evaluated(self) -> list[EvalResult]:
        """Every candidate evaluated so far, in evaluation order, infeasible ones included."""
        return list(self._results.values())

    @property
    def infeasible_ids(self) -> frozenset[str]:
        return frozenset(self._infeasible)

    @property
    def population(self) -> list[Arch]:
        """The archs proposed and evaluated in the latest generation."""
        return [self._results[i].arch for i in self._population]

    def generation_of(self, arch_id: str) -> int:
        """The generation in which the candidate `arch_id` was evaluated."""
        return self._generation_of[arch_id]

    def fitness(self) -> dict[str, float]:
        """F_AEB at `config.alpha` of every feasible candidate, min-max over all of them."""
        return dict(self._fitness)

    def ranked(self) -> list[EvalResult]:
        """Feasible candidates, best F_AEB first; ties go to the more accurate, then the cheaper,
        then the earlier evaluated one, so every winner lies on the Pareto front."""
        return [self._results[i] for i in self._ranking]

    @property
    def best(self) -> EvalResult | None:
        return self._results[self._ranking[0]] if self._ranking else None

    @property
    def reference_energy_uj(self) -> float | None:
        """Energy of the hypervolume reference point, fixed for the whole search: the config's,
        else 1.1 x the largest energy among the first feasible candidates (None before them)."""
        return self._reference

    # ---- running --------------------------------------------------------------------------
    def step(self) -> GenerationSummary:
        """Propose, evaluate (one call) and record exactly one generation."""
        if self.done:
            raise SearchError(f"search is done ({self.config.generations} generations)")
        self._predicted = {}
        archs = self._propose()
        results = self._evaluate_batch(archs) if archs else []
        index = self._generation
        budget = self.config.energy_budget_uj
        new_infeasible = []
        for result in results:
            self._results[result.id] = result
            self._generation_of[result.id] = index
            ok = math.isfinite(result.accuracy) and math.isfinite(result.energy_uj)
            if not ok or (budget is not None and result.energy_uj > budget):
                self._infeasible.add(result.id)
                new_infeasible.append(result.id)
        self._population = [r.id for r in results]
        self._generation += 1
        self._fix_reference()
        self._rank()
        self._after_generation()
        summary = self._summary(index, results, new_infeasible)
        if self._predicted:
            summary = replace(summary, predictor_tau=predictor_tau(self._predicted, results))
        return summary

    def run(
        self, on_generation: Callable[[GenerationSummary], None] | None = None
    ) -> list[GenerationSummary]:
        """Step until `done`, calling `on_generation(summary)` after each generation."""
        summaries = []
        while not self.done:
            summary = self.step()
            summaries.append(summary)
            if on_generation is not None:
                on_generation(summary)
        return summaries

    # ---- strategy hooks -------------------------------------------------------------------
    def _propose(self) -> list[Arch]:
        """The distinct, never evaluated archs of the next generation (may be fewer than P)."""
        raise NotImplementedError

    def _after_generation(self) -> None:
        """Update strategy state (e.g. parents) once a generation is recorded."""

    def _state_extra(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state: dict[str, Any]) -> None:
        """Restore what `_state_extra` saved."""

    def _after_load(self) -> None:
        """Rebuild strategy state after `_load_extra`; by default as after a generation (right
        for state that is a function of the candidates evaluated so far)."""
        self._after_generation()

    # ---- shared helpers -------------------------------------------------------------------
    def _rank(self) -> None:
        """Score the feasible candidates by F_AEB (min-max over them) and sort, best first."""
        ids = [i for i in self._results if i not in self._infeasible]
        feasible = [self._results[i] for i in ids]
        scores = f_aeb(
            [r.accuracy for r in feasible], [r.energy_uj for r in feasible], self.config.alpha
        )
        self._fitness = {i: float(s) for i, s in zip(ids, scores, strict=True)}
        # Ties in F_AEB (e.g. equal accuracy at alpha 0) go to the other objective, then to
        # evaluation order, so the winner at every alpha is on the front.
        order = f_aeb_order(
            [r.accuracy for r in feasible], [r.energy_uj for r in feasible], self.config.alpha
        )
        self._ranking = [ids[k] for k in order]

    def _fix_reference(self) -> None:
        """Without a configured reference: 1.1 x the largest energy of the first generation that
        had a feasible candidate, fixed from then on."""
        if self._reference is not None:
            return
        for g in range(self._generation):
            energies = [
                r.energy_uj
                for i, r in self._results.items()
                if self._generation_of.get(i) == g and i not in self._infeasible
            ]
            if energies:
                self._reference = REFERENCE_ENERGY_FACTOR * max(energies)
                return

    def _check_param_limit(self) -> None:
        limit = self.config.param_limit
        if limit is None:
            return
        if self._param_count is None:
            raise SearchError(f"param_limit={limit} needs a param_count function")
        smallest = self._params_of(self.space.smallest())
        if smallest > limit:
            raise SearchError(
                f"no architecture in the space meets param_limit={limit}; "
                f"the smallest has {smallest}"
            )

    def _params_of(self, arch: Arch) -> int:
        if arch.id not in self._params:
            assert self._param_count is not None
            self._params[arch.id] = int(self._param_count(arch))
        return self._params[arch.id]

    def _admissible(self, arch: Arch, taken: set[str]) -> bool:
        """New to this search and this generation, and within `param_limit` (pre-evaluation)."""
        if arch.id in self._results or arch.id in taken:
            return False
        limit = self.config.param_limit
        return limit is None or self._params_of(arch) <= limit

    def _fill(
        self, draw: Callable[[], Arch], first: Sequence[Arch] = (), count: int | None = None
    ) -> list[Arch]:
        """Up to `count` (default P) admissible archs: those of `first` that are admissible, then
        draws, each slot given `max_retries` draws. Bounded by construction: never more slots
        than the space has archs left (its size less those evaluated), and the first slot left
        empty ends the fill (the later ones would draw from the same, fuller pool), so a count
        larger than the space costs at most `max_retries` draws per arch it holds, plus
        `max_retries`."""
        count = self.config.population if count is None else count
        archs: list[Arch] = []
        taken: set[str] = set()
        for arch in first[:count]:
            if self._admissible(arch, taken):
                archs.append(arch)
                taken.add(arch.id)
        left = self.space.size - len(self._results) - len(archs)
        for _ in range(max(0, min(count - len(archs), left))):
            for _ in range(self.config.max_retries):
                arch = draw()
                if self._admissible(arch, taken):
                    archs.append(arch)
                    taken.add(arch.id)
                    break
            else:
                break
        return archs

    def _screened(self, draw: Callable[[], Arch], order: PredictedOrder) -> list[Arch]:
        """The next generation's children: P of them bred by `draw`, or with the predictor,
        `screen_factor` x P bred and the P that `predictor.select` keeps by `order` (children's
        indices, best first, from their `predictor.Prediction`). Without enough evaluated
        candidates to fit the predictor (`predictor.MIN_TRAINING`), P bred as without it."""
        c = self.config
        training = self._training_set() if self._use_predictor else []
        if len(training) < MIN_TRAINING:
            return self._fill(draw)
        pool = self._fill(draw, count=c.population * c.screen_factor)  # type: ignore[attr-defined]
        if not pool:
            return pool
        seed = int(self._rng.integers(2**31 - 1))
        model = Predictor(training, max(self.space.depth), seed)
        prediction = model.predict(pool)
        feasible = self.ranked()
        front = Front([r.accuracy for r in feasible], [r.energy_uj for r in feasible], c.front_box)
        keep = select(
            prediction,
            c.population,
            c.explore_share,  # type: ignore[attr-defined]
            lambda p: order(pool, p),
            front,
        )
        self._predicted = {pool[k].id: float(prediction.accuracy[k]) for k in keep}
        return [pool[k] for k in keep]

    def _training_set(self) -> list[EvalResult]:
        """What the predictor learns from: this search's candidates and the run's earlier ones
        (`prior`) priced under the same energy profile, each arch once (this search's first)."""
        own = list(self._results.values())
        profiles = {r.energy_profile for r in own}
        seen = {r.id for r in own}
        earlier = [r for r in self._prior if r.id not in seen and r.energy_profile in profiles]
        return own + list({r.id: r for r in earlier}.values())

    def _anchor_archs(self) -> tuple[Arch, ...]:
        """The space's two ends while nothing is evaluated yet (`SearchConfig.anchors`)."""
        return self.space.anchors() if self._anchors and not self._results else ()

    def _sample_new(self, first: Sequence[Arch] = ()) -> list[Arch]:
        """Up to P admissible archs: `first` (where admissible), then uniform draws."""
        archs = self._fill(lambda: self.space.sample(self._rng), first)
        if not archs and not self._results and self.config.param_limit is not None:
            tries = self.config.population * self.config.max_retries
            raise SearchError(
                f"no architecture meeting param_limit={self.config.param_limit} was drawn in "
                f"{tries} tries; the smallest has {self._params_of(self.space.smallest())}"
            )
        return archs

    def _evaluate_batch(self, archs: list[Arch]) -> list[EvalResult]:
        results = list(self._evaluate(list(archs)))
        by_id: dict[str, EvalResult] = {}
        for r in results:
            if not isinstance(r, EvalResult):
                raise SearchError(f"evaluate returned a {type(r).__name__}, not an EvalResult")
            by_id[r.id] = r
        wanted = [a.id for a in archs]
        if len(results) != len(archs) or set(by_id) != set(wanted):
            raise SearchError(
                f"evaluate returned {len(results)} results that do not match the {len(archs)} "
                "archs it was given"
            )
        return [by_id[i] for i in wanted]

    def _summary(
        self, index: int, results: list[EvalResult], infeasible: list[str]
    ) -> GenerationSummary:
        ids = [i for i in self._results if i not in self._infeasible]
        acc = [self._results[i].accuracy for i in ids]
        energy = [self._results[i].energy_uj for i in ids]
        ref = self._reference
        best = self._ranking[0] if self._ranking else None
        box = self.config.front_box
        return GenerationSummary(
            generation=index,
            evaluated=list(results),
            infeasible=infeasible,
            best=self._results[best] if best is not None else None,
            best_fitness=self._fitness[best] if best is not None else None,
            hypervolume=hypervolume(acc, energy, ref, 0.0) if ref is not None else 0.0,
            reference_energy_uj=ref if ref is not None else 0.0,
            pareto=[ids[k] for k in pareto_front(acc, energy)],
            total_evaluated=len(self._results),
            hypervolume_normalized=normalized_hypervolume(acc, energy, box) if box else None,
        )

    # ---- serialization --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume after the current generation, as plain JSON."""
        return {
            "version": STATE_VERSION,
            "strategy": self.strategy,
            "config": self.config.to_dict(),
            "space": self.space.to_dict(),
            "generation": self._generation,
            "rng": self._rng.bit_generator.state,
            "evaluated": [r.to_dict() for r in self._results.values()],
            "generation_of": dict(self._generation_of),
            "population": list(self._population),
            "infeasible": sorted(self._infeasible),
            "reference_energy_uj": self._reference,
            **self._state_extra(),
        }

    @classmethod
    def from_state(
        cls,
        space: SearchSpace,
        config: SearchConfig,
        evaluate: Evaluate,
        state: dict[str, Any],
        *,
        param_count: ParamCount | None = None,
        prior: Sequence[EvalResult] = (),
    ) -> Search:
        """Resume a search saved by `state_dict`.

        `space` and `config` must be the ones it was saved with, except that `generations` may
        differ (to extend or shorten a search). A state saved before the paper's operators and
        the fixed reference (version 1) may also differ in the operator probabilities and the
        reference: it resumes with the operators and `reference_energy_uj` of `config` (or, when
        that is None, 1.1 x the largest energy of its first feasible generation). `front_box`
        only measures and may differ (a state without one keeps `config`'s; a `config` without
        one takes the state's). A state saved before its strategy had anchors resumes without
        them, whatever `config.anchors` says, and one saved before the predictor without it.
        `prior` must be the one the search started with, for a resumed search to propose what
        the uninterrupted one does.
        """
        search = cls(space, config, evaluate, param_count=param_count, prior=prior)
        try:
            search._load(state)
        except AutoSpikformerError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SearchError(f"malformed search state ({type(e).__name__}: {e})") from None
        return search

    def _load(self, state: dict[str, Any]) -> None:
        version = state.get("version")
        if version not in (1, STATE_VERSION):
            raise SearchError(f"search state version {version!r} is not supported")
        if state["strategy"] != self.strategy:
            raise SearchError(
                f"search state is from a {state['strategy']!r} search, not {self.strategy!r}"
            )
        free = {"generations", *(V1_FREE_SETTINGS if version == 1 else ())}
        free.add("front_box")  # it only measures; a state saved before it resumes with the caller's
        if "anchors" not in state["config"]:  # saved before anchors: it resumes without them
            free.add("anchors")
            self._anchors = False
        if hasattr(self.config, "predictor") and "predictor" not in state["config"]:
            free.update(PREDICTOR_SETTINGS)  # saved before the predictor: resumes without it
            self._use_predictor = False
        saved = {k: v for k, v in state["config"].items() if k not in free}
        mine = {k: v for k, v in self.config.to_dict().items() if k not in free}
        if saved != mine:
            raise SearchError("search state was saved with different search settings")
        if state["space"] != self.space.to_dict():
            raise SearchError("search state was saved with a different search space")
        rng_state = state["rng"]
        bit_generator = getattr(np.random, rng_state["bit_generator"], None)
        is_class = isinstance(bit_generator, type)
        if not (is_class and issubclass(bit_generator, np.random.BitGenerator)):
            raise SearchError(f"unknown bit generator {rng_state['bit_generator']!r}")
        generator = bit_generator()
        generator.state = rng_state
        self._rng = np.random.Generator(generator)
        self._generation = int(state["generation"])
        self._results = {}
        for d in state["evaluated"]:
            result = EvalResult.from_dict(d)
            self._results[result.id] = result
        self._generation_of = {str(k): int(v) for k, v in state["generation_of"].items()}
        self._population = [str(i) for i in state["population"]]
        self._infeasible = {str(i) for i in state["infeasible"]}
        unknown = (set(self._population) | self._infeasible | set(self._generation_of)) - set(
            self._results
        )
        if unknown:
            raise SearchError(f"search state names {len(unknown)} candidate(s) it never evaluated")
        if version == STATE_VERSION:
            saved_ref = state["reference_energy_uj"]
            self._reference = None if saved_ref is None else float(saved_ref)
        self._fix_reference()
        if self.config.front_box is None and state["config"].get("front_box") is not None:
            self.config = replace(self.config, front_box=state["config"]["front_box"])
        self._load_extra(state)
        self._rank()
        self._after_load()
