"""Alpha regret of NSGA-II and NSGA-II + predictor at one seed for some alphas, with front.py's
code, so the eleven dedicated evolutions can be split over processes (mnist-small, 8 x 12):

    cd bench && OMP_NUM_THREADS=1 python -u regret_part.py 0.0,0.1,0.2,0.3,0.4 a.json
"""

from __future__ import annotations

import json
import sys

import front
from front import EvolutionConfig, SearchSpace, Strategy, bench_evaluator, regret, run, setting

FRONT_ARGS = [
    "--dataset", "mnist-5k", "--space", "mnist-small", "--workdir", "/work/search-cache",
    "--epochs", "10", "--sampling", "sandwich-dsps", "--generations", "8", "--population", "12",
    "--parents", "4", "--seeds", "1",
]  # fmt: skip


def main() -> None:
    alphas = [float(a) for a in sys.argv[1].split(",")]
    out = sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    sys.argv = ["front.py", *FRONT_ARGS]
    args = front.parse()
    evaluate, _ = bench_evaluator(
        args.workdir, args.dataset, args.space, args.epochs, args.sampling
    )
    s = setting(args.dataset, SearchSpace.resolve(args.space), evaluate, args.energy_profile)
    common = dict(
        generations=8, population=12, reference_energy_uj=s.reference_energy_uj, front_box=s.box
    )
    rows = {r.name: r for r, with_regret in front.front_rows(args, common) if with_regret}
    outcomes = {name: run(row, seed, s) for name, row in rows.items()}
    result = {}
    for alpha in alphas:
        dedicated = Strategy(
            f"evolution a={alpha}",
            "evolution",
            lambda sd, a=alpha: EvolutionConfig(parents=4, alpha=a, seed=sd, **common),
        )
        found = run(dedicated, seed, s).feasible
        result[alpha] = {n: regret(o.feasible, found, alpha) for n, o in outcomes.items()}
        print(alpha, result[alpha], flush=True)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
