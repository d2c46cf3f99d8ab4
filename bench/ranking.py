"""Ranking fidelity of the one-shot supernet, and what BN recalibration does to it.

For N archs sampled from a space preset (`--space`, default `digits-tiny`) on a shipped dataset
(`--dataset`, default `digits`; `mnist-5k` with `--space mnist-small`), compare the validation
accuracy each one gets with weights inherited from the supernet against the accuracy of the
same arch trained standalone from scratch (`autospikformer train --arch`) for the same number
of epochs. Kendall's tau between the two rankings is the figure that makes one-shot NAS
trustworthy (target >= 0.5).

The ground truth is the mean standalone accuracy over `--standalone-seeds` training seeds (on
digits one seed resolves 180 validation images, 0.56 points, with many ties); how well two
standalone seeds agree with each other is printed as the noise ceiling. Supernets are trained
for each rule in `--rules` and each seed in `--supernet-seeds`; inherited accuracies are
measured with BN recalibrated (`--recalib` batch counts) and with the supernet's shared BN
statistics. A baseline ranks the archs by parameter count alone, which a supernet has to beat to
be worth anything.
`--lr` and `--batch-size` default to the dataset's recipe (`engine.train_config.recipe`).

Every training is cached as JSON under `--workdir`, so a rerun with more seeds or archs only
trains what is new (a killed training resumes from its last checkpoint).

    cd bench && python ranking.py --epochs 20 --archs 8 [--seed 1] [--rules uniform]
        [--recalib 4 10] [--standalone-seeds 0 1] [--supernet-seeds 0 1 2] [--workdir DIR]
        [--dataset mnist-5k --space mnist-small] [--supernet-epochs 30] [--jobs 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from common import cli
from scipy.stats import spearmanr

from engine.data import dataset_spec
from engine.evaluate import SubnetEvaluator, load_supernet
from engine.pareto import kendall_tau as tau
from engine.shape import ModelShape, count_params
from engine.space import Arch, SearchSpace
from engine.train_config import recipe


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument(
        "--supernet-epochs", type=int, help="supernet training epochs (default: --epochs)"
    )
    p.add_argument("--archs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="arch sample; default training seed")
    p.add_argument("--standalone-seeds", nargs="+", type=int, help="default: --seed")
    p.add_argument("--supernet-seeds", nargs="+", type=int, help="default: --seed")
    p.add_argument("--dataset", default="digits", help="a shipped dataset: digits or mnist-5k")
    p.add_argument("--lr", type=float, help="default: the dataset's recipe")
    p.add_argument("--batch-size", type=int, help="default: the dataset's recipe")
    p.add_argument("--space", default="digits-tiny")
    p.add_argument("--jobs", type=int, default=2, help="trainings run in parallel")
    p.add_argument("--workdir", type=Path, help="cache of trainings (default: a new temp dir)")
    p.add_argument(
        "--rules",
        nargs="+",
        choices=("sandwich", "uniform", "sandwich-dsps"),
        default=["sandwich", "uniform"],
    )
    p.add_argument(
        "--recalib", nargs="+", type=int, default=[4], help="BN recalibration batch counts"
    )
    args = p.parse_args()
    args.standalone_seeds = args.standalone_seeds or [args.seed]
    args.supernet_seeds = args.supernet_seeds or [args.seed]
    args.supernet_epochs = args.supernet_epochs or args.epochs
    args.lr = args.lr or recipe(args.dataset)["lr"]
    args.batch_size = args.batch_size or recipe(args.dataset)["batch_size"]
    return args


def sample_archs(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    """n distinct archs, a prefix-stable sample: more archs extend the same list."""
    rng = np.random.default_rng(seed + 1000)
    archs: list[Arch] = []
    while len(archs) < n:
        a = space.sample(rng)
        if a.id not in {b.id for b in archs}:
            archs.append(a)
    return archs


class Trainings:
    """`autospikformer train` runs in one home; each result cached as JSON by its settings."""

    def __init__(self, home: Path, args: argparse.Namespace) -> None:
        self.home, self.args = home, args
        (home / "cache").mkdir(parents=True, exist_ok=True)

    def __call__(self, job: tuple[str, str, int]) -> dict:
        kind, what, seed = job  # ("supernet", rule, seed) or ("standalone", arch json, seed)
        a = self.args
        epochs = a.supernet_epochs if kind == "supernet" else a.epochs
        key = f"e{epochs}-lr{a.lr}-b{a.batch_size}-s{seed}"
        if a.dataset != "digits":  # digits keeps the names of earlier caches
            key = f"{a.dataset}-{key}"
        if kind == "supernet":
            run = f"supernet-{a.space}-{what}-{key}"  # --space is a preset name
            extra = ["--space", a.space, "--sampling", what]
        else:
            arch_id = Arch.from_dict(json.loads(what)).id
            arch_file = self.home / f"arch-{arch_id}.json"
            arch_file.write_text(what)
            run, extra = f"standalone-{arch_id[:12]}-{key}", ["--arch", str(arch_file)]
        cached = self.home / "cache" / f"{run}.json"
        if cached.exists():
            return json.loads(cached.read_text())
        t = time.time()
        res = cli(
            self.home, "train", "--run", run, *extra, "--dataset", a.dataset,
            "--epochs", str(epochs), "--seed", str(seed), "--lr", str(a.lr),
            "--batch-size", str(a.batch_size), "--device", "cpu",
        )  # fmt: skip
        res["wall_s"] = time.time() - t
        cached.write_text(json.dumps(res))
        return res


def main() -> None:
    args = parse()
    home = args.workdir or Path(tempfile.mkdtemp(prefix="ranking-"))
    space = SearchSpace.preset(args.space)
    archs = sample_archs(space, args.archs, args.seed)
    print(
        f"# ranking fidelity on {args.dataset} / {args.space}: {args.archs} archs (sample seed "
        f"{args.seed}), {args.epochs} epochs (supernets {args.supernet_epochs}), lr {args.lr}, "
        f"batch {args.batch_size}; standalone "
        f"seeds {args.standalone_seeds}, supernet seeds {args.supernet_seeds}; workdir {home}"
    )
    supernet_jobs = [("supernet", r, s) for r in args.rules for s in args.supernet_seeds]
    standalone_jobs = [
        ("standalone", json.dumps(a.to_dict()), s) for a in archs for s in args.standalone_seeds
    ]
    t = time.time()
    jobs = supernet_jobs + standalone_jobs
    with ThreadPoolExecutor(args.jobs) as pool:  # each training is its own process
        done = dict(zip(jobs, pool.map(Trainings(home, args), jobs), strict=True))
    wall = time.time() - t
    standalone = np.array([done[j]["val_accuracy_largest"] for j in standalone_jobs])
    standalone = standalone.reshape(len(archs), len(args.standalone_seeds))
    truth = standalone.mean(axis=1)

    labels = [f"recal x{n}" for n in args.recalib] + ["shared BN"]
    inherited: dict[tuple[str, int, str], list[float]] = {}
    for _, rule, seed in supernet_jobs:
        res = done[("supernet", rule, seed)]
        print(
            f"supernet {rule} seed {seed}: {res['wall_s']:.0f} s, val acc largest "
            f"{res['val_accuracy_largest']:.4f} smallest {res['val_accuracy_smallest']:.4f}"
        )
        net, _ = load_supernet(Path(res["checkpoint"]))
        for label, n_recal in zip(labels, [*args.recalib, 0], strict=True):
            ev = SubnetEvaluator(net, args.dataset, seed=0, recalib_batches=n_recal)
            inherited[(rule, seed, label)] = [r.accuracy for r in ev(archs)]

    spec = dataset_spec(args.dataset)
    shape = ModelShape(spec.in_channels, spec.num_classes, spec.image_size)
    params = [count_params(a, shape) for a in archs]
    cols = [k for k in inherited if k[2] == labels[0]]
    print(
        "\n| arch | params | T | "
        + " | ".join(f"standalone s{s}" for s in args.standalone_seeds)
        + " | mean | "
        + " | ".join(f"{r} s{s}" for r, s, _ in cols)
        + " |"
    )
    print("|---" * (4 + len(args.standalone_seeds) + len(cols)) + "|")
    for i, arch in enumerate(archs):
        print(
            f"| {arch.id[:8]} {arch.depth}-{arch.embed_dim} | {params[i]:,} | {arch.time_steps} | "
            + " | ".join(f"{v:.4f}" for v in standalone[i])
            + f" | {truth[i]:.4f} | "
            + " | ".join(f"{inherited[k][i]:.4f}" for k in cols)
            + " |"
        )

    print("\nnoise ceiling: Kendall's tau between standalone seeds")
    for (a, sa), (b, sb) in itertools.combinations(enumerate(args.standalone_seeds), 2):
        print(f"  seed {sa} vs seed {sb}: tau = {tau(standalone[:, a], standalone[:, b]):+.3f}")
    if len(args.standalone_seeds) > 2:  # one seed against the mean of the others
        for a, sa in enumerate(args.standalone_seeds):
            rest = np.delete(standalone, a, axis=1).mean(axis=1)
            print(f"  seed {sa} vs mean of the others: tau = {tau(standalone[:, a], rest):+.3f}")
    print(f"baseline: params vs mean standalone: tau = {tau(params, truth):+.3f}")
    print("\nKendall's tau (Spearman's rho) of inherited vs mean standalone accuracy:")
    for rule, label in itertools.product(args.rules, labels):
        taus = []
        for seed in args.supernet_seeds:
            accs = inherited[(rule, seed, label)]
            taus.append(tau(accs, truth))
            rho = float(spearmanr(accs, truth).statistic)
            print(
                f"  {rule:9s} {label:10s} seed {seed}: tau = {taus[-1]:+.3f} (rho {rho:+.3f})"
                f"   mean inherited acc {np.mean(accs):.4f}"
            )
        if len(taus) > 1:
            print(f"  {rule:9s} {label:10s} mean over seeds: tau = {np.mean(taus):+.3f}")
    for rule, seed in itertools.product(args.rules, args.supernet_seeds):
        recal, shared = (np.mean(inherited[(rule, seed, k)]) for k in (labels[0], "shared BN"))
        print(
            f"BN recalibration ({labels[0]}) changes mean inherited accuracy by "
            f"{(recal - shared) * 100:+.2f} points ({rule}, seed {seed})"
        )
    stand = [done[j]["wall_s"] for j in standalone_jobs]  # as recorded when first trained
    print(
        f"\ntimings: {wall:.0f} s wall for this invocation (cached trainings cost nothing); "
        f"one standalone training {min(stand):.0f}-{max(stand):.0f} s"
    )


if __name__ == "__main__":
    main()
