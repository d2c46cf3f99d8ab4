"""NSGA-II against F_AEB evolution and random search: the whole front, at equal budget, over
paired seeds, with intervals.

One supernet (trained once, cached under --workdir) and one evaluation cache by arch id serve
every search, so the dedicated runs per seed cost only their new archs. Seeds are paired: every
strategy runs with the same seed, and with anchors (the default; `--no-anchors` adds the three
strategies without them) all start from the same generation 0. Printed:

- per seed and strategy: the normalized hypervolume (accuracy above chance x log10 energy, in the
  box of the space's analytic energy floor and bound under --energy-profile; the headline), the
  raw hypervolume (reference: the space's energy bound, accuracy 0), best accuracy, lowest energy;
- paired differences, NSGA-II - evolution (alpha 0.5), NSGA-II - random and evolution - random:
  median with a bootstrap 95% interval, and how many seeds each is ahead; the evaluations NSGA-II
  and evolution need to reach random's final normalized hypervolume (speed-up with interval);
- alpha regret: for alpha in {0, 0.1, ..., 1}, the winner NSGA-II reports at that alpha (best
  F_AEB over its own feasible candidates, ties to the other objective) against the winner of a
  dedicated F_AEB evolution run at that alpha (same seed, budget and anchors), both scored by
  F_AEB min-max scaled over the union of the two candidate sets. Regret = max(0, dedicated -
  NSGA-II); per seed its mean and max over the alphas; over seeds the mean of the per-seed means
  with a bootstrap 95% interval (issue 24's target: at most 0.02), and the mean per alpha.
  `--regret-seeds` limits the eleven dedicated runs to the first seeds.

Strategies are a list of named rows (`paired.Strategy`); a row with `regret=True` in
`front_rows` gets the alpha regret: NSGA-II, and NSGA-II with the predictor (unless
`--no-predictor`), which is also compared with random and with plain NSGA-II; its predictor's
Kendall tau per generation is printed.

    OMP_NUM_THREADS=1 python bench/front.py --dataset mnist-5k --space mnist-small \\
        --workdir /work/search-cache --seeds 10 --generations 8 --population 12 --parents 4
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import add_seed_list, bench_evaluator, chosen_seeds
from paired import (
    Setting,
    Strategy,
    merge,
    pairs,
    print_gain_ratio,
    print_generations,
    print_paired,
    print_predictor,
    print_speedups,
    print_wall_time,
    run,
    run_all,
    setting,
    write_json,
)

from engine.pareto import f_aeb, f_aeb_order
from engine.profiles import DEFAULT_PROFILE
from engine.search import EvolutionConfig, NSGA2Config, RandomConfig
from engine.space import SearchSpace
from engine.stats import bootstrap_ci

ALPHAS = [round(0.1 * k, 1) for k in range(11)]


def winner(results, alpha: float):
    """The candidate a search reports at `alpha` (ranked over its own candidates)."""
    order = f_aeb_order([r.accuracy for r in results], [r.energy_uj for r in results], alpha)
    return results[order[0]]


def regret(nsga, dedicated, alpha: float) -> float:
    """Signed: F_AEB of the dedicated run's winner minus NSGA-II's, over the union of both."""
    union = {r.id: r for r in [*nsga, *dedicated]}
    ids = list(union)
    scores = f_aeb([union[i].accuracy for i in ids], [union[i].energy_uj for i in ids], alpha)
    score = dict(zip(ids, scores.tolist(), strict=True))
    return score[winner(dedicated, alpha).id] - score[winner(nsga, alpha).id]


def front_rows(args: argparse.Namespace, common: dict) -> list[tuple[Strategy, bool]]:
    """(row, gets the alpha regret): random, evolution at alpha 0.5 and NSGA-II, with anchors
    (and without, with --no-anchors)."""
    rows = []
    for anchors in (True, False) if args.no_anchors else (True,):
        tag = "" if anchors else ", no anchors"
        c = dict(anchors=anchors, **common)
        rnd, evo = f"random{tag}", f"evolution a=0.5{tag}"
        rows += [
            (Strategy(rnd, "random", lambda s, c=c: RandomConfig(seed=s, **c)), False),
            (
                Strategy(
                    evo,
                    "evolution",
                    lambda s, c=c: EvolutionConfig(
                        parents=args.parents, seed=s, predictor=False, **c
                    ),
                    baselines=(rnd,),
                ),
                False,
            ),
            (
                Strategy(
                    f"nsga2{tag}",
                    "nsga2",
                    lambda s, c=c: NSGA2Config(seed=s, predictor=False, **c),
                    baselines=(evo, rnd),
                ),
                True,
            ),
        ]
        if not args.no_predictor:
            rows.append(
                (
                    Strategy(
                        f"nsga2 + predictor{tag}",
                        "nsga2",
                        lambda s, c=c: NSGA2Config(seed=s, predictor=True, **c),
                        baselines=(rnd, f"nsga2{tag}"),
                    ),
                    True,
                )
            )
    return rows


def dedicated_regrets(
    row: Strategy, outcome, seed: int, alphas, parents: int, s: Setting
) -> list[float]:
    """The signed regret at each of `alphas` of `outcome` (`row` at `seed`) against a dedicated
    F_AEB evolution at that alpha with the row's budget, box and anchors."""
    base = row.config(seed)
    out = []
    for alpha in alphas:
        dedicated = Strategy(
            f"evolution a={alpha}",
            "evolution",
            lambda sd, a=alpha: EvolutionConfig(
                parents=parents,
                predictor=False,
                alpha=a,
                seed=sd,
                generations=base.generations,
                population=base.population,
                reference_energy_uj=base.reference_energy_uj,
                front_box=base.front_box,
                anchors=base.anchors,
            ),
        )
        out.append(regret(outcome.feasible, run(dedicated, seed, s).feasible, alpha))
    return out


