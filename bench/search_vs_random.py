"""Evolution (F_AEB) vs random search at the same budget, over several seeds.

For each seed both strategies get G x P evaluations with weights inherited from one supernet
(trained once and cached under --workdir). Printed per seed: the hypervolume of each strategy's
feasible front under the fixed reference every search of this space and dataset stores (the
space's analytic energy bound, `tasks.pipeline.search_reference`; accuracy 0), evolution's
margin over random (absolute, and in percent of random's), and Kendall's tau between accuracy
and energy over each candidate set (the paper reports 0.63 for evolution and 0.08 for random, STs).
Because the reference bounds every arch of the space, it is loose: hypervolumes share a large
constant part, so read the margin, not the ratio. A second hypervolume uses the reference the
issue suggests, the energy of the space's largest arch as measured once (one inherited-weight
evaluation; accuracy 0), which is far tighter and so weighs the front's low-energy shape.
`--no-anchors` adds the evolution as the paper runs it, generation 0 all random
(`EvolutionConfig(anchors=False)`), beside the default, whose generation 0 starts with the
space's largest and cheapest arch. `--old-operators` adds the evolution with the previous
operators (every gene redrawn with probability 0.4 and forced to change, from
bench/operators.py) at the same budget, the check of whether they should be kept.

    OMP_NUM_THREADS=1 python bench/search_vs_random.py --dataset digits --space digits-tiny \\
        --workdir /tmp/search-bench --seeds 5 --generations 6 --population 10 --parents 4
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import add_seed_list, bench_evaluator, chosen_seeds
from operators import OLD_MUTATION_PROB, old_mutate

from engine.pareto import f_aeb, hypervolume, kendall_tau
from engine.search import EvolutionConfig, EvolutionSearch, RandomConfig, make_search
from engine.search.operators import crossover
from engine.space import SearchSpace
from tasks.pipeline import search_reference


class OldOperatorsEvolution(EvolutionSearch):
    """The evolution as it bred before the paper's operators."""

    def _breed(self):
        parents = [r.arch for r in self.parents]
        if len(parents) >= 2 and self._rng.random() < self.config.crossover_prob:
            i, j = self._rng.choice(len(parents), size=2, replace=False)
            return crossover(parents[int(i)], parents[int(j)], self.space, self._rng)
        parent = parents[int(self._rng.integers(len(parents)))]
        return old_mutate(parent, self.space, self._rng, OLD_MUTATION_PROB)


def front_hypervolume(results, ref: float) -> float:
    return hypervolume([r.accuracy for r in results], [r.energy_uj for r in results], ref, 0.0)


def best_f_aeb(sets: dict[str, list], alpha: float) -> dict[str, float]:
    """Each strategy's best F_AEB (what the evolution maximises), min-max scaled over the union
    of all strategies' feasible candidates, so the scores compare across strategies."""
    union = {r.id: r for v in sets.values() for r in v}
    ids = list(union)
    scores = f_aeb([union[i].accuracy for i in ids], [union[i].energy_uj for i in ids], alpha)
    score = dict(zip(ids, (float(x) for x in scores), strict=True))
    return {k: max(score[r.id] for r in v) for k, v in sets.items()}


def measured_history(summaries, ref: float) -> list[float]:
    """The hypervolume of the feasible front after each generation, under reference `ref`."""
    seen, out = [], []
    for s in summaries:
        infeasible = set(s.infeasible)
        seen += [r for r in s.evaluated if r.id not in infeasible]
        out.append(front_hypervolume(seen, ref))
    return out


