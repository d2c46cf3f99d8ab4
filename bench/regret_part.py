"""Alpha regret of front.py's regret rows (NSGA-II, NSGA-II + predictor) at one seed for some
alphas, with front.py's own code and options, so the eleven dedicated evolutions of one seed can
be split over processes. Prints and writes the signed regret per alpha and row:

    cd bench && OMP_NUM_THREADS=1 python -u regret_part.py 0.0,0.1,0.2,0.3,0.4 a.json \\
        --seed 0 -- --dataset mnist-5k --space mnist-small --workdir DIR --epochs 10 \\
        --sampling sandwich-dsps --generations 8 --population 12 --parents 4
"""

from __future__ import annotations

import argparse
import json
import sys

import front
from front import SearchSpace, bench_evaluator, dedicated_regrets, run, setting


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("alphas", help="comma-separated alphas, e.g. 0.0,0.1")
    p.add_argument("out", help="JSON file of {alpha: {row: signed regret}}")
    p.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    own = p.parse_args(argv[:cut])  # then, after `--`, front.py's own options
    alphas = [float(a) for a in own.alphas.split(",")]
    args = front.parse(argv[cut + 1 :])
    evaluate, _ = bench_evaluator(
        args.workdir, args.dataset, args.space, args.epochs, args.sampling
    )
    s = setting(args.dataset, SearchSpace.resolve(args.space), evaluate, args.energy_profile)
    common = dict(
        generations=args.generations,
        population=args.population,
        reference_energy_uj=s.reference_energy_uj,
        front_box=s.box,
    )
    rows = [row for row, with_regret in front.front_rows(args, common) if with_regret]
    found = {
        row.name: dedicated_regrets(row, run(row, own.seed, s), own.seed, alphas, args.parents, s)
        for row in rows
    }
    result = {a: {name: values[k] for name, values in found.items()} for k, a in enumerate(alphas)}
    for alpha, by_row in result.items():
        print(alpha, by_row, flush=True)
    with open(own.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