def alpha_regrets(row: Strategy, outcomes, seeds, args, s: Setting) -> dict[int, list[float]]:
    """Per seed (the first --regret-seeds): the clipped regret at every alpha of `row`'s
    candidates against dedicated evolutions with the row's anchors."""
    per_seed = {}
    for seed, outcome in zip(seeds, outcomes, strict=True):
        if seed >= args.regret_seeds:
            continue
        signed = dedicated_regrets(row, outcome, seed, ALPHAS, args.parents, s)
        clipped = [max(0.0, x) for x in signed]
        print(
            f"| {seed} | {row.name} | {statistics.fmean(clipped):.4f} | {max(clipped):.4f} "
            f"({ALPHAS[clipped.index(max(clipped))]}) | {statistics.fmean(signed):+.4f} |"
        )
        per_seed[seed] = clipped
    return per_seed


def print_regret(name: str, by_seed: dict[int, list[float]], n_boot: int) -> dict:
    """The mean alpha regret over seeds with its bootstrap interval, and the mean per alpha."""
    if not by_seed:
        return {}
    per_seed = list(by_seed.values())
    means = [statistics.fmean(r) for r in per_seed]
    ci = bootstrap_ci(means, statistics.fmean, n=n_boot)
    by_alpha = {a: statistics.fmean(r[k] for r in per_seed) for k, a in enumerate(ALPHAS)}
    print(
        f"{name}: mean alpha regret {ci.estimate:.4f} [95% CI {ci.low:.4f}, {ci.high:.4f}] over "
        f"{len(means)} seeds (target <= 0.02: "
        f"{'met' if ci.high <= 0.02 else 'not shown' if ci.estimate <= 0.02 else 'missed'}); "
        f"worst seed {max(means):.4f}; per alpha: "
        + ", ".join(f"{a}: {v:.4f}" for a, v in by_alpha.items())
    )
    return {"mean": ci.estimate, "low": ci.low, "high": ci.high, "per_alpha": by_alpha}


def merged(paths: list[str], n_boot: int) -> None:
    """Print the tables of several --json files together (seeds split over processes)."""
    comparisons, results, payloads = merge(paths)
    print(f"# merged {', '.join(paths)}: seeds {[o.seed for o in next(iter(results.values()))]}")
    print_paired(comparisons, results, n_boot)
    print_speedups(comparisons, results, n_boot)
    print_gain_ratio(comparisons, results, n_boot)
    print_generations(results)
    print_predictor(results)
    regrets: dict[str, dict[int, list[float]]] = {}
    for payload in payloads:
        for name, by_seed in payload.get("regret_per_seed", {}).items():
            for seed, values in by_seed.items():
                if int(seed) in regrets.setdefault(name, {}):
                    raise SystemExit(f"error: {name} has the regret of seed {seed} twice")
                regrets[name][int(seed)] = values
    print()
    for name, by_seed in regrets.items():
        print_regret(name, dict(sorted(by_seed.items())), n_boot)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
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
    p.add_argument(
        "--no-anchors", action="store_true", help="add the three strategies without anchors"
    )
    p.add_argument(
        "--no-predictor", action="store_true", help="leave out NSGA-II with the predictor"
    )
    p.add_argument(
        "--regret-seeds",
        type=int,
        default=None,
        help="seeds that also get the eleven dedicated alpha runs (default: all of --seeds)",
    )
    add_seed_list(p)
    args = p.parse_args(argv)
    if args.regret_seeds is None:
        args.regret_seeds = args.seeds
    return args


def main() -> None:
    args = parse()
    if args.merge:
        merged(args.merge, args.bootstrap)
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
        reference_energy_uj=s.reference_energy_uj,
        front_box=s.box,
    )
    rows_regret = front_rows(args, common)
    rows = [row for row, _ in rows_regret]
    print(
        f"# {', '.join(r.name for r in rows)} on {args.dataset} / {args.space}, budget "
        f"{args.generations} x {args.population} each, parents {args.parents}, seeds {seeds}; "
        f"energies and box under {args.energy_profile}: chance {s.box.chance:.3g}, energy "
        f"{s.box.energy_low_uj:.4g} - {s.box.energy_high_uj:.4g} uJ; supernet {ckpt}"
    )
    t0 = time.time()
    results = run_all(rows, seeds, s)
    paired = print_paired(pairs(rows), results, args.bootstrap)
    speeds = print_speedups(pairs(rows), results, args.bootstrap)
    gains = print_gain_ratio(pairs(rows), results, args.bootstrap)
    print_generations(results)
    predictor = print_predictor(results)
    per_evaluation = evaluate.seconds / evaluate.calls if evaluate.calls else 0.0
    wall = print_wall_time(speeds["speedup"], results, per_evaluation)
    print("\n| seed | strategy | mean regret | max regret (alpha) | signed mean |")
    print("|---|---|---|---|---|")
    per_row = {
        row.name: alpha_regrets(row, results[row.name], seeds, args, s)
        for row, with_regret in rows_regret
        if with_regret
    }
    print()
    regrets = {name: print_regret(name, r, args.bootstrap) for name, r in per_row.items()}
    print(f"{evaluate.calls} new evaluations in {time.time() - t0:.0f} s")
    write_json(
        args.json,
        {
            "args": vars(args),
            "box": s.box.to_dict(),
            "paired": paired,
            **speeds,
            "gain_ratio": gains,
            "predictor": predictor,
            "wall_s": wall,
            "regret": regrets,
            "regret_per_seed": per_row,
        },
        pairs(rows),
        results,
    )


if __name__ == "__main__":
    main()
