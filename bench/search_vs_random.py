"""Evolution (F_AEB) vs random search at the same budget, over paired seeds, with intervals.

Every strategy gets G x P evaluations with weights inherited from one supernet (trained once and
cached under --workdir, with an evaluation cache shared by all searches). Seeds are paired: the
same seed for every strategy, so random and evolution start from the same generation 0 (the
space's largest and cheapest arch, the anchors, on by default for both; then the same uniform
draws). `--no-anchors` adds the same pair without anchors (the paper's all-random start).

Printed:
- per seed and strategy: the normalized hypervolume of the feasible front (the headline:
  accuracy above chance x log10 energy in the box of the space's analytic energy floor and
  bound under --energy-profile, `engine.pareto.normalized_hypervolume`, in [0, 1]), the raw
  hypervolume (uJ x accuracy, reference the space's energy bound, kept for the paper's
  comparison), best accuracy, lowest energy and Kendall's tau between accuracy and energy;
- evolution minus random, paired by seed: median difference with a bootstrap 95% interval;
- sample efficiency: per seed, the evaluations evolution needs to reach random's final
  normalized hypervolume (from its per-generation history), and the speed-up = random's
  evaluations / those, median over seeds with a bootstrap 95% interval (a seed where evolution
  never reaches it counts as speed-up 0, a lower bound);
- the median normalized hypervolume after each generation;
- for the evolution with the predictor (a row unless --no-predictor; compared with random and
  with the plain evolution, so the predictor's share of the gain shows): its Kendall tau per
  generation on what it then evaluated, and each row's seconds outside evaluations.

Strategies are a list of named rows (`paired.Strategy`): another row, e.g. evolution with a
predictor, is one more entry in `strategies`. `--old-operators` adds the evolution with the
operators used before the paper's (bench/operators.py). `--explore-shares 0.5` adds an evolution +
predictor row per exploration share (compared with random and the default share); `--skip NAME`
leaves a row out (e.g. `--skip evolution` when only the predictor's rows are asked about).
`--null` adds random with other draws (seed + 1000) against random: a strategy that is no better
by construction, so its figures are what the measures read from noise alone.

    OMP_NUM_THREADS=1 python bench/search_vs_random.py --dataset mnist-5k --space mnist-small \\
        --workdir /work/search-cache --seeds 10 --generations 8 --population 12 --parents 4
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from common import add_seed_list, bench_evaluator, chosen_seeds
from operators import OLD_MUTATION_PROB, old_mutate
from paired import (
    Strategy,
    merge,
    pairs,
    print_wall_time,
    report,
    run_all,
    setting,
    write_json,
)

from engine.profiles import DEFAULT_PROFILE
from engine.search import EvolutionConfig, EvolutionSearch, RandomConfig
from engine.search.operators import crossover
from engine.space import SearchSpace

# `--null`: random search again with seed + this, compared with random as if it were a strategy.
# Nothing differs but the draws, so its "speed-up" shows what the measure reads from noise alone.
NULL_SEED_OFFSET = 1000


class OldOperatorsEvolution(EvolutionSearch):
    """The evolution as it bred before the paper's operators."""

    def _breed(self):
        parents = [r.arch for r in self.parents]
        if len(parents) >= 2 and self._rng.random() < self.config.crossover_prob:
            i, j = self._rng.choice(len(parents), size=2, replace=False)
            return crossover(parents[int(i)], parents[int(j)], self.space, self._rng)
        parent = parents[int(self._rng.integers(len(parents)))]
        return old_mutate(parent, self.space, self._rng, OLD_MUTATION_PROB)