def print_per_generation(margins: list[list[tuple[float, float]]], population: int) -> None:
    """How the count of seeds won moves with the budget: each search's hypervolume after every
    generation, evolution minus random, under the stored reference and the measured one. A
    search's first g generations do not depend on its generation count, so this is the result
    at every smaller budget, not a choice among runs."""
    print(
        "\n| generations | evaluations | evolution ahead (stored ref) | median margin "
        "| evolution ahead (measured ref) | median margin |"
    )
    print("|---|---|---|---|---|---|")
    for g, column in enumerate(zip(*margins, strict=True), start=1):
        cells = []
        for k in (0, 1):
            values = [m[k] for m in column]
            wins = sum(v > 0 for v in values)
            cells.append(f"{wins}/{len(values)} | {statistics.median(values):+.4f}")
        print(f"| {g} | {g * population} | {cells[0]} | {cells[1]} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--space", default="digits-tiny")
    p.add_argument("--workdir", default="/tmp/search-bench", help="cache of supernet + results")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument(
        "--sampling",
        default="sandwich",
        help="the cached supernet's training rule (digits: sandwich)",
    )
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--generations", type=int, default=6)
    p.add_argument("--population", type=int, default=10)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--old-operators", action="store_true", help="add the previous operators")
    p.add_argument(
        "--no-anchors", action="store_true", help="add the evolution without anchors (the paper's)"
    )
    add_seed_list(p)
    args = p.parse_args()
    seeds = chosen_seeds(args)
    evaluate, ckpt = bench_evaluator(
        args.workdir, args.dataset, args.space, args.epochs, args.sampling
    )
    space = SearchSpace.resolve(args.space)
    ref = search_reference(args.dataset, space)
    measured = evaluate([space.largest()])[0].energy_uj
    common = dict(
        generations=args.generations,
        population=args.population,
        alpha=args.alpha,
        reference_energy_uj=ref,
    )
    print(
        f"# evolution vs random on {args.dataset} / {args.space}, budget {args.generations} x "
        f"{args.population} each, alpha {args.alpha}, parents {args.parents}; reference "
        f"{ref:.4g} uJ, accuracy 0 (measured largest arch: {measured:.4g} uJ); supernet {ckpt}"
    )
    print(
        "| seed | HV evolution | HV random | margin | margin % | tau evolution | tau random |"
        " best acc evo / rnd | min uJ evo / rnd | HV measured ref evo / rnd |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    wins, margins, t0 = 0, [], time.time()
    tight_wins, tight_margins = 0, []
    strategies = ("evolution", "random", "old operators", "no anchors")
    taus: dict[str, list[float]] = {k: [] for k in strategies}
    old_wins, old_margins, new_vs_old = 0, [], []
    plain: dict[str, list[float]] = {"margins": [], "tight": [], "anchored minus plain": []}
    # Per seed, after each generation: evolution - random, under the stored and measured refs.
    per_generation: list[list[tuple[float, float]]] = []
    fitness_margins: list[float] = []  # best F_AEB, evolution minus random
    for seed in seeds:
        sets, histories = {}, {}
        evo = EvolutionConfig(parents=args.parents, seed=seed, **common)
        runs = [
            ("evolution", lambda c=evo: make_search("evolution", space, c, evaluate)),
            (
                "random",
                lambda s=seed: make_search(
                    "random", space, RandomConfig(seed=s, **common), evaluate
                ),
            ),
        ]
        if args.old_operators:
            runs.append(("old operators", lambda c=evo: OldOperatorsEvolution(space, c, evaluate)))
        if args.no_anchors:
            plain_config = EvolutionConfig(parents=args.parents, seed=seed, anchors=False, **common)
            runs.append(("no anchors", lambda c=plain_config: EvolutionSearch(space, c, evaluate)))
        for strategy, build in runs:
            search = build()
            summaries = search.run()
            history = [s.hypervolume for s in summaries]
            assert history == sorted(history), "the recorded hypervolume decreased"
            sets[strategy] = [r for r in search.evaluated if r.id not in search.infeasible_ids]
            histories[strategy] = (history, measured_history(summaries, measured))
        hv = {k: front_hypervolume(v, ref) for k, v in sets.items()}
        best = best_f_aeb(sets, args.alpha)
        fitness_margins.append(best["evolution"] - best["random"])
        per_generation.append(
            [
                (e - r, e_tight - r_tight)
                for e, e_tight, r, r_tight in zip(
                    *histories["evolution"], *histories["random"], strict=True
                )
            ]
        )
        tight = {k: measured_hv[-1] for k, (_, measured_hv) in histories.items()}
        tight_margins.append(tight["evolution"] - tight["random"])
        tight_wins += tight["evolution"] > tight["random"]
        tau = {
            k: kendall_tau([r.accuracy for r in v], [r.energy_uj for r in v])
            for k, v in sets.items()
        }
        for k in tau:
            taus[k].append(tau[k])
        margin = hv["evolution"] - hv["random"]
        margins.append(margin)
        wins += margin > 0
        e, r = sets["evolution"], sets["random"]
        print(
            f"| {seed} | {hv['evolution']:.4f} | {hv['random']:.4f} | {margin:+.4f} "
            f"| {100 * margin / hv['random']:+.2f}% | {tau['evolution']:+.3f} "
            f"| {tau['random']:+.3f} | {max(x.accuracy for x in e):.4f} / "
            f"{max(x.accuracy for x in r):.4f} | {min(x.energy_uj for x in e):.4f} / "
            f"{min(x.energy_uj for x in r):.4f} | {tight['evolution']:.4f} / "
            f"{tight['random']:.4f} |"
        )
        if args.no_anchors:
            plain["margins"].append(hv["no anchors"] - hv["random"])
            plain["tight"].append(tight["no anchors"] - tight["random"])
            plain["anchored minus plain"].append(hv["evolution"] - hv["no anchors"])
            n, margin_plain = sets["no anchors"], plain["margins"][-1]
            print(
                f"| {seed} (no anchors) | {hv['no anchors']:.4f} | {hv['random']:.4f} "
                f"| {margin_plain:+.4f} | {100 * margin_plain / hv['random']:+.2f}% "
                f"| {tau['no anchors']:+.3f} | | {max(x.accuracy for x in n):.4f} "
                f"| {min(x.energy_uj for x in n):.4f} | {tight['no anchors']:.4f} |"
            )
        if args.old_operators:
            old_margin = hv["old operators"] - hv["random"]
            old_margins.append(old_margin)
            old_wins += old_margin > 0
            new_vs_old.append(hv["evolution"] - hv["old operators"])
            print(
                f"| {seed} (old operators) | {hv['old operators']:.4f} | {hv['random']:.4f} "
                f"| {old_margin:+.4f} | {100 * old_margin / hv['random']:+.2f}% "
                f"| {tau['old operators']:+.3f} | | | | {tight['old operators']:.4f} |"
            )
    elapsed = time.time() - t0
    median = statistics.median(margins)
    tau_e, tau_r = statistics.fmean(taus["evolution"]), statistics.fmean(taus["random"])
    print(
        f"\nevolution's hypervolume beats random's on {wins}/{len(seeds)} seeds; median margin "
        f"{median:+.4f} ({100 * median / ref:+.3f}% of the largest possible hypervolume, "
        f"reference x accuracy 1); mean Kendall tau (accuracy, energy): evolution {tau_e:+.3f}, "
        f"random {tau_r:+.3f} (paper, STs: 0.63 vs 0.08); {evaluate.calls} new evaluations in "
        f"{elapsed:.0f} s"
    )
    print(
        f"under the measured largest-arch reference ({measured:.4g} uJ): evolution ahead on "
        f"{tight_wins}/{len(seeds)} seeds, median margin {statistics.median(tight_margins):+.4f} "
        f"({100 * statistics.median(tight_margins) / measured:+.2f}% of reference x accuracy 1)"
    )
    print(
        f"best F_AEB at alpha {args.alpha} (scaled over both strategies' candidates), evolution "
        f"minus random per seed: {', '.join(f'{m:+.4f}' for m in fitness_margins)}; evolution "
        f"ahead on {sum(m > 0 for m in fitness_margins)}/{len(seeds)}, level on "
        f"{sum(m == 0 for m in fitness_margins)}"
    )
    print_per_generation(per_generation, args.population)
    if args.no_anchors:
        m, t = plain["margins"], plain["tight"]
        print(
            f"no anchors (the paper's generation 0): beats random on {sum(x > 0 for x in m)}/"
            f"{len(seeds)} seeds, median margin {statistics.median(m):+.4f}; under the measured "
            f"reference {sum(x > 0 for x in t)}/{len(seeds)}, median {statistics.median(t):+.4f}; "
            f"anchored minus no anchors: median "
            f"{statistics.median(plain['anchored minus plain']):+.4f}"
            f"; mean tau no anchors {statistics.fmean(taus['no anchors']):+.3f}"
        )
    if args.old_operators:
        print(
            f"old operators: beat random on {old_wins}/{len(seeds)} seeds, median margin "
            f"{statistics.median(old_margins):+.4f}; new minus old operators: median "
            f"{statistics.median(new_vs_old):+.4f}, new ahead on "
            f"{sum(m > 0 for m in new_vs_old)}/{len(seeds)} seeds; mean tau old operators "
            f"{statistics.fmean(taus['old operators']):+.3f}"
        )


if __name__ == "__main__":
    main()