def strategies(args: argparse.Namespace, common: dict) -> list[Strategy]:
    """The rows compared: random and evolution with anchors (and without, with --no-anchors)."""
    rows = []
    for anchors in (True, False) if args.no_anchors else (True,):
        tag = "" if anchors else ", no anchors"
        shared = dict(anchors=anchors, **common)
        rows += [
            Strategy(f"random{tag}", "random", lambda s, c=shared: RandomConfig(seed=s, **c)),
            Strategy(
                f"evolution{tag}",
                "evolution",
                lambda s, c=shared: EvolutionConfig(
                    parents=args.parents, seed=s, predictor=False, **c
                ),
                baselines=(f"random{tag}",),
            ),
        ]
        if not args.no_predictor:
            rows.append(
                Strategy(
                    f"evolution + predictor{tag}",
                    "evolution",
                    lambda s, c=shared: EvolutionConfig(
                        parents=args.parents, seed=s, predictor=True, **c
                    ),
                    baselines=(f"random{tag}", f"evolution{tag}"),
                )
            )
        for share in args.explore_shares:
            rows.append(
                Strategy(
                    f"evolution + predictor, explore {share:g}{tag}",
                    "evolution",
                    lambda s, c=shared, x=share: EvolutionConfig(
                        parents=args.parents, seed=s, predictor=True, explore_share=x, **c
                    ),
                    baselines=(f"random{tag}", f"evolution + predictor{tag}"),
                )
            )
    if args.null:
        rows.append(
            Strategy(
                "random, other draws",
                "random",
                lambda s: RandomConfig(seed=s + NULL_SEED_OFFSET, anchors=True, **common),
                baselines=("random",),
            )
        )
    if args.old_operators:
        rows.append(
            Strategy(
                "evolution, old operators",
                "evolution",
                lambda s: EvolutionConfig(parents=args.parents, seed=s, predictor=False, **common),
                baselines=("random",),
                build=lambda _kind, space, config, evaluate: OldOperatorsEvolution(
                    space, config, evaluate
                ),
            )
        )
    if args.skip:
        rows = [r for r in rows if r.name not in args.skip]
        kept = {r.name for r in rows}
        rows = [replace(r, baselines=tuple(b for b in r.baselines if b in kept)) for r in rows]
    return rows


def parse() -> argparse.Namespace:
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
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--generations", type=int, default=8)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--energy-profile", default=DEFAULT_PROFILE, help="prices points and box")
    p.add_argument("--bootstrap", type=int, default=10_000, help="bootstrap resamples")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="JSON",
        help="run nothing: print the tables of several --json files together (e.g. the halves "
        "of a --seed-list split)",
    )
    p.add_argument("--old-operators", action="store_true", help="add the previous operators")
    p.add_argument(
        "--null",
        action="store_true",
        help=f"add random with seed + {NULL_SEED_OFFSET} against random: the speed-up and "
        "difference that noise alone reads",
    )
    p.add_argument(
        "--no-predictor",
        action="store_true",
        help="leave out the evolution with the predictor (engine.search.predictor)",
    )
    p.add_argument(
        "--no-anchors",
        action="store_true",
        help="add random and evolution without anchors (the paper's all-random generation 0)",
    )
    p.add_argument(
        "--explore-shares",
        type=float,
        nargs="*",
        default=[],
        help="add an evolution + predictor row for each of these exploration shares",
    )
    p.add_argument(
        "--skip", nargs="*", default=[], help="leave out the rows of these names (e.g. evolution)"
    )
    add_seed_list(p)
    return p.parse_args()


def main() -> None:
    args = parse()
    if args.merge:
        comparisons, results, _ = merge(args.merge)
        seeds = [o.seed for o in next(iter(results.values()))]
        print(f"# merged {', '.join(args.merge)}: seeds {seeds}")
        report(comparisons, results, args.bootstrap)
        return
    seeds = chosen_seeds(args)
    evaluate, ckpt = bench_evaluator(
        args.workdir, args.dataset, args.space, args.epochs, args.sampling
    )
    space = SearchSpace.resolve(args.space)
    s = setting(args.dataset, space, evaluate, args.energy_profile)
    common = dict(
        generations=args.generations,
        population=args.population,
        alpha=args.alpha,
        reference_energy_uj=s.reference_energy_uj,
        front_box=s.box,
    )
    rows = strategies(args, common)
    print(
        f"# {', '.join(r.name for r in rows)} on {args.dataset} / {args.space}, budget "
        f"{args.generations} x {args.population} each, alpha {args.alpha}, parents "
        f"{args.parents}, seeds {seeds}; energies and box under {args.energy_profile}: chance "
        f"{s.box.chance:.3g}, energy {s.box.energy_low_uj:.4g} - {s.box.energy_high_uj:.4g} uJ "
        f"(the raw hypervolume's reference is the upper end, accuracy 0); supernet {ckpt}"
    )
    t0 = time.time()
    results = run_all(rows, seeds, s)
    figures = report(pairs(rows), results, args.bootstrap)
    per_evaluation = evaluate.seconds / evaluate.calls if evaluate.calls else 0.0
    figures["wall_s"] = print_wall_time(figures["speedup"], results, per_evaluation)
    print(f"{evaluate.calls} new evaluations in {time.time() - t0:.0f} s")
    payload = {"args": vars(args), "box": s.box.to_dict(), **figures}
    write_json(args.json, payload, pairs(rows), results)


if __name__ == "__main__":
    main()
